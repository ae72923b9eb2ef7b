"""One teacher configuration and its one client factory, against the fake server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from fakeserver import FakeServer, answer_for
from synthloom.engine import CompleteConfig
from synthloom.engine import make_backend as complete_backend
from synthloom.errors import InputError
from synthloom.llm import (
    Accounting,
    OpenAIClientBackend,
    OpenAIHTTPBackend,
    Request,
    ResponseCache,
    Result,
    Sampling,
    SeededSampling,
    TeacherClient,
    TeacherSettings,
    make_backend,
    make_teacher_client,
)


def _run(client: TeacherClient, text: str) -> Result[Any]:
    async def go() -> Result[Any]:
        async with client:
            return await client.run(
                Request(model="m", messages=[{"role": "user", "content": text}])
            )

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("written", "field", "value"),
    [
        pytest.param({"base_delay": 0.25}, "retry_base_delay", 0.25, id="base_delay"),
        pytest.param({"max_delay": 4}, "retry_max_delay", 4.0, id="max_delay"),
        pytest.param({"requests_per_minute": 90}, "rpm", 90.0, id="requests_per_minute"),
        pytest.param({"tokens_per_minute": 40000}, "tpm", 40000.0, id="tokens_per_minute"),
        pytest.param({"retry_base_delay": 0.25}, "retry_base_delay", 0.25, id="retry_base_delay"),
        pytest.param({"rpm": 90}, "rpm", 90.0, id="rpm"),
    ],
)
def test_old_and_new_names_set_the_same_field(
    written: dict[str, float], field: str, value: float
) -> None:
    settings = TeacherSettings.model_validate({"model": "granite-7b-lab", **written})
    assert getattr(settings, field) == value
    # Written back under today's name only.
    dumped = settings.model_dump()
    assert dumped[field] == value and not (set(written) - {field}) & set(dumped)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("base_delay", "retry_base_delay", id="delay"),
        pytest.param("requests_per_minute", "rpm", id="rpm"),
    ],
)
def test_an_old_and_a_new_name_together_are_refused_with_both_named(old: str, new: str) -> None:
    with pytest.raises(ValidationError, match=rf"'{old}' is the older name of '{new}'"):
        TeacherSettings.model_validate({"model": "m", old: 1, new: 2})


def test_model_copy_reads_old_names_and_checks_values() -> None:
    settings = TeacherSettings(model="m")
    copy = settings.model_copy(update={"base_delay": 0.0, "max_in_flight": 8})
    assert (copy.retry_base_delay, copy.max_in_flight) == (0.0, 8)
    assert settings.retry_base_delay == 0.5  # the original is untouched
    with pytest.raises(ValidationError, match="max_in_flight"):
        settings.model_copy(update={"max_in_flight": 0})


def test_the_factory_builds_retries_limits_and_backend_from_the_settings(tmp_path: Path) -> None:
    settings = TeacherSettings(
        base_url="http://127.0.0.1:8000/v1",
        model="m",
        api_key_env=None,
        connect_timeout=3,
        timeout=45,
        max_request_time=120,
        max_attempts=4,
        retry_base_delay=0.2,
        retry_max_delay=7,
        rpm=600,
        tpm=90_000,
    )
    cache = ResponseCache(tmp_path / "cache.sqlite")
    accounting = Accounting()
    try:
        client = make_teacher_client(settings, cache, accounting)
    finally:
        cache.close()
    assert isinstance(client.backend, OpenAIHTTPBackend)
    assert (client.backend.connect_timeout, client.backend.timeout) == (3.0, 45.0)
    retry = client.retry
    assert (retry.max_attempts, retry.base_delay, retry.max_delay, retry.max_request_time) == (
        4,
        0.2,
        7.0,
        120.0,
    )
    assert client.limiter is not None
    assert client.limiter.requests is not None and client.limiter.requests.rate == 10.0
    assert client.limiter.tokens is not None and client.limiter.tokens.rate == 1500.0
    assert client.cache is cache and client.accounting is accounting
    unlimited = make_teacher_client(TeacherSettings(model="m", api_key_env=None), None, None)
    assert unlimited.limiter is None


def test_the_backend_setting_chooses_the_client_library() -> None:
    settings = TeacherSettings(model="m", api_key_env=None, backend="openai", timeout=12)
    backend = make_backend(settings)
    assert isinstance(backend, OpenAIClientBackend) and backend.timeout == 12.0


def test_a_backend_given_to_the_factory_is_the_one_used(server: FakeServer) -> None:
    own = OpenAIHTTPBackend(server.url, api_key_env=None)
    settings = TeacherSettings(base_url="http://127.0.0.1:9/v1", model="m", api_key_env=None)
    client = make_teacher_client(settings, None, None, own)
    result = _run(client, "What is a tide?")
    assert result.ok and result.completion is not None
    assert result.completion.text == answer_for("What is a tide?")


def test_the_settings_retries_reach_a_real_server(server: FakeServer) -> None:
    """Two 500s and three sends allowed: answered; two sends allowed: the item fails."""
    base = TeacherSettings(
        base_url=server.url, model="m", api_key_env=None, retry_base_delay=0, retry_max_delay=0
    )
    patient = make_teacher_client(base.model_copy(update={"max_attempts": 3}), None, None)
    patient.server_answered = True  # a warm run: a failure is one item's
    ok = _run(patient, "Why is the sea salty? [fault:500*2]")
    assert ok.ok
    impatient = make_teacher_client(base.model_copy(update={"max_attempts": 2}), None, None)
    impatient.server_answered = True
    failed = _run(impatient, "Why is the sky blue? [fault:500*2]")
    assert failed.status == "failed" and "500" in (failed.error or "")


def test_a_bad_url_in_the_settings_is_refused_before_any_request() -> None:
    with pytest.raises(InputError, match="must start with http"):
        make_backend(TeacherSettings(base_url="localhost:8000/v1", model="m", api_key_env=None))


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"rpm": 0}, id="zero-rpm"),
        pytest.param({"tpm": float("inf")}, id="infinite-tpm"),
        pytest.param({"max_in_flight": 0}, id="no-requests"),
        pytest.param({"retry_max_delay": -1}, id="negative-delay"),
        pytest.param({"model": ""}, id="empty-model"),
        pytest.param({"backend": "grpc"}, id="unknown-backend"),
        pytest.param({"temperature": 0.7}, id="sampling-is-not-a-teacher-setting"),
    ],
)
def test_settings_that_cannot_work_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TeacherSettings.model_validate({"model": "m", **bad})


def test_sampling_draws_are_seeded_apart() -> None:
    sampling = SeededSampling(temperature=0.8, max_tokens=256, seed=10)
    assert [sampling.seeded(k).seed for k in range(3)] == [10, 11, 12]
    assert SeededSampling(seed=None).seeded(2).seed is None
    assert Sampling(top_p=0.0).params(None).top_p == 0.0
    with pytest.raises(ValidationError):
        Sampling(top_p=1.5)


def test_completes_config_is_the_same_settings_under_its_own_names() -> None:
    config = CompleteConfig(
        model="m",
        base_url="http://127.0.0.1:8000/v1",
        api_key_env=None,
        backend="openai",
        max_in_flight=12,
        requests_per_minute=30,
        tokens_per_minute=9000,
        base_delay=0.1,
        max_delay=2,
        max_attempts=3,
        timeout=20,
        max_request_time=None,
        max_parse_attempts=5,
    )
    settings = config.teacher_settings()
    assert settings == TeacherSettings(
        model="m",
        base_url="http://127.0.0.1:8000/v1",
        api_key_env=None,
        backend="openai",
        max_in_flight=12,
        rpm=30,
        tpm=9000,
        retry_base_delay=0.1,
        retry_max_delay=2,
        max_attempts=3,
        timeout=20,
        max_request_time=None,
        max_parse_attempts=5,
    )
    backend = complete_backend(config)
    assert isinstance(backend, OpenAIClientBackend) and backend.timeout == 20.0
    client = make_teacher_client(settings, None, None, backend)
    assert client.retry.max_request_time is None and client.limiter is not None
