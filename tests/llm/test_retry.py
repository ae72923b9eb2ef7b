from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from synthloom.llm import RetryPolicy, parse_retry_after


def test_backoff_grows_and_stays_under_its_ceiling() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    rng = random.Random(0)
    for retry in range(8):
        ceiling = min(4.0, 0.5 * 2**retry)
        draws = [policy.delay(retry, rng=rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in draws)
        # Full jitter: draws spread over the whole range, not clustered at the ceiling.
        assert max(draws) > 0.8 * ceiling and min(draws) < 0.2 * ceiling


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(base_delay=0.1, max_retry_after=10.0)
    rng = random.Random(1)
    assert 3.0 <= policy.delay(0, retry_after=3.0, rng=rng) <= 3.1
    assert 10.0 <= policy.delay(5, retry_after=500.0, rng=rng) <= 10.1


@pytest.mark.parametrize(
    ("seconds", "millis", "expected"),
    [
        pytest.param("2", None, 2.0, id="seconds"),
        pytest.param("0.25", None, 0.25, id="fractional"),
        pytest.param(None, "1500", 1.5, id="retry-after-ms"),
        pytest.param("7", "100", 0.1, id="ms-wins"),
        pytest.param("soon", None, None, id="garbage"),
        pytest.param(None, None, None, id="absent"),
    ],
)
def test_parse_retry_after(seconds: str | None, millis: str | None, expected: float | None) -> None:
    assert parse_retry_after(seconds, millis) == expected


def test_parse_retry_after_http_date() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    value = parse_retry_after(when)
    assert value is not None and 25.0 <= value <= 30.0


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
