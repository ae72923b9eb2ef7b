from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator

import pytest

from fakeserver import FakeServer
from synthloom.engine import bounded_map, run_requests_sync
from synthloom.engine.executor import blocking
from synthloom.llm import OpenAIHTTPBackend, Request, TeacherClient


def test_bounded_map_never_exceeds_the_limit_and_returns_everything() -> None:
    in_flight = peak = 0

    async def work(i: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001 * (i % 7))  # uneven durations: a slot frees as soon as one ends
        in_flight -= 1
        return i * i

    async def go() -> list[int]:
        return [r async for r in bounded_map(range(300), work, max_in_flight=16)]

    out = asyncio.run(go())
    assert sorted(out) == [i * i for i in range(300)]
    assert peak == 16
    assert out != sorted(out)  # results come back as they finish, not in input order


def test_bounded_map_pulls_the_stream_lazily() -> None:
    pulled = 0

    def endless() -> Iterator[int]:
        nonlocal pulled
        while True:
            pulled += 1
            yield pulled

    async def work(i: int) -> int:
        await asyncio.sleep(0)
        return i

    async def go() -> list[int]:
        out = []
        async for r in bounded_map(endless(), work, max_in_flight=8):
            out.append(r)
            if len(out) == 50:
                break
        return out

    assert len(asyncio.run(go())) == 50
    assert pulled <= 50 + 8 + 1  # never more than the slots ahead of the consumer


def test_bounded_map_raises_the_first_error_and_cancels_the_rest() -> None:
    started = []

    async def work(i: int) -> int:
        started.append(i)
        if i == 2:
            raise RuntimeError("boom")
        await asyncio.sleep(10)
        return i

    async def go() -> None:
        async for _ in bounded_map(range(1000), work, max_in_flight=4):
            pass

    with pytest.raises(RuntimeError, match="boom"):
        asyncio.run(asyncio.wait_for(go(), 5))
    assert len(started) < 20


def test_serial_until_runs_one_at_a_time_until_released() -> None:
    in_flight = peak_before = 0
    released = False

    async def work(i: int) -> int:
        nonlocal in_flight, peak_before, released
        in_flight += 1
        if not released:
            peak_before = max(peak_before, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        if i == 3:
            released = True
        return i

    async def go() -> list[int]:
        return [
            r
            async for r in bounded_map(
                range(50), work, max_in_flight=8, serial_until=lambda: released
            )
        ]

    assert len(asyncio.run(go())) == 50
    assert peak_before == 1


def test_in_flight_at_the_server_never_exceeds_the_limit() -> None:
    with FakeServer(latency=0.01) as srv:
        client = TeacherClient(OpenAIHTTPBackend(srv.url))
        requests = (
            Request(model="m", messages=[{"role": "user", "content": f"q{i}"}], metadata={"i": i})
            for i in range(400)
        )
        results = run_requests_sync(requests, client, max_in_flight=24)
        assert srv.max_in_flight == 24  # reached, never passed
    assert len(results) == 400 and all(r.ok for r in results)
    assert sorted(r.metadata["i"] for r in results) == list(range(400))


def test_blocking_runs_the_coroutine_and_keeps_its_signature() -> None:
    async def scaled(values: list[int], *, factor: int = 2) -> list[int]:
        """Each value times ``factor``."""
        await asyncio.sleep(0)
        return [v * factor for v in values]

    scaled_sync = blocking(scaled, "scaled_sync")
    assert scaled_sync([1, 2, 3], factor=3) == [3, 6, 9]
    assert scaled_sync.__name__ == "scaled_sync"
    assert inspect.signature(scaled_sync) == inspect.signature(scaled)
    assert scaled_sync.__doc__ == "Blocking :func:`scaled` (the same arguments)."
