"""Embedding-space fidelity against reference implementations and known cases."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from prdc import compute_prdc

from synthloom.assay import embedding_fidelity as ef
from synthloom.errors import DataFormatError


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _cloud(n: int, dim: int, seed: int, shift: float = 0.0, scale: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centre = np.zeros(dim)
    centre[0] = 3.0
    centre[1] = shift
    return _unit(centre + scale * rng.normal(size=(n, dim)))


def _frechet_with_sqrtm(a: np.ndarray, b: np.ndarray) -> float:
    """The textbook formula (as in pytorch-fid), valid on well-conditioned covariances."""
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b)
    return float((mu_a - mu_b) @ (mu_a - mu_b) + np.trace(cov_a + cov_b - 2 * np.real(root)))


@pytest.mark.parametrize(
    ("n_real", "n_syn", "dim", "shift"),
    [
        pytest.param(400, 300, 8, 0.0, id="same-distribution"),
        pytest.param(500, 500, 16, 1.0, id="shifted"),
        pytest.param(300, 600, 4, 3.0, id="far"),
    ],
)
def test_frechet_matches_scipy_sqrtm_formula(
    n_real: int, n_syn: int, dim: int, shift: float
) -> None:
    real = _cloud(n_real, dim, seed=1)
    synthetic = _cloud(n_syn, dim, seed=2, shift=shift)
    ours = ef.frechet_distance(real, synthetic)
    assert ours == pytest.approx(_frechet_with_sqrtm(real, synthetic), rel=1e-7, abs=1e-9)


def test_frechet_known_cases() -> None:
    real = _cloud(200, 6, seed=3)
    assert ef.frechet_distance(real, real) == pytest.approx(0.0, abs=1e-9)
    shift = np.array([0.5, -0.25, 0, 0, 0, 0.1])
    # A pure translation changes only the mean term.
    assert ef.frechet_distance(real, real + shift) == pytest.approx(shift @ shift, rel=1e-9)


def test_frechet_survives_singular_covariances() -> None:
    # Fewer rows than dimensions, a constant column, duplicated rows: sqrtm struggles here.
    rng = np.random.default_rng(4)
    real = _unit(rng.normal(size=(10, 64)))
    synthetic = _unit(rng.normal(size=(12, 64)))
    synthetic[:, 5] = 0.0
    value = ef.frechet_distance(real, np.vstack([synthetic, synthetic]))
    assert np.isfinite(value) and value > 0
    assert ef.frechet_distance(real[:2], real[:2]) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("n_real", "n_syn", "dim", "shift", "k"),
    [
        pytest.param(200, 150, 8, 0.0, 5, id="same"),
        pytest.param(300, 300, 16, 0.7, 5, id="shifted"),
        pytest.param(120, 400, 4, 0.3, 3, id="unbalanced-k3"),
        pytest.param(1500, 700, 8, 0.2, 10, id="several-blocks"),
    ],
)
def test_prdc_agrees_with_the_prdc_package(
    n_real: int, n_syn: int, dim: int, shift: float, k: int
) -> None:
    real = _cloud(n_real, dim, seed=5)
    synthetic = _cloud(n_syn, dim, seed=6, shift=shift, scale=0.8)
    ours = ef.prdc(real, synthetic, k=k)
    theirs = compute_prdc(real, synthetic, nearest_k=k)
    assert set(ours) == {"precision", "recall", "density", "coverage"}
    for name, value in theirs.items():
        assert ours[name] == pytest.approx(float(value), abs=1e-6), name


def test_prdc_sees_mode_collapse() -> None:
    real = _cloud(400, 8, seed=7)
    # Synthetic points copied from one small corner of the real data: its 20 nearest points.
    corner = np.argsort(np.linalg.norm(real - real[0], axis=1))[:20]
    collapsed = real[corner] + 1e-4
    result = ef.prdc(real, np.vstack([collapsed] * 5), k=5)
    assert result["precision"] > 0.9  # realistic ...
    assert result["coverage"] < 0.2  # ... but covers little of the real data


def test_classifier_auc_near_half_when_same_and_near_one_when_apart() -> None:
    same = ef.classifier_two_sample_auc(_cloud(300, 8, seed=8), _cloud(300, 8, seed=9))
    apart = ef.classifier_two_sample_auc(_cloud(300, 8, seed=8), _cloud(200, 8, seed=9, shift=3))
    assert abs(same - 0.5) < 0.1
    assert apart > 0.95


def test_classifier_auc_is_deterministic_for_a_seed() -> None:
    real, syn = _cloud(100, 8, seed=10), _cloud(80, 8, seed=11, shift=0.4)
    assert ef.classifier_two_sample_auc(real, syn, seed=3) == ef.classifier_two_sample_auc(
        real, syn, seed=3
    )


def test_embedding_fidelity_dict() -> None:
    real, syn = _cloud(120, 8, seed=12), _cloud(90, 8, seed=13, shift=0.5)
    result = ef.embedding_fidelity(real, syn, k=5, seed=0)
    assert set(result) == {
        "frechet_distance",
        "precision",
        "recall",
        "density",
        "coverage",
        "classifier_auc",
        "k",
        "n_real",
        "n_synthetic",
        "subsampled",
        "errors",
    }
    assert result["errors"] == {}
    assert (result["n_real"], result["n_synthetic"], result["subsampled"]) == (120, 90, False)
    assert result["precision"] == ef.prdc(real, syn, k=5)["precision"]
    assert result["frechet_distance"] == pytest.approx(ef.frechet_distance(real, syn))


def test_embedding_fidelity_subsamples_deterministically() -> None:
    real, syn = _cloud(300, 8, seed=14), _cloud(50, 8, seed=15)
    first = ef.embedding_fidelity(real, syn, max_samples=100, seed=1)
    again = ef.embedding_fidelity(real, syn, max_samples=100, seed=1)
    assert first["subsampled"] is True
    assert (first["n_real"], first["n_synthetic"]) == (100, 50)
    assert first == again


def test_embedding_fidelity_small_data_records_errors() -> None:
    real, syn = _cloud(4, 8, seed=16), _cloud(1, 8, seed=17)
    result = ef.embedding_fidelity(real, syn, k=5)
    assert result["precision"] is None and result["classifier_auc"] is None
    assert result["frechet_distance"] is None
    assert "need more than 5 rows" in result["errors"]["coverage"]
    assert "at least 2 rows" in result["errors"]["classifier_auc"]
    # With enough rows for everything but prdc, the rest is still computed.
    partial = ef.embedding_fidelity(_cloud(5, 8, seed=18), _cloud(6, 8, seed=19), k=5)
    assert partial["frechet_distance"] is not None and partial["classifier_auc"] is not None
    assert set(partial["errors"]) == {"precision", "recall", "density", "coverage"}


def test_mismatched_dimensions_name_the_field() -> None:
    with pytest.raises(DataFormatError, match=r"field 'synthetic'.*same method"):
        ef.embedding_fidelity(np.ones((10, 4)), np.ones((10, 5)))
    with pytest.raises(DataFormatError, match="NaN"):
        ef.frechet_distance(np.full((3, 2), np.nan), np.ones((3, 2)))
