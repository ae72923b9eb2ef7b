"""Requests-per-minute and tokens-per-minute limits, as token buckets shared by all requests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["RateLimiter", "TokenBucket"]


class TokenBucket:
    """A bucket holding up to ``per_minute / 6`` units (10 s worth) that refills continuously.

    The bounded burst keeps a fresh run from firing a whole minute's budget in its first second.
    A single request larger than the bucket is let through once the bucket is full, rather than
    waiting forever.
    """

    def __init__(self, per_minute: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute <= 0:
            raise ValueError("a rate limit must be > 0 per minute")
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, per_minute / 6.0)
        self._clock = clock
        self._level = self.capacity
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._level = min(self.capacity, self._level + (now - self._stamp) * self.rate)
        self._stamp = now

    def wait_time(self, cost: float) -> float:
        """Seconds until ``cost`` units can be taken (0 if now)."""
        self._refill()
        need = min(cost, self.capacity)
        if self._level >= need:
            return 0.0
        return (need - self._level) / self.rate

    def take(self, cost: float) -> None:
        """Take ``cost`` units (negative gives back an over-estimate; the level may go below 0
        for an oversized request)."""
        self._refill()
        self._level = min(self.capacity, self._level - cost)


class RateLimiter:
    """Optional RPM and TPM limits; ``acquire(tokens)`` waits until both allow a request."""

    def __init__(
        self,
        *,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.requests = (
            TokenBucket(requests_per_minute, clock=clock) if requests_per_minute else None
        )
        self.tokens = TokenBucket(tokens_per_minute, clock=clock) if tokens_per_minute else None
        self._lock = asyncio.Lock()

    @property
    def active(self) -> bool:
        return self.requests is not None or self.tokens is not None

    def wait_time(self, tokens: float) -> float:
        waits = [0.0]
        if self.requests is not None:
            waits.append(self.requests.wait_time(1.0))
        if self.tokens is not None:
            waits.append(self.tokens.wait_time(tokens))
        return max(waits)

    async def acquire(self, tokens: float) -> None:
        """Wait for room for one request of about ``tokens`` tokens, then take it."""
        if not self.active:
            return
        # One waiter at a time keeps requests in arrival order (no starvation of big ones).
        async with self._lock:
            while (delay := self.wait_time(tokens)) > 0:
                await asyncio.sleep(delay)
            if self.requests is not None:
                self.requests.take(1.0)
            if self.tokens is not None:
                self.tokens.take(tokens)
