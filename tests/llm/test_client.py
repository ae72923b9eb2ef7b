"""TeacherClient over real HTTP: every fault ends as a retry or a recorded outcome."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from fakeserver import FakeServer, answer_for
from synthloom.errors import BackendError
from synthloom.llm import (
    Completion,
    OpenAIClientBackend,
    OpenAIHTTPBackend,
    Request,
    ResponseCache,
    Result,
    RetryPolicy,
    SamplingParams,
    TeacherClient,
    estimate_tokens,
)

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)


def _client(server: FakeServer, cache: ResponseCache | None = None, **kw: Any) -> TeacherClient:
    return TeacherClient(
        OpenAIHTTPBackend(server.url, timeout=0.3), cache=cache, retry=kw.pop("retry", FAST), **kw
    )


def _run(client: TeacherClient, request: Request, **kw: Any) -> Result[Any]:
    async def go() -> Result[Any]:
        async with client:
            return await client.run(request, **kw)

    return asyncio.run(go())


def _ask(text: str, **kw: Any) -> Request:
    return Request(model="m", messages=[{"role": "user", "content": text}], **kw)


@pytest.mark.parametrize(
    "fault",
    ["429*2", "500*2", "502*1", "503*1", "slow*1", "reset*2", "badjson*1", "empty*2"],
)
def test_a_passing_fault_is_retried_into_an_answer(server: FakeServer, fault: str) -> None:
    client = _client(server)
    client.server_answered = True  # a warm run: failures are per item
    text = f"q [fault:{fault}]"
    result = _run(client, _ask(text))
    assert result.ok and result.completion is not None
    assert result.completion.text == answer_for(text)
    times = int(fault.split("*")[1])
    assert server.requests == times + 1
    acc = client.accounting
    assert acc.requests == times + 1 and acc.responses == 1 and acc.ok == 1


@pytest.mark.parametrize(
    ("fault", "status", "requests"),
    [
        pytest.param("500*9", "failed", 3, id="5xx-forever"),
        pytest.param("429*9", "failed", 3, id="429-forever"),
        pytest.param("slow*9", "failed", 3, id="timeout-forever"),
        pytest.param("reset*9", "failed", 3, id="reset-forever"),
        pytest.param("400*1", "failed", 1, id="400-not-retried"),
        pytest.param("badjson*9", "rejected", 3, id="truncated-json-forever"),
        pytest.param("empty*9", "rejected", 3, id="empty-choices-forever"),
    ],
)
def test_a_lasting_fault_becomes_a_recorded_outcome(
    server: FakeServer, fault: str, status: str, requests: int
) -> None:
    client = _client(server)
    client.server_answered = True
    result = _run(client, _ask(f"q [fault:{fault}]"), max_parse_attempts=3)
    assert result.status == status and result.error
    assert server.requests == requests
    if status == "rejected":
        assert result.raw is not None and result.raw.startswith("{")
        assert client.accounting.rejects == 1
    else:
        assert client.accounting.failures == 1


def test_parse_hook_failures_are_retried_then_rejected_with_raw_text(server: FakeServer) -> None:
    def parse(done: Completion, request: Request) -> Any:
        return json.loads(done.text)

    client = _client(server)
    ok = _run(
        client,
        _ask("fine", params=SamplingParams(response_format={"type": "json_object"})),
        parse=parse,
    )
    assert ok.ok and ok.parsed == {"answer": answer_for("fine")}

    client = _client(server)
    once = _run(
        client,
        _ask(
            "q [fault:wrongformat*1]",
            params=SamplingParams(response_format={"type": "json_object"}),
        ),
        parse=parse,
    )
    assert once.ok and once.attempts == 2

    client = _client(server)
    bad = _run(client, _ask("q [fault:wrongformat*9]"), parse=parse, max_parse_attempts=2)
    assert bad.status == "rejected" and bad.raw == "Sure! Here it is: {oops"
    assert "parse hook" in (bad.error or "") and bad.attempts == 2


def test_cached_answers_are_not_asked_again_and_are_counted(
    server: FakeServer, tmp_path: Path
) -> None:
    cache = ResponseCache(tmp_path / "cache.sqlite")
    first = _run(_client(server, cache), _ask("hello", sample=1))
    assert first.completion is not None and not first.completion.cached
    again = _client(server, cache)
    second = _run(again, _ask("hello", sample=1))
    assert second.completion is not None and second.completion.cached
    assert second.completion.text == first.completion.text
    assert server.requests == 1
    acc = again.accounting
    assert acc.cache_hits == 1 and acc.requests == 0
    assert acc.cached_prompt_tokens == first.completion.usage.prompt_tokens
    other_sample = _run(_client(server, cache), _ask("hello", sample=2))
    assert other_sample.ok and server.requests == 2


def test_a_server_that_never_answered_stops_the_run(server: FakeServer) -> None:
    client = _client(server)
    assert not client.server_answered
    with pytest.raises(BackendError, match="HTTP 500"):
        _run(client, _ask("q [fault:500*9]"))


def test_replayed_answers_that_fail_parsing_are_rejected_not_a_dead_server(
    server: FakeServer, tmp_path: Path
) -> None:
    def refuse(completion: Completion, request: Request) -> Any:
        raise ValueError("not what the recipe wanted")

    cache = ResponseCache(tmp_path / "cache.sqlite")
    first = _run(_client(server, cache), _ask("hello"), parse=refuse)
    assert first.status == "rejected" and server.requests == 3
    # A resumed run replays the three stored answers: the server spoke the API then, so this is
    # a rejected item, not a server that "does not speak the OpenAI API".
    resumed = _client(server, cache)
    again = _run(resumed, _ask("hello"), parse=refuse)
    assert again.status == "rejected" and "not what the recipe wanted" in (again.error or "")
    assert server.requests == 3 and resumed.accounting.cache_hits == 3
    assert resumed.replayed and not resumed.server_answered
    cache.close()


def test_accounting_prices_tokens(server: FakeServer) -> None:
    client = _client(server)
    _run(client, _ask("one two three"))
    acc = client.accounting
    assert acc.prompt_tokens == 3
    expected = (3 * 0.5 + acc.completion_tokens * 1.5) / 1000
    assert acc.cost(0.5, 1.5) == pytest.approx(expected)
    assert acc.to_dict(0.5, 1.5)["cost"] == pytest.approx(expected)
    assert acc.cost(None, None) is None


def test_estimate_tokens_counts_prompt_and_budget() -> None:
    request = _ask("x" * 400, params=SamplingParams(max_tokens=50, n=2))
    assert estimate_tokens(request) == 100 + 4 + 1 + 100


def test_identical_requests_in_flight_are_sent_once(server: FakeServer, tmp_path: Path) -> None:
    async def go() -> list[Result[Any]]:
        cache = ResponseCache(tmp_path / "cache.sqlite")
        async with _client(server, cache) as client:
            same = [client.run(_ask("slow twin [fault:slow*0]")) for _ in range(5)]
            other = client.run(_ask("another question"))
            results = await asyncio.gather(*same, other)
            assert client.accounting.requests == 2 and client.accounting.cache_hits == 4
        cache.close()
        return list(results)

    results = asyncio.run(go())
    assert server.requests == 2
    texts = {r.completion.text for r in results[:5] if r.completion is not None}
    assert texts == {answer_for("slow twin [fault:slow*0]")}
    assert sum(1 for r in results[:5] if r.completion and r.completion.cached) == 4


def test_a_shared_request_that_fails_fails_for_every_asker(
    server: FakeServer, tmp_path: Path
) -> None:
    async def go() -> list[Result[Any]]:
        async with _client(server, ResponseCache(tmp_path / "cache.sqlite")) as client:
            client.server_answered = True
            return list(
                await asyncio.gather(*(client.run(_ask("q [fault:500*9]")) for _ in range(3)))
            )

    results = asyncio.run(go())
    assert [r.status for r in results] == ["failed"] * 3
    assert server.requests == 3  # one request, three sends (its retries), not nine


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        pytest.param("null*9", "empty answer: content null (finish_reason stop)", id="null"),
        pytest.param(
            "toolcalls*9",
            "empty answer: tool calls only (finish_reason tool_calls)",
            id="tool-calls",
        ),
        pytest.param(
            "refusal*9",
            "empty answer: refused (I can't help with that.) (finish_reason stop)",
            id="refusal",
        ),
    ],
)
@pytest.mark.parametrize("kind", ["http", "openai"])
def test_an_answer_without_text_is_rejected_at_once_and_replayed(
    server: FakeServer, tmp_path: Path, fault: str, reason: str, kind: str
) -> None:
    def parse(done: Completion, request: Request) -> Any:
        raise AssertionError("an empty answer never reaches the parse hook")

    backend = (
        OpenAIHTTPBackend(server.url, timeout=2)
        if kind == "http"
        else OpenAIClientBackend(server.url, timeout=2)
    )
    request = _ask(f"q [fault:{fault}]")
    cache = ResponseCache(tmp_path / "c.sqlite")
    client = TeacherClient(backend, cache=cache, retry=FAST)
    result = _run(client, request, parse=parse)
    assert result.status == "rejected" and result.error == reason
    assert result.attempts == 1 and server.requests == 1
    acc = client.accounting
    assert (acc.rejects, acc.ok, acc.responses, acc.completion_tokens) == (1, 0, 1, 7)
    # A real, paid answer: a rerun replays it from the cache and rejects it the same way.
    again = TeacherClient(OpenAIHTTPBackend(server.url, timeout=2), cache=cache, retry=FAST)
    replayed = _run(again, request, parse=parse)
    cache.close()
    assert replayed.status == "rejected" and replayed.error == reason
    assert server.requests == 1 and again.accounting.cache_hits == 1


def _timed(client: TeacherClient, request: Request) -> tuple[Result[Any], float]:
    started = time.monotonic()
    result = _run(client, request)
    return result, time.monotonic() - started


@pytest.mark.parametrize("kind", ["http", "openai"])
def test_a_hanging_request_gives_up_at_the_request_time_limit(
    server: FakeServer, kind: str
) -> None:
    import openai  # noqa: F401 - imported before the clock starts

    backend = (
        OpenAIHTTPBackend(server.url, timeout=0.2)
        if kind == "http"
        else OpenAIClientBackend(server.url, timeout=0.2)
    )
    # Six sends of 0.2 s would take 1.2 s; the limit for the whole request is 0.5 s.
    policy = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.01, max_request_time=0.5)
    client = TeacherClient(backend, retry=policy)
    client.server_answered = True  # a warm run: one item fails, the run goes on
    result, took = _timed(client, _ask("q [fault:hang*99]"))
    assert result.status == "failed"
    assert result.error == "no answer within 0.5s (the limit for one request)"
    # Sends at 0, ~0.2 and ~0.4 s (fewer when a send is slow to start); the last is cut at
    # 0.5 s, before it may even reach the server.
    assert 0.45 < took < 1.0 and 1 <= server.requests <= client.accounting.requests <= 3
    assert client.accounting.failures == 1


def test_a_server_that_hangs_from_the_start_stops_the_run_in_one_request_time() -> None:
    with FakeServer() as srv:
        policy = RetryPolicy(max_attempts=6, base_delay=0.01, max_request_time=0.5)
        client = TeacherClient(OpenAIHTTPBackend(srv.url, timeout=0.2), retry=policy)
        started = time.monotonic()
        with pytest.raises(BackendError, match=r"no answer within 0\.5s .*after [23] attempts"):
            _run(client, _ask("q [fault:hang*99]"))
        assert time.monotonic() - started < 1.0


def test_a_server_that_stops_answering_mid_run_stops_the_run(server: FakeServer) -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.01, max_request_time=0.4)
    client = TeacherClient(OpenAIHTTPBackend(server.url, timeout=0.15), retry=policy)

    async def go() -> list[Result[Any] | BaseException]:
        async with client:
            first = await client.run(_ask("fine"))
            # Quick 500s right after an answer: one failed item, the run goes on.
            flaky = await client.run(_ask("q [fault:500*9]"))
            hung = await asyncio.gather(
                client.run(_ask("q [fault:hang*99]")), return_exceptions=True
            )
            return [first, flaky, *hung]

    first, flaky, hung = asyncio.run(go())
    assert isinstance(first, Result) and first.ok
    assert isinstance(flaky, Result) and flaky.status == "failed"
    assert isinstance(hung, BackendError)
    assert "the server has answered nothing for" in str(hung) and "resume" in str(hung)


def test_timeouts_reach_the_http_library() -> None:
    backend = OpenAIHTTPBackend("http://127.0.0.1:9/v1", timeout=42.0, connect_timeout=3.0)
    assert (backend.timeout, backend.connect_timeout) == (42.0, 3.0)
    defaults = OpenAIHTTPBackend("http://127.0.0.1:9/v1")
    assert (defaults.connect_timeout, defaults.timeout) == (10.0, 300.0)
    assert RetryPolicy().max_request_time == 600.0
    with pytest.raises(ValueError, match="max_request_time"):
        RetryPolicy(max_request_time=0)
