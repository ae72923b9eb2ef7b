"""Table fidelity: how closely a synthetic table follows a real one.

This module owns the tabular fidelity metrics of the assay. Every metric uses SDMetrics 0.32's
definition (and is tested against SDMetrics' own metric class to 1e-6), but is computed with
vectorised numpy/pandas on arrays prepared once per column, so that a table of a million rows and
twenty columns takes seconds instead of minutes.

Per column (``kind`` from :func:`column_kinds`):

* ``numerical`` / ``datetime``: :func:`ks_complement` (1 - the two-sample Kolmogorov-Smirnov D
  statistic, missing values dropped, values rounded to 14 decimals as SDMetrics does) and
  :func:`boundary_adherence` (share of synthetic values inside the real min/max).
* ``categorical`` / ``boolean``: :func:`tv_complement` (1 - total variation distance of the value
  frequencies, missing values dropped, SDMetrics' 1e-6 regularisation for values the real data
  lacks) and :func:`category_adherence` (share of synthetic values that are real categories;
  a missing value counts as a category when the real data has one).
* ``id``: unique-per-row or id-like strings (more distinct values than half the non-missing
  rows); summarised but excluded from every metric, as SDMetrics skips its ``id`` sdtype, with a
  ``note`` saying why.

Per pair of columns:

* two numerical/datetime columns: :func:`correlation_similarity`, 1 - |r_real - r_synth| / 2 on
  pairwise-complete rows; its real association is |r_real|.
* otherwise: :func:`contingency_similarity`, 1 - the total variation distance of the joint
  frequencies (a missing value is its own category); a numerical/datetime column is cut into
  10 bins on the **real** data's edges for both sides (outer edges open), as SDMetrics'
  ``ContingencySimilarity`` metric class does with ``continuous_column_names``. Its real
  association is Cramér's V of the real contingency table (:func:`cramers_v`).

Aggregation (:func:`table_fidelity`) follows SDMetrics 0.32's ``QualityReport``: Column Shapes is
the mean of the column scores; Column Pair Trends is the mean of the pair scores that *count*,
where a numeric pair counts when the real ``|r| > 0.5`` and any other pair when the real Cramér's
V ``> 0.3`` (0.32 applies this filter: ``DEFAULT_REAL_CORRELATION_THRESHOLD`` and
``DEFAULT_REAL_ASSOCIATION_THRESHOLD``); overall is the mean of the two properties that exist.

One deliberate difference from the report: SDMetrics' ``QualityReport`` bins each side's numeric
columns on that side's *own* histogram edges before ``ContingencySimilarity`` (and puts the
maximum and missing values into an 11th bin), so a synthetic column with the same distribution
but a slightly different range lands in shifted bins and the pair scores low (about 0.6 where
the joint distribution is the same). We bin both sides on the real edges, as the metric class
does, so such a pair scores near 1. Because the real side is also binned differently (open
outer edges), the real Cramér's V of a mixed numeric/categorical pair can differ slightly from
the report's, and so can whether that pair counts. Numeric-numeric and discrete-discrete pairs
count exactly as in the report. ``binning="report"`` (the assay's ``--fidelity-binning
report``) bins as the report does instead: each side on its own ``numpy.histogram_bin_edges``
with ``numpy.digitize`` (the maximum and missing values share the 11th bin; an infinite value
makes the edges undefined, and its mixed pairs record the report's error), so Column Shapes,
Column Pair Trends and overall equal the report's (contingency subsampling off; tested to
1e-9 on stored report numbers).

Speed: each column is converted once (sorted values for KS, quantiles and bounds; integer codes
for categories, with numeric columns binned once); KS is one linear merge of two sorted runs,
a contingency table one ``bincount``, and all Pearson correlations come from four matrix
products per side. Columns and pairs are spread over a small thread pool (numpy releases the
GIL); results do not depend on the number of threads.

Errors: a column or pair that cannot be computed (all values missing, constant values for a
correlation, unparseable dates, ...) records its message in its ``error`` field and is left out
of the means; it never fails the whole result.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from synthloom.errors import ConfigError, DataFormatError

__all__ = [
    "BINNINGS",
    "CATEGORICAL_MAX_DISTINCT_INTEGERS",
    "ID_LIKE_MIN_VALUES",
    "ID_LIKE_SHARE",
    "KINDS",
    "NUM_BINS",
    "boundary_adherence",
    "category_adherence",
    "column_kinds",
    "contingency_similarity",
    "correlation_similarity",
    "cramers_v",
    "id_like_note",
    "ks_complement",
    "table_fidelity",
    "tv_complement",
]

#: The column kinds :func:`column_kinds` returns (SDMetrics sdtypes of the same names).
KINDS = ("numerical", "datetime", "categorical", "boolean", "id")
#: An integer column with at most this many distinct values is categorical (flags, ratings,
#: small codes): a KS statistic over a handful of tied values says little.
CATEGORICAL_MAX_DISTINCT_INTEGERS = 5
#: A text column whose distinct values exceed this share of its non-missing reference values is
#: *id-like* (row ids, file paths, taxonomy leaves with a handful of rows each): its frequencies
#: cannot be estimated from the sample, so TVComplement and contingency tables on it measure
#: sampling noise (two random halves of one dataset score about 0.05). It gets the ``id`` kind.
ID_LIKE_SHARE = 0.5
#: Below this many non-missing values only a column unique on every value is id-like (a small
#: table's few repeats say little either way).
ID_LIKE_MIN_VALUES = 20
#: Bins a numerical/datetime column is cut into for a contingency table (SDMetrics' default).
NUM_BINS = 10
#: How a numerical/datetime column meeting a discrete one is binned: ``real`` (both sides on
#: the real data's edges, outer edges open: the metric class's way, the default) or ``report``
#: (each side on its own edges, as SDMetrics 0.32's QualityReport does).
BINNINGS = ("real", "report")

_CONTINUOUS = frozenset({"numerical", "datetime"})
_DISCRETE = frozenset({"categorical", "boolean"})
# SDMetrics rounds to sys.float_info.dig - 1 decimals before KS so float noise does not count.
_KS_DECIMALS = 14
# SDMetrics' get_frequencies gives a value seen only in the synthetic data this real count.
_TV_REGULARISATION = 1e-6
_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
_TOP_CATEGORIES = 10
# The first rows of a string column that must all look like ISO dates for it to be a datetime.
_DATE_SAMPLE = 1000
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)
# Above this many joint cells, count pairs with np.unique instead of a dense bincount.
_DENSE_CELLS = 1 << 24

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Kind = Literal["numerical", "datetime", "categorical", "boolean", "id"]


# --------------------------------------------------------------------------- kind detection


def _family(series: pd.Series) -> str:
    """The broad type of a column's values: boolean, integer, float, datetime, string, mixed,
    empty."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer" if series.notna().any() else "empty"
    if pd.api.types.is_float_dtype(dtype):
        return "float" if series.notna().any() else "empty"
    if isinstance(dtype, pd.CategoricalDtype):
        return "string"
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred == "boolean":
        return "boolean"
    if inferred == "integer":
        return "integer"
    if inferred in ("floating", "mixed-integer-float", "decimal"):
        return "float"
    if inferred in ("datetime", "datetime64", "date"):
        return "datetime"
    if inferred == "empty":
        return "empty"
    if inferred == "string":
        # A sample is enough to tell dates from other strings; dropna over the whole column is
        # the slow part on millions of rows.
        sample = series.iloc[: 20 * _DATE_SAMPLE].dropna().head(_DATE_SAMPLE)
        if sample.empty:
            sample = series.dropna().head(_DATE_SAMPLE)
        if all(_ISO_DATE.match(value) for value in sample):
            return "datetime"
        return "string"
    return "mixed"


def _kind_from_real(series: pd.Series, family: str) -> Kind:
    if family == "boolean":
        return "boolean"
    if family == "datetime":
        return "datetime"
    if family in ("float", "integer"):
        # Whole-number floats count as integers: one missing value turns an int64 rating column
        # into float64, and must not turn a categorical into a numerical one.
        values = series.dropna()
        if family == "float":
            floats = values.to_numpy(np.float64)
            with np.errstate(invalid="ignore"):  # inf % 1 is NaN: not a whole number
                whole = bool(np.all(np.isfinite(floats) & (np.mod(floats, 1) == 0)))
            if not whole:
                return "numerical"
        distinct = values.nunique()
        return "categorical" if distinct <= CATEGORICAL_MAX_DISTINCT_INTEGERS else "numerical"
    if family == "string":
        # Judged on the non-missing values only, so one missing value never flips a kind.
        values = series.dropna()
        if len(values) < 2:
            return "categorical"
        distinct = values.nunique()
        if distinct == len(values) or (
            len(values) >= ID_LIKE_MIN_VALUES and distinct > ID_LIKE_SHARE * len(values)
        ):
            return "id"
        return "categorical"
    if family == "empty":
        # An all-missing column keeps the kind its dtype suggests; the metrics record an error.
        return "numerical" if pd.api.types.is_numeric_dtype(series.dtype) else "categorical"
    return "categorical"  # mixed types: compare them as categories, never crash


def column_kinds(real: pd.DataFrame, synthetic: pd.DataFrame | None = None) -> dict[str, str]:
    """Detect each column's kind from the real data.

    * bool dtype (or only True/False values) -> ``boolean``
    * datetime dtype, Python datetimes, or strings that look like ISO dates
      (``2024-05-01``, ``2024-05-01 10:30:00``, ``2024-05-01T10:30Z``; the first 1,000 values
      are checked) -> ``datetime``
    * floats -> ``numerical``; integers (and floats that are all whole numbers, as an integer
      column with a missing value becomes) -> ``numerical``, unless they take at most
      :data:`CATEGORICAL_MAX_DISTINCT_INTEGERS` distinct values -> ``categorical``
    * strings unique on every non-missing value (at least 2), or *id-like*: at least
      :data:`ID_LIKE_MIN_VALUES` non-missing values of which more than :data:`ID_LIKE_SHARE`
      (half) are distinct -> ``id`` (excluded from every metric; :func:`id_like_note` says why).
      Missing values are left out of the count, so one missing value changes no kind.
    * other strings, pandas categoricals and mixed types (numbers and strings) -> ``categorical``

    When ``synthetic`` is given and a column's values there are of another type family
    (strings where the real data has numbers, say), the column is ``categorical`` so both sides
    can be compared value by value. Columns missing from ``synthetic`` are detected from the
    real data alone.
    """
    kinds: dict[str, str] = {}
    for name in real.columns:
        column = real[name]
        family = _family(column)
        kind: Kind = _kind_from_real(column, family)
        if synthetic is not None and name in synthetic.columns and kind != "id":
            other = _family(synthetic[name])
            if not _compatible(family, other):
                kind = "categorical"
        kinds[str(name)] = kind
    return kinds


def id_like_note(real: pd.Series) -> str:
    """Why a column of kind ``id`` is left out of the scores, in one line."""
    values = real.dropna()
    distinct = int(values.nunique())
    share = distinct / len(values) if len(values) else 0.0
    return (
        f"id-like: {distinct} distinct values over {len(values)} non-missing reference values "
        f"({share:.0%}, more than {ID_LIKE_SHARE:.0%} counts as id-like); left out of Column "
        "Shapes and Column Pair Trends (set its kind with --kinds to score it)"
    )


def _compatible(real_family: str, synthetic_family: str) -> bool:
    if "empty" in (real_family, synthetic_family) or real_family == synthetic_family:
        return True
    return {real_family, synthetic_family} == {"integer", "float"}


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
    """Datetimes as int64 nanoseconds (exact, as SDMetrics compares them) and the missing mask."""
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
    ns = converted.to_numpy().view(np.int64).copy()
    return ns, missing


@dataclass
class _Continuous:
    """A numerical or datetime column, both sides, ready for every metric."""

    kind: str
    real: FloatArray  # float64, NaN where missing (for correlation, bins, bounds)
    synthetic: FloatArray
    real_sorted: npt.NDArray[Any]  # present values only, as SDMetrics' KS sees them, sorted
    synthetic_sorted: npt.NDArray[Any]
    real_constant: bool  # one distinct present value: correlation is undefined
    synthetic_constant: bool


@dataclass
class _Discrete:
    """A categorical or boolean column, both sides, as codes into shared categories."""

    kind: str
    real: IntArray  # codes 0..n_codes-1; missing values get their own code (na_code)
    synthetic: IntArray
    n_codes: int
    na_code: int | None
    categories: list[Any]  # the value of each code below na_code


def _prepare_continuous(
    real: pd.Series, synthetic: pd.Series, *, kind: str, name: str
) -> _Continuous:
    sorted_sides: list[npt.NDArray[Any]] = []
    float_sides: list[FloatArray] = []
    constant: list[bool] = []
    for side, series in (("real", real), ("synthetic", synthetic)):
        if kind == "datetime":
            ns, missing = _datetime_ns(series, name=name, side=side)
            present: npt.NDArray[Any] = np.sort(ns[~missing])
            as_float = ns.astype(np.float64)
            as_float[missing] = np.nan
            is_constant = present.size > 0 and present[0] == present[-1]
        else:
            as_float = _numeric_values(series, name=name, side=side)
            if pd.api.types.is_integer_dtype(series.dtype) and not isinstance(
                series.dtype, pd.api.extensions.ExtensionDtype
            ):
                present = np.sort(series.to_numpy(dtype=np.int64))  # exact, as SDMetrics' KS
                is_constant = present.size > 0 and present[0] == present[-1]
            else:
                unrounded = as_float[~np.isnan(as_float)]
                is_constant = unrounded.size > 0 and unrounded.min() == unrounded.max()
                present = np.sort(np.round(unrounded, _KS_DECIMALS))
        if present.size == 0:
            raise DataFormatError(
                f"the {side} column has no values (all missing); drop it or fill it", field=name
            )
        sorted_sides.append(present)
        float_sides.append(as_float)
        constant.append(bool(is_constant))
    return _Continuous(
        kind,
        float_sides[0],
        float_sides[1],
        sorted_sides[0],
        sorted_sides[1],
        constant[0],
        constant[1],
    )


def _prepare_discrete(real: pd.Series, synthetic: pd.Series, *, kind: str, name: str) -> _Discrete:
    if all(
        pd.api.types.is_bool_dtype(s.dtype)
        and not isinstance(s.dtype, pd.api.extensions.ExtensionDtype)
        for s in (real, synthetic)
    ):
        # Plain numpy booleans cannot be missing: their codes are the values.
        return _Discrete(
            kind,
            real.to_numpy().astype(np.int64),
            synthetic.to_numpy().astype(np.int64),
            2,
            None,
            [False, True],
        )
    both = pd.concat([_plain_object(real), _plain_object(synthetic)], ignore_index=True)
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
    column = _Discrete(kind, codes[:split], codes[split:], n_codes, na_code, list(uniques))
    for side, side_codes in (("real", column.real), ("synthetic", column.synthetic)):
        if na_code is not None and bool(np.all(side_codes == na_code)):
            raise DataFormatError(
                f"the {side} column has no values (all missing); drop it or fill it", field=name
            )
    return column


def _plain_object(series: pd.Series) -> pd.Series:
    # Categorical / nullable dtypes would make concat or factorize disagree between sides.
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.astype(object)
    return series


# --------------------------------------------------------------------------- column metrics


def _ks_statistic(real_sorted: npt.NDArray[Any], synthetic_sorted: npt.NDArray[Any]) -> float:
    """Two-sided two-sample KS D: the largest gap between the empirical CDFs, checked at every
    observed value (both arrays sorted, non-empty).

    One stable sort of the two sorted runs (timsort merges them in linear time) gives both
    CDFs as running counts; a tie group is read at its last element, as a right-continuous CDF.
    """
    merged = np.concatenate([real_sorted, synthetic_sorted])
    order = np.argsort(merged, kind="stable")
    values = merged[order]
    real_seen = np.cumsum(order < real_sorted.size)
    synthetic_seen = np.arange(1, merged.size + 1) - real_seen
    group_end = np.empty(merged.size, dtype=bool)
    np.not_equal(values[1:], values[:-1], out=group_end[:-1])
    group_end[-1] = True
    gaps = (
        real_seen[group_end] / real_sorted.size - synthetic_seen[group_end] / synthetic_sorted.size
    )
    return float(np.max(np.abs(gaps)))


def _continuous_from_arrays(real: Any, synthetic: Any, name: str = "values") -> _Continuous:
    real_series = pd.Series(real)
    synthetic_series = pd.Series(synthetic)
    kind = (
        "datetime"
        if pd.api.types.is_datetime64_any_dtype(real_series.dtype)
        or _family(real_series) == "datetime"
        else "numerical"
    )
    return _prepare_continuous(real_series, synthetic_series, kind=kind, name=name)


def ks_complement(real: Any, synthetic: Any) -> float:
    """SDMetrics' KSComplement: 1 - the two-sample Kolmogorov-Smirnov D statistic.

    Missing values are dropped; datetimes are compared as nanoseconds; floats are rounded to 14
    decimals first. Returns NaN when a side has no values, as SDMetrics does.
    """
    try:
        column = _continuous_from_arrays(real, synthetic)
    except DataFormatError as exc:
        if "no values" in str(exc):
            return math.nan
        raise
    return 1.0 - _ks_statistic(column.real_sorted, column.synthetic_sorted)


def _tv_complement_codes(column: _Discrete) -> float:
    real_counts = _present_counts(column.real, column)
    synthetic_counts = _present_counts(column.synthetic, column)
    # SDMetrics adds 1e-6 to the real count of a value seen only in the synthetic data, which
    # also grows the real total; keep that so scores agree to the last digit.
    real_weights = np.where(
        (real_counts == 0) & (synthetic_counts > 0), _TV_REGULARISATION, real_counts
    )
    seen = (real_weights > 0) | (synthetic_counts > 0)
    real_share = real_weights[seen] / real_weights.sum()
    synthetic_share = synthetic_counts[seen] / synthetic_counts.sum()
    return float(1.0 - 0.5 * np.abs(synthetic_share - real_share).sum())


def _present_counts(codes: IntArray, column: _Discrete) -> FloatArray:
    counts = np.bincount(codes, minlength=column.n_codes).astype(np.float64)
    if column.na_code is not None:
        counts[column.na_code] = 0.0
    return counts


def _discrete_from_arrays(real: Any, synthetic: Any, name: str = "values") -> _Discrete:
    return _prepare_discrete(pd.Series(real), pd.Series(synthetic), kind="categorical", name=name)


def tv_complement(real: Any, synthetic: Any) -> float:
    """SDMetrics' TVComplement: 1 - the total variation distance of the value frequencies.

    Missing values are dropped (they are not a category here). A value seen only in the
    synthetic data counts 1e-6 times in the real data, as SDMetrics does. Raises
    :class:`DataFormatError` when a side has no values.
    """
    return _tv_complement_codes(_discrete_from_arrays(real, synthetic))


def _boundary_adherence_arrays(real: FloatArray, synthetic: FloatArray) -> float:
    real_missing = np.isnan(real)
    low = float(np.min(real[~real_missing]))
    high = float(np.max(real[~real_missing]))
    synthetic_missing = np.isnan(synthetic)
    if real_missing.any():
        # Missing is allowed when the real data has it: such rows are left out, not failed.
        synthetic = synthetic[~synthetic_missing]
    if synthetic.size == 0:
        raise DataFormatError("the synthetic column has no values to check against the bounds")
    inside = (synthetic >= low) & (synthetic <= high)
    return float(np.count_nonzero(inside) / synthetic.size)


def boundary_adherence(real: Any, synthetic: Any) -> float:
    """SDMetrics' BoundaryAdherence: share of synthetic values within the real [min, max].

    When the real data has missing values, synthetic missing values are left out; otherwise they
    count as outside the bounds.
    """
    column = _continuous_from_arrays(real, synthetic)
    return _boundary_adherence_arrays(column.real, column.synthetic)


def _category_adherence_codes(column: _Discrete) -> float:
    real_counts = np.bincount(column.real, minlength=column.n_codes)
    allowed = real_counts > 0  # includes the missing code exactly when the real data has it
    return float(np.count_nonzero(allowed[column.synthetic]) / column.synthetic.size)


def category_adherence(real: Any, synthetic: Any) -> float:
    """SDMetrics' CategoryAdherence: share of synthetic values that are real categories.

    A missing synthetic value counts as valid when the real data has missing values.
    """
    real_series = pd.Series(real)
    synthetic_series = pd.Series(synthetic)
    both = pd.concat([_plain_object(real_series), _plain_object(synthetic_series)])
    codes, _ = pd.factorize(both, use_na_sentinel=True)
    codes = codes.astype(np.int64) + 1  # missing -> 0, so the arrays stay non-negative
    real_codes, synthetic_codes = codes[: len(real_series)], codes[len(real_series) :]
    if synthetic_codes.size == 0:
        raise DataFormatError("the synthetic column has no rows")
    allowed = np.bincount(real_codes, minlength=int(codes.max()) + 1) > 0
    return float(np.count_nonzero(allowed[synthetic_codes]) / synthetic_codes.size)


# --------------------------------------------------------------------------- pair metrics


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


def _check_not_constant(first: _Continuous, second: _Continuous) -> None:
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
    first = _continuous_from_arrays(real_a, syn_a, name="first column")
    second = _continuous_from_arrays(real_b, syn_b, name="second column")
    _check_not_constant(first, second)
    correlations = []
    for a, b in ((first.real, second.real), (first.synthetic, second.synthetic)):
        if coefficient == "Spearman":
            both = ~(np.isnan(a) | np.isnan(b))
            a, b = _rank(a[both]), _rank(b[both])
        correlations.append(_pearson(a, b))
    return _similarity(correlations[0], correlations[1])


def _bin_codes(column: _Continuous, bins: int) -> _Discrete:
    """Cut both sides on the real data's histogram edges with open outer edges; missing values
    get code ``bins``. Equal to ``numpy.digitize`` on SDMetrics' edges (minus one)."""
    edges = _histogram_edges(column.real, bins)
    real_codes = _bin_side(column.real, edges, bins)
    synthetic_codes = _bin_side(column.synthetic, edges, bins)
    has_missing = bool(np.isnan(column.real).any() or np.isnan(column.synthetic).any())
    return _Discrete(
        "binned", real_codes, synthetic_codes, bins + 1, bins if has_missing else None, []
    )


def _report_bin_codes(column: _Continuous, bins: int) -> _Discrete:
    """SDMetrics 0.32 QualityReport's binning: each side cut on its *own*
    ``numpy.histogram_bin_edges`` (present values) and coded with ``numpy.digitize``, so the
    maximum and missing values share code ``bins + 1``; an infinite value makes the edges
    undefined and raises, as in the report (its mixed pairs then record the error)."""
    sides = []
    for values in (column.real, column.synthetic):
        edges = np.histogram_bin_edges(values[~np.isnan(values)], bins=bins)
        sides.append(np.digitize(values, edges).astype(np.int64))
    return _Discrete("binned", sides[0], sides[1], bins + 2, None, [])


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


def _bin_side(values: FloatArray, edges: FloatArray, bins: int) -> IntArray:
    # Arithmetic guess, then one correction against the true edges: several times faster than
    # a binary search per value, and exact at the edges (the guess is at most one bin off).
    low, high = float(edges[0]), float(edges[-1])
    scaled = (values - low) * (bins / (high - low))
    missing = np.isnan(values)
    scaled[missing] = 0.0
    np.clip(scaled, 0, bins - 1, out=scaled)
    codes = scaled.astype(np.int64)
    codes -= (codes > 0) & (values < edges[codes])
    codes += (codes < bins - 1) & (values >= edges[codes + 1])
    codes[missing] = bins
    return codes


def _contingency_scores(a: _Discrete, b: _Discrete) -> tuple[float, float]:
    """(ContingencySimilarity score, real Cramér's V) of two coded columns."""
    n_cells = a.n_codes * b.n_codes
    if n_cells <= _DENSE_CELLS:
        real_counts = _dense_joint_counts(a.real, b.real, b.n_codes, n_cells)
        synthetic_counts = _dense_joint_counts(a.synthetic, b.synthetic, b.n_codes, n_cells)
        gap = np.abs(real_counts / a.real.size - synthetic_counts / a.synthetic.size)
        score = 1.0 - 0.5 * float(gap.sum())
        return score, _cramers_v_table(real_counts.reshape(a.n_codes, b.n_codes))
    real_ids, real_counts = np.unique(a.real * b.n_codes + b.real, return_counts=True)
    synthetic_ids, synthetic_counts = np.unique(
        a.synthetic * b.n_codes + b.synthetic, return_counts=True
    )
    all_ids = np.union1d(real_ids, synthetic_ids)
    real_share = np.zeros(all_ids.size)
    synthetic_share = np.zeros(all_ids.size)
    real_share[np.searchsorted(all_ids, real_ids)] = real_counts / a.real.size
    synthetic_share[np.searchsorted(all_ids, synthetic_ids)] = synthetic_counts / a.synthetic.size
    score = 1.0 - 0.5 * float(np.abs(real_share - synthetic_share).sum())
    return score, _cramers_v_cells(real_ids // b.n_codes, real_ids % b.n_codes, real_counts)


def _dense_joint_counts(a: IntArray, b: IntArray, n_b: int, n_cells: int) -> IntArray:
    cells = a * n_b
    cells += b
    return np.bincount(cells, minlength=n_cells)


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
) -> _Discrete:
    real_series, synthetic_series = pd.Series(real), pd.Series(synthetic)
    if continuous is None:
        dtype = real_series.dtype
        continuous = (
            pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        ) or pd.api.types.is_datetime64_any_dtype(dtype)
    if continuous:
        return _bin_codes(_continuous_from_arrays(real_series, synthetic_series, name), bins)
    return _prepare_discrete(real_series, synthetic_series, kind="categorical", name=name)


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
    first = _discrete_from_arrays(a, a)
    second = _discrete_from_arrays(b, b)
    _, association = _contingency_scores(first, second)
    return association


# --------------------------------------------------------------------------- table fidelity


def _json_float(value: float | np.floating[Any] | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _mean(values: Sequence[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return float(np.mean(present)) if present else None


def _error_text(exc: Exception) -> str:
    return str(exc) if isinstance(exc, DataFormatError) else f"{type(exc).__name__}: {exc}"


def _quantiles(sorted_values: npt.NDArray[Any]) -> list[float]:
    """Linear-interpolation quantiles of an already sorted array (numpy's default method)."""
    positions = np.asarray(_QUANTILES) * (sorted_values.size - 1)
    low = np.floor(positions).astype(np.int64)
    high = np.minimum(low + 1, sorted_values.size - 1)
    values = sorted_values.astype(np.float64)
    return list(values[low] + (values[high] - values[low]) * (positions - low))


def _numeric_summary(
    values: FloatArray, sorted_present: npt.NDArray[Any], *, datetime: bool
) -> dict[str, Any]:
    count = int(sorted_present.size)
    summary: dict[str, Any] = {"count": count, "missing": int(values.size - count)}
    if count == 0:
        return summary
    present = sorted_present.astype(np.float64)
    mean = float(present.mean())
    variance = float(present.var(ddof=1)) if count > 1 else None
    quantiles = _quantiles(sorted_present)
    located = [mean, float(present[0]), *quantiles, float(present[-1])]
    if datetime:
        # Dates read better as ISO strings; the variance is in seconds squared.
        located_out: list[Any] = [pd.Timestamp(round(v)).round("ms").isoformat() for v in located]
        variance = variance / 1e18 if variance is not None else None
    else:
        located_out = [_json_float(v) for v in located]
    keys = ("mean", "min", "q05", "q25", "median", "q75", "q95", "max")
    summary.update(dict(zip(keys[:1], located_out[:1], strict=True)))
    summary["variance"] = _json_float(variance)
    summary.update(dict(zip(keys[1:], located_out[1:], strict=True)))
    return summary


def _categorical_summary(series: pd.Series) -> dict[str, Any]:
    present = series.dropna()
    counts = present.value_counts(dropna=True)
    return {
        "count": len(present),
        "missing": len(series) - len(present),
        "distinct": len(counts),
        "top": _top_shares(list(counts.index), counts.to_numpy(), len(present)),
    }


def _top_shares(values: list[Any], counts: npt.NDArray[Any], present: int) -> dict[str, float]:
    """Up to 10 ``{value: share of present values}``, most frequent first."""
    order = np.argsort(-counts, kind="stable")[:_TOP_CATEGORIES]
    return {str(values[i]): float(counts[i] / present) for i in order if counts[i] > 0}


def _coded_summary(codes: IntArray, column: _Discrete) -> dict[str, Any]:
    counts = np.bincount(codes, minlength=column.n_codes)
    missing = int(counts[column.na_code]) if column.na_code is not None else 0
    value_counts = counts[: len(column.categories)]
    present = int(codes.size - missing)
    return {
        "count": present,
        "missing": missing,
        "distinct": int(np.count_nonzero(value_counts)),
        "top": _top_shares(column.categories, value_counts, present),
    }


def _summaries(
    real: pd.Series, synthetic: pd.Series, prepared: _Continuous | _Discrete | None
) -> dict[str, Any]:
    if isinstance(prepared, _Continuous):
        is_datetime = prepared.kind == "datetime"
        return {
            "real": _numeric_summary(prepared.real, prepared.real_sorted, datetime=is_datetime),
            "synthetic": _numeric_summary(
                prepared.synthetic, prepared.synthetic_sorted, datetime=is_datetime
            ),
        }
    if isinstance(prepared, _Discrete):
        return {
            "real": _coded_summary(prepared.real, prepared),
            "synthetic": _coded_summary(prepared.synthetic, prepared),
        }
    return {"real": _categorical_summary(real), "synthetic": _categorical_summary(synthetic)}


def _check_frames(real: Any, synthetic: Any) -> None:
    for side, frame in (("real", real), ("synthetic", synthetic)):
        if not isinstance(frame, pd.DataFrame):
            raise DataFormatError(
                f"the {side} data must be a pandas DataFrame, not {type(frame).__name__}"
            )
        if len(frame) == 0:
            raise DataFormatError(f"the {side} data has no rows; give at least one row")
        if frame.columns.has_duplicates:
            duplicated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
            raise DataFormatError(
                f"the {side} data has duplicate column names: {', '.join(duplicated)}; rename them"
            )


def _resolve_kinds(
    real: pd.DataFrame, synthetic: pd.DataFrame, columns: list[Any], kinds: Mapping[str, str] | None
) -> dict[str, str]:
    names = [str(c) for c in columns]
    for name, kind in (kinds or {}).items():
        if name not in names:
            raise ConfigError(
                f"kinds names a column that is not in both tables; columns: {', '.join(names)}",
                field=str(name),
            )
        if kind not in KINDS:
            raise ConfigError(
                f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}", field=str(name)
            )
    # Detect only the kinds not given (detection reads whole columns: on a million rows it
    # costs as much as several metrics).
    todo = [c for c in columns if str(c) not in (kinds or {})]
    detected = column_kinds(real[todo], synthetic[todo]) if todo else {}
    return {name: (kinds or {}).get(name) or detected[name] for name in names}


def _workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def _column_outcome(
    real: pd.Series, synthetic: pd.Series, *, kind: str, name: str
) -> tuple[dict[str, Any], _Continuous | _Discrete | None, dict[str, Any]]:
    """(column result, prepared column or None, summary) of one column; never raises."""
    result: dict[str, Any] = {
        "kind": kind,
        "metric": None,
        "score": None,
        "boundary_adherence": None,
        "category_adherence": None,
        "error": None,
    }
    item: _Continuous | _Discrete | None = None
    try:
        if kind in _CONTINUOUS:
            result["metric"] = "KSComplement"
            item = _prepare_continuous(real, synthetic, kind=kind, name=name)
            result["score"] = _json_float(
                1.0 - _ks_statistic(item.real_sorted, item.synthetic_sorted)
            )
            result["boundary_adherence"] = _json_float(
                _boundary_adherence_arrays(item.real, item.synthetic)
            )
        elif kind in _DISCRETE:
            result["metric"] = "TVComplement"
            item = _prepare_discrete(real, synthetic, kind=kind, name=name)
            result["score"] = _json_float(_tv_complement_codes(item))
            result["category_adherence"] = _json_float(_category_adherence_codes(item))
        else:
            result["note"] = id_like_note(real)
    except Exception as exc:  # one odd column must not fail the table
        result["error"] = _error_text(exc)
        result["score"] = None
        item = None
    try:
        summary = _summaries(real, synthetic, item)
    except Exception as exc:
        summary = {"error": _error_text(exc)}
    return result, item, summary


def table_fidelity(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    kinds: Mapping[str, str] | None = None,
    association_threshold_numeric: float = 0.5,
    association_threshold_categorical: float = 0.3,
    allow_missing: bool = False,
    bins: int = NUM_BINS,
    binning: str = "real",
) -> dict[str, Any]:
    """Every table fidelity metric of ``synthetic`` against ``real``, as a JSON-ready dict.

    ``kinds`` overrides :func:`column_kinds` for the columns it names. A pair counts in Column
    Pair Trends when the real ``|r| > association_threshold_numeric`` (two numerical/datetime
    columns) or the real Cramér's V ``> association_threshold_categorical`` (any other pair);
    the defaults are SDMetrics 0.32 QualityReport's. Columns present on one side only raise
    :class:`DataFormatError`, unless ``allow_missing`` is true: then the shared columns are
    compared and the others listed under ``"issues"``.

    ``binning`` picks how a numerical/datetime column meeting a discrete one is cut:
    ``"real"`` (default) or ``"report"`` (see the module docstring).

    Returns::

        {"column_shapes": float | None,      # mean column score (None: no column scored)
         "column_pair_trends": float | None, # mean score of the pairs that count
         "overall": float | None,            # mean of the two properties present
         "columns": {name: {"kind", "metric": "KSComplement"|"TVComplement"|None,
                            "score", "boundary_adherence", "category_adherence", "error",
                            "note"?}},  # note: why an id/id-like column is left out
         "pairs": [{"columns": [a, b], "metric": "CorrelationSimilarity"|"ContingencySimilarity",
                    "score", "real_association", "counted": bool, "error"}],
         "summary": {name: {"real": {...}, "synthetic": {...}}},
         "correlation": {"columns": [...], "real": [[...]], "synthetic": [[...]],
                         "difference": [[...]]},   # Pearson, synthetic - real
         "boundary_adherence": float | None, "category_adherence": float | None,
         "issues": [str],
         "left_out": [columns of kind id, in no score],
         "binning": "real" | "report"}

    Numeric summaries hold count, missing, mean, variance (ddof 1), min, q05, q25, median, q75,
    q95, max (datetimes as ISO strings, variance in seconds squared); categorical ones hold
    count, missing, distinct and ``top``: up to 10 ``{value: share of present values}``.
    Scores that are undefined are ``None`` (never NaN), so ``json.dumps`` accepts the result.
    """
    _check_frames(real, synthetic)
    if not isinstance(bins, int) or bins < 1:
        raise ConfigError(f"bins must be a positive integer, not {bins!r}")
    if binning not in BINNINGS:
        raise ConfigError(
            f"unknown binning {binning!r}; use one of: {', '.join(BINNINGS)}",
            field="--fidelity-binning",
        )
    synthetic_columns = set(synthetic.columns)
    real_columns = set(real.columns)
    missing_synthetic = [str(c) for c in real.columns if c not in synthetic_columns]
    missing_real = [str(c) for c in synthetic.columns if c not in real_columns]
    issues: list[str] = []
    if missing_synthetic:
        issues.append(f"columns missing from the synthetic data: {', '.join(missing_synthetic)}")
    if missing_real:
        issues.append(f"columns missing from the real data: {', '.join(missing_real)}")
    if issues and not allow_missing:
        raise DataFormatError(
            "; ".join(issues) + "; pass allow_missing=True to compare the shared columns only"
        )
    columns = [c for c in real.columns if c in synthetic_columns]
    resolved = _resolve_kinds(real, synthetic, columns, kinds)

    # numpy's sorts, merges and counts release the GIL, so threads share out the columns and
    # the pairs; results are gathered in column order, so the output does not depend on timing.
    with ThreadPoolExecutor(max_workers=_workers()) as pool:
        outcomes = list(
            pool.map(
                lambda c: _column_outcome(
                    real[c], synthetic[c], kind=resolved[str(c)], name=str(c)
                ),
                columns,
            )
        )
        prepared: dict[str, _Continuous | _Discrete] = {}
        column_results: dict[str, dict[str, Any]] = {}
        summary: dict[str, Any] = {}
        for column, (result, item, column_summary) in zip(columns, outcomes, strict=True):
            column_results[str(column)] = result
            summary[str(column)] = column_summary
            if item is not None:
                prepared[str(column)] = item
        correlation = _correlation_matrices(prepared, pool)
        pairs = _pair_results(
            [str(c) for c in columns if resolved[str(c)] in _CONTINUOUS | _DISCRETE],
            prepared,
            column_results,
            correlation,
            pool,
            threshold_numeric=association_threshold_numeric,
            threshold_categorical=association_threshold_categorical,
            bins=bins,
            binning=binning,
        )
    column_shapes = _mean([r["score"] for r in column_results.values() if r["metric"]])
    pair_trends = _mean([p["score"] for p in pairs if p["counted"]])

    def rows(matrix: FloatArray) -> list[list[float | None]]:
        return [[_json_float(v) for v in row] for row in matrix]

    return {
        "column_shapes": column_shapes,
        "column_pair_trends": pair_trends,
        "overall": _mean([column_shapes, pair_trends]),
        "columns": column_results,
        "pairs": pairs,
        "summary": summary,
        "correlation": {
            "columns": correlation.names,
            "real": rows(correlation.real),
            "synthetic": rows(correlation.synthetic),
            "difference": rows(correlation.synthetic - correlation.real),
        },
        "boundary_adherence": _mean([r["boundary_adherence"] for r in column_results.values()]),
        "category_adherence": _mean([r["category_adherence"] for r in column_results.values()]),
        "issues": issues,
        "left_out": [name for name, r in column_results.items() if r["kind"] == "id"],
        "binning": binning,
    }


@dataclass
class _Correlations:
    """Pairwise-complete Pearson matrices of the numerical/datetime columns, per side."""

    names: list[str]
    real: FloatArray
    synthetic: FloatArray

    def pair(self, first: str, second: str) -> tuple[float, float]:
        i, j = self.names.index(first), self.names.index(second)
        return float(self.real[i, j]), float(self.synthetic[i, j])


def _pair_results(
    names: list[str],
    prepared: Mapping[str, _Continuous | _Discrete],
    column_results: Mapping[str, Mapping[str, Any]],
    correlation: _Correlations,
    pool: ThreadPoolExecutor,
    *,
    threshold_numeric: float,
    threshold_categorical: float,
    bins: int,
    binning: str,
) -> list[dict[str, Any]]:
    continuous = [n for n in names if isinstance(prepared.get(n), _Continuous)]
    discrete = [n for n in names if isinstance(prepared.get(n), _Discrete)]
    binned: dict[str, _Discrete | Exception] = {}
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

    def one_pair(columns: tuple[str, str]) -> dict[str, Any]:
        first, second = columns
        numeric = all(column_results[n]["kind"] in _CONTINUOUS for n in columns)
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
                assert isinstance(a, _Continuous) and isinstance(b, _Continuous)
                _check_not_constant(a, b)
                real_r, synthetic_r = correlation.pair(first, second)
                score, association = _similarity(real_r, synthetic_r), abs(real_r)
                threshold = threshold_numeric
                if math.isnan(score):
                    pair["error"] = (
                        "correlation is undefined (constant values once rows with missing "
                        "values are dropped, or fewer than 2 rows)"
                    )
            else:
                coded = []
                for name in columns:
                    item = binned[name] if name in binned else prepared[name]
                    if isinstance(item, Exception):
                        raise item
                    assert isinstance(item, _Discrete)
                    coded.append(item)
                score, association = _contingency_scores(coded[0], coded[1])
                threshold = threshold_categorical
            pair["score"] = _json_float(score)
            pair["real_association"] = _json_float(association)
            pair["counted"] = bool(
                pair["score"] is not None
                and pair["real_association"] is not None
                and association > threshold
            )
        except Exception as exc:  # one odd pair must not fail the table
            pair["error"] = _error_text(exc)
        return pair

    return list(pool.map(one_pair, combinations(names, 2)))


def _try(function: Any, *args: Any) -> Any:
    """The function's result, or the exception it raised (to re-raise in the pair it concerns)."""
    try:
        return function(*args)
    except Exception as exc:
        return exc


def _correlation_matrices(
    prepared: Mapping[str, _Continuous | _Discrete], pool: ThreadPoolExecutor
) -> _Correlations:
    names = [name for name, item in prepared.items() if isinstance(item, _Continuous)]

    def one_side(side: str) -> FloatArray:
        # An infinite value makes its column's moments inf - inf = NaN: the correlation is
        # undefined (SDMetrics gives NaN too), which is no reason to warn.
        with np.errstate(invalid="ignore", over="ignore"):
            return _pearson_matrix([getattr(prepared[name], side) for name in names])

    sides = list(pool.map(one_side, ("real", "synthetic")))
    return _Correlations(names, sides[0], sides[1])


# Rows per block when accumulating the correlation moments: bounds memory on big tables.
_MOMENT_BLOCK = 1 << 18


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
    means = np.array([np.nanmean(a) for a in arrays])
    shared = np.zeros((k, k))
    sums = np.zeros((k, k))  # sums[i, j]: sum of x_i over rows where x_i and x_j are present
    squares = np.zeros((k, k))
    products = np.zeros((k, k))
    rows = arrays[0].size
    any_missing = any(bool(np.isnan(a).any()) for a in arrays)
    block = np.empty((min(rows, _MOMENT_BLOCK), k))
    for start in range(0, rows, _MOMENT_BLOCK):
        stop = min(start + _MOMENT_BLOCK, rows)
        centred = block[: stop - start]
        for j, values in enumerate(arrays):
            np.subtract(values[start:stop], means[j], out=centred[:, j])
        if any_missing:
            present = ~np.isnan(centred)
            weights = present.astype(np.float64)
            centred[~present] = 0.0
            shared += weights.T @ weights
            sums += centred.T @ weights
            squares += (centred * centred).T @ weights
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
    matrix[undefined] = np.nan
    return np.asarray(np.clip(matrix, -1.0, 1.0), dtype=np.float64)
