"""Embedding-space fidelity: how closely synthetic texts cover the reference in a vector space.

This module owns four views of two clouds of L2-normalised embeddings (rows = texts):

* :func:`frechet_distance` -- the Fréchet distance between Gaussians fitted to each cloud (the
  FID/FBD formula). 0 when means and covariances match; lower is better.
* :func:`prdc` -- precision, recall, density and coverage of Naeem et al. 2020 ("Reliable
  Fidelity and Diversity Metrics for Generative Models"), with k-nearest-neighbour balls; the
  same numbers as the reference ``prdc`` package, computed in blocks so memory stays bounded.
  Precision: share of synthetic points inside some real point's k-NN ball (realism). Recall:
  share of real points inside some synthetic point's ball (diversity). Density: mean number of
  real balls around each synthetic point, divided by k (about 1 when the two match; above 1
  when synthetic points crowd dense real regions). Coverage: share of real points whose ball
  holds at least one synthetic point.
* :func:`classifier_two_sample_auc` -- cross-validated ROC AUC of a logistic regression telling
  real from synthetic: 0.5 means indistinguishable, 1.0 means trivially told apart.
* :func:`embedding_fidelity` -- all of the above as one dict, subsampling large inputs
  deterministically and recording, instead of raising, a metric that the data is too small for.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from synthloom.errors import DataFormatError

__all__ = [
    "classifier_two_sample_auc",
    "embedding_fidelity",
    "frechet_distance",
    "prdc",
]

FloatMatrix = npt.NDArray[np.float64]

# Rows of the real x synthetic distance matrix computed at once in prdc (bounds memory).
_PRDC_BLOCK_ROWS = 1024


def _as_matrix(name: str, values: npt.ArrayLike) -> FloatMatrix:
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.ndim != 2:
        raise DataFormatError(
            f"expected a 2-D array (rows = texts), got shape {matrix.shape}", field=name
        )
    if not np.all(np.isfinite(matrix)):
        raise DataFormatError("embeddings hold NaN or infinite values", field=name)
    return matrix


def _check_pair(real: npt.ArrayLike, synthetic: npt.ArrayLike) -> tuple[FloatMatrix, FloatMatrix]:
    real_m = _as_matrix("real", real)
    syn_m = _as_matrix("synthetic", synthetic)
    if real_m.shape[1] != syn_m.shape[1]:
        raise DataFormatError(
            f"real has {real_m.shape[1]} dimensions but synthetic has {syn_m.shape[1]}; "
            "embed both with the same method",
            field="synthetic",
        )
    return real_m, syn_m


def _psd_sqrt(matrix: FloatMatrix) -> FloatMatrix:
    """Square root of a symmetric positive semi-definite matrix (negative rounding clipped)."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    root: FloatMatrix = (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T
    return root


def frechet_distance(real: npt.ArrayLike, synthetic: npt.ArrayLike) -> float:
    """``|mu_r - mu_s|^2 + Tr(S_r + S_s - 2 (S_r S_s)^(1/2))`` of Gaussians fitted to each side.

    ``Tr((S_r S_s)^(1/2))`` is computed as ``Tr((A S_s A)^(1/2))`` with ``A = S_r^(1/2)``: the
    two matrices are similar, and the second is symmetric positive semi-definite, so its
    eigenvalues are real and non-negative. That gives the same value as ``scipy.linalg.sqrtm``
    on well-conditioned input, but without the complex parts and the failures sqrtm shows on
    the singular covariances of embeddings (more dimensions than rows, or constant directions).
    Needs at least two rows on each side.
    """
    real_m, syn_m = _check_pair(real, synthetic)
    for name, matrix in (("real", real_m), ("synthetic", syn_m)):
        if matrix.shape[0] < 2:
            raise DataFormatError(
                f"the Fréchet distance needs at least 2 rows, got {matrix.shape[0]}", field=name
            )
    mean_gap = real_m.mean(axis=0) - syn_m.mean(axis=0)
    cov_real = np.atleast_2d(np.cov(real_m, rowvar=False))
    cov_syn = np.atleast_2d(np.cov(syn_m, rowvar=False))
    root_real = _psd_sqrt(cov_real)
    middle = np.linalg.eigvalsh(root_real @ cov_syn @ root_real)
    trace_sqrt = float(np.sqrt(np.clip(middle, 0.0, None)).sum())
    value = float(mean_gap @ mean_gap + np.trace(cov_real) + np.trace(cov_syn) - 2.0 * trace_sqrt)
    # Rounding can push a distance of zero slightly below it.
    return max(value, 0.0)


def _kth_neighbour_radii(points: FloatMatrix, k: int) -> npt.NDArray[np.float64]:
    """Distance from each point to its k-th nearest other point (itself counted as the 0th)."""
    from sklearn.metrics import pairwise_distances_chunked

    def reduce(chunk: FloatMatrix, start: int) -> npt.NDArray[np.float64]:
        # The (k+1)-th smallest distance in a row, the point itself being the smallest.
        part: npt.NDArray[np.float64] = np.partition(chunk, k, axis=1)[:, k]
        return part

    return np.concatenate(
        list(pairwise_distances_chunked(points, reduce_func=reduce, metric="euclidean"))
    )


def prdc(real: npt.ArrayLike, synthetic: npt.ArrayLike, k: int = 5) -> dict[str, float]:
    """Precision, recall, density and coverage (Naeem et al. 2020) with k-NN balls.

    Returns ``{"precision", "recall", "density", "coverage"}``. Both sides need more than k
    rows. Agrees with ``prdc.compute_prdc`` (the authors' package) on the same inputs.
    """
    from sklearn.metrics import pairwise_distances

    real_m, syn_m = _check_pair(real, synthetic)
    if k < 1:
        raise DataFormatError(f"k must be >= 1, got {k}", field="k")
    for name, matrix in (("real", real_m), ("synthetic", syn_m)):
        if matrix.shape[0] <= k:
            raise DataFormatError(
                f"precision/recall/density/coverage with k={k} need more than {k} rows, "
                f"got {matrix.shape[0]}",
                field=name,
            )
    real_radii = _kth_neighbour_radii(real_m, k)
    syn_radii = _kth_neighbour_radii(syn_m, k)

    balls_around_syn = np.zeros(syn_m.shape[0], dtype=np.int64)
    real_in_syn_ball = np.zeros(real_m.shape[0], dtype=bool)
    real_covered = np.zeros(real_m.shape[0], dtype=bool)
    for start in range(0, real_m.shape[0], _PRDC_BLOCK_ROWS):
        stop = min(start + _PRDC_BLOCK_ROWS, real_m.shape[0])
        dist = pairwise_distances(real_m[start:stop], syn_m, metric="euclidean")
        inside_real_ball = dist < real_radii[start:stop, None]
        balls_around_syn += inside_real_ball.sum(axis=0)
        real_in_syn_ball[start:stop] = (dist < syn_radii[None, :]).any(axis=1)
        real_covered[start:stop] = dist.min(axis=1) < real_radii[start:stop]
    return {
        "precision": float((balls_around_syn > 0).mean()),
        "recall": float(real_in_syn_ball.mean()),
        "density": float(balls_around_syn.mean() / k),
        "coverage": float(real_covered.mean()),
    }


def classifier_two_sample_auc(
    real: npt.ArrayLike, synthetic: npt.ArrayLike, *, folds: int = 5, seed: int = 0
) -> float:
    """Mean out-of-fold ROC AUC of a logistic regression telling real (0) from synthetic (1).

    Stratified folds; classes weighted to balance, so unequal sizes do not favour one side.
    0.5 means the classifier cannot tell the sets apart. Each side needs at least 2 rows;
    the number of folds shrinks to the smaller side's size when needed.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    real_m, syn_m = _check_pair(real, synthetic)
    smaller = min(real_m.shape[0], syn_m.shape[0])
    if smaller < 2:
        raise DataFormatError(
            f"the classifier test needs at least 2 rows on each side, got {smaller}",
            field="real" if real_m.shape[0] < 2 else "synthetic",
        )
    features = np.vstack([real_m, syn_m])
    labels = np.concatenate([np.zeros(real_m.shape[0]), np.ones(syn_m.shape[0])])
    splitter = StratifiedKFold(
        n_splits=max(2, min(folds, smaller)), shuffle=True, random_state=seed
    )
    scores = []
    for train, test in splitter.split(features, labels):
        model = LogisticRegression(class_weight="balanced", max_iter=2000)
        model.fit(features[train], labels[train])
        scores.append(roc_auc_score(labels[test], model.decision_function(features[test])))
    return float(np.mean(scores))


def _subsample(matrix: FloatMatrix, limit: int, rng: np.random.Generator) -> FloatMatrix:
    if matrix.shape[0] <= limit:
        return matrix
    return matrix[np.sort(rng.choice(matrix.shape[0], size=limit, replace=False))]


def embedding_fidelity(
    real: npt.ArrayLike,
    synthetic: npt.ArrayLike,
    *,
    k: int = 5,
    seed: int = 0,
    max_samples: int = 5000,
) -> dict[str, Any]:
    """Every embedding-space fidelity metric of synthetic against real, as one dict.

    Keys: ``frechet_distance``, ``precision``, ``recall``, ``density``, ``coverage``,
    ``classifier_auc`` (float, or None when the data is too small for that metric), ``k``,
    ``n_real`` and ``n_synthetic`` (rows used, after subsampling), ``subsampled`` (whether a side
    was cut to ``max_samples`` rows, drawn without replacement with ``seed``), and ``errors``
    (``{metric: message}`` for each metric that could not be computed). Small data never raises.
    """
    real_m, syn_m = _check_pair(real, synthetic)
    if max_samples < 2:
        raise DataFormatError(f"max_samples must be >= 2, got {max_samples}", field="max_samples")
    rng = np.random.default_rng(seed)
    subsampled = real_m.shape[0] > max_samples or syn_m.shape[0] > max_samples
    real_m = _subsample(real_m, max_samples, rng)
    syn_m = _subsample(syn_m, max_samples, rng)

    result: dict[str, Any] = {
        "frechet_distance": None,
        "precision": None,
        "recall": None,
        "density": None,
        "coverage": None,
        "classifier_auc": None,
        "k": k,
        "n_real": int(real_m.shape[0]),
        "n_synthetic": int(syn_m.shape[0]),
        "subsampled": subsampled,
    }
    errors: dict[str, str] = {}
    try:
        result["frechet_distance"] = frechet_distance(real_m, syn_m)
    except DataFormatError as exc:
        errors["frechet_distance"] = str(exc)
    try:
        result.update(prdc(real_m, syn_m, k=k))
    except DataFormatError as exc:
        for name in ("precision", "recall", "density", "coverage"):
            errors[name] = str(exc)
    try:
        result["classifier_auc"] = classifier_two_sample_auc(real_m, syn_m, seed=seed)
    except DataFormatError as exc:
        errors["classifier_auc"] = str(exc)
    result["errors"] = errors
    return result
