"""The NIM-style reward endpoint over real HTTP against the fake server."""

from __future__ import annotations

import asyncio
import json

import pytest

from fakeserver import FakeServer, reward_for
from synthloom.errors import BackendError, InputError
from synthloom.llm import MalformedResponse, Request, ResponseCache, RetryPolicy, TransientError
from synthloom.reward import (
    ATTRIBUTES,
    NIMReward,
    NIMRewardBackend,
    parse_attribute_text,
    scores_from_nim_body,
)


def _conv(response: str) -> list[dict[str, str]]:
    return [
        {"role": "user", "content": "Why is the sky blue?"},
        {"role": "assistant", "content": response},
    ]


def _score(server: FakeServer, convs: list[list[dict[str, str]]], **kw: object) -> list:  # type: ignore[type-arg]
    async def go() -> list:  # type: ignore[type-arg]
        reward = NIMReward.connect(
            server.url,
            model="fake-reward",
            api_key_env=None,
            retry=RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0),
            **kw,  # type: ignore[arg-type]
        )
        try:
            return await reward.score(convs)
        finally:
            await reward.aclose()

    return asyncio.run(go())


def test_scores_come_from_the_logprob_tokens(server: FakeServer) -> None:
    responses = ["Rayleigh scattering.", "Because of the ocean.", "[reward:4,4,4,1,0.5] good"]
    results = _score(server, [_conv(r) for r in responses])
    assert all(r.ok for r in results)
    for response, result in zip(responses, results, strict=True):
        expected = reward_for(response)
        assert [result.attributes[a] for a in ATTRIBUTES] == pytest.approx(expected)
    # The request sent the conversation, response last, to the reward model.
    assert server.log[0]["model"] == "fake-reward"
    assert server.log[0]["messages"][-1]["role"] == "assistant"


def test_transient_errors_are_retried(server: FakeServer) -> None:
    results = _score(server, [_conv("[fault:500*1] flaky [reward:1,2,3,4,0]")])
    assert results[0].ok
    assert results[0].attributes["complexity"] == 4.0
    assert server.requests == 2


def test_cache_answers_a_second_time(server: FakeServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    convs = [_conv(f"response {i}") for i in range(4)]
    cache = ResponseCache(tmp_path / "cache.sqlite")
    first = _score(server, convs, cache=cache)
    cache.close()
    cache = ResponseCache(tmp_path / "cache.sqlite")
    second = _score(server, convs, cache=cache)
    cache.close()
    assert server.requests == 4
    assert [r.attributes for r in first] == [r.attributes for r in second]
    assert all(r.cached for r in second) and not any(r.cached for r in first)


def test_an_answer_without_scores_is_a_per_item_error(server: FakeServer) -> None:
    results = _score(server, [_conv("fine"), _conv("[fault:wrongformat*1] odd")])
    assert results[0].ok
    assert not results[1].ok
    assert "no attribute scores" in results[1].error


def test_a_server_that_never_scores_stops_the_run(server: FakeServer) -> None:
    async def go() -> None:
        reward = NIMReward.connect(server.url, model="fake-teacher", api_key_env=None)
        try:
            await reward.score([_conv("hello")])
        finally:
            await reward.aclose()

    with pytest.raises(BackendError, match="base URL"):
        asyncio.run(go())


def test_content_only_answers_are_read_too() -> None:
    body = json.dumps(
        {
            "choices": [
                {
                    "message": {
                        "content": "helpfulness:1.5,correctness:2,coherence:3,complexity:0.5,"
                        "verbosity:1"
                    }
                }
            ]
        }
    ).encode()
    scores, _, _ = scores_from_nim_body(body)
    assert scores == {
        "helpfulness": 1.5,
        "correctness": 2.0,
        "coherence": 3.0,
        "complexity": 0.5,
        "verbosity": 1.0,
    }
    with pytest.raises(MalformedResponse):
        scores_from_nim_body(b'{"choices": [{"message": {"content": "helpfulness:1"}}]}')


def test_parse_attribute_text_names_what_is_missing() -> None:
    with pytest.raises(ValueError, match="coherence, complexity, verbosity"):
        parse_attribute_text("helpfulness:1,correctness:2")
    with pytest.raises(ValueError, match="no number"):
        parse_attribute_text("helpfulness:x,correctness:2")


def test_the_backend_reads_nvidias_key_and_names_the_reward_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NVIDIA_API_KEY", "nvapi-test-key-123")
    backend = NIMRewardBackend("http://127.0.0.1:9/v1", connect_timeout=5)
    assert backend.api_key_env == "NVIDIA_API_KEY" and backend.connect_timeout == 5
    assert "nvapi" not in repr(backend)
    request = Request(model="fake-reward", messages=_conv("Rayleigh scattering."))

    async def go() -> None:
        try:
            await backend.send(request)
        finally:
            await backend.aclose()

    # Port 9 (discard) has no listener on a test machine: the connection is refused at once.
    with pytest.raises(
        TransientError,
        match=r"cannot connect to the reward model at http://127\.0\.0\.1:9/v1 .*reward\.base_url",
    ):
        asyncio.run(go())
    with pytest.raises(InputError, match=r"reward\.base_url"):
        NIMRewardBackend("127.0.0.1:9/v1", api_key_env=None)
