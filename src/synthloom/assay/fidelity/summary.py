"""Per-column summaries of both sides (counts, moments, quantiles, top categories) for the
report; computed from the prepared columns, so the data is read once."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from synthloom.assay.fidelity.columns import (
    ContinuousColumn,
    DiscreteColumn,
    FloatArray,
    IntArray,
    json_float,
)

__all__ = ["column_summaries"]

_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
_TOP_CATEGORIES = 10


def _quantiles(sorted_values: npt.NDArray[Any]) -> list[float]:
    """Linear-interpolation quantiles of an already sorted array (numpy's default method)."""
    positions = np.asarray(_QUANTILES) * (sorted_values.size - 1)
    low = np.floor(positions).astype(np.int64)
    high = np.minimum(low + 1, sorted_values.size - 1)
    below = sorted_values[low].astype(np.float64)
    above = sorted_values[high].astype(np.float64)
    return list(below + (above - below) * (positions - low))


def _numeric_summary(
    values: FloatArray, sorted_present: npt.NDArray[Any], *, datetime: bool
) -> dict[str, Any]:
    count = int(sorted_present.size)
    summary: dict[str, Any] = {"count": count, "missing": int(values.size - count)}
    if count == 0:
        return summary
    present = np.asarray(sorted_present, dtype=np.float64)  # no copy when already float
    mean = float(present.mean())
    variance = float(present.var(ddof=1)) if count > 1 else None
    quantiles = _quantiles(sorted_present)
    located = [mean, float(present[0]), *quantiles, float(present[-1])]
    if datetime:
        # Dates read better as ISO strings; the variance is in seconds squared.
        located_out: list[Any] = [pd.Timestamp(round(v)).round("ms").isoformat() for v in located]
        variance = variance / 1e18 if variance is not None else None
    else:
        located_out = [json_float(v) for v in located]
    keys = ("mean", "min", "q05", "q25", "median", "q75", "q95", "max")
    summary.update(dict(zip(keys[:1], located_out[:1], strict=True)))
    summary["variance"] = json_float(variance)
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


def _coded_summary(counts: IntArray, column: DiscreteColumn) -> dict[str, Any]:
    missing = int(counts[column.na_code]) if column.na_code is not None else 0
    value_counts = counts[: len(column.categories)]
    present = int(counts.sum() - missing)
    return {
        "count": present,
        "missing": missing,
        "distinct": int(np.count_nonzero(value_counts)),
        "top": _top_shares(column.categories, value_counts, present),
    }


def column_summaries(
    real: pd.Series, synthetic: pd.Series, prepared: ContinuousColumn | DiscreteColumn | None
) -> dict[str, Any]:
    """``{"real": {...}, "synthetic": {...}}`` of one column; ``prepared`` None (an id column or
    one that could not be read) summarises the raw values as categories."""
    if isinstance(prepared, ContinuousColumn):
        is_datetime = prepared.kind == "datetime"
        return {
            "real": _numeric_summary(prepared.real, prepared.real_sorted, datetime=is_datetime),
            "synthetic": _numeric_summary(
                prepared.synthetic, prepared.synthetic_sorted, datetime=is_datetime
            ),
        }
    if isinstance(prepared, DiscreteColumn):
        return {
            "real": _coded_summary(prepared.real_counts, prepared),
            "synthetic": _coded_summary(prepared.synthetic_counts, prepared),
        }
    return {"real": _categorical_summary(real), "synthetic": _categorical_summary(synthetic)}
