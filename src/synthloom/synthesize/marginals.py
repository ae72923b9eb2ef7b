"""One column's distribution: how the copula learns it, scores rows on it, and samples it.

A numeric or datetime column is a :class:`NumericMarginal`: a piecewise-linear CDF given by
knots (values) and levels (CDF values at the knots), its bounds, its share of missing values
and its step (1 for an integer column, one day for a date column, none for a continuous one).
Without DP the knots are up to :data:`QUANTILE_KNOTS` empirical quantiles; with DP they are the
edges of a noisy histogram (:func:`dp_numeric`). Datetimes are learnt as seconds since
1970-01-01 and written back in the real column's format (:class:`TimeFormat`).

A categorical or boolean column is a :class:`CategoricalMarginal`: its values (missing as
``None``) and their probabilities, most frequent first, so that a normal score's interval of
[0, 1] puts the common categories in the middle of the copula's scale.

An identifier column (kind ``id``) is never learnt: the synthetic table gets fresh labels
(:class:`IdColumn`), so no real identifier can reach it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from synthloom.synthesize.privacy import Ledger

__all__ = [
    "DAY_SECONDS",
    "QUANTILE_KNOTS",
    "CategoricalMarginal",
    "IdColumn",
    "Marginal",
    "NumericMarginal",
    "TimeFormat",
    "categorical_codes",
    "dp_categorical",
    "dp_numeric",
    "empirical_categorical",
    "empirical_numeric",
    "numeric_values",
]

FloatArray = npt.NDArray[np.float64]

#: Empirical quantiles kept per numeric column without DP: a KS distance of 1/1000 at most from
#: the interpolation, well under the sampling error of any table worth synthesising.
QUANTILE_KNOTS = 1001
DAY_SECONDS = 86400.0
# A column whose values all have at most this many decimals keeps them (money, readings).
_MAX_DECIMALS = 4
_MISSING_NOISE_SCALES = 3.0
_EPOCH = pd.Timestamp(0)


@dataclass(frozen=True)
class TimeFormat:
    """How a datetime column is written back: its time zone, and its text form for strings."""

    tz: str | None
    #: ``strftime`` format when the real column held text (CSV), None for a datetime dtype.
    text: str | None


@dataclass(frozen=True)
class NumericMarginal:
    name: str
    knots: FloatArray
    levels: FloatArray
    low: float
    high: float
    missing_share: float
    #: Values are multiples of this (1 for integers, 0.01 for cents, a day for dates); None:
    #: continuous.
    step: float | None
    #: Written back as integers (the real column had an integer dtype).
    integer_dtype: bool
    time: TimeFormat | None = None

    def cdf(self, values: FloatArray) -> FloatArray:
        """The marginal CDF at each value (values outside the bounds are clipped)."""
        return np.interp(np.clip(values, self.low, self.high), self.knots, self.levels)

    def inverse(self, u: FloatArray) -> FloatArray:
        """Values at CDF levels ``u``: rounded to the step and kept inside the bounds."""
        values = np.clip(np.interp(u, self.levels, self.knots), self.low, self.high)
        if self.step is None:
            return values
        low = np.ceil(self.low / self.step - 1e-9)
        high = np.floor(self.high / self.step + 1e-9)
        grid = np.round(values / self.step)
        grid = np.clip(grid, low, high) if low <= high else grid
        if self.step >= 1:
            return grid * self.step
        # 0.01 * 1234 is 12.340000000000002: divide by the power of ten instead.
        return grid / round(1 / self.step)

    def to_series(self, values: FloatArray, missing: npt.NDArray[np.bool_]) -> pd.Series:
        """Sampled numbers as a column of the real column's type."""
        if self.time is not None:
            return _times(values, missing, self.time)
        if self.integer_dtype:
            out = pd.array(values.astype(np.int64), dtype="Int64")
            out[missing] = pd.NA
            return pd.Series(out if missing.any() else out.astype(np.int64), name=self.name)
        values = values.copy()
        values[missing] = np.nan
        return pd.Series(values, name=self.name)

    def describe(self) -> dict[str, Any]:
        return {
            "type": "datetime" if self.time is not None else "numeric",
            "low": self.low,
            "high": self.high,
            "missing_share": self.missing_share,
            "step": self.step,
            "knots": len(self.knots),
        }


@dataclass(frozen=True)
class CategoricalMarginal:
    name: str
    values: tuple[Any, ...]
    probabilities: FloatArray
    dtype: Any

    def index(self, u: FloatArray) -> npt.NDArray[np.intp]:
        """The category each CDF level ``u`` falls in."""
        edges = np.cumsum(self.probabilities)[:-1]
        return np.searchsorted(edges, u, side="right")

    def to_series(self, index: npt.NDArray[np.intp]) -> pd.Series:
        values = np.empty(len(self.values), dtype=object)
        values[:] = list(self.values)
        out = pd.Series(values[index], name=self.name)
        if all(v is not None for v in self.values):
            try:
                return out.astype(self.dtype)
            except (TypeError, ValueError):
                return out.infer_objects()
        return out.infer_objects()

    def describe(self) -> dict[str, Any]:
        return {
            "type": "categorical",
            "categories": len(self.values),
            "missing_share": float(
                sum(p for v, p in zip(self.values, self.probabilities, strict=True) if v is None)
            ),
        }


@dataclass(frozen=True)
class IdColumn:
    name: str
    numeric: bool

    def to_series(self, rows: int) -> pd.Series:
        if self.numeric:
            return pd.Series(np.arange(1, rows + 1, dtype=np.int64), name=self.name)
        width = len(str(rows))
        return pd.Series([f"{self.name}-{i:0{width}d}" for i in range(1, rows + 1)], name=self.name)

    def describe(self) -> dict[str, Any]:
        return {"type": "id", "generated": "fresh labels, never real values"}


Marginal = NumericMarginal | CategoricalMarginal | IdColumn


# --------------------------------------------------------------------------- reading a column


def numeric_values(series: pd.Series, kind: str) -> tuple[FloatArray, TimeFormat | None]:
    """A numeric or datetime column as floats (datetimes: seconds since 1970), NaN = missing."""
    if kind != "datetime":
        numbers = pd.to_numeric(series, errors="coerce")
        return np.asarray(numbers.to_numpy(dtype=np.float64, na_value=np.nan)), None
    text: str | None = None
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamps = series
    else:
        strings = series.dropna().astype(str)
        sample = strings.head(1000)
        date_only = bool(sample.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all())
        sep = "T" if bool(sample.str.contains("T").any()) else " "
        text = "%Y-%m-%d" if date_only else f"%Y-%m-%d{sep}%H:%M:%S"
        try:
            stamps = pd.to_datetime(series, errors="coerce", format="mixed")
        except (ValueError, TypeError):  # mixed time zones: compare them in UTC
            stamps = pd.to_datetime(series, errors="coerce", format="mixed", utc=True)
    tz = getattr(stamps.dt, "tz", None)
    if tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    seconds: pd.Series = (stamps - _EPOCH) / pd.Timedelta(seconds=1)
    values = np.asarray(seconds.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    return values, TimeFormat(tz=str(tz) if tz is not None else None, text=text)


def _step(values: FloatArray, time: TimeFormat | None) -> float | None:
    """The grid the real values lie on: a day (dates), 1 (integers), 0.1 ... 0.0001 (a
    column written with a few decimals, such as prices), None (continuous)."""
    present = values[~np.isnan(values)]
    if present.size == 0:
        return None
    if time is not None:
        if np.all(np.mod(present, DAY_SECONDS) == 0):
            return DAY_SECONDS
        return 1.0 if np.all(np.mod(present, 1.0) == 0) else None
    for decimals in range(_MAX_DECIMALS + 1):
        scaled = present * 10.0**decimals
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 * np.maximum(1.0, np.abs(scaled))):
            return 10.0**-decimals
    return None


def _times(values: FloatArray, missing: npt.NDArray[np.bool_], time: TimeFormat) -> pd.Series:
    micros = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[us]")
    micros[~missing] = np.round(values[~missing] * 1e6).astype(np.int64).astype("datetime64[us]")
    stamps = pd.Series(micros)
    if time.tz is not None:
        stamps = stamps.dt.tz_localize("UTC").dt.tz_convert(time.tz)
    if time.text is None:
        return stamps
    text = pd.Series(stamps.dt.strftime(time.text), dtype=object)
    text[missing] = None
    return text


# --------------------------------------------------------------------------- learning a column


def empirical_numeric(
    name: str, series: pd.Series, kind: str, *, knots: int = QUANTILE_KNOTS
) -> NumericMarginal:
    """The column's empirical quantiles (without DP)."""
    values, time = numeric_values(series, kind)
    present = values[~np.isnan(values)]
    missing_share = 1.0 - present.size / max(len(values), 1)
    if present.size == 0:
        levels = np.array([0.0, 1.0])
        points = np.array([0.0, 0.0])
    else:
        levels = np.linspace(0.0, 1.0, min(knots, present.size) if present.size > 1 else 2)
        points = np.quantile(present, levels)
    return NumericMarginal(
        name=name,
        knots=points,
        levels=levels,
        low=float(points[0]),
        high=float(points[-1]),
        missing_share=float(missing_share),
        step=_step(values, time),
        integer_dtype=_integer_dtype(series),
        time=time,
    )


def dp_numeric(
    name: str,
    series: pd.Series,
    kind: str,
    *,
    low: float,
    high: float,
    bins: int,
    epsilon: float,
    ledger: Ledger,
    rng: np.random.Generator,
    detail: str,
) -> NumericMarginal:
    """A noisy histogram on ``[low, high]`` (values outside are clipped) plus a missing count.

    One row added or removed changes one count by one (L1 sensitivity 1), so the counts get
    Laplace noise of scale ``1 / epsilon``. An integer (or date) column with fewer values in its
    range than ``bins`` gets one bin per value, centred on it.
    """
    values, time = numeric_values(series, kind)
    step = _step(values, time)
    present = values[~np.isnan(values)]
    if step is not None and (high - low) / step + 1 <= bins:
        edges = np.arange(low - step / 2, high + step, step)[: round((high - low) / step) + 2]
    else:
        edges = np.linspace(low, high, bins + 1) if high > low else np.array([low, low + 1.0])
    counts = np.histogram(np.clip(present, edges[0], edges[-1]), bins=edges)[0]
    measured = np.append(counts, values.size - present.size).astype(np.float64)
    noisy = np.maximum(
        ledger.measure(
            rng, measured, step=f"marginal {name}", sensitivity=1.0, epsilon=epsilon, detail=detail
        ),
        0.0,
    )
    noisy[-1] = _below_noise_is_zero(noisy[-1], epsilon)
    total = noisy.sum()
    missing_share = float(noisy[-1] / total) if total > 0 else 0.0
    bin_counts = noisy[:-1]
    pmf = bin_counts / bin_counts.sum() if bin_counts.sum() > 0 else np.full(len(bin_counts), 1.0)
    pmf = pmf / pmf.sum()
    levels = np.concatenate([[0.0], np.cumsum(pmf)])
    levels[-1] = 1.0
    return NumericMarginal(
        name=name,
        knots=edges.astype(np.float64),
        levels=levels,
        low=float(low),
        high=float(high),
        missing_share=missing_share,
        step=step,
        integer_dtype=_integer_dtype(series),
        time=time,
    )


def _below_noise_is_zero(count: float, epsilon: float) -> float:
    """A noisy missing count under three noise scales is taken as none (post-processing).

    Laplace noise alone exceeds ``3 / epsilon`` one time in 40; a column without missing values
    would otherwise get a tiny missing share, and with it a missing flag in the copula whose
    correlations are all noise.
    """
    return count if count >= _MISSING_NOISE_SCALES / epsilon else 0.0


def _integer_dtype(series: pd.Series) -> bool:
    return bool(pd.api.types.is_integer_dtype(series.dtype))


def categorical_codes(series: pd.Series, values: Sequence[Any]) -> npt.NDArray[np.intp]:
    """Each row's index into ``values`` (missing, and values not listed, go to ``None``)."""
    lookup = {v: i for i, v in enumerate(values) if v is not None}
    missing = next((i for i, v in enumerate(values) if v is None), -1)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array([lookup.get(_plain(u), missing) for u in uniques] + [missing], dtype=np.intp)
    return mapped[codes]


def _plain(value: Any) -> Any:
    """numpy scalars as Python values, so categories compare and serialise plainly."""
    return value.item() if isinstance(value, np.generic) else value


def _ordered(name: str, values: list[Any], weights: FloatArray, dtype: Any) -> CategoricalMarginal:
    total = weights.sum()
    probs = weights / total if total > 0 else np.full(len(weights), 1.0 / len(weights))
    order = np.argsort(-probs, kind="stable")
    return CategoricalMarginal(
        name=name,
        values=tuple(values[i] for i in order),
        probabilities=probs[order],
        dtype=dtype,
    )


def empirical_categorical(name: str, series: pd.Series) -> CategoricalMarginal:
    """The column's category frequencies, missing values as the category ``None``."""
    counts = series.value_counts(dropna=False)
    values = [None if pd.isna(v) else _plain(v) for v in counts.index]
    weights = np.asarray(counts.to_numpy(dtype=np.float64), dtype=np.float64)
    return _ordered(name, values, weights, series.dtype)


def dp_categorical(
    name: str,
    series: pd.Series,
    categories: Sequence[Any],
    *,
    epsilon: float,
    ledger: Ledger,
    rng: np.random.Generator,
    detail: str,
) -> CategoricalMarginal:
    """Noisy counts of ``categories`` plus a missing count (Laplace, L1 sensitivity 1).

    Values not among ``categories`` (a public list that leaves some out) count as missing.
    """
    values: list[Any] = [*categories, None]
    codes = categorical_codes(series, values)
    counts = np.bincount(codes, minlength=len(values)).astype(np.float64)
    noisy = np.maximum(
        ledger.measure(
            rng, counts, step=f"marginal {name}", sensitivity=1.0, epsilon=epsilon, detail=detail
        ),
        0.0,
    )
    noisy[-1] = _below_noise_is_zero(noisy[-1], epsilon)
    return _ordered(name, values, noisy, series.dtype)
