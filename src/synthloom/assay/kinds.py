"""The assay's column kinds: decided once from the reference, overridable with ``--kinds FILE``.

A column's kind picks the metric that scores it (KSComplement for ``numerical``/``datetime``,
TVComplement for ``categorical``/``boolean``, none for ``id``), so it must not depend on the
synthetic side or on chance: the same reference always gives the same kinds, whatever
synthetic data it is compared with. Detection is :func:`column_kinds` on the reference alone;
the per-record features of instruction data have fixed kinds
(:data:`synthloom.assay.features.FEATURE_KINDS`); a kinds file overrides both. The table
fidelity metrics (:mod:`synthloom.assay.fidelity`) score each column by its kind.

A kinds file is YAML (or JSON, which YAML reads) mapping column names to kinds::

    meta.leaf: categorical     # score it even though it looks id-like
    zip_code: id               # never score it
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from synthloom.errors import ConfigError, unknown_column
from synthloom.yamlfile import load_yaml_file

__all__ = [
    "CATEGORICAL_MAX_DISTINCT_INTEGERS",
    "ID_LIKE_MIN_VALUES",
    "ID_LIKE_SHARE",
    "KINDS",
    "Kind",
    "column_kinds",
    "decide_kinds",
    "id_like_note",
    "load_kinds",
    "value_family",
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
# The first rows of a string column that must all look like ISO dates for it to be a datetime.
_DATE_SAMPLE = 1000
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)
Kind = Literal["numerical", "datetime", "categorical", "boolean", "id"]


# --------------------------------------------------------------------------- detection


def value_family(series: pd.Series) -> str:
    """The broad type of a column's values: boolean, integer, float, datetime, string, mixed,
    empty (the fidelity metrics also use it to tell dates from other strings)."""
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
        family = value_family(column)
        kind: Kind = _kind_from_real(column, family)
        if synthetic is not None and name in synthetic.columns and kind != "id":
            other = value_family(synthetic[name])
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


# --------------------------------------------------------------------------- kinds files


def load_kinds(path: Path) -> dict[str, str]:
    """Read a kinds file: a mapping of column name -> one of :data:`KINDS`.

    Raises :class:`ConfigError` naming the file (and the column) for a missing or unreadable
    file, a file that is not a mapping, or an unknown kind. Column names are checked against
    the data later, by :func:`decide_kinds`.
    """
    data = load_yaml_file(
        path, what="kinds file", option="--kinds", hint="write one 'column: kind' per line"
    )
    if not isinstance(data, Mapping) or not data:
        raise ConfigError(
            "must map column names to kinds, one 'column: kind' per line "
            f"(kinds: {', '.join(KINDS)})",
            path=path,
        )
    kinds: dict[str, str] = {}
    for column, kind in data.items():
        if not isinstance(kind, str) or kind not in KINDS:
            raise ConfigError(
                f"unknown kind {kind!r} for column {column!r}; use one of: {', '.join(KINDS)}",
                path=path,
                field=str(column),
            )
        kinds[str(column)] = kind
    return kinds


def decide_kinds(
    reference: pd.DataFrame,
    *,
    fixed: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
    source: Path | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """(kind per column, where each kind came from) for the reference's columns.

    ``fixed`` kinds (the instruction features') win over detection, ``overrides`` (a kinds file,
    read from ``source``) over both. The sources are ``"detected"``, ``"fixed"`` and
    ``"--kinds"``. An override naming a column the data lacks raises :class:`ConfigError`
    listing the columns.
    """
    names = [str(c) for c in reference.columns]
    for column in overrides or {}:
        if column not in names:
            raise unknown_column(column, names, path=source, what="--kinds")
    fixed = {k: v for k, v in (fixed or {}).items() if k in names}
    todo = [c for c in reference.columns if str(c) not in fixed and str(c) not in (overrides or {})]
    detected = column_kinds(reference[todo]) if todo else {}
    kinds: dict[str, str] = {}
    sources: dict[str, str] = {}
    for name in names:
        if overrides and name in overrides:
            kinds[name], sources[name] = overrides[name], "--kinds"
        elif name in fixed:
            kinds[name], sources[name] = fixed[name], "fixed"
        else:
            kinds[name], sources[name] = detected[name], "detected"
    return kinds, sources
