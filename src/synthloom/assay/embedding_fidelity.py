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

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from synthloom.assay.sampling import Bootstrap, SideSample, interval
from synthloom.errors import DataFormatError

__all__ = [
    "ClassifierScores",
    "classifier_scores",
    "classifier_two_sample_auc",
    "embedding_fidelity",
    "frechet_distance",
    "prdc",
    "prdc_contributions",
    "prdc_means",
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


def prdc_contributions(
    real: npt.ArrayLike, synthetic: npt.ArrayLike, k: int = 5
) -> dict[str, npt.NDArray[np.float64]]:
    """Each record's share of precision, recall, density and coverage (Naeem et al. 2020).

    ``{"precision": per synthetic row, 1 when inside some real point's k-NN ball, "density":
    per synthetic row, the number of real balls around it, "recall": per real row, 1 when
    inside some synthetic point's ball, "coverage": per real row, 1 when its ball holds a
    synthetic point}``; each metric is the mean of its array (density: divided by k, see
    :func:`prdc_means`). The bootstrap intervals of the sampled assay resample these, with the
    balls of the sample kept fixed.
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
        "precision": (balls_around_syn > 0).astype(np.float64),
        "recall": real_in_syn_ball.astype(np.float64),
        "density": balls_around_syn.astype(np.float64),
        "coverage": real_covered.astype(np.float64),
    }


def prdc(real: npt.ArrayLike, synthetic: npt.ArrayLike, k: int = 5) -> dict[str, float]:
    """Precision, recall, density and coverage (Naeem et al. 2020) with k-NN balls.

    Returns ``{"precision", "recall", "density", "coverage"}``. Both sides need more than k
    rows. Agrees with ``prdc.compute_prdc`` (the authors' package) on the same inputs.
    """
    return prdc_means(prdc_contributions(real, synthetic, k), k)


def prdc_means(parts: dict[str, npt.NDArray[np.float64]], k: int) -> dict[str, float]:
    """The four numbers from :func:`prdc_contributions` (density: mean count of balls / k)."""
    return {
        name: float(values.mean() / k) if name == "density" else float(values.mean())
        for name, values in parts.items()
    }


@dataclass(frozen=True)
class ClassifierScores:
    """Out-of-fold decision scores of the real-vs-synthetic classifier, and each row's fold."""

    labels: npt.NDArray[np.float64]
    scores: npt.NDArray[np.float64]
    folds: npt.NDArray[np.int64]

    def auc(self, weights: npt.NDArray[np.float64] | None = None) -> float:
        """Mean over folds of the ROC AUC of the held-out scores (rows weighted by ``weights``:
        how often a bootstrap resample takes each row)."""
        from sklearn.metrics import roc_auc_score

        values = []
        for fold in range(int(self.folds.max()) + 1):
            held = self.folds == fold
            weight = None if weights is None else weights[held]
            values.append(roc_auc_score(self.labels[held], self.scores[held], sample_weight=weight))
        return float(np.mean(values))


def classifier_scores(
    real: npt.ArrayLike, synthetic: npt.ArrayLike, *, folds: int = 5, seed: int = 0
) -> ClassifierScores:
    """The out-of-fold scores behind :func:`classifier_two_sample_auc`."""
    from sklearn.linear_model import LogisticRegression
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
    scores = np.zeros(labels.shape[0], dtype=np.float64)
    fold_of = np.zeros(labels.shape[0], dtype=np.int64)
    for fold, (train, test) in enumerate(splitter.split(features, labels)):
        model = LogisticRegression(class_weight="balanced", max_iter=2000)
        model.fit(features[train], labels[train])
        scores[test] = model.decision_function(features[test])
        fold_of[test] = fold
    return ClassifierScores(labels, scores, fold_of)


def classifier_two_sample_auc(
    real: npt.ArrayLike, synthetic: npt.ArrayLike, *, folds: int = 5, seed: int = 0
) -> float:
    """Mean out-of-fold ROC AUC of a logistic regression telling real (0) from synthetic (1).

    Stratified folds; classes weighted to balance, so unequal sizes do not favour one side.
    0.5 means the classifier cannot tell the sets apart. Each side needs at least 2 rows;
    the number of folds shrinks to the smaller side's size when needed.
    """
    return classifier_scores(real, synthetic, folds=folds, seed=seed).auc()


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
    max_samples: int | None = 5000,
    bootstrap: Bootstrap | None = None,
    samples: tuple[SideSample, SideSample] | None = None,
) -> dict[str, Any]:
    """Every embedding-space fidelity metric of synthetic against real, as one dict.

    Keys: ``frechet_distance``, ``precision``, ``recall``, ``density``, ``coverage``,
    ``classifier_auc`` (float, or None when the data is too small for that metric), ``k``,
    ``n_real`` and ``n_synthetic`` (rows used, after subsampling), ``subsampled`` (whether a side
    was cut to ``max_samples`` rows, drawn without replacement with ``seed``; None: no cap), and
    ``errors`` (``{metric: message}`` for each metric that could not be computed). Small data
    never raises.

    With ``bootstrap`` and ``samples`` (which records of the real and the synthetic set the
    rows are), each computed metric (the six above) gets ``<metric>_interval``:
    ``{value, low, high, confidence, n_real, n_synthetic}``. The Fréchet distance is
    recomputed on half-samples of the sampled sides (:meth:`Bootstrap.half_samples`, which
    adds ``estimate``, the value expected on every record: the distance is biased upwards by
    about ``1/n``); PRDC resamples the per-record contributions (the sample's k-NN balls
    kept: PRDC of a sample estimates PRDC at that sample size, as FID-5k is its own
    number); the AUC reweights the out-of-fold scores (the classifiers are not refitted).
    """
    real_m, syn_m = _check_pair(real, synthetic)
    if max_samples is not None and max_samples < 2:
        raise DataFormatError(f"max_samples must be >= 2, got {max_samples}", field="max_samples")
    subsampled = False
    if max_samples is not None:
        rng = np.random.default_rng(seed)
        subsampled = real_m.shape[0] > max_samples or syn_m.shape[0] > max_samples
        real_m = _subsample(real_m, max_samples, rng)
        syn_m = _subsample(syn_m, max_samples, rng)
    n_real, n_syn = int(real_m.shape[0]), int(syn_m.shape[0])

    result: dict[str, Any] = {
        "frechet_distance": None,
        "precision": None,
        "recall": None,
        "density": None,
        "coverage": None,
        "classifier_auc": None,
        "k": k,
        "n_real": n_real,
        "n_synthetic": n_syn,
        "subsampled": subsampled,
    }
    low_high: dict[str, tuple[float | None, float | None]] = {}
    estimates: dict[str, float | None] = {}
    errors: dict[str, str] = {}
    try:
        result["frechet_distance"] = frechet_distance(real_m, syn_m)
        if bootstrap is not None and samples is not None:
            low, high, estimates["frechet_distance"] = bootstrap.half_samples(
                lambda r, s: frechet_distance(real_m[r], syn_m[s]),
                result["frechet_distance"],
                samples,
                stream=1,
            )
            low_high["frechet_distance"] = (low, high)
    except DataFormatError as exc:
        errors["frechet_distance"] = str(exc)
    try:
        parts = prdc_contributions(real_m, syn_m, k=k)
        result.update(prdc_means(parts, k))
        if bootstrap is not None and samples is not None:
            for stream, (name, values) in enumerate(parts.items(), start=2):
                scale = 1.0 / k if name == "density" else 1.0
                low_high[name] = bootstrap.mean(values, scale=scale, stream=stream)
    except DataFormatError as exc:
        for name in ("precision", "recall", "density", "coverage"):
            errors[name] = str(exc)
    try:
        scores = classifier_scores(real_m, syn_m, seed=seed)
        result["classifier_auc"] = scores.auc()
        if bootstrap is not None and samples is not None:
            low_high["classifier_auc"] = bootstrap.two_sample(
                lambda r, s: scores.auc(_row_weights(r, s, n_real, n_syn)),
                n_real,
                n_syn,
                stream=6,
            )
    except DataFormatError as exc:
        errors["classifier_auc"] = str(exc)
    for name, (low, high) in low_high.items():
        result[f"{name}_interval"] = interval(
            result[name],
            low,
            high,
            estimate=estimates.get(name),
            n_real=n_real,
            n_synthetic=n_syn,
        )
    result["errors"] = errors
    return result


def _row_weights(
    real_rows: npt.NDArray[np.int64], syn_rows: npt.NDArray[np.int64], n_real: int, n_syn: int
) -> npt.NDArray[np.float64]:
    """How often a resample takes each row of ``[real; synthetic]`` (the classifier's order)."""
    return np.concatenate(
        [np.bincount(real_rows, minlength=n_real), np.bincount(syn_rows, minlength=n_syn)]
    ).astype(np.float64)
