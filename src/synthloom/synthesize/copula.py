"""The Gaussian copula: fit once on a real table, sample as many synthetic tables as wanted.

Each column gets a marginal (:mod:`synthloom.synthesize.marginals`); each row becomes a vector of
normal scores, one per copula dimension (a numeric column's value, its missingness when it has
missing values, a categorical column's category); the dependence between columns is the
correlation matrix of those scores. Sampling draws normal vectors with that correlation and maps
each dimension back through its marginal.

Normal scores: a numeric value's is ``Φ⁻¹`` of its CDF level (without DP its mid-rank, with DP
its level on the noisy marginal); a category's, or a missing flag's, is ``Φ⁻¹`` of a uniform
draw inside the interval of [0, 1] its frequency gives it (the distributional transform: the
scores of a categorical column are then exactly normal, and its ties cost no correlation).

Without DP the correlations are pairwise-complete (a pair is measured on the rows where both
values are present). With DP they come from one noisy sum of the rows' outer products
(:func:`dp_correlation`), each row's score vector clipped to a public L2 norm. Either way the
matrix is repaired to the nearest positive-definite correlation matrix by eigenvalue clipping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special, stats

from synthloom.synthesize.marginals import (
    CategoricalMarginal,
    IdColumn,
    Marginal,
    NumericMarginal,
    categorical_codes,
    numeric_values,
)
from synthloom.synthesize.privacy import Ledger

__all__ = [
    "EIGEN_FLOOR",
    "CopulaModel",
    "Dimension",
    "dp_correlation",
    "nearest_correlation",
    "normal_scores",
    "order_categories",
    "pairwise_correlation",
    "undo_coarsening",
]

FloatArray = npt.NDArray[np.float64]

#: The smallest eigenvalue a repaired correlation matrix keeps (relative to a unit diagonal).
EIGEN_FLOOR = 1e-6
#: Normal scores are computed from levels kept this far from 0 and 1 (|z| <= 4.75).
_LEVEL_GUARD = 1e-6
#: The clipping norm of a row's scores with DP: the 99.9% quantile of a chi-square with one
#: degree of freedom per dimension, so that about one row in a thousand is clipped.
CLIP_QUANTILE = 0.999
_SAMPLE_CHUNK = 262_144
# A corrected latent correlation is kept below one: the correction can overshoot.
_MAX_LATENT = 0.95
# The correction divides by the kept share: below a quarter (a category or missing flag of
# under about 7%) it would mostly amplify sampling and DP noise.
_MIN_SHARE = 0.25


@dataclass(frozen=True)
class Dimension:
    """One coordinate of the copula: a column's ``value`` or ``missing`` flag, or ``category``."""

    column: str
    role: str


@dataclass
class CopulaModel:
    """A fitted copula: the marginals, the dimensions and their correlation.

    ``sample(rows, seed=...)`` may be called any number of times; it reads nothing of the real
    table (with DP, sampling is post-processing and spends no budget).
    """

    columns: list[str]
    marginals: dict[str, Marginal]
    dimensions: list[Dimension]
    correlation: FloatArray
    method: str
    ledger: Ledger | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def sample(self, rows: int, *, seed: int | None = None) -> pd.DataFrame:
        """``rows`` synthetic rows with the real table's columns in the real table's order."""
        if rows < 1:
            raise ValueError("rows must be at least 1")
        rng = np.random.default_rng(seed)
        chol = np.linalg.cholesky(self.correlation) if self.dimensions else np.zeros((0, 0))
        pieces = []
        for start in range(0, rows, _SAMPLE_CHUNK):
            count = min(_SAMPLE_CHUNK, rows - start)
            normal = rng.standard_normal((count, len(self.dimensions))) @ chol.T
            pieces.append(self._decode(special.ndtr(normal), count))
        table = pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]
        for name in self.columns:
            marginal = self.marginals[name]
            if isinstance(marginal, IdColumn):
                table[name] = marginal.to_series(rows)
        return table[self.columns]

    def _decode(self, levels: FloatArray, rows: int) -> pd.DataFrame:
        where = {(d.column, d.role): i for i, d in enumerate(self.dimensions)}
        out: dict[str, pd.Series] = {}
        for name in self.columns:
            marginal = self.marginals[name]
            if isinstance(marginal, NumericMarginal):
                value = where.get((name, "value"))
                u = levels[:, value] if value is not None else np.full(rows, 0.5)
                flag = where.get((name, "missing"))
                if flag is not None:
                    missing = levels[:, flag] < marginal.missing_share
                else:
                    missing = np.full(rows, marginal.missing_share >= 1.0)
                out[name] = marginal.to_series(marginal.inverse(u), missing)
            elif isinstance(marginal, CategoricalMarginal):
                dim = where.get((name, "category"))  # none for a single category
                u = levels[:, dim] if dim is not None else np.full(rows, 0.5)
                out[name] = marginal.to_series(marginal.index(u))
            else:
                out[name] = pd.Series(np.zeros(rows), name=name)  # replaced by fresh ids
        return pd.DataFrame(out)

    def describe(self) -> dict[str, Any]:
        """What run.json says about the model: method, columns, dimensions, budget."""
        return {
            "method": self.method,
            "columns": {name: m.describe() for name, m in self.marginals.items()},
            "dimensions": len(self.dimensions),
            "privacy": self.ledger.to_json() if self.ledger is not None else None,
            **self.notes,
        }


# --------------------------------------------------------------------------- normal scores


def dimensions_of(marginals: Mapping[str, Marginal]) -> list[Dimension]:
    """The copula's coordinates for these marginals, in column order."""
    dims: list[Dimension] = []
    for name, marginal in marginals.items():
        if isinstance(marginal, NumericMarginal):
            if marginal.missing_share < 1.0:
                dims.append(Dimension(name, "value"))
            if 0.0 < marginal.missing_share < 1.0:
                dims.append(Dimension(name, "missing"))
        elif isinstance(marginal, CategoricalMarginal) and len(marginal.values) > 1:
            dims.append(Dimension(name, "category"))
    return dims


def _interval_scores(lower: FloatArray, width: FloatArray, rng: np.random.Generator) -> FloatArray:
    u = lower + width * rng.random(len(lower))
    return np.asarray(special.ndtri(np.clip(u, _LEVEL_GUARD, 1 - _LEVEL_GUARD)))


def normal_scores(
    real: pd.DataFrame,
    kinds: Mapping[str, str],
    marginals: Mapping[str, Marginal],
    dims: list[Dimension],
    rng: np.random.Generator,
    *,
    by_rank: bool,
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Each row's normal score on each dimension, and where a score is present.

    ``by_rank``: a value's level is its mid-rank among the present values (the empirical CDF,
    without DP); otherwise its level on the marginal (a function of the row alone, as DP needs).
    """
    scores = np.zeros((len(real), len(dims)))
    present = np.ones((len(real), len(dims)), dtype=bool)
    for j, dim in enumerate(dims):
        marginal = marginals[dim.column]
        if isinstance(marginal, NumericMarginal):
            values, _ = numeric_values(real[dim.column], kinds[dim.column])
            known = ~np.isnan(values)
            if dim.role == "missing":
                share = marginal.missing_share
                lower = np.where(known, share, 0.0)
                width = np.where(known, 1.0 - share, share)
                scores[:, j] = _interval_scores(lower, width, rng)
                continue
            if by_rank:
                ranks = stats.rankdata(values[known])
                levels = (ranks - 0.5) / known.sum()
            else:
                levels = marginal.cdf(values[known])
            scores[known, j] = special.ndtri(np.clip(levels, _LEVEL_GUARD, 1 - _LEVEL_GUARD))
            present[:, j] = known
        elif isinstance(marginal, CategoricalMarginal):
            codes = categorical_codes(real[dim.column], marginal.values)
            cumulative = np.concatenate([[0.0], np.cumsum(marginal.probabilities)])
            scores[:, j] = _interval_scores(cumulative[codes], marginal.probabilities[codes], rng)
    return scores, present


def order_categories(
    real: pd.DataFrame,
    marginals: Mapping[str, Marginal],
    dims: list[Dimension],
    scores: FloatArray,
    present: npt.NDArray[np.bool_],
) -> dict[str, Marginal]:
    """Categorical marginals re-ordered along the numeric score they say most about.

    A copula links a category to the others through the position of its interval on [0, 1];
    with categories in frequency order a relation such as season -> temperature (winter cold,
    summer hot, spring and autumn between) is lost. Ordering the categories by their mean normal
    score on the numeric dimension with the largest correlation ratio makes that relation
    monotone, which a correlation can carry. Used without DP only: the order reads the rows.
    """
    numeric = [j for j, d in enumerate(dims) if d.role == "value"]
    ordered = dict(marginals)
    if not numeric:
        return ordered
    for dim in dims:
        marginal = marginals[dim.column]
        if dim.role != "category" or not isinstance(marginal, CategoricalMarginal):
            continue
        codes = categorical_codes(real[dim.column], marginal.values)
        best: tuple[float, FloatArray] | None = None
        for j in numeric:
            rows = present[:, j]
            counts = np.bincount(codes[rows], minlength=len(marginal.values))
            sums = np.bincount(codes[rows], weights=scores[rows, j], minlength=len(counts))
            means = np.divide(sums, counts, out=np.zeros(len(counts)), where=counts > 0)
            total = float((scores[rows, j] ** 2).sum())
            ratio = float((counts * means**2).sum()) / total if total > 0 else 0.0
            if best is None or ratio > best[0]:
                best = (ratio, means)
        assert best is not None
        order = np.argsort(best[1], kind="stable")
        ordered[dim.column] = CategoricalMarginal(
            name=marginal.name,
            values=tuple(marginal.values[i] for i in order),
            probabilities=marginal.probabilities[order],
            dtype=marginal.dtype,
        )
    return ordered


# --------------------------------------------------------------------------- correlations


def pairwise_correlation(scores: FloatArray, present: npt.NDArray[np.bool_]) -> FloatArray:
    """Correlations of normal scores, each pair over the rows where both are present.

    Scores are standard normal by construction, so the uncentred form is used: the sum of
    products over the sum of squares on the same rows.
    """
    mask = present.astype(np.float64)
    z = np.where(present, scores, 0.0)
    products = z.T @ z
    squares = (z * z).T @ mask  # [i, j]: sum of z_i² over the rows where j is present
    denominator = np.sqrt(squares * squares.T)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where(denominator > 0, products / denominator, 0.0)
    np.fill_diagonal(corr, 1.0)
    return np.clip(corr, -1.0, 1.0)


def clip_norm(dimensions: int) -> float:
    """The public L2 bound on one row's vector of normal scores (see :data:`CLIP_QUANTILE`)."""
    return float(np.sqrt(stats.chi2.ppf(CLIP_QUANTILE, dimensions)))


def dp_correlation(
    scores: FloatArray,
    present_share: FloatArray,
    *,
    epsilon: float,
    delta: float,
    ledger: Ledger,
    rng: np.random.Generator,
) -> FloatArray:
    """A DP correlation matrix from one noisy sum of the rows' score outer products.

    Each row's score vector is scaled down to L2 norm ``C`` at most (:func:`clip_norm`); one
    row added or removed then moves the upper triangle of ``Σ z zᵀ`` by at most ``C²`` in L2
    norm (the Frobenius norm of ``z zᵀ`` is ``‖z‖² ≤ C²``) and ``(d + 1) C² / 2`` in L1 norm.
    With ``delta > 0`` the analytic Gaussian mechanism is used, else Laplace. The noisy sums are
    normalised by their noisy diagonal, and a pair involving a column with missing values is
    scaled up by the (noisy) present shares, whose absence would shrink it towards zero.
    """
    d = scores.shape[1]
    bound = clip_norm(d)
    norms = np.sqrt((scores * scores).sum(axis=1))
    clipped = scores * np.minimum(1.0, bound / np.maximum(norms, 1e-300))[:, None]
    upper = np.triu_indices(d)
    sums = (clipped.T @ clipped)[upper]
    detail = f"{d} dimensions, row norm clipped to {bound:.3f}"
    # Gaussian noise is calibrated to the L2 sensitivity, Laplace (delta = 0) to the L1 one.
    noisy = ledger.measure(
        rng,
        sums,
        step="correlation",
        sensitivity=bound**2 if delta > 0 else (d + 1) * bound**2 / 2,
        epsilon=epsilon,
        delta=delta,
        detail=detail,
    )
    matrix = np.zeros((d, d))
    matrix[upper] = noisy
    matrix = matrix + np.triu(matrix, 1).T
    diagonal = np.maximum(np.diag(matrix), 0.0)
    scale = np.sqrt(np.outer(diagonal, diagonal)) * np.sqrt(np.outer(present_share, present_share))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where(scale > 0, matrix / scale, 0.0)
    np.fill_diagonal(corr, 1.0)
    return np.clip(corr, -1.0, 1.0)


def coarsening_share(probabilities: FloatArray) -> float:
    """The share of a normal score's variance that its interval says (the rest is the jitter
    inside it): ``Σ p_b e_b²`` with ``e_b`` the mean of a standard normal over interval b."""
    edges = special.ndtri(np.clip(np.concatenate([[0.0], np.cumsum(probabilities)]), 0, 1))
    density = stats.norm.pdf(edges)  # 0 at ±inf
    mass = np.diff(special.ndtr(edges))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(mass > 0, (density[:-1] - density[1:]) / mass, 0.0)
    return float(np.clip((mass * means**2).sum(), _MIN_SHARE, 1.0))


def undo_coarsening(
    corr: FloatArray, dims: list[Dimension], marginals: Mapping[str, Marginal]
) -> FloatArray:
    """Correlations of the latent normals behind coarsened dimensions (categories, missing
    flags): a measured correlation ``r`` between two dimensions whose scores keep shares
    ``v_i``, ``v_j`` of their variance is about ``ρ v_i v_j`` for a latent correlation ``ρ``
    (the polyserial / polychoric first-order relation), so ``ρ = r / (v_i v_j)``. Without it a
    smoker flag's link to age comes out at about two thirds of the real one."""
    shares = np.ones(len(dims))
    for j, dim in enumerate(dims):
        marginal = marginals[dim.column]
        if dim.role == "category" and isinstance(marginal, CategoricalMarginal):
            shares[j] = coarsening_share(marginal.probabilities)
        elif dim.role == "missing" and isinstance(marginal, NumericMarginal):
            share = marginal.missing_share
            shares[j] = coarsening_share(np.array([share, 1.0 - share]))
    latent = corr / np.outer(shares, shares)
    np.fill_diagonal(latent, 1.0)
    return np.clip(latent, -_MAX_LATENT, _MAX_LATENT) + np.diag(
        np.full(len(dims), 1.0 - _MAX_LATENT)
    )


def nearest_correlation(matrix: FloatArray, floor: float = EIGEN_FLOOR) -> FloatArray:
    """A positive-definite correlation matrix near ``matrix``: eigenvalues clipped at ``floor``,
    then the diagonal rescaled to one (which keeps the matrix positive definite)."""
    if matrix.size == 0:
        return matrix
    symmetric = (matrix + matrix.T) / 2
    values, vectors = np.linalg.eigh(symmetric)
    repaired = (vectors * np.maximum(values, floor)) @ vectors.T
    scale = np.sqrt(np.diag(repaired))
    corr = repaired / np.outer(scale, scale)
    np.fill_diagonal(corr, 1.0)
    return np.asarray((corr + corr.T) / 2, dtype=np.float64)
