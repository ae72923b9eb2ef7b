"""CompleteConfig speaks TeacherSettings' names, and still takes the names it had before."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from synthloom.engine import CompleteConfig
from synthloom.errors import InputError


@pytest.mark.parametrize(
    ("older", "name", "value"),
    [
        pytest.param("requests_per_minute", "rpm", 90.0, id="requests_per_minute"),
        pytest.param("tokens_per_minute", "tpm", 40_000.0, id="tokens_per_minute"),
        pytest.param("base_delay", "retry_base_delay", 0.25, id="base_delay"),
        pytest.param("max_delay", "retry_max_delay", 4.0, id="max_delay"),
    ],
)
def test_older_keyword_names_set_todays_field(older: str, name: str, value: float) -> None:
    kwargs: dict[str, Any] = {older: value}
    config = CompleteConfig(model="m", base_url="http://127.0.0.1:9/v1", **kwargs)
    assert getattr(config, name) == value
    # The teacher settings, the run.json snapshot and a copy all carry today's name.
    assert getattr(config.teacher_settings(), name) == value
    snapshot = config.snapshot()
    assert snapshot[name] == value and older not in snapshot
    assert getattr(dataclasses.replace(config, n=3), name) == value


def test_an_older_and_a_newer_name_together_is_one_line_error() -> None:
    with pytest.raises(InputError) as caught:
        CompleteConfig(model="m", base_url="u", base_delay=1.0, retry_base_delay=2.0)
    message = str(caught.value)
    assert "base_delay" in message and "retry_base_delay" in message and "\n" not in message


def test_the_flags_names_are_the_teacher_settings_names() -> None:
    config = CompleteConfig(
        model="m", base_url="u", rpm=30, tpm=9000, retry_base_delay=0.1, retry_max_delay=2
    )
    teacher = config.teacher_settings()
    assert (teacher.rpm, teacher.tpm, teacher.retry_base_delay, teacher.retry_max_delay) == (
        30,
        9000,
        0.1,
        2,
    )
    field_names = {f.name for f in dataclasses.fields(CompleteConfig)}
    assert {"rpm", "tpm", "retry_base_delay", "retry_max_delay"} <= field_names
    assert not {"requests_per_minute", "tokens_per_minute", "base_delay", "max_delay"} & field_names


@pytest.mark.parametrize(
    ("kwargs", "flag"),
    [
        pytest.param({"rpm": -1.0}, "--rpm", id="rpm"),
        pytest.param({"requests_per_minute": 0.0}, "--rpm", id="older-rpm"),
        pytest.param({"retry_max_delay": float("nan")}, "--retry-max-delay", id="nan-delay"),
    ],
)
def test_bad_values_name_the_flag(kwargs: dict[str, Any], flag: str) -> None:
    with pytest.raises(InputError, match=flag):
        CompleteConfig(model="m", base_url="u", api_key_env=None, **kwargs).validate()
