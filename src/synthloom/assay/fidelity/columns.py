"""One column of both sides, prepared once, and the column metrics computed on it.

A numerical/datetime column becomes a :class:`ContinuousColumn` (float values for bounds,
correlations and bins; sorted present values for KS and quantiles), a categorical/boolean one a
:class:`DiscreteColumn` (integer codes into the categories both sides share). The column metrics
(:func:`ks_complement`, :func:`tv_complement`, :func:`boundary_adherence`,
:func:`category_adherence`) follow SDMetrics 0.32; see :mod:`synthloom.assay.fidelity`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from synthloom.assay.kinds import value_family
from synthloom.errors import DataFormatError

__all__ = [
    "CONTINUOUS_KINDS",
    "DISCRETE_KINDS",
    "ContinuousColumn",
    "DiscreteColumn",
    "FloatArray",
    "IntArray",
    "boundary_adherence",
    "boundary_adherence_column",
    "category_adherence",
    "category_adherence_codes",
    "continuous_from_arrays",
    "discrete_from_arrays",
    "error_text",
    "json_float",
    "ks_complement",
    "ks_statistic",
    "narrow_codes",
    "plain_object",
    "prepare_continuous",
    "prepare_discrete",
    "tv_complement",
    "tv_complement_codes",
]

#: Kinds compared as numbers (KSComplement, correlations) and as categories (TVComplement).
CONTINUOUS_KINDS = frozenset({"numerical", "datetime"})
DISCRETE_KINDS = frozenset({"categorical", "boolean"})
# SDMetrics rounds to sys.float_info.dig - 1 decimals before KS so float noise does not count.
_KS_DECIMALS = 14
# SDMetrics' get_frequencies gives a value seen only in the synthetic data this real count.
_TV_REGULARISATION = 1e-6

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def json_float(value: float | np.floating[Any] | None) -> float | None:
    """A score as JSON takes it: a plain float, or None for a missing or non-finite value."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def error_text(exc: Exception) -> str:
    """The one-line text a column or pair records in its ``error`` field."""
    return str(exc) if isinstance(exc, DataFormatError) else f"{type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------- conversions


def _numeric_values(series: pd.Series, *, name: str, side: str) -> FloatArray:
    try:
        if pd.api.types.is_bool_dtype(series.dtype):
            raise TypeError("boolean values")
        values = pd.to_numeric(series, errors="raise")
        return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataFormatError(
            f"the {side} column holds values that are not numbers ({exc}); "
            "pass kinds={...: 'categorical'} (the assay's --kinds FILE) to compare them as "
            "categories",
            field=name,
        ) from exc


def _datetime_ns(
    series: pd.Series, *, name: str, side: str
) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """Datetimes as int64 nanoseconds (exact, as SDMetrics compares them; a read-only view where
    the column already holds them, missing values as NaT) and the missing mask."""
    try:
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            converted = series
        elif pd.api.types.infer_dtype(series, skipna=True) == "string":
            converted = pd.to_datetime(series, format="ISO8601")
        else:
            converted = pd.to_datetime(series)
        if getattr(converted.dt, "tz", None) is not None:
            converted = converted.dt.tz_convert("UTC").dt.tz_localize(None)
        converted = converted.astype("datetime64[ns]")
    except (TypeError, ValueError, OverflowError) as exc:
        raise DataFormatError(
            f"the {side} column cannot be read as dates ({exc}); "
            "pass kinds={...: 'categorical'} (the assay's --kinds FILE) to compare the values as "
            "categories",
            field=name,
        ) from exc
    missing = converted.isna().to_numpy()
    return converted.to_numpy().view(np.int64), missing


@dataclass
class ContinuousColumn:
    """A numerical or datetime column, both sides, ready for every metric."""

    kind: str
    real: FloatArray  # float64, NaN where missing (for correlation, bins, bounds)
    synthetic: FloatArray
    real_sorted: npt.NDArray[Any]  # present values only, as SDMetrics' KS sees them, sorted
    synthetic_sorted: npt.NDArray[Any]
    real_constant: bool  # one distinct present value: correlation is undefined
    synthetic_constant: bool
    # The smallest and largest present real value before rounding (BoundaryAdherence's bounds).
    real_low: float
    real_high: float


@dataclass
class DiscreteColumn:
    """A categorical or boolean column, both sides, as codes into shared categories."""

    kind: str
    # Codes 0..n_codes-1 (missing values get their own code, na_code), in the narrowest
    # unsigned type that holds them (:func:`narrow_codes`): a contingency table reads each
    # column once per block of partners, and 1-2 bytes a code instead of 8 is most of the
    # memory traffic of the pair metrics.
    real: npt.NDArray[Any]
    synthetic: npt.NDArray[Any]
    n_codes: int
    na_code: int | None
    categories: list[Any]  # the value of each code below na_code

    # How often each code occurs per side: TVComplement, CategoryAdherence and the summary all
    # read these instead of counting the column again.
    @cached_property
    def real_counts(self) -> IntArray:
        return np.bincount(self.real, minlength=self.n_codes)

    @cached_property
    def synthetic_counts(self) -> IntArray:
        return np.bincount(self.synthetic, minlength=self.n_codes)


def narrow_codes(codes: IntArray, n_codes: int) -> npt.NDArray[Any]:
    """``codes`` (all in ``0..n_codes-1``) as uint8 or uint16 when they fit, else unchanged
    (no copy when they already are)."""
    if n_codes <= 1 << 8:
        return codes.astype(np.uint8, copy=False)
    if n_codes <= 1 << 16:
        return codes.astype(np.uint16, copy=False)
    return codes


def prepare_continuous(
    real: pd.Series, synthetic: pd.Series, *, kind: str, name: str
) -> ContinuousColumn:
    sorted_sides: list[npt.NDArray[Any]] = []
    float_sides: list[FloatArray] = []
    ends: list[tuple[float, float]] = []  # per side: the smallest and largest present value
    constant: list[bool] = []
    for side, series in (("real", real), ("synthetic", synthetic)):
        present: npt.NDArray[Any]
        if kind == "datetime":
            ns, missing = _datetime_ns(series, name=name, side=side)
            # NaT is the smallest int64, so the missing values sort first: no masked copy.
            present = np.sort(ns)[int(np.count_nonzero(missing)) :]
            as_float = ns.astype(np.float64)
            as_float[missing] = np.nan
        elif pd.api.types.is_integer_dtype(series.dtype) and not isinstance(
            series.dtype, pd.api.extensions.ExtensionDtype
        ):
            as_float = _numeric_values(series, name=name, side=side)
            present = np.sort(series.to_numpy(dtype=np.int64))  # exact, as SDMetrics' KS
        else:
            as_float = _numeric_values(series, name=name, side=side)
            # NaN sorts last, so the present values are a prefix of the sorted column.
            ordered = np.sort(as_float)
            present = ordered[: int(np.searchsorted(ordered, np.nan))]
        if present.size == 0:
            raise DataFormatError(
                f"the {side} column has no values (all missing); drop it or fill it", field=name
            )
        ends.append((float(present[0]), float(present[-1])))
        constant.append(bool(present[0] == present[-1]))  # exact, even for int64 beyond 2**53
        if present.dtype.kind == "f":
            # Rounding keeps the order, so rounding the sorted values (in place, after reading
            # the unrounded ends above) equals sorting the rounded ones.
            np.round(present, _KS_DECIMALS, out=present)
        sorted_sides.append(present)
        float_sides.append(as_float)
    return ContinuousColumn(
        kind,
        float_sides[0],
        float_sides[1],
        sorted_sides[0],
        sorted_sides[1],
        constant[0],
        constant[1],
        ends[0][0],
        ends[0][1],
    )


def prepare_discrete(
    real: pd.Series, synthetic: pd.Series, *, kind: str, name: str
) -> DiscreteColumn:
    if all(
        pd.api.types.is_bool_dtype(s.dtype)
        and not isinstance(s.dtype, pd.api.extensions.ExtensionDtype)
        for s in (real, synthetic)
    ):
        # Plain numpy booleans cannot be missing: their codes are the values.
        return DiscreteColumn(
            kind,
            real.to_numpy().astype(np.uint8),
            synthetic.to_numpy().astype(np.uint8),
            2,
            None,
            [False, True],
        )
    # Each side factorised on its own, then their (few) distinct values together: the codes of
    # one factorisation of both sides end to end (the real values first, in order of first
    # appearance), without copying both columns into one.
    sides = [pd.factorize(plain_object(s), use_na_sentinel=True) for s in (real, synthetic)]
    (real_codes, real_uniques), (synthetic_codes, synthetic_uniques) = sides
    shared, uniques = pd.factorize(
        pd.concat([pd.Series(real_uniques), pd.Series(synthetic_uniques)], ignore_index=True),
        use_na_sentinel=True,
    )
    n_codes = len(uniques)
    missing = [codes < 0 for codes in (real_codes, synthetic_codes)]
    na_code = n_codes if any(m.any() for m in missing) else None
    # A lookup per side: its own codes (the missing code -1 last) to the shared codes.
    lookups = [
        np.append(shared[: len(real_uniques)], na_code or 0),
        np.append(shared[len(real_uniques) :], na_code or 0),
    ]
    if na_code is not None:
        n_codes += 1
    coded = [
        narrow_codes(lookup, n_codes)[codes]
        for lookup, codes in zip(lookups, (real_codes, synthetic_codes), strict=True)
    ]
    column = DiscreteColumn(kind, coded[0], coded[1], n_codes, na_code, list(uniques))
    for side, side_codes in (("real", column.real), ("synthetic", column.synthetic)):
        if na_code is not None and bool(np.all(side_codes == na_code)):
            raise DataFormatError(
                f"the {side} column has no values (all missing); drop it or fill it", field=name
            )
    return column


def plain_object(series: pd.Series) -> pd.Series:
    """The series with a categorical dtype made plain objects: categorical / nullable dtypes
    would make concat or factorize disagree between the sides."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.astype(object)
    return series


# --------------------------------------------------------------------------- column metrics


# Values of one side taken at a time in :func:`ks_statistic`. A piece's temporaries stay in
# cache; and a piece whose bound on its gaps is below the largest gap found so far is never
# merged, so small pieces leave most of two columns unread when their CDFs part in one region.
_KS_PIECE = 1 << 12


def ks_statistic(real_sorted: npt.NDArray[Any], synthetic_sorted: npt.NDArray[Any]) -> float:
    """Two-sided two-sample KS D: the largest gap between the empirical CDFs, checked at every
    observed value (both arrays sorted, non-empty).

    The CDFs are read at the last element of each run of equal values: on the real side at a
    real value that neither the next real value nor the next synthetic value equals (with real
    values placed before equal synthetic ones), on the synthetic side at a synthetic value the
    next synthetic value differs from.

    Each side is cut into pieces of ``_KS_PIECE`` values. Two binary searches per piece give
    how many of the other side's values lie below its first and its last value, which bounds
    every gap inside it; pieces are then merged with the other side's values in their range
    (one stable sort of two sorted runs) in order of their bounds, largest first, until the
    next bound is no larger than the largest gap found. The bounds use the same rounded
    divisions as the gaps, so the skipped pieces cannot hold a larger one: D is exact.
    """
    # Compare as a merge of the two would (an int64 side meeting a float64 one: as floats).
    common = np.result_type(real_sorted, synthetic_sorted)
    real_sorted = real_sorted.astype(common, copy=False)
    synthetic_sorted = synthetic_sorted.astype(common, copy=False)
    pieces = [
        _pieces(real_sorted, synthetic_sorted, other_first=False),
        _pieces(synthetic_sorted, real_sorted, other_first=True),
    ]
    bounds = np.concatenate([piece.bounds for piece in pieces])
    owner = np.repeat([0, 1], [pieces[0].bounds.size, pieces[1].bounds.size])
    index = np.concatenate([np.arange(piece.bounds.size) for piece in pieces])
    largest = 0.0
    for k in np.argsort(-bounds, kind="stable"):
        if bounds[k] <= largest:
            break
        largest = max(largest, pieces[owner[k]].largest_gap(int(index[k])))
    return largest


@dataclass
class _Pieces:
    """One side (``own``) of a KS statistic cut into pieces, with how many of the other side's
    values lie below (``other_first``: at or below) each piece's first and last value, and the
    bound on the gaps ``|F_own - F_other|`` inside each piece that follows from them."""

    own: npt.NDArray[Any]
    other: npt.NDArray[Any]
    other_first: bool
    starts: IntArray
    low: IntArray
    high: IntArray
    bounds: FloatArray

    def largest_gap(self, k: int) -> float:
        """The largest gap at the ends of own's runs of equal values in piece ``k``; with
        ``other_first`` false, an equal value of the other side comes after, so a run end
        that the next other value equals is not an end of the merged run and is skipped."""
        own, other = self.own, self.other
        n_own, n_other = own.size, other.size
        start = int(self.starts[k])
        stop = min(start + _KS_PIECE, n_own)
        low, high = int(self.low[k]), int(self.high[k])
        piece, between = own[start:stop], other[low:high]
        # Stable: within equal values, the first run given comes first in the merged order.
        if self.other_first:
            merged_order = np.argsort(np.concatenate([between, piece]), kind="stable")
            below = np.flatnonzero(merged_order >= between.size)
        else:
            merged_order = np.argsort(np.concatenate([piece, between]), kind="stable")
            below = np.flatnonzero(merged_order < piece.size)
        # Before the i-th value of the piece in merged order come i of its own values and the
        # others' values below it (the ones before ``low`` and some of ``between``).
        below -= np.arange(piece.size)
        below += low
        ends = np.empty(piece.size, dtype=bool)
        np.not_equal(piece[1:], piece[:-1], out=ends[:-1])
        ends[-1] = stop == n_own or bool(own[stop] != piece[-1])
        if not self.other_first:
            next_other = other[np.minimum(below, n_other - 1)]
            ends &= (next_other != piece) | (below == n_other)
        gaps = np.arange(start + 1, stop + 1) / n_own
        gaps -= below / n_other
        return float(np.max(np.abs(gaps, out=gaps), where=ends, initial=0.0))


def _pieces(own: npt.NDArray[Any], other: npt.NDArray[Any], *, other_first: bool) -> _Pieces:
    n_own, n_other = own.size, other.size
    side: Literal["left", "right"] = "right" if other_first else "left"
    starts = np.arange(0, n_own, _KS_PIECE)
    stops = np.minimum(starts + _KS_PIECE, n_own)
    low = np.searchsorted(other, own[starts], side)
    high = np.searchsorted(other, own[stops - 1], side)
    # Inside a piece, F_own runs from (start + 1) / n_own to stop / n_own and the other side's
    # count from low to high; the gaps are the same divisions, rounded the same way.
    bounds = np.maximum(stops / n_own - low / n_other, high / n_other - (starts + 1) / n_own)
    return _Pieces(own, other, other_first, starts, low, high, bounds)


def continuous_from_arrays(real: Any, synthetic: Any, name: str = "values") -> ContinuousColumn:
    real_series = pd.Series(real)
    synthetic_series = pd.Series(synthetic)
    kind = (
        "datetime"
        if pd.api.types.is_datetime64_any_dtype(real_series.dtype)
        or value_family(real_series) == "datetime"
        else "numerical"
    )
    return prepare_continuous(real_series, synthetic_series, kind=kind, name=name)


def ks_complement(real: Any, synthetic: Any) -> float:
    """SDMetrics' KSComplement: 1 - the two-sample Kolmogorov-Smirnov D statistic.

    Missing values are dropped; datetimes are compared as nanoseconds; floats are rounded to 14
    decimals first. Returns NaN when a side has no values, as SDMetrics does.
    """
    try:
        column = continuous_from_arrays(real, synthetic)
    except DataFormatError as exc:
        if "no values" in str(exc):
            return math.nan
        raise
    return 1.0 - ks_statistic(column.real_sorted, column.synthetic_sorted)


def tv_complement_codes(column: DiscreteColumn) -> float:
    real_counts = _present_counts(column.real_counts, column)
    synthetic_counts = _present_counts(column.synthetic_counts, column)
    # SDMetrics adds 1e-6 to the real count of a value seen only in the synthetic data, which
    # also grows the real total; keep that so scores agree to the last digit.
    real_weights = np.where(
        (real_counts == 0) & (synthetic_counts > 0), _TV_REGULARISATION, real_counts
    )
    seen = (real_weights > 0) | (synthetic_counts > 0)
    real_share = real_weights[seen] / real_weights.sum()
    synthetic_share = synthetic_counts[seen] / synthetic_counts.sum()
    return float(1.0 - 0.5 * np.abs(synthetic_share - real_share).sum())


def _present_counts(code_counts: IntArray, column: DiscreteColumn) -> FloatArray:
    counts = code_counts.astype(np.float64)
    if column.na_code is not None:
        counts[column.na_code] = 0.0
    return counts


def discrete_from_arrays(real: Any, synthetic: Any, name: str = "values") -> DiscreteColumn:
    return prepare_discrete(pd.Series(real), pd.Series(synthetic), kind="categorical", name=name)


def tv_complement(real: Any, synthetic: Any) -> float:
    """SDMetrics' TVComplement: 1 - the total variation distance of the value frequencies.

    Missing values are dropped (they are not a category here). A value seen only in the
    synthetic data counts 1e-6 times in the real data, as SDMetrics does. Raises
    :class:`DataFormatError` when a side has no values.
    """
    return tv_complement_codes(discrete_from_arrays(real, synthetic))


def boundary_adherence_column(column: ContinuousColumn) -> float:
    synthetic = column.synthetic
    # NaN is inside no bounds; when the real data has missing values, the synthetic missing
    # values are left out of the count instead of failing.
    rows = (
        column.synthetic_sorted.size
        if column.real_sorted.size < column.real.size
        else synthetic.size
    )
    if rows == 0:
        raise DataFormatError("the synthetic column has no values to check against the bounds")
    inside = synthetic >= column.real_low
    inside &= synthetic <= column.real_high
    return float(np.count_nonzero(inside) / rows)


def boundary_adherence(real: Any, synthetic: Any) -> float:
    """SDMetrics' BoundaryAdherence: share of synthetic values within the real [min, max].

    When the real data has missing values, synthetic missing values are left out; otherwise they
    count as outside the bounds.
    """
    return boundary_adherence_column(continuous_from_arrays(real, synthetic))


def category_adherence_codes(column: DiscreteColumn) -> float:
    allowed = column.real_counts > 0  # includes the missing code exactly when the real data has it
    return float(int(column.synthetic_counts[allowed].sum()) / column.synthetic.size)


def category_adherence(real: Any, synthetic: Any) -> float:
    """SDMetrics' CategoryAdherence: share of synthetic values that are real categories.

    A missing synthetic value counts as valid when the real data has missing values.
    """
    real_series = pd.Series(real)
    synthetic_series = pd.Series(synthetic)
    both = pd.concat([plain_object(real_series), plain_object(synthetic_series)])
    codes, _ = pd.factorize(both, use_na_sentinel=True)
    codes = codes.astype(np.int64) + 1  # missing -> 0, so the arrays stay non-negative
    real_codes, synthetic_codes = codes[: len(real_series)], codes[len(real_series) :]
    if synthetic_codes.size == 0:
        raise DataFormatError("the synthetic column has no rows")
    allowed = np.bincount(real_codes, minlength=int(codes.max()) + 1) > 0
    return float(np.count_nonzero(allowed[synthetic_codes]) / synthetic_codes.size)
