"""Uniform samples for the costly parts of the instruction assay, and bootstrap intervals.

Embedding every text with MiniLM and running NER over every message dominate an instruction
assay (10k vs 10k: 307 s and 76 s of 402 s). The metrics computed on embeddings (Fréchet
distance, PRDC, classifier AUC, embedding clusters, Vendi score) and the NER counts are
therefore computed on a uniform random sample of :data:`DEFAULT_SAMPLE_SIZE` records per side,
drawn without replacement from ``--seed`` on the driver, by index, before any work is shipped
(so ``--executor ray`` embeds exactly the same texts). A side with no more records than the
sample size is not sampled. ``--full`` turns sampling off.

Why 5,000: FID practice fixes the sample size (FID-5k, -10k, -50k) because the Fréchet
distance is biased upwards by about ``1/n`` (Chong & Forsyth 2020), so numbers compare only at
one size; 5,000 was also the cap this assay already applied to its embedding metrics, and
embedding 5,000 texts per side costs about 17 s per side with MiniLM on two cores (FACTS).
The interval widths measured are in the README ("Sampling").

Each sampled number gets a bootstrap interval (:data:`BOOTSTRAP_RESAMPLES` resamples,
:data:`CONFIDENCE` coverage, seeded from ``--seed``) computed from what the sample already
produced: per-record contributions resampled with replacement where the metric is a mean of
them (PRDC, self-BLEU, NER counts), the out-of-fold classifier scores reweighted (AUC), and
half-samples of the sample's vectors (Fréchet distance, Vendi score: see
:meth:`Bootstrap.half_samples` for why not with replacement). Nothing is embedded again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from synthloom.errors import InputError

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "CONFIDENCE",
    "DEFAULT_SAMPLE_SIZE",
    "Bootstrap",
    "SideSample",
    "check_sample_size",
    "draw_sample",
    "interval",
]

#: Records per side the costly metrics are computed on (``--sample N``; ``--full``: all).
DEFAULT_SAMPLE_SIZE = 5000
#: Resamples of each bootstrap interval.
BOOTSTRAP_RESAMPLES = 200
#: Coverage of each interval (the 2.5th and 97.5th percentiles of the resampled values).
CONFIDENCE = 0.95

# Each side and each bootstrap draws from its own stream of the seed, so that sampling one
# side never shifts the other side's sample.
_STREAMS = {"reference": 1, "synthetic": 2}

T = TypeVar("T")


@dataclass(frozen=True)
class SideSample:
    """Which records of one side the costly metrics see: ``indices`` (sorted), or None for all."""

    rows: int
    indices: npt.NDArray[np.int64] | None

    @property
    def sampled(self) -> bool:
        return self.indices is not None

    @property
    def n(self) -> int:
        """Records in the sample (all of them when not sampled)."""
        return self.rows if self.indices is None else len(self.indices)

    def take(self, items: Sequence[T]) -> list[T]:
        """The sampled items of a list as long as the side, in their original order."""
        if len(items) != self.rows:
            raise ValueError(f"{len(items)} items for a side of {self.rows} records")
        if self.indices is None:
            return list(items)
        return [items[int(i)] for i in self.indices]


def check_sample_size(size: int | None) -> None:
    """``None`` (no sampling) or a positive whole number; anything else is the user's error."""
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise InputError(f"must be a positive whole number, got {size!r}", field="--sample")


def draw_sample(rows: int, size: int | None, *, seed: int, side: str) -> SideSample:
    """A uniform sample of ``size`` of ``rows`` records, without replacement, from ``seed``.

    ``size`` None, or not smaller than ``rows``, samples nothing. ``side`` ("reference" or
    "synthetic") picks the side's own random stream.
    """
    check_sample_size(size)
    if size is None or rows <= size:
        return SideSample(rows, None)
    rng = np.random.default_rng([seed, _STREAMS[side]])
    picked = np.sort(rng.choice(rows, size=size, replace=False)).astype(np.int64)
    return SideSample(rows, picked)


def interval(
    value: float | None,
    low: float | None,
    high: float | None,
    *,
    estimate: float | None = None,
    **sizes: int,
) -> dict[str, Any]:
    """The metrics.json form of one sampled number: ``{value, low, high, confidence, <sizes>}``,
    and ``estimate`` (the value expected on all records) for a size-biased statistic."""
    shown: dict[str, Any] = {"value": value, "low": low, "high": high, "confidence": CONFIDENCE}
    if estimate is not None:
        shown["estimate"] = estimate
    return {**shown, **sizes}


@dataclass(frozen=True)
class Bootstrap:
    """Percentile bootstrap intervals of ``resamples`` resamples from ``seed``.

    :meth:`mean` and :meth:`two_sample` return ``(low, high)``, the ``(1 - CONFIDENCE) / 2``
    and ``(1 + CONFIDENCE) / 2`` percentiles of the resampled values; :meth:`half_samples`
    adds the bias-corrected estimate. Resamples whose value could not be computed are left
    out; None where none could.
    """

    seed: int = 0
    resamples: int = BOOTSTRAP_RESAMPLES

    def _rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, 100 + stream])

    @staticmethod
    def _percentiles(values: Sequence[float]) -> tuple[float | None, float | None]:
        finite = np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)
        if finite.size == 0:
            return None, None
        tail = (1.0 - CONFIDENCE) / 2.0 * 100.0
        low, high = np.percentile(finite, [tail, 100.0 - tail])
        return float(low), float(high)

    def mean(
        self, contributions: npt.ArrayLike, *, scale: float = 1.0, stream: int = 0
    ) -> tuple[float | None, float | None]:
        """Interval of ``scale * mean(contributions)``, records resampled with replacement.

        ``scale`` turns a per-record mean into a total for the whole set (rows x mean).
        """
        values = np.asarray(contributions, dtype=np.float64)
        if values.size == 0:
            return None, None
        rng = self._rng(stream)
        # Resampling a mean is drawing how often each record is taken: one matrix product.
        counts = rng.multinomial(
            values.size, np.full(values.size, 1.0 / values.size), size=self.resamples
        )
        means = counts @ values / values.size
        return self._percentiles(list(scale * means))

    def half_samples(
        self,
        statistic: Callable[..., float],
        value: float,
        sides: Sequence[SideSample],
        *,
        stream: int = 0,
    ) -> tuple[float | None, float | None, float | None]:
        """``(low, high, estimate)`` for a statistic of the rows of each side's sample whose
        value grows or shrinks with the number of rows (the Fréchet distance, the Vendi score).

        Resampling with replacement repeats rows, and repeated rows lower a Vendi score and
        raise a Fréchet distance by far more than the sampling noise: the interval then misses
        the sample's own value. Each resample here takes half of every sampled side's rows
        without replacement (a side that is not sampled keeps all its rows: its part is
        exact). Half-samples vary about as much as the whole sample does about the full set's
        value (the half-sampling result for means), and with a size bias of ``c / n`` they
        show it: ``mean(half) - value`` is the sample's own bias, so ``estimate = value -
        bias * (1 - n / rows)`` is the value expected on every record, and the interval is
        the half-samples' spread about their mean, moved to ``estimate``.

        ``statistic(*indices)`` gets one array of row indices per side.
        """
        rng = self._rng(stream)
        values = []
        for _ in range(self.resamples):
            picks = [
                np.sort(rng.choice(side.n, size=side.n // 2, replace=False))
                if side.sampled
                else np.arange(side.n)
                for side in sides
            ]
            try:
                values.append(statistic(*picks))
            except (ValueError, np.linalg.LinAlgError):
                continue
        finite = np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)
        sampled = [side for side in sides if side.sampled]
        if finite.size == 0 or not sampled:
            return None, None, None
        fraction = float(np.mean([side.n / side.rows for side in sampled]))
        estimate = value - (float(finite.mean()) - value) * (1.0 - fraction)
        low, high = self._percentiles(list(finite - finite.mean()))
        assert low is not None and high is not None
        return estimate + low, estimate + high, estimate

    def two_sample(
        self,
        statistic: Callable[[npt.NDArray[np.int64], npt.NDArray[np.int64]], float],
        n_first: int,
        n_second: int,
        *,
        stream: int = 0,
    ) -> tuple[float | None, float | None]:
        """Interval of ``statistic(first_indices, second_indices)``, each side resampled on
        its own (the two sides are independent samples)."""
        rng = self._rng(stream)
        values = []
        for _ in range(self.resamples):
            first = rng.integers(0, n_first, size=n_first)
            second = rng.integers(0, n_second, size=n_second)
            try:
                values.append(statistic(first, second))
            except (ValueError, np.linalg.LinAlgError):
                continue
        return self._percentiles(values)
