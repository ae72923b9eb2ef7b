from __future__ import annotations

import asyncio

import pytest

from synthloom.llm import RateLimiter, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_paces_at_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(600, clock=clock)  # 10 per second, burst of 100
    for _ in range(100):
        assert bucket.wait_time(1) == 0.0
        bucket.take(1)
    wait = bucket.wait_time(1)
    assert wait == pytest.approx(0.1)
    clock.now += wait
    assert bucket.wait_time(1) == 0.0


def test_oversized_request_waits_for_a_full_bucket_not_forever() -> None:
    clock = Clock()
    bucket = TokenBucket(60_000, clock=clock)  # capacity 10,000 tokens
    bucket.take(10_000)
    wait = bucket.wait_time(50_000)
    assert wait == pytest.approx(10.0)  # refill to capacity at 1,000 tokens/s
    clock.now += wait
    assert bucket.wait_time(50_000) == 0.0


def test_rate_limiter_takes_the_stricter_limit() -> None:
    clock = Clock()
    limiter = RateLimiter(requests_per_minute=6000, tokens_per_minute=600, clock=clock)
    limiter.tokens.take(100)  # type: ignore[union-attr]
    assert limiter.wait_time(10) == pytest.approx(1.0)  # tokens, not requests, bind
    assert RateLimiter().active is False


def test_acquire_without_limits_never_waits() -> None:
    async def go() -> None:
        limiter = RateLimiter()
        for _ in range(1000):
            await limiter.acquire(10_000)

    asyncio.run(go())


def test_bucket_rejects_zero_rate() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)
