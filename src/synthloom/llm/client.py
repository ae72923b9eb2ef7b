"""The teacher client: one request in, one checked result out.

``TeacherClient.complete`` sends a request through the cache, the rate limits and the retry
policy; ``TeacherClient.run`` adds the caller's parse hook and turns every outcome into a
``Result`` whose status is ``ok``, ``rejected`` (answers never parsed, raw text kept, or an
answer without text: ``content: null``, tool calls only, a refusal) or ``failed`` (the request
could not be answered; reason kept). Only errors the user must fix (bad key, unknown model,
wrong URL, a server that never answered or has answered nothing for a whole
``RetryPolicy.max_request_time``) escape as BackendError.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from synthloom.errors import BackendError
from synthloom.llm.accounting import Accounting
from synthloom.llm.backends import Backend
from synthloom.llm.cache import ResponseCache
from synthloom.llm.errors import (
    MalformedResponse,
    RequestRejected,
    RetriesExhausted,
    TransientError,
)
from synthloom.llm.limits import RateLimiter
from synthloom.llm.retry import RetryPolicy
from synthloom.llm.types import Completion, Request, cache_key

__all__ = ["ParseHook", "Result", "TeacherClient", "estimate_tokens"]

T = TypeVar("T")

#: Turns an answer into the caller's value; raise ValueError (pydantic's ValidationError and
#: json.JSONDecodeError are ValueErrors) to have the request asked again.
ParseHook = Callable[[Completion, Request], Any]

Status = Literal["ok", "rejected", "failed"]


def estimate_tokens(request: Request) -> int:
    """A rough token count for limits and dry runs: about 4 characters per token."""
    n_messages = len(request.messages) if request.messages is not None else 0
    prompt = request.prompt_chars() // 4 + 4 * n_messages + 1
    return prompt + (request.params.max_tokens or 0) * request.params.n


@dataclass(slots=True)
class Result(Generic[T]):
    """The outcome of one request (its ``metadata`` is ``request.metadata``)."""

    request: Request
    status: Status
    completion: Completion | None = None
    parsed: T | None = None
    #: Why the item failed or was rejected.
    error: str | None = None
    #: The last answer that did not parse (rejected items only).
    raw: str | None = None
    #: How many answers were needed (1 unless the parse hook refused some).
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def metadata(self) -> Any:
        return self.request.metadata


class TeacherClient:
    """Sends requests to a backend with caching, rate limits, retries and accounting.

    Use it as ``async with TeacherClient(backend, ...) as client`` (or call ``aclose``). The
    cache is optional; with one, every answer is committed as it arrives.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        cache: ResponseCache | None = None,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        accounting: Accounting | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.backend = backend
        self.cache = cache
        self.retry = retry or RetryPolicy()
        self.limiter = limiter
        self.accounting = accounting or Accounting()
        self._rng = rng or random.Random()
        #: Set once the server has answered anything: until then a failure that survives all
        #: retries means the server is unusable (stop the run), afterwards it is one bad item.
        self.server_answered = False
        #: When (event-loop time) the server last answered anything; a request that runs out of
        #: sends after a whole ``max_request_time`` without any answer stops the run.
        self.last_answer_at: float | None = None
        #: Requests on their way to the server, by cache key: an identical request asked
        #: meanwhile waits for that answer instead of being sent again (and paid for twice).
        self._inflight: dict[str, asyncio.Future[Completion]] = {}
        #: Set once an answer came from the cache: a stored answer was a real one, so the server
        #: behind this model speaks the API even if none of this run's live answers parses yet.
        self.replayed = False

    async def __aenter__(self) -> TeacherClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.backend.aclose()

    async def complete(self, request: Request, *, attempt: int = 0) -> Completion:
        """The answer to ``request``, from the cache or the server.

        Raises RetriesExhausted, RequestRejected or MalformedResponse for this item, and
        BackendError when the run cannot go on. An answer without text is returned as it came
        (see ``Completion.empty_reason``); ``run`` is what turns it into a reject.
        """
        acc = self.accounting
        key = None
        if self.cache is not None:
            key = cache_key(request, attempt)
            hit = self.cache.get(key)
            if hit is not None:
                self.replayed = True
                acc.cache_hits += 1
                acc.cached_prompt_tokens += hit.usage.prompt_tokens
                acc.cached_completion_tokens += hit.usage.completion_tokens
                return hit
            leader = self._inflight.get(key)
            if leader is not None:
                shared = await asyncio.shield(leader)
                acc.cache_hits += 1
                acc.cached_prompt_tokens += shared.usage.prompt_tokens
                acc.cached_completion_tokens += shared.usage.completion_tokens
                return dataclasses.replace(shared, cached=True)
            future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
            self._inflight[key] = future
            try:
                completion = await self._fetch(request, key)
            except BaseException as exc:
                if isinstance(exc, Exception):
                    future.set_exception(exc)
                    future.exception()  # retrieved: an unshared failure logs nothing
                else:
                    future.cancel()
                raise
            else:
                future.set_result(completion)
                return completion
            finally:
                del self._inflight[key]
        return await self._fetch(request, key)

    async def _fetch(self, request: Request, key: str | None) -> Completion:
        """Send ``request`` (with retries and limits), store and return the answer."""
        acc = self.accounting
        estimate = estimate_tokens(request) if self.limiter is not None else 0
        last: TransientError | None = None
        policy = self.retry
        budget = policy.max_request_time
        loop = asyncio.get_running_loop()
        # Seconds of sends and backoff so far; waits for our own rate limits do not count.
        spent = 0.0
        sends = 0
        while sends < policy.max_attempts:
            if self.limiter is not None:
                await self.limiter.acquire(estimate)
            acc.requests += 1
            if self.cache is not None:
                self.cache.note_request()
            sends += 1
            started = loop.time()
            try:
                if budget is None:
                    completion = await self.backend.send(request)
                else:
                    async with asyncio.timeout(budget - spent) as limit:
                        completion = await self.backend.send(request)
            except TimeoutError as exc:
                if budget is None or not limit.expired():
                    raise
                last = TransientError(f"no answer within {budget:g}s (the limit for one request)")
                last.__cause__ = exc
                break
            except TransientError as exc:
                last = exc
                spent += loop.time() - started
                if sends >= policy.max_attempts:
                    break
                delay = policy.delay(sends - 1, exc.retry_after, self._rng)
                if budget is not None and spent + delay >= budget:
                    break  # no time left for another send
                acc.retries += 1
                await asyncio.sleep(delay)
                spent += delay
                continue
            except RequestRejected:
                self.server_answered = True
                self.last_answer_at = loop.time()
                raise
            except MalformedResponse:
                # Alive, though maybe not an OpenAI API (server_answered stays as it was).
                self.last_answer_at = loop.time()
                raise
            self.server_answered = True
            self.last_answer_at = loop.time()
            acc.responses += 1
            acc.prompt_tokens += completion.usage.prompt_tokens
            acc.completion_tokens += completion.usage.completion_tokens
            if self.limiter is not None and self.limiter.tokens is not None:
                # Settle the estimate against what the server actually counted.
                self.limiter.tokens.take(completion.usage.total_tokens - estimate)
            if self.cache is not None and key is not None:
                self.cache.put(key, completion)
            return completion
        assert last is not None
        tried = f"after {sends} attempt{'s' if sends > 1 else ''}"
        if not self.server_answered:
            raise BackendError(f"{last.reason} ({tried})") from last
        silent = None if self.last_answer_at is None else loop.time() - self.last_answer_at
        if budget is not None and silent is not None and silent >= budget:
            # Not one answer for a whole request's time budget: the server is gone, and every
            # further request would wait as long again. Stop; a rerun resumes.
            raise BackendError(
                f"the server has answered nothing for {silent:.0f}s ({last.reason}, {tried}); "
                "check that it is up, or raise the timeout / max request time, then run the "
                "same command again to resume"
            ) from last
        raise RetriesExhausted(last.reason, sends) from last

    async def run(
        self,
        request: Request,
        *,
        parse: ParseHook | None = None,
        max_parse_attempts: int = 3,
    ) -> Result[Any]:
        """Answer ``request`` and check the answer with ``parse``; never raises for one item.

        A malformed answer (bad JSON, no choices: a glitch) or one ``parse`` refuses is asked
        again, up to ``max_parse_attempts`` answers, then the item is ``rejected`` with the raw
        text. An answer without text (``Completion.empty_reason``) is rejected at once: it is a
        real, paid answer (stored in the cache like any other) that asking again would mostly
        repeat.
        """
        acc = self.accounting
        reason = ""
        raw: str | None = None
        for attempt in range(max_parse_attempts):
            try:
                completion = await self.complete(request, attempt=attempt)
            except (RetriesExhausted, RequestRejected) as exc:
                acc.failures += 1
                return Result(request, "failed", error=exc.reason, attempts=attempt + 1)
            except MalformedResponse as exc:
                reason, raw = exc.reason, exc.raw
                continue
            empty = completion.empty_reason
            if empty is not None:
                # The server spoke the protocol and was paid; asking again mostly buys the same
                # nothing (a content filter, a reasoning budget spent, a tool call), so reject.
                acc.rejects += 1
                return Result(
                    request, "rejected", completion=completion, error=empty, attempts=attempt + 1
                )
            if parse is None:
                acc.ok += 1
                return Result(request, "ok", completion=completion, attempts=attempt + 1)
            try:
                parsed = parse(completion, request)
            except ValueError as exc:
                reason = f"parse hook refused the answer: {_first_line(exc)}"
                raw = completion.text
                continue
            acc.ok += 1
            return Result(request, "ok", completion=completion, parsed=parsed, attempts=attempt + 1)
        if not (self.server_answered or self.replayed):
            raise BackendError(
                f"{reason}; the server at the base URL does not seem to speak the OpenAI API, "
                "check --base-url"
            )
        acc.rejects += 1
        return Result(request, "rejected", error=reason, raw=raw, attempts=max_parse_attempts)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
