"""Across seeds: the mean and band of every metric, and the run's verdict.

A collapse run repeats the whole experiment once per seed (its own held-out split, its own fits
and draws). Per mode, generation and metric, ``summarise`` keeps every seed's value, their mean,
and a band from the lowest to the highest seed (min–max: with a handful of seeds it is the
plainest statement of seed noise, and every seed lies inside it by construction).

The verdict reads the headline metrics at the last generation as a share (or multiple) of each
seed's own generation 0, so that the split's noise at generation 0 cancels:

* numeric families: ``variance_ratio`` and ``thinner_tail``, "kept" as a percentage;
* text families: ``perplexity`` as a multiple, ``tail_coverage`` "kept" as a percentage.

Two modes are *apart* when their bands at the last generation do not overlap: every seed of one
ended beyond every seed of the other. A mode *levels off* when the change of its mean over the
second half of the generations is under a third of its change over the first half, or within
the band's half-width (seed noise); otherwise it is still rising or falling.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

__all__ = [
    "BAND",
    "HEADLINES",
    "Headline",
    "MetricSummary",
    "ModeVerdict",
    "Verdict",
    "summarise",
    "verdicts",
]

#: How metrics.json and the report name the band.
BAND = "min-max over seeds"

#: One seed's curves: mode -> one row of metric values per generation.
SeedCurves = Mapping[str, Sequence[Mapping[str, float]]]
# Levelling off: the second half moved less than this share of the first half's move.
_LEVEL_SHARE = 1.0 / 3.0


@dataclass(frozen=True)
class MetricSummary:
    """One metric at one generation of one mode, over the seeds (``per_seed`` in seed order)."""

    mean: float
    low: float
    high: float
    per_seed: list[float]

    @classmethod
    def of(cls, values: Sequence[float]) -> MetricSummary:
        array = np.asarray(values, dtype=np.float64)
        # nan (a metric that failed for one seed) leaves the band to the others.
        finite = array[~np.isnan(array)]
        if finite.size == 0:
            return cls(math.nan, math.nan, math.nan, list(map(float, values)))
        return cls(
            mean=float(np.mean(finite)),
            low=float(np.min(finite)),
            high=float(np.max(finite)),
            per_seed=[float(v) for v in values],
        )


def summarise(
    runs: Mapping[int, SeedCurves], metric_names: Sequence[str]
) -> dict[str, list[dict[str, object]]]:
    """Per mode, one row per generation: ``generation``, ``train_size`` and, per metric, its
    :class:`MetricSummary` (as a dict: mean, low, high, per_seed)."""
    seeds = list(runs)
    first = runs[seeds[0]]
    out: dict[str, list[dict[str, object]]] = {}
    for mode, rows in first.items():
        summary_rows: list[dict[str, object]] = []
        for g, row in enumerate(rows):
            entry: dict[str, object] = {
                "generation": int(row["generation"]),
                "train_size": int(row["train_size"]),
            }
            for name in metric_names:
                values = [runs[s][mode][g][name] for s in seeds]
                entry[name] = asdict(MetricSummary.of(values))
            summary_rows.append(entry)
        out[mode] = summary_rows
    return out


@dataclass(frozen=True)
class Headline:
    """A metric the verdict reads, and how: a share kept (percent) or a multiple."""

    metric: str
    noun: str
    reading: Literal["kept", "multiple"]


HEADLINES: dict[str, tuple[Headline, ...]] = {
    "numeric": (
        Headline("variance_ratio", "variance", "kept"),
        Headline("thinner_tail", "thinner tail's mass", "kept"),
    ),
    "text": (
        Headline("perplexity", "held-out perplexity", "multiple"),
        Headline("tail_coverage", "tail coverage", "kept"),
    ),
}


@dataclass(frozen=True)
class ModeVerdict:
    """One mode's headline at the last generation, relative to each seed's generation 0."""

    mode: str
    mean: float
    low: float
    high: float
    middle_mean: float
    trend: Literal["levels off", "still rising", "still falling"]


@dataclass(frozen=True)
class Verdict:
    """One headline metric: every mode's relative value, which pairs are apart, one line."""

    metric: str
    reading: Literal["kept", "multiple"]
    generation: int
    seeds: int
    modes: list[ModeVerdict]
    apart: dict[str, bool | None]
    text: str


def _relative(runs: Mapping[int, SeedCurves], mode: str, metric: str, g: int) -> list[float]:
    values = []
    for curves in runs.values():
        base = curves[mode][0][metric]
        value = curves[mode][g][metric]
        values.append(value / base if base != 0 and math.isfinite(base) else math.nan)
    return values


def _trend(
    start: float, middle: float, end: float, half_width: float
) -> Literal["levels off", "still rising", "still falling"]:
    first, second = middle - start, end - middle
    if abs(second) <= max(_LEVEL_SHARE * abs(first), half_width):
        return "levels off"
    return "still rising" if second > 0 else "still falling"


def _figure(value: float, reading: str) -> str:
    if not math.isfinite(value):
        return "n/a"
    if reading == "kept":
        return f"{100 * value:.0f}%"
    return f"{value:.3g}×"


def _band_text(verdict: ModeVerdict, reading: str) -> str:
    low, high = _figure(verdict.low, reading), _figure(verdict.high, reading)
    return f"{low.rstrip('%×')}–{high}" if low != "n/a" and high != "n/a" else "n/a"


def _apart(a: ModeVerdict, b: ModeVerdict) -> bool:
    return a.high < b.low or b.high < a.low


def _one_verdict(
    runs: Mapping[int, SeedCurves], headline: Headline, modes: Sequence[str]
) -> Verdict:
    first = runs[next(iter(runs))]
    last = len(first[modes[0]]) - 1
    middle = last // 2
    seeds = len(runs)
    mode_verdicts = []
    for mode in modes:
        end = MetricSummary.of(_relative(runs, mode, headline.metric, last))
        mid = MetricSummary.of(_relative(runs, mode, headline.metric, middle))
        trend = _trend(1.0, mid.mean, end.mean, (end.high - end.low) / 2)
        mode_verdicts.append(ModeVerdict(mode, end.mean, end.low, end.high, mid.mean, trend))
    apart: dict[str, bool | None] = {}
    reference = mode_verdicts[0]
    for other in mode_verdicts[1:]:
        # One seed has no band: whether two modes differ beyond seed noise is unknown.
        apart[f"{reference.mode} vs {other.mode}"] = _apart(reference, other) if seeds > 1 else None
    return Verdict(
        metric=headline.metric,
        reading=headline.reading,
        generation=last,
        seeds=seeds,
        modes=mode_verdicts,
        apart=apart,
        text=_verdict_text(headline, mode_verdicts, apart, last, seeds),
    )


def _mode_phrase(headline: Headline, verdict: ModeVerdict) -> str:
    figure = _figure(verdict.mean, headline.reading)
    if headline.reading == "kept":
        return f"{verdict.mode} kept {figure} of its {headline.noun}"
    return f"{verdict.mode}'s {headline.noun} went {figure}"


def _verdict_text(
    headline: Headline,
    modes: Sequence[ModeVerdict],
    apart: Mapping[str, bool | None],
    generation: int,
    seeds: int,
) -> str:
    """One line, e.g. "replace kept 3% of its variance by generation 100 (5 seeds, min–max
    1–8%); accumulate kept 99% (97–101%, levels off): replace's band is apart from accumulate's".
    """
    head, *rest = modes
    noise = (
        f"{seeds} seeds, min–max {_band_text(head, headline.reading)}" if seeds > 1 else "1 seed"
    )
    parts = [f"{_mode_phrase(headline, head)} by generation {generation} ({noise}, {head.trend})"]
    for verdict in rest:
        figure = _figure(verdict.mean, headline.reading)
        band = f"{_band_text(verdict, headline.reading)}, " if seeds > 1 else ""
        word = "kept " if headline.reading == "kept" else ""
        parts.append(f"{verdict.mode} {word}{figure} ({band}{verdict.trend})")
    line = "; ".join(parts)
    if seeds == 1:
        return line + ": one seed, no band (use --seeds 5 to see seed noise)"
    apart_modes = [pair.split(" vs ")[1] for pair, is_apart in apart.items() if is_apart]
    close_modes = [pair.split(" vs ")[1] for pair, is_apart in apart.items() if not is_apart]
    notes = []
    if apart_modes:
        notes.append(f"{head.mode}'s band is apart from {', '.join(apart_modes)}'s")
    if close_modes:
        notes.append(f"{head.mode}'s band overlaps {', '.join(close_modes)}'s (within seed noise)")
    return line + (": " + "; ".join(notes) if notes else "")


def verdicts(
    runs: Mapping[int, SeedCurves], kind: Literal["text", "numeric"], modes: Sequence[str]
) -> list[Verdict]:
    """The verdict of each headline metric of the family's kind (the first mode is the one the
    others are compared with)."""
    return [_one_verdict(runs, headline, modes) for headline in HEADLINES[kind]]
