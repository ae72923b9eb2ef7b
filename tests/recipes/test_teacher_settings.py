"""The teacher's connection and time limits, as the LAB and Nemotron YAML files set them."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthloom.errors import ConfigError
from synthloom.llm import Accounting, OpenAIHTTPBackend, ResponseCache
from synthloom.recipes.lab.config import load_pipeline as load_lab
from synthloom.recipes.lab.leaves import make_teacher_client
from synthloom.recipes.nemotron.config import load_pipeline as load_nemotron
from synthloom.recipes.nemotron.pipeline import make_reward_model

LIMITS = """\
  connect_timeout: 5
  timeout: 90          # a small model on a busy box
  max_request_time: 240
"""


def _lab(tmp_path: Path, teacher_extra: str) -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(
        "teacher:\n  base_url: http://127.0.0.1:8000/v1\n  model: granite-7b-lab\n" + teacher_extra
    )
    return path


def _nemotron(tmp_path: Path, teacher_extra: str) -> Path:
    path = tmp_path / "nemo.yaml"
    path.write_text(
        "teacher:\n  base_url: http://127.0.0.1:8000/v1\n  model: meta/llama-3.1-70b-instruct\n"
        + teacher_extra
        + "families:\n  open_qa:\n    macro_topics: [Personal finance]\n"
        + "reward:\n  backend: judge\n"
    )
    return path


def test_lab_teacher_limits_reach_the_backend_and_the_retry_policy(tmp_path: Path) -> None:
    config = load_lab(_lab(tmp_path, LIMITS))
    cache = ResponseCache(tmp_path / "c.sqlite")
    try:
        client = make_teacher_client(config.teacher, cache, Accounting())
    finally:
        cache.close()
    backend = client.backend
    assert isinstance(backend, OpenAIHTTPBackend)
    assert (backend.connect_timeout, backend.timeout) == (5.0, 90.0)
    assert client.retry.max_request_time == 240.0
    defaults = load_lab(_lab(tmp_path, "")).teacher
    assert (defaults.connect_timeout, defaults.timeout, defaults.max_request_time) == (
        10.0,
        300.0,
        600.0,
    )


def test_nemotron_teacher_limits_reach_the_judge_backend(tmp_path: Path) -> None:
    config = load_nemotron(_nemotron(tmp_path, LIMITS))
    reward = make_reward_model(config, cache=None)
    client = reward.client  # type: ignore[attr-defined]
    assert (client.backend.connect_timeout, client.backend.timeout) == (5.0, 90.0)
    assert client.retry.max_request_time == 240.0


@pytest.mark.parametrize("recipe", ["lab", "nemotron"])
@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("  max_request_time: 0\n", id="zero-request-time"),
        pytest.param("  connect_timeout: -1\n", id="negative-connect"),
        pytest.param("  max_request_time: .inf\n", id="infinite-request-time"),
        pytest.param("  connect_timeout: .nan\n", id="nan-connect"),
    ],
)
def test_a_limit_that_is_not_positive_is_a_config_error(
    tmp_path: Path, recipe: str, bad: str
) -> None:
    with pytest.raises(ConfigError, match=r"teacher\.(max_request_time|connect_timeout)"):
        if recipe == "lab":
            load_lab(_lab(tmp_path, bad))
        else:
            load_nemotron(_nemotron(tmp_path, bad))
