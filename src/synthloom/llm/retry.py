"""Retry policy: exponential backoff with full jitter, honouring a server's Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from time import time

__all__ = ["RetryPolicy", "parse_retry_after"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times to send one request, and how long to wait between sends.

    ``max_attempts`` counts sends (1 = never retry). Waits grow as ``base_delay * 2**k`` up to
    ``max_delay`` and are drawn uniformly below that ("full jitter") so that many clients that
    failed together do not come back together. A server's Retry-After wins, capped at
    ``max_retry_after``.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must be >= 0")

    def delay(
        self, retry: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first retry)."""
        if retry_after is not None:
            # A small jitter on top keeps a burst of 429s from retrying in lock-step.
            jitter = (rng or random).uniform(0.0, min(1.0, self.base_delay))
            return min(max(retry_after, 0.0), self.max_retry_after) + jitter
        ceiling = min(self.max_delay, self.base_delay * (2.0**retry))
        return (rng or random).uniform(0.0, ceiling)


def parse_retry_after(seconds: str | None, milliseconds: str | None = None) -> float | None:
    """Read ``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms``; None if absent/bad."""
    if milliseconds:
        try:
            return max(float(milliseconds) / 1000.0, 0.0)
        except ValueError:
            pass
    if not seconds:
        return None
    try:
        return max(float(seconds), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(seconds)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time(), 0.0)
