"""Pair metrics: how each pair of columns moves together on both sides.

Two numerical/datetime columns: :func:`correlation_similarity` (all Pearson correlations come
from :func:`correlation_matrices`, four matrix products per side). Any other pair:
:func:`contingency_similarity` on joint codes, a numerical/datetime column binned first, with
Cramér's V of the real table as its association. :func:`pair_results` scores every pair of a
table; see :mod:`synthloom.assay.fidelity` for the definitions and the binning choice.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from synthloom.assay.fidelity.columns import (
    CONTINUOUS_KINDS,
    ContinuousColumn,
    DiscreteColumn,
    FloatArray,
    IntArray,
    continuous_from_arrays,
    discrete_from_arrays,
    error_text,
    json_float,
    narrow_codes,
    prepare_discrete,
)
from synthloom.assay.fidelity.joint import block_counts, pair_table, plan_blocks
from synthloom.errors import ConfigError, DataFormatError

__all__ = [
    "BINNINGS",
    "NUM_BINS",
    "Correlations",
    "contingency_similarity",
    "correlation_matrices",
    "correlation_similarity",
    "cramers_v",
    "pair_results",
]

#: Bins a numerical/datetime column is cut into for a contingency table (SDMetrics' default).
NUM_BINS = 10
#: How a numerical/datetime column meeting a discrete one is binned: ``real`` (both sides on
#: the real data's edges, outer edges open: the metric class's way, the default) or ``report``
#: (each side on its own edges, as SDMetrics 0.32's QualityReport does).
BINNINGS = ("real", "report")
# Above this many joint cells, count pairs with np.unique instead of a dense bincount.
_DENSE_CELLS = 1 << 24


def _dot(x: FloatArray, y: FloatArray) -> float:
    # einsum, not np.dot: a threaded BLAS ddot is far slower on vectors on small machines.
    return float(np.einsum("i,i->", x, y))


def _pearson(x: FloatArray, y: FloatArray) -> float:
    """Pearson's r on rows where both are present; NaN if fewer than 2 rows or a constant side."""
    both = ~(np.isnan(x) | np.isnan(y))
    if not both.all():
        x, y = x[both], y[both]
    if x.size < 2:
        return math.nan
    x = x - x.mean()
    y = y - y.mean()
    norm = math.sqrt(_dot(x, x)) * math.sqrt(_dot(y, y))
    if norm == 0.0 or not math.isfinite(norm):
        return math.nan
    return max(-1.0, min(1.0, _dot(x, y) / norm))


def _rank(x: FloatArray) -> FloatArray:
    ranked = pd.Series(x).rank(method="average").to_numpy(dtype=np.float64)
    return np.asarray(ranked, dtype=np.float64)


def _check_not_constant(first: ContinuousColumn, second: ContinuousColumn) -> None:
    """SDMetrics refuses a correlation when either column is constant on either side."""
    for side in ("real", "synthetic"):
        if getattr(first, f"{side}_constant") or getattr(second, f"{side}_constant"):
            raise DataFormatError(
                f"the {side} data holds a constant column; correlation is undefined for it"
            )


def _similarity(real_r: float, synthetic_r: float) -> float:
    if math.isnan(real_r) or math.isnan(synthetic_r):
        return math.nan
    return 1.0 - abs(real_r - synthetic_r) / 2.0


def correlation_similarity(
    real_a: Any,
    real_b: Any,
    syn_a: Any,
    syn_b: Any,
    *,
    coefficient: Literal["Pearson", "Spearman"] = "Pearson",
) -> float:
    """SDMetrics' CorrelationSimilarity: 1 - |r_real - r_synthetic| / 2.

    Rows missing either value are dropped per side; datetimes become nanoseconds. Raises
    :class:`DataFormatError` when a column is constant on either side (as SDMetrics raises);
    returns NaN when a correlation is undefined after dropping missing rows.
    """
    if coefficient not in ("Pearson", "Spearman"):
        raise ConfigError(
            f"unknown correlation coefficient {coefficient!r}; use 'Pearson' or 'Spearman'"
        )
    first = continuous_from_arrays(real_a, syn_a, name="first column")
    second = continuous_from_arrays(real_b, syn_b, name="second column")
    _check_not_constant(first, second)
    correlations = []
    for a, b in ((first.real, second.real), (first.synthetic, second.synthetic)):
        if coefficient == "Spearman":
            both = ~(np.isnan(a) | np.isnan(b))
            a, b = _rank(a[both]), _rank(b[both])
        correlations.append(_pearson(a, b))
    return _similarity(correlations[0], correlations[1])


def _bin_codes(column: ContinuousColumn, bins: int) -> DiscreteColumn:
    """Cut both sides on the real data's histogram edges with open outer edges; missing values
    get code ``bins``. Equal to ``numpy.digitize`` on SDMetrics' edges (minus one)."""
    edges = _histogram_edges(column.real, bins)
    real_codes, real_missing = _bin_side(column.real, edges, bins)
    synthetic_codes, synthetic_missing = _bin_side(column.synthetic, edges, bins)
    has_missing = real_missing or synthetic_missing
    return DiscreteColumn(
        "binned", real_codes, synthetic_codes, bins + 1, bins if has_missing else None, []
    )


def _report_bin_codes(column: ContinuousColumn, bins: int) -> DiscreteColumn:
    """SDMetrics 0.32 QualityReport's binning: each side cut on its *own*
    ``numpy.histogram_bin_edges`` (present values) and coded with ``numpy.digitize``, so the
    maximum and missing values share code ``bins + 1``; an infinite value makes the edges
    undefined and raises, as in the report (its mixed pairs then record the error)."""
    sides = []
    for values in (column.real, column.synthetic):
        edges = np.histogram_bin_edges(values[~np.isnan(values)], bins=bins)
        sides.append(narrow_codes(np.digitize(values, edges), bins + 2))
    return DiscreteColumn("binned", sides[0], sides[1], bins + 2, None, [])


def _histogram_edges(values: FloatArray, bins: int) -> FloatArray:
    """``numpy.histogram_bin_edges(values[~isnan(values)], bins)`` without copying the present
    values out first (the same min, max and linspace, so the same edges)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: handled below
        low, high = np.nanmin(values), np.nanmax(values)
    if np.isnan(low) or not (np.isfinite(low) and np.isfinite(high)):
        return np.histogram_bin_edges(values[~np.isnan(values)], bins=bins)  # its own error
    if low == high:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, bins + 1, endpoint=True, dtype=np.result_type(low, high, values))


# Up to this many bins, a value's bin is counted edge by edge (one compare-and-add pass each,
# into one-byte codes); beyond, by a binary search per value.
_COMPARE_BINS = 16
_BIN_CHUNK = 1 << 15


def _bin_side(values: FloatArray, edges: FloatArray, bins: int) -> tuple[npt.NDArray[Any], bool]:
    """(codes, whether any value is missing): the number of interior edges at or below a value
    is its bin (outer edges open, so values outside the real range land in the first or last
    bin); a missing value gets code ``bins``. Codes are in the narrowest unsigned type."""
    interior = edges[1:-1]
    if bins <= _COMPARE_BINS:
        codes = np.zeros(values.size, dtype=np.uint8)
        at_or_above = np.empty(min(values.size, _BIN_CHUNK), dtype=bool)
        # A chunk of rows at a time, so the values are read from memory once for all edges.
        for start in range(0, values.size, _BIN_CHUNK):
            chunk, chunk_codes = (
                values[start : start + _BIN_CHUNK],
                codes[start : start + _BIN_CHUNK],
            )
            step = at_or_above[: chunk.size]
            for edge in interior:
                np.greater_equal(chunk, edge, out=step)  # NaN is at or above no edge
                chunk_codes += step
    else:
        codes = narrow_codes(np.searchsorted(interior, values, side="right"), bins + 1)
    missing = np.isnan(values)
    if not missing.any():
        return codes, False
    codes[missing] = bins
    return codes, True


def _contingency_scores(a: DiscreteColumn, b: DiscreteColumn) -> tuple[float, float]:
    """(ContingencySimilarity score, real Cramér's V) of two coded columns."""
    n_cells = a.n_codes * b.n_codes
    if n_cells <= _DENSE_CELLS:
        sizes = (a.n_codes, b.n_codes)
        return _table_scores(
            block_counts([a.real, b.real], sizes),
            block_counts([a.synthetic, b.synthetic], sizes),
        )
    # Too many cells for a dense table: count the cells that occur (codes widened first, so
    # that their product cannot overflow a narrow type).
    real_ids, real_counts = np.unique(
        a.real.astype(np.int64) * b.n_codes + b.real, return_counts=True
    )
    synthetic_ids, synthetic_counts = np.unique(
        a.synthetic.astype(np.int64) * b.n_codes + b.synthetic, return_counts=True
    )
    all_ids = np.union1d(real_ids, synthetic_ids)
    real_share = np.zeros(all_ids.size)
    synthetic_share = np.zeros(all_ids.size)
    real_share[np.searchsorted(all_ids, real_ids)] = real_counts / a.real.size
    synthetic_share[np.searchsorted(all_ids, synthetic_ids)] = synthetic_counts / a.synthetic.size
    score = 1.0 - 0.5 * float(np.abs(real_share - synthetic_share).sum())
    return score, _cramers_v_cells(real_ids // b.n_codes, real_ids % b.n_codes, real_counts)


def _table_scores(real: IntArray, synthetic: IntArray) -> tuple[float, float]:
    """(ContingencySimilarity score, real Cramér's V) of a pair's two contingency tables."""
    real_counts, synthetic_counts = real.ravel(), synthetic.ravel()
    gap = np.abs(real_counts / real_counts.sum() - synthetic_counts / synthetic_counts.sum())
    return 1.0 - 0.5 * float(gap.sum()), _cramers_v_table(real)


def _cramers_v_table(table: IntArray) -> float:
    """Cramér's V of a contingency table (no continuity correction, as scipy's
    ``association``); categories absent from the table are dropped first."""
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    smaller = min(table.shape)
    if smaller < 2:
        return math.nan
    observed = table.astype(np.float64)
    total = observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / total
    chi2 = float(np.sum((observed - expected) ** 2 / expected))
    return math.sqrt(chi2 / total / (smaller - 1))


def _cramers_v_cells(rows: IntArray, columns: IntArray, counts: IntArray) -> float:
    """Cramér's V (no continuity correction, as scipy's ``association``) from non-empty cells.

    Uses chi2 = n * (sum O^2 / (R_i C_j) - 1), which needs only the non-empty cells.
    """
    total = float(counts.sum())
    row_ids, row_index = np.unique(rows, return_inverse=True)
    column_ids, column_index = np.unique(columns, return_inverse=True)
    smaller = min(row_ids.size, column_ids.size)
    if total == 0 or smaller < 2:
        return math.nan
    row_totals = np.bincount(row_index, weights=counts)
    column_totals = np.bincount(column_index, weights=counts)
    observed = counts.astype(np.float64)
    ratio = float(
        np.sum(observed * observed / (row_totals[row_index] * column_totals[column_index]))
    )
    phi2 = max(ratio - 1.0, 0.0)
    return math.sqrt(phi2 / (smaller - 1))


def _coded_pair_column(
    real: Any, synthetic: Any, *, continuous: bool | None, bins: int, name: str
) -> DiscreteColumn:
    real_series, synthetic_series = pd.Series(real), pd.Series(synthetic)
    if continuous is None:
        dtype = real_series.dtype
        continuous = (
            pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        ) or pd.api.types.is_datetime64_any_dtype(dtype)
    if continuous:
        return _bin_codes(continuous_from_arrays(real_series, synthetic_series, name), bins)
    return prepare_discrete(real_series, synthetic_series, kind="categorical", name=name)


def contingency_similarity(
    real_a: Any,
    real_b: Any,
    syn_a: Any,
    syn_b: Any,
    *,
    continuous_a: bool | None = None,
    continuous_b: bool | None = None,
    bins: int = NUM_BINS,
) -> float:
    """SDMetrics' ContingencySimilarity: 1 - total variation distance of the joint frequencies.

    A missing value is a category of its own. A continuous column (``continuous_a`` /
    ``continuous_b``; by default numeric non-boolean and datetime dtypes) is cut into ``bins``
    bins on the real data's edges, outer edges open, for both sides: what the metric class does
    with ``continuous_column_names`` (not what SDMetrics' QualityReport does; see the module
    docstring).
    """
    first = _coded_pair_column(real_a, syn_a, continuous=continuous_a, bins=bins, name="first")
    second = _coded_pair_column(real_b, syn_b, continuous=continuous_b, bins=bins, name="second")
    score, _ = _contingency_scores(first, second)
    return score


def cramers_v(a: Any, b: Any) -> float:
    """Cramér's V of two discrete columns (missing values are a category), without continuity
    correction; NaN when either column has fewer than two categories."""
    first = discrete_from_arrays(a, a)
    second = discrete_from_arrays(b, b)
    _, association = _contingency_scores(first, second)
    return association


@dataclass
class Correlations:
    """Pairwise-complete Pearson matrices of the numerical/datetime columns, per side
    (:func:`correlation_matrices`); the table's correlation heat map is drawn from it."""

    names: list[str]
    real: FloatArray
    synthetic: FloatArray

    def pair(self, first: str, second: str) -> tuple[float, float]:
        i, j = self.names.index(first), self.names.index(second)
        return float(self.real[i, j]), float(self.synthetic[i, j])


def pair_results(
    names: list[str],
    prepared: Mapping[str, ContinuousColumn | DiscreteColumn],
    column_results: Mapping[str, Mapping[str, Any]],
    correlation: Future[Correlations],
    pool: ThreadPoolExecutor,
    *,
    threshold_numeric: float,
    threshold_categorical: float,
    bins: int,
    binning: str,
) -> list[dict[str, Any]]:
    """The result of every pair of ``names`` (in ``combinations`` order), spread over ``pool``;
    ``correlation`` is the pending :func:`correlation_matrices` of the prepared columns.

    A pair whose column could not be prepared, or whose score fails, records its ``error``
    instead of raising; it counts when its real association is above its threshold.
    """
    continuous = [n for n in names if isinstance(prepared.get(n), ContinuousColumn)]
    discrete = [n for n in names if isinstance(prepared.get(n), DiscreteColumn)]
    binned: dict[str, DiscreteColumn | Exception] = {}
    cut = _report_bin_codes if binning == "report" else _bin_codes
    if discrete or len(continuous) < len(names):
        # Bins are needed only when a continuous column meets a discrete one.
        binned = dict(
            zip(
                continuous,
                pool.map(lambda n: _try(cut, prepared[n], bins), continuous),
                strict=True,
            )
        )
    coded: dict[str, DiscreteColumn] = {}
    for name in names:
        item = binned.get(name, prepared.get(name))
        if isinstance(item, DiscreteColumn):
            coded[name] = item
    tables = _joint_tables(names, coded, column_results, pool)
    # Computed by then, most often: the correlations ran beside the binning and the counting.
    correlations = correlation.result()

    def one_pair(columns: tuple[str, str]) -> dict[str, Any]:
        first, second = columns
        numeric = all(column_results[n]["kind"] in CONTINUOUS_KINDS for n in columns)
        pair: dict[str, Any] = {
            "columns": [first, second],
            "metric": "CorrelationSimilarity" if numeric else "ContingencySimilarity",
            "score": None,
            "real_association": None,
            "counted": False,
            "error": None,
        }
        try:
            for name in columns:
                if name not in prepared:
                    raise DataFormatError(
                        f"column '{name}' could not be read: {column_results[name]['error']}"
                    )
            if numeric:
                a, b = prepared[first], prepared[second]
                assert isinstance(a, ContinuousColumn) and isinstance(b, ContinuousColumn)
                _check_not_constant(a, b)
                real_r, synthetic_r = correlations.pair(first, second)
                score, association = _similarity(real_r, synthetic_r), abs(real_r)
                threshold = threshold_numeric
                if math.isnan(score):
                    pair["error"] = (
                        "correlation is undefined (constant values once rows with missing "
                        "values are dropped, or fewer than 2 rows)"
                    )
            else:
                for name in columns:
                    failed = binned.get(name)
                    if isinstance(failed, Exception):
                        raise failed
                if columns in tables:
                    score, association = _table_scores(*tables[columns]())
                else:  # too many cells to share a block: counted on its own
                    score, association = _contingency_scores(coded[first], coded[second])
                threshold = threshold_categorical
            pair["score"] = json_float(score)
            pair["real_association"] = json_float(association)
            pair["counted"] = bool(
                pair["score"] is not None
                and pair["real_association"] is not None
                and association > threshold
            )
        except Exception as exc:  # one odd pair must not fail the table
            pair["error"] = error_text(exc)
        return pair

    return list(pool.map(one_pair, combinations(names, 2)))


def _joint_tables(
    names: list[str],
    coded: Mapping[str, DiscreteColumn],
    column_results: Mapping[str, Mapping[str, Any]],
    pool: ThreadPoolExecutor,
) -> dict[tuple[str, str], Callable[[], tuple[IntArray, IntArray]]]:
    """For every pair that needs a contingency table and fits a block (:mod:`.joint`), a
    function giving its (real, synthetic) tables; the blocks are counted over ``pool``."""
    usable = [name for name in names if name in coded]
    sizes = [coded[name].n_codes for name in usable]
    needed = [
        (i, j)
        for i, j in combinations(range(len(usable)), 2)
        if not all(column_results[usable[k]]["kind"] in CONTINUOUS_KINDS for k in (i, j))
    ]
    blocks, block_of = plan_blocks(sizes, needed)

    def count(task: tuple[tuple[int, ...], str]) -> IntArray:
        members, side = task
        columns = [getattr(coded[usable[k]], side) for k in members]
        return block_counts(columns, [sizes[k] for k in members])

    tasks = [(members, side) for members in blocks for side in ("real", "synthetic")]
    counted = list(pool.map(count, tasks))

    def table(i: int, j: int) -> Callable[[], tuple[IntArray, IntArray]]:
        index = block_of[(i, j)]
        members = blocks[index]
        return lambda: (
            pair_table(counted[2 * index], members, i, j),
            pair_table(counted[2 * index + 1], members, i, j),
        )

    return {(usable[i], usable[j]): table(i, j) for i, j in block_of}


def _try(function: Any, *args: Any) -> Any:
    """The function's result, or the exception it raised (to re-raise in the pair it concerns)."""
    try:
        return function(*args)
    except Exception as exc:
        return exc


def correlation_matrices(
    prepared: Mapping[str, ContinuousColumn | DiscreteColumn],
) -> Correlations:
    """Pearson matrices of the prepared numerical/datetime columns, one side after the other
    (:func:`pair_results` runs this as one task beside its binning and counting)."""
    names = [name for name, item in prepared.items() if isinstance(item, ContinuousColumn)]

    def one_side(side: str) -> FloatArray:
        # An infinite value makes its column's moments inf - inf = NaN: the correlation is
        # undefined (SDMetrics gives NaN too), which is no reason to warn.
        with np.errstate(invalid="ignore", over="ignore"):
            return _pearson_matrix([getattr(prepared[name], side) for name in names])

    return Correlations(names, one_side("real"), one_side("synthetic"))


# Rows per block when accumulating the correlation moments: the scratch blocks (three of rows x
# columns floats) stay in cache and are reused, where blocks of 2**18 rows cost a first touch of
# 60 MB a side and twice the time on a million rows. The order of the partial sums depends on it
# (moments agree with pandas' DataFrame.corr to about 1e-14 either way).
_MOMENT_BLOCK = 1 << 14
# Rows of a block filled at a time (0.3 MB a scratch piece at 5 columns, 0.6 MB at 10).
_FILL_ROWS = 1 << 13


def _pearson_matrix(arrays: list[FloatArray]) -> FloatArray:
    """Pearson's r of every pair of columns on the rows where both are present.

    Each column is centred on its own mean; for each pair the moments over the shared rows
    (count, sums, sums of squares, cross products) come out of four matrix products, so no pair
    needs its own pass over the data. Centring first keeps the usual cancellation small; a
    variance that is zero up to rounding means a constant column on those rows: NaN, like scipy.
    """
    k = len(arrays)
    if k == 0:
        return np.full((0, 0), np.nan)
    has_missing = [bool(np.isnan(a).any()) for a in arrays]
    # np.mean equals np.nanmean on a column without NaN, without nanmean's copy of it.
    means = np.array(
        [
            np.nanmean(values) if missing else np.mean(values)
            for values, missing in zip(arrays, has_missing, strict=True)
        ]
    )
    shared = np.zeros((k, k))
    sums = np.zeros((k, k))  # sums[i, j]: sum of x_i over rows where x_i and x_j are present
    squares = np.zeros((k, k))
    products = np.zeros((k, k))
    rows = arrays[0].size
    any_missing = any(has_missing)
    # Scratch blocks, reused. The matrix products see blocks of _MOMENT_BLOCK rows (their sums
    # depend on it), but a block is filled a cache-sized piece at a time: each column centred
    # into a contiguous row of ``by_column`` (a strided write into the row-major block would
    # stream the whole block once per column), then the piece's rows, missing mask, weights
    # and squares written while it is still in cache.
    size = min(rows, _MOMENT_BLOCK)
    block = np.empty((size, k))
    by_column = np.empty((k, min(size, _FILL_ROWS)))
    missing = np.empty((min(size, _FILL_ROWS), k), dtype=bool)
    weights = np.empty((size, k)) if any_missing else None
    squared = np.empty((size, k)) if any_missing else None
    for start in range(0, rows, _MOMENT_BLOCK):
        stop = min(start + _MOMENT_BLOCK, rows)
        for piece in range(start, stop, _FILL_ROWS):
            end = min(piece + _FILL_ROWS, stop)
            rows_here = slice(piece - start, end - start)
            centred_piece = block[rows_here]
            for j, values in enumerate(arrays):
                np.subtract(values[piece:end], means[j], out=by_column[j, : end - piece])
            np.copyto(centred_piece, by_column[:, : end - piece].T)
            if weights is not None and squared is not None:
                gaps = missing[: end - piece]
                np.isnan(centred_piece, out=gaps)
                np.subtract(1.0, gaps, out=weights[rows_here])
                np.copyto(centred_piece, 0.0, where=gaps)
                np.multiply(centred_piece, centred_piece, out=squared[rows_here])
        centred = block[: stop - start]
        if weights is not None and squared is not None:
            present = weights[: stop - start]
            shared += present.T @ present
            sums += centred.T @ present
            squares += squared[: stop - start].T @ present
        products += centred.T @ centred
    if not any_missing:
        # Every row counts for every pair: the sums of the centred values are zero.
        shared[:] = rows
        squares[:] = np.diag(products)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        covariance = products - sums * sums.T / shared
        variance = squares - sums * sums / shared
        undefined = (shared < 2) | (variance <= 1e-12 * squares) | (variance.T <= 1e-12 * squares.T)
        matrix = covariance / np.sqrt(variance * variance.T)
    # A column's correlation with itself is 1 where defined (rounding gave 0.9999999999999996).
    np.fill_diagonal(matrix, 1.0)
    matrix[undefined] = np.nan
    return np.asarray(np.clip(matrix, -1.0, 1.0), dtype=np.float64)
