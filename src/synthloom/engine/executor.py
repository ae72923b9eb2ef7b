"""The asyncio executor: a bounded number of tasks in flight over a stream of work.

Work is pulled from the stream only when a slot is free (a semaphore, never fixed chunks that
wait for their slowest member), so memory stays flat however long the stream is, and results
come back in completion order. A result keeps its slot until the consumer has taken it, so a slow
consumer slows the producer instead of piling results up.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from typing import Any, ParamSpec, TypeVar

from synthloom.llm.client import ParseHook, Result, TeacherClient
from synthloom.llm.types import Request

__all__ = ["blocking", "bounded_map", "run_requests", "run_requests_sync"]

T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")


def blocking(fn: Callable[P, Coroutine[Any, Any, R]], name: str) -> Callable[P, R]:
    """The blocking form of the coroutine function ``fn`` (``asyncio.run`` of it), named
    ``name``, with ``fn``'s signature: the async code is written once, and a sync caller gets
    a thin wrapper instead of a copy of every parameter."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return asyncio.run(fn(*args, **kwargs))

    run.__name__ = run.__qualname__ = name
    run.__doc__ = f"Blocking :func:`{fn.__name__}` (the same arguments)."
    return run


_DONE = object()


class _Raised:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


async def _aiter(items: Iterable[T] | AsyncIterable[T]) -> AsyncIterator[T]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


async def bounded_map(
    items: Iterable[T] | AsyncIterable[T],
    fn: Callable[[T], Awaitable[R]],
    *,
    max_in_flight: int,
    serial_until: Callable[[], bool] | None = None,
) -> AsyncIterator[R]:
    """Yield ``fn(item)`` for every item, at most ``max_in_flight`` running, as they finish.

    ``serial_until``: while it returns False, run one item at a time. The engine uses it so a
    run first proves the server works with one request instead of firing a full batch at a
    wrong URL. An exception from ``fn`` cancels the rest and is raised to the consumer.
    """
    if max_in_flight < 1:
        raise ValueError("max_in_flight must be >= 1")
    slots = asyncio.Semaphore(max_in_flight)
    results: asyncio.Queue[Any] = asyncio.Queue()
    tasks: set[asyncio.Task[None]] = set()
    idle = asyncio.Event()
    idle.set()

    async def one(item: T) -> None:
        try:
            value: Any = await fn(item)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the consumer, which re-raises it
            value = _Raised(exc)
        await results.put(value)

    def finished(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        if not tasks:
            idle.set()

    async def feed() -> None:
        try:
            async for item in _aiter(items):
                await slots.acquire()
                if serial_until is not None and not serial_until():
                    await idle.wait()
                task = asyncio.ensure_future(one(item))
                tasks.add(task)
                idle.clear()
                task.add_done_callback(finished)
        except BaseException as exc:
            await results.put(_Raised(exc))
            return
        await idle.wait()
        await results.put(_DONE)

    feeder = asyncio.ensure_future(feed())
    try:
        while True:
            value = await results.get()
            if value is _DONE:
                break
            if isinstance(value, _Raised):
                raise value.exc
            # The slot is freed once the consumer holds the result (backpressure).
            slots.release()
            yield value
    finally:
        feeder.cancel()
        for task in list(tasks):
            task.cancel()
        pending = [feeder, *tasks]
        await asyncio.gather(*pending, return_exceptions=True)


async def run_requests(
    requests: Iterable[Request] | AsyncIterable[Request],
    client: TeacherClient,
    *,
    max_in_flight: int = 64,
    parse: ParseHook | None = None,
    max_parse_attempts: int = 3,
) -> AsyncIterator[Result[Any]]:
    """Answer a stream of requests, yielding each ``Result`` as it completes.

    This is what a recipe builds on: submit chat requests (with per-request ``metadata``),
    consume results in completion order, let ``parse`` validate each answer.
    """

    async def answer(request: Request) -> Result[Any]:
        return await client.run(request, parse=parse, max_parse_attempts=max_parse_attempts)

    async for result in bounded_map(
        requests,
        answer,
        max_in_flight=max_in_flight,
        serial_until=lambda: client.server_answered,
    ):
        yield result


def run_requests_sync(
    requests: Iterable[Request],
    client: TeacherClient,
    *,
    max_in_flight: int = 64,
    parse: ParseHook | None = None,
    max_parse_attempts: int = 3,
) -> list[Result[Any]]:
    """Blocking ``run_requests``: every result, in completion order; closes the client."""

    async def collect() -> list[Result[Any]]:
        async with client:
            return [
                r
                async for r in run_requests(
                    requests,
                    client,
                    max_in_flight=max_in_flight,
                    parse=parse,
                    max_parse_attempts=max_parse_attempts,
                )
            ]

    return asyncio.run(collect())
