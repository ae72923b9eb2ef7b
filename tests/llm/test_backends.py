"""The HTTP backends, over real HTTP, against the fake teacher server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fakeserver import FakeServer, answer_for
from synthloom.errors import BackendError, InputError
from synthloom.llm import (
    Backend,
    Completion,
    MalformedResponse,
    OpenAIClientBackend,
    OpenAIHTTPBackend,
    Request,
    RequestRejected,
    SamplingParams,
    TransientError,
    parse_completion,
)

CHAT = Request(model="m", messages=[{"role": "user", "content": "What is WAL?"}])


def _send(backend: Backend, request: Request) -> Completion:
    async def go() -> Completion:
        try:
            return await backend.send(request)
        finally:
            await backend.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("kind", ["http", "openai"])
def test_chat_completion_and_parameters_reach_the_server(server: FakeServer, kind: str) -> None:
    params = SamplingParams(temperature=0.5, top_p=0.8, max_tokens=32, n=2, stop=("END",), seed=9)
    request = Request(model="m", messages=CHAT.messages, params=params)
    backend: Backend = (
        OpenAIHTTPBackend(server.url) if kind == "http" else OpenAIClientBackend(server.url)
    )
    done = _send(backend, request)
    assert done.texts == (answer_for("What is WAL?", "9/0"), answer_for("What is WAL?", "9/1"))
    assert done.finish_reasons == ("stop", "stop")
    assert done.usage.prompt_tokens == 3 and done.usage.completion_tokens > 0
    sent = server.log[-1]
    assert {k: sent[k] for k in ("temperature", "top_p", "max_tokens", "n", "stop", "seed")} == {
        "temperature": 0.5,
        "top_p": 0.8,
        "max_tokens": 32,
        "n": 2,
        "stop": ["END"],
        "seed": 9,
    }


@pytest.mark.parametrize("kind", ["http", "openai"])
def test_legacy_completions(server: FakeServer, kind: str) -> None:
    backend: Backend = (
        OpenAIHTTPBackend(server.url) if kind == "http" else OpenAIClientBackend(server.url)
    )
    done = _send(backend, Request(model="m", prompt="Once upon a time"))
    assert done.text == answer_for("Once upon a time")
    assert "prompt" in server.log[-1] and "messages" not in server.log[-1]


def test_the_api_key_comes_from_the_named_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MY_TEACHER_KEY", "sk-test-123")
    with FakeServer(api_key="sk-test-123") as srv:
        backend = OpenAIHTTPBackend(srv.url, api_key_env="MY_TEACHER_KEY")
        assert "sk-test" not in repr(backend)
        assert _send(backend, CHAT).text == answer_for("What is WAL?")
        assert srv.headers_seen[-1]["Authorization"] == "Bearer sk-test-123"
        with pytest.raises(BackendError, match=r"HTTP 401.*\$OTHER_KEY"):
            _send(OpenAIHTTPBackend(srv.url, api_key_env="OTHER_KEY"), CHAT)


def test_unknown_model_says_check_model() -> None:
    with FakeServer(models={"real-model"}) as srv, pytest.raises(BackendError, match="--model"):
        _send(OpenAIHTTPBackend(srv.url), CHAT)


def test_wrong_path_says_check_base_url(server: FakeServer) -> None:
    with pytest.raises(BackendError, match="--base-url"):
        _send(OpenAIHTTPBackend(server.url.removesuffix("/v1")), CHAT)


@pytest.mark.parametrize("backend", [OpenAIHTTPBackend, OpenAIClientBackend])
def test_not_an_http_url_is_an_input_error(
    backend: type[OpenAIHTTPBackend] | type[OpenAIClientBackend],
) -> None:
    with pytest.raises(InputError, match="--base-url"):
        backend("localhost:8000/v1")


@pytest.mark.parametrize("kind", ["http", "openai"])
def test_a_refused_connection_names_the_server_and_the_setting(kind: str) -> None:
    # Port 9 (discard) has no listener on a test machine: the connection is refused at once.
    url = "http://127.0.0.1:9/v1"
    backend: Backend = (
        OpenAIHTTPBackend(url, api_key_env=None, connect_timeout=5)
        if kind == "http"
        else OpenAIClientBackend(url, api_key_env=None, connect_timeout=5)
    )
    with pytest.raises(
        TransientError, match=r"cannot connect to http://127\.0\.0\.1:9/v1 .*--base-url"
    ):
        _send(backend, CHAT)
    assert "Bearer" not in repr(backend) and repr(backend).endswith(f"(base_url={url!r})")


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        pytest.param("429*1", TransientError, id="429"),
        pytest.param("500*1", TransientError, id="500"),
        pytest.param("slow*1", TransientError, id="timeout"),
        pytest.param("reset*1", TransientError, id="reset"),
        pytest.param("badjson*1", MalformedResponse, id="truncated-json"),
        pytest.param("empty*1", MalformedResponse, id="empty-choices"),
        pytest.param("400*1", RequestRejected, id="400"),
    ],
)
@pytest.mark.parametrize("kind", ["http", "openai"])
def test_faults_translate_to_our_errors(
    server: FakeServer, fault: str, error: type[Exception], kind: str
) -> None:
    request = Request(model="m", messages=[{"role": "user", "content": f"q [fault:{fault}]"}])
    backend: Backend = (
        OpenAIHTTPBackend(server.url, timeout=0.3)
        if kind == "http"
        else OpenAIClientBackend(server.url, timeout=0.3)
    )
    with pytest.raises(error):
        _send(backend, request)


def test_retry_after_is_read_from_429(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeServer(retry_after="3") as srv:
        request = Request(model="m", messages=[{"role": "user", "content": "q [fault:429*1]"}])
        with pytest.raises(TransientError) as info:
            _send(OpenAIHTTPBackend(srv.url), request)
    assert info.value.retry_after == 3.0


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html>hi</html>", id="html"),
        pytest.param(b'{"choices": []}', id="no-choices"),
        pytest.param(b'{"choices": [{"index": 0}]}', id="no-message"),
        pytest.param(b"[1, 2]", id="array"),
    ],
)
def test_parse_completion_rejects_what_is_not_an_answer(body: bytes) -> None:
    with pytest.raises(MalformedResponse) as info:
        parse_completion(body, "chat")
    assert info.value.raw == body.decode()


def test_parse_completion_orders_choices_by_index() -> None:
    body: dict[str, Any] = {
        "choices": [
            {"index": 1, "message": {"content": "b"}, "finish_reason": "length"},
            {"index": 0, "message": {"content": "a"}, "finish_reason": "stop"},
        ]
    }
    import json

    done = parse_completion(json.dumps(body).encode(), "chat")
    assert done.texts == ("a", "b") and done.finish_reasons == ("stop", "length")
    assert done.usage.total_tokens == 0


@pytest.mark.parametrize(
    ("message", "endpoint", "why"),
    [
        pytest.param({"role": "assistant", "content": None}, "chat", "content null", id="null"),
        pytest.param({"role": "assistant"}, "chat", "content null", id="no-content-key"),
        pytest.param(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f"}}],
            },
            "chat",
            "tool calls only",
            id="tool-calls",
        ),
        pytest.param(
            {"role": "assistant", "content": None, "refusal": "I can't help with that."},
            "chat",
            "refused (I can't help with that.)",
            id="refusal",
        ),
        pytest.param(
            {"role": "assistant", "content": None, "reasoning_content": "Let me think"},
            "chat",
            "content null, reasoning only",
            id="reasoning-only",
        ),
        pytest.param(None, "completions", "text null", id="legacy-text-null"),
    ],
)
def test_an_answer_without_text_says_why(
    message: dict[str, Any] | None, endpoint: str, why: str
) -> None:
    import json

    choice: dict[str, Any] = {"index": 0, "finish_reason": "length"}
    if endpoint == "chat":
        choice["message"] = message
    else:
        choice["text"] = None
    body = {"choices": [choice], "usage": {"prompt_tokens": 5, "completion_tokens": 64}}
    done = parse_completion(json.dumps(body).encode(), endpoint)
    assert done.texts == ("",) and done.missing == (why,)
    assert done.empty_reason == f"empty answer: {why} (finish_reason length)"
    assert done.usage.completion_tokens == 64
    assert Completion.from_json(done.to_json()).empty_reason == done.empty_reason


def test_content_parts_are_joined_and_blank_text_is_empty() -> None:
    import json

    parts = {"type": "text", "text": "Write-ahead "}, {"type": "text", "text": "logging."}
    body = {"choices": [{"index": 0, "message": {"content": list(parts)}}]}
    done = parse_completion(json.dumps(body).encode(), "chat")
    assert done.text == "Write-ahead logging." and done.empty_reason is None
    body = {
        "choices": [
            {"index": 0, "message": {"content": "fine"}},
            {"index": 1, "message": {"content": " \n"}, "finish_reason": "stop"},
        ]
    }
    done = parse_completion(json.dumps(body).encode(), "chat")
    assert done.empty_reason == "empty answer: choice 1 of 2: blank content (finish_reason stop)"


def test_content_of_another_type_is_malformed() -> None:
    with pytest.raises(MalformedResponse, match="content is a int"):
        parse_completion(b'{"choices": [{"index": 0, "message": {"content": 7}}]}', "chat")
