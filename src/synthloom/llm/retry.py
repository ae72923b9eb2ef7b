"""Retry policy: exponential backoff with full jitter, honouring a server's Retry-After."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from time import time

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_REQUEST_TIME",
    "DEFAULT_TIMEOUT",
    "RetryPolicy",
    "parse_retry_after",
]

#: Seconds to open a connection. A server on the same network or a hosted API connects in well
#: under a second; ten is generous, and a host that drops packets costs ten, not minutes.
DEFAULT_CONNECT_TIMEOUT = 10.0
#: Seconds of silence before one send is given up (the read timeout). Long enough for a few
#: thousand tokens from a busy server (answers are not streamed: nothing arrives until the end).
DEFAULT_TIMEOUT = 300.0
#: Seconds one request may take across all its sends and the waits between them: a hanging
#: server costs at most this per request (two full read timeouts), not sends x timeout.
DEFAULT_MAX_REQUEST_TIME = 600.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times to send one request, and how long to wait between sends.

    ``max_attempts`` counts sends (1 = never retry). Waits grow as ``base_delay * 2**k`` up to
    ``max_delay`` and are drawn uniformly below that ("full jitter") so that many clients that
    failed together do not come back together. A server's Retry-After wins, capped at
    ``max_retry_after``. ``max_request_time`` bounds one request's sends and waits together
    (None: no bound); client-side rate-limit waits do not count.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    max_request_time: float | None = DEFAULT_MAX_REQUEST_TIME

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must be >= 0")
        if self.max_request_time is not None and not 0 < self.max_request_time < math.inf:
            raise ValueError("max_request_time must be > 0 (or None for no limit)")

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
