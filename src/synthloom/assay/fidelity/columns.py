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
from typing import Any

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
    both = pd.concat([plain_object(real), plain_object(synthetic)], ignore_index=True)
    codes, uniques = pd.factorize(both, use_na_sentinel=True)
    codes = codes.astype(np.int64, copy=False)
    n_codes = len(uniques)
    na_code: int | None = None
    missing = codes < 0
    if missing.any():
        na_code = n_codes
        codes[missing] = na_code
        n_codes += 1
    split = len(real)
    column = DiscreteColumn(
        kind,
        narrow_codes(codes[:split], n_codes),
        narrow_codes(codes[split:], n_codes),
        n_codes,
        na_code,
        list(uniques),
    )
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


def ks_statistic(real_sorted: npt.NDArray[Any], synthetic_sorted: npt.NDArray[Any]) -> float:
    """Two-sided two-sample KS D: the largest gap between the empirical CDFs, checked at every
    observed value (both arrays sorted, non-empty).

    One stable sort of the two sorted runs (timsort merges them in linear time) places every
    value, a real one before an equal synthetic one. The CDFs are read at the last element of
    each run of equal values: a synthetic value that the next synthetic value differs from, or
    a real value that neither the next real value nor the next synthetic value equals. Each
    side is worked on separately, so no array is longer than one side.
    """
    # Compare as the merge does (an int64 side meeting a float64 one is compared as floats).
    common = np.result_type(real_sorted, synthetic_sorted)
    real_sorted = real_sorted.astype(common, copy=False)
    synthetic_sorted = synthetic_sorted.astype(common, copy=False)
    n_real, n_synthetic = real_sorted.size, synthetic_sorted.size
    is_real = np.argsort(np.concatenate([real_sorted, synthetic_sorted]), kind="stable") < n_real
    counting = np.arange(max(n_real, n_synthetic) + 1)
    # Before the i-th real value in merged order come i real values and the synthetic values
    # below it; before the j-th synthetic value, j synthetic values and the real values at or
    # below it.
    synthetic_below = np.flatnonzero(is_real)
    synthetic_below -= counting[:n_real]
    real_upto = np.flatnonzero(~is_real)
    real_upto -= counting[:n_synthetic]
    del is_real

    real_end = _run_ends(real_sorted)
    next_synthetic = synthetic_sorted[np.minimum(synthetic_below, n_synthetic - 1)]
    real_end &= (next_synthetic != real_sorted) | (synthetic_below == n_synthetic)
    synthetic_end = _run_ends(synthetic_sorted)
    # The gaps at every position, then their largest size at the run ends (a masked maximum
    # instead of compressing four arrays).
    real_gaps = counting[1 : n_real + 1] / n_real
    real_gaps -= synthetic_below / n_synthetic
    synthetic_gaps = real_upto / n_real
    synthetic_gaps -= counting[1 : n_synthetic + 1] / n_synthetic
    return float(
        max(
            np.max(np.abs(real_gaps, out=real_gaps), where=real_end, initial=0.0),
            np.max(np.abs(synthetic_gaps, out=synthetic_gaps), where=synthetic_end, initial=0.0),
        )
    )


def _run_ends(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """True where the next value of the sorted ``values`` differs (and at the last one)."""
    ends = np.empty(values.size, dtype=bool)
    np.not_equal(values[1:], values[:-1], out=ends[:-1])
    ends[-1] = True
    return ends


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
