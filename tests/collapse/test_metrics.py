"""Collapse metrics against reference implementations and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

from synthloom.collapse.metrics import (
    distinct_n,
    kl_monte_carlo,
    perplexity,
    reference_rare_ngrams,
    sliced_wasserstein,
    tail_coverage,
    tail_mass,
    wasserstein_1d,
)
from synthloom.collapse.numeric import GaussianModel
from synthloom.text import count_ngrams, rare_ngrams


def test_wasserstein_1d_agrees_with_scipy() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 700))
    b = rng.standard_t(3, size=(4, 90)) + np.arange(4)[:, None]
    ours = wasserstein_1d(a, b)
    theirs = [wasserstein_distance(a[i], b[i]) for i in range(4)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_sliced_wasserstein_is_exact_in_one_dimension_and_sees_a_shift() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(500, 1)), rng.normal(size=(300, 1)) + 0.5
    assert sliced_wasserstein(a, b) == pytest.approx(wasserstein_distance(a[:, 0], b[:, 0]))
    x = rng.normal(size=(2000, 3))
    assert sliced_wasserstein(x, x + 1.0) > 5 * sliced_wasserstein(x, rng.normal(size=(2000, 3)))


def test_kl_monte_carlo_matches_gaussian_closed_form() -> None:
    p = GaussianModel(mean=np.array([0.0, 0.0]), covariance=np.array([[1.0, 0.3], [0.3, 1.0]]))
    q = GaussianModel(mean=np.array([0.5, -0.2]), covariance=np.array([[0.6, 0.0], [0.0, 1.5]]))
    q_inv = np.linalg.inv(q.covariance)
    diff = q.mean - p.mean
    closed = 0.5 * (
        np.trace(q_inv @ p.covariance)
        + diff @ q_inv @ diff
        - 2
        + np.log(np.linalg.det(q.covariance) / np.linalg.det(p.covariance))
    )
    draws = p.sample(200_000, np.random.default_rng(2))
    assert kl_monte_carlo(p, q, draws) == pytest.approx(closed, rel=0.02)
    assert kl_monte_carlo(p, p, draws) == pytest.approx(0.0, abs=1e-12)


def test_tail_mass_of_the_real_data_is_the_rare_quantile() -> None:
    rng = np.random.default_rng(3)
    real = rng.normal(size=(100_000, 2))
    assert tail_mass(real, real) == pytest.approx(0.10, abs=1e-3)
    assert tail_mass(real, 0.2 * rng.normal(size=(10_000, 2))) == 0.0
    assert tail_mass(real, 3.0 * rng.normal(size=(10_000, 2))) > 0.5


def test_distinct_n() -> None:
    sents = [["a", "b", "a", "b"], ["a", "b"]]
    assert distinct_n(sents, 1) == pytest.approx(2 / 6)
    assert distinct_n(sents, 2) == pytest.approx(2 / 4)  # (a b), (b a)
    assert distinct_n([["a"]], 2) == 0.0


def test_perplexity_of_uniform_model_is_vocabulary_size() -> None:
    assert perplexity(np.full(10, np.log(1 / 50))) == pytest.approx(50.0)


def test_tail_coverage_uses_the_shared_rare_ngram_definition() -> None:
    reference = ["the cat sat on the mat", "the cat sat", "a rare bird flew by", "the cat sat"]
    rare = reference_rare_ngrams(reference, 2)
    assert rare == rare_ngrams(count_ngrams(reference, 2))
    assert ("rare", "bird") in rare and ("the", "cat") not in rare
    covered = [g for g in rare if g in count_ngrams(["a rare bird sang"], 2)]
    assert tail_coverage(rare, ["a rare bird sang"], 2) == pytest.approx(len(covered) / len(rare))
    assert tail_coverage(rare, reference, 2) == 1.0
    assert tail_coverage(rare, ["nothing in common"], 2) == 0.0
