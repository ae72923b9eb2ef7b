"""Exact copies: synthetic records or rows that are reference ones, named pair by pair.

Chat records are compared by :func:`record_key` (system turns dropped, whitespace and case
normalised through :func:`text_key`), table rows by :func:`row_keys` (a 64-bit hash per cell
that is equal for equal values whatever the dtype).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from synthloom.errors import DataFormatError

__all__ = [
    "MAX_EXAMPLES",
    "content_text",
    "exact_copies",
    "record_key",
    "row_keys",
    "text_key",
    "utc_nanoseconds",
]

#: Examples of copies (and of verbatim overlaps) listed in metrics.json and the report.
MAX_EXAMPLES = 10


def text_key(text: str) -> str:
    """A text's identity for exact-copy checks: Unicode NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def content_text(record: Mapping[str, Any]) -> str:
    """A record's turns without its system prompts, joined: what a copy would carry over.

    ``mix`` and most trainers' templates add or change the system prompt; a record whose user
    and assistant turns are those of a reference record is a copy whatever its system prompt.
    """
    return "\n".join(
        str(m.get("content") or "") for m in record["messages"] if m.get("role") != "system"
    )


def record_key(record: Mapping[str, Any]) -> str:
    """A chat record's identity for exact-copy checks: its non-system turns, each through
    :func:`text_key` (so whitespace, case and the system prompt do not hide a copy)."""
    return "\x1e".join(
        text_key(str(m.get("content") or ""))
        for m in record["messages"]
        if m.get("role") != "system"
    )


_NULL_HASH = np.uint64(0x9E3779B97F4A7C15)
_STRING_TAG = np.uint64(0x632BE59BD9B4E019)
_TIME_TAG = np.uint64(0x85EBCA77C2B2AE63)
_ROW_MULT = np.uint64(0x100000001B3)


def _column_hashes(series: pd.Series) -> npt.NDArray[np.uint64]:
    """64-bit hash per cell, equal for equal values whatever the column's dtype.

    Numbers (any int, float or nullable dtype, and numbers inside object columns) hash as
    float64, so 3, 3.0 and Int64 3 agree; datetimes (column or object values) as UTC
    nanoseconds, naive ones taken as UTC; everything else, booleans included, as its string.
    Every kind of missing value (None, NaN, NaT, pd.NA) hashes alike.
    """
    values = series.astype(object).to_numpy()
    null = pd.isna(series).to_numpy()
    out = np.full(len(values), _NULL_HASH, dtype=np.uint64)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        out[~null] = pd.util.hash_array(utc_nanoseconds(series[~null])) ^ _TIME_TAG
        return out
    # Booleans go the string way below, so a bool column and an object column of bools agree.
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        nums = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        out[~null] = pd.util.hash_array(nums[~null] + 0.0)  # + 0.0 folds -0.0 into 0.0
        return out
    is_number = np.fromiter(
        (isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in values),
        dtype=bool,
        count=len(values),
    )
    numeric = is_number & ~null
    if numeric.any():
        nums = np.array([float(v) for v in values[numeric]], dtype=np.float64)
        out[numeric] = pd.util.hash_array(nums + 0.0)
    is_time = np.fromiter(
        (isinstance(v, datetime | np.datetime64) for v in values), dtype=bool, count=len(values)
    )
    timed = is_time & ~null
    if timed.any():
        out[timed] = pd.util.hash_array(utc_nanoseconds(pd.Series(values[timed]))) ^ _TIME_TAG
    other = ~is_number & ~is_time & ~null
    if other.any():
        strings = np.array([str(v) for v in values[other]], dtype=object)
        out[other] = pd.util.hash_array(strings, categorize=False) ^ _STRING_TAG
    return out


def utc_nanoseconds(series: pd.Series) -> npt.NDArray[np.int64]:
    """Nanoseconds since the epoch, UTC (naive times taken as UTC) of a column without NaT
    (the distances use them too, so a time compares the same in a copy and in a distance)."""
    stamps = pd.to_datetime(series, utc=True).dt.tz_convert(None).dt.as_unit("ns")
    return stamps.to_numpy().view(np.int64)


def row_keys(df: pd.DataFrame) -> list[str]:
    """One key per row: equal rows (same column names and values) give equal keys.

    Columns are taken in name order, so two tables with the same columns in a different order
    agree. A key is a 64-bit hash of the canonical row in hex (distinct rows collide with
    probability about 2**-64).
    """
    if df.columns.duplicated().any():
        dup = ", ".join(map(str, df.columns[df.columns.duplicated()]))
        raise DataFormatError(f"duplicate column names ({dup}); rename them", field=dup)
    h = np.zeros(len(df), dtype=np.uint64)
    for name in sorted(df.columns, key=str):
        col = _column_hashes(df[name])
        # Mix each column into the row hash in order, with the column name, so the hash of
        # (a, b) differs from (b, a) and a value in column x differs from the same value in y.
        name_hash = pd.util.hash_array(np.array([str(name)], dtype=object))[0]
        h = (h * _ROW_MULT) ^ col ^ name_hash
        h = pd.util.hash_array(h)
    return [f"{int(v):016x}" for v in h]


def exact_copies(
    reference_keys: Sequence[str] | npt.NDArray[Any],
    synthetic_keys: Sequence[str] | npt.NDArray[Any],
    *,
    reference_names: Sequence[str] | None = None,
    synthetic_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Synthetic records whose key also belongs to a reference record.

    Keys are strings or bytes (the assay keeps 16-byte digests of a million records' keys);
    they are matched by sorting, not in a dict, so memory stays at the keys' own size.

    Returns ``{"count": synthetic records that copy a reference record, "share": count / number of
    synthetic records (0.0 when there are none), "examples": their first 10 indices (0-based),
    "copies": the first 10 as {"synthetic_index", "synthetic", "reference_index",
    "reference"}}``: which record copies which, named by ``*_names`` (default "record N",
    1-based) so a reader can find both.
    """
    ref = np.asarray(reference_keys)
    syn = np.asarray(synthetic_keys)
    n = len(syn)
    copied = np.zeros(0, dtype=np.int64)
    first = np.zeros(0, dtype=np.int64)
    if len(ref) and n:
        # A stable sort keeps equal keys in input order: the first of a run is the first record.
        order = np.argsort(ref, kind="stable")
        distinct, starts = np.unique(ref[order], return_index=True)
        at = np.searchsorted(distinct, syn).clip(0, len(distinct) - 1)
        found = distinct[at] == syn
        copied = np.flatnonzero(found)
        first = order[starts[at[copied]]]

    def name(names: Sequence[str] | None, i: int) -> str:
        return names[i] if names is not None else f"record {i + 1}"

    shown = [
        (int(i), int(r)) for i, r in zip(copied[:MAX_EXAMPLES], first[:MAX_EXAMPLES], strict=True)
    ]
    return {
        "count": len(copied),
        "share": len(copied) / n if n else 0.0,
        "examples": [i for i, _ in shown],
        "copies": [
            {
                "synthetic_index": i,
                "synthetic": name(synthetic_names, i),
                "reference_index": r,
                "reference": name(reference_names, r),
            }
            for i, r in shown
        ],
    }
