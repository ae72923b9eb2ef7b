"""The DP copula: noise scales that match ε, a budget that adds up, bounds that hold."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from synthloom.synthesize import ColumnBounds, PrivacySettings, fit_copula
from synthloom.synthesize.copula import clip_norm
from synthloom.synthesize.privacy import (
    Ledger,
    analytic_gaussian_sigma,
    gaussian_noise,
    laplace_noise,
)

from .tables import clinic_visits, correlated_normals

EPSILONS = [
    pytest.param(0.5, id="eps0.5"),
    pytest.param(1.0, id="eps1"),
    pytest.param(4.0, id="eps4"),
]


@pytest.mark.parametrize("epsilon", EPSILONS)
def test_laplace_noise_has_the_scale_epsilon_asks_for(epsilon: float) -> None:
    rng = np.random.default_rng(1)
    noise, scale = laplace_noise(rng, 40000, sensitivity=2.0, epsilon=epsilon)
    assert scale == pytest.approx(2.0 / epsilon)
    assert stats.kstest(noise, stats.laplace(scale=2.0 / epsilon).cdf).pvalue > 1e-3
    # Mean absolute deviation of Laplace(b) is b; its standard error here is b / 200.
    assert abs(np.abs(noise).mean() - scale) < 4 * scale / 200


def _privacy_loss_excess(sigma: float, sensitivity: float, epsilon: float, delta: float) -> float:
    """Balle & Wang's exact condition, written out independently of the code under test."""
    a = sensitivity / (2 * sigma)
    b = epsilon * sigma / sensitivity
    return float(stats.norm.cdf(a - b) - math.exp(epsilon) * stats.norm.cdf(-a - b) - delta)


@pytest.mark.parametrize("epsilon", [*EPSILONS, pytest.param(8.0, id="eps8")])
@pytest.mark.parametrize("delta", [pytest.param(1e-5, id="d1e-5"), pytest.param(1e-9, id="d1e-9")])
def test_analytic_gaussian_sigma_is_the_tight_bound(epsilon: float, delta: float) -> None:
    sigma = analytic_gaussian_sigma(sensitivity=3.0, epsilon=epsilon, delta=delta)
    assert _privacy_loss_excess(sigma, 3.0, epsilon, delta) <= 1e-12
    assert _privacy_loss_excess(0.98 * sigma, 3.0, epsilon, delta) > 0
    if epsilon < 1:  # where the classic bound holds, the analytic one is below it
        assert sigma < 3.0 * math.sqrt(2 * math.log(1.25 / delta)) / epsilon
    rng = np.random.default_rng(2)
    noise, drawn_sigma = gaussian_noise(rng, 40000, sensitivity=3.0, epsilon=epsilon, delta=delta)
    assert drawn_sigma == sigma
    assert abs(noise.std() / sigma - 1) < 4 / math.sqrt(2 * 40000)


def test_ledger_refuses_to_overspend() -> None:
    ledger = Ledger(epsilon=1.0, delta=1e-6)
    rng = np.random.default_rng(0)
    ledger.measure(rng, np.zeros(3), step="a", sensitivity=1.0, epsilon=0.6)
    with pytest.raises(ValueError, match="more than epsilon"):
        ledger.measure(rng, np.zeros(3), step="b", sensitivity=1.0, epsilon=0.5)
    with pytest.raises(ValueError, match="more than delta"):
        ledger.measure(rng, np.zeros(3), step="c", sensitivity=1.0, epsilon=0.1, delta=1e-5)
    assert [s.step for s in ledger.steps] == ["a"]


@pytest.mark.parametrize("epsilon", EPSILONS)
@pytest.mark.parametrize("delta", [pytest.param(1e-9, id="gaussian"), pytest.param(0.0, id="pure")])
def test_budget_accounting_sums_to_epsilon(epsilon: float, delta: float) -> None:
    real = clinic_visits(2000, seed=2)
    model = fit_copula(real, privacy=PrivacySettings(epsilon=epsilon, delta=delta), seed=3)
    assert model.ledger is not None
    budget = model.ledger.to_json()
    assert budget["spent_epsilon"] == pytest.approx(epsilon, rel=1e-12)
    assert budget["spent_delta"] == pytest.approx(delta, abs=1e-18)
    steps = {s["step"]: s for s in budget["steps"]}
    learnt = [c for c in real.columns if c not in ("patient", "note")]  # the id columns
    assert set(steps) == {f"marginal {c}" for c in learnt} | {"correlation"}
    for column in learnt:
        step = steps[f"marginal {column}"]
        assert step["mechanism"] == "laplace"
        assert step["epsilon"] == pytest.approx(epsilon / 2 / len(learnt))
        assert step["noise_scale"] == pytest.approx(1 / step["epsilon"])
    corr = steps["correlation"]
    assert corr["epsilon"] == pytest.approx(epsilon / 2)
    d = len(model.dimensions)
    bound = clip_norm(d) ** 2
    if delta > 0:
        assert corr["mechanism"] == "gaussian (analytic)"
        assert corr["noise_scale"] == pytest.approx(
            analytic_gaussian_sigma(sensitivity=bound, epsilon=epsilon / 2, delta=delta)
        )
    else:
        assert corr["mechanism"] == "laplace"
        assert corr["noise_scale"] == pytest.approx((d + 1) * bound / 2 / (epsilon / 2))


def test_marginal_noise_over_repeated_runs_matches_epsilon() -> None:
    """Fit a one-column table many times: the spread of a category's learnt share is the one
    Laplace noise of scale 1/ε on its count gives (simulated here without our code)."""
    real = pd.DataFrame({"answer": ["yes"] * 300 + ["no"] * 700})
    spreads = {}
    for epsilon in (1.0, 4.0):
        shares = []
        for seed in range(500):
            model = fit_copula(real, privacy=PrivacySettings(epsilon=epsilon), seed=seed)
            marginal = model.marginals["answer"]
            probabilities = dict(zip(marginal.values, marginal.probabilities, strict=True))  # type: ignore[union-attr]
            shares.append(probabilities["yes"])
        rng = np.random.default_rng(99)
        noisy = np.maximum(
            np.array([300.0, 700.0, 0.0]) + rng.laplace(0, 1 / epsilon, (200_000, 3)), 0
        )
        expected = (noisy[:, 0] / noisy.sum(axis=1)).std()
        spreads[epsilon] = np.std(shares)
        # The standard deviation of 500 draws is known to about 1 / sqrt(1000), ~3%.
        assert spreads[epsilon] == pytest.approx(expected, rel=0.15), epsilon
    assert spreads[1.0] / spreads[4.0] == pytest.approx(4.0, rel=0.25)


def test_public_bounds_and_categories_hold() -> None:
    real = clinic_visits(3000, seed=4)
    bounds = {
        "age": ColumnBounds(low=30, high=80),
        "bmi": ColumnBounds(low=18.5, high=40),
        "site": ColumnBounds(categories=("Northgate", "Riverside", "Old Town")),
    }
    model = fit_copula(real, privacy=PrivacySettings(epsilon=2.0), bounds=bounds, seed=5)
    synthetic = model.sample(5000, seed=6)
    assert synthetic["age"].between(30, 80).all()
    assert synthetic["bmi"].between(18.5, 40).all()
    # Sites not listed count as missing: Harbour and Westfield Annex never come out.
    assert set(synthetic["site"].dropna()) <= {"Northgate", "Riverside", "Old Town"}
    assert synthetic["site"].isna().mean() > 0.1
    sources = model.notes["bounds"]
    assert sources["age"] == sources["site"] == "--bounds (public)"
    assert sources["systolic_bp"].startswith("data")


def test_dp_copula_keeps_the_picture_at_a_moderate_epsilon() -> None:
    real = correlated_normals(30000, 0.7, seed=8)
    model = fit_copula(real, privacy=PrivacySettings(epsilon=2.0), seed=9)
    synthetic = model.sample(30000, seed=10)
    real_rank = real.corr(method="spearman").to_numpy()
    synthetic_rank = synthetic.corr(method="spearman").to_numpy()
    assert np.abs(real_rank - synthetic_rank).max() < 0.1
    for column in real.columns:
        assert stats.ks_2samp(real[column], synthetic[column]).statistic < 0.05, column


def test_dp_seed_reproduces_and_no_seed_does_not() -> None:
    real = clinic_visits(1500, seed=1)
    settings = PrivacySettings(epsilon=1.0)
    a = fit_copula(real, privacy=settings, seed=4).sample(300, seed=1)
    b = fit_copula(real, privacy=settings, seed=4).sample(300, seed=1)
    pd.testing.assert_frame_equal(a, b)
    # Unseeded, the noise differs (even which columns get a missing flag may differ).
    fresh = [fit_copula(real, privacy=settings).sample(300, seed=1) for _ in range(2)]
    assert not fresh[0].equals(fresh[1])
