"""The teacher's connection and time limits, as the LAB and Nemotron YAML files set them."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthloom.errors import ConfigError
from synthloom.llm import Accounting, OpenAIHTTPBackend, ResponseCache, make_teacher_client
from synthloom.recipes.lab.config import load_pipeline as load_lab
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


# ------------------------------------------------------------------------------------------
# One set of names; the older ones still load.

OLD_LAB = """\
# a pipeline written before the teacher settings were shared
teacher:
  base_url: http://10.0.0.7:8000/v1
  model: mistralai/Mixtral-8x7B-Instruct-v0.1
  judge_model: prometheus-eval/prometheus-7b-v2.0
  max_in_flight: 32
  max_attempts: 4
  base_delay: 0.25        # seconds
  max_delay: 8
  requests_per_minute: 300
  tokens_per_minute: 120000
seed: 7
"""

NEW_LAB = """\
teacher:
  base_url: http://10.0.0.7:8000/v1
  model: mistralai/Mixtral-8x7B-Instruct-v0.1
  judge_model: prometheus-eval/prometheus-7b-v2.0
  max_in_flight: 32
  max_attempts: 4
  retry_base_delay: 0.25
  retry_max_delay: 8
  rpm: 300
  tpm: 120000
seed: 7
"""


def test_an_old_lab_file_loads_as_the_same_settings_as_a_new_one(tmp_path: Path) -> None:
    (tmp_path / "old.yaml").write_text(OLD_LAB, encoding="utf-8")
    (tmp_path / "new.yaml").write_text(NEW_LAB, encoding="utf-8")
    old = load_lab(tmp_path / "old.yaml")
    new = load_lab(tmp_path / "new.yaml")
    assert old == new
    teacher = old.teacher
    assert (teacher.retry_base_delay, teacher.retry_max_delay) == (0.25, 8.0)
    assert (teacher.rpm, teacher.tpm) == (300.0, 120000.0)
    assert teacher.judge_model == "prometheus-eval/prometheus-7b-v2.0"
    client = make_teacher_client(teacher, None, Accounting())
    assert (client.retry.base_delay, client.retry.max_delay, client.retry.max_attempts) == (
        0.25,
        8.0,
        4,
    )
    assert client.limiter is not None and client.limiter.requests is not None


def test_a_lab_file_with_an_old_and_a_new_name_is_one_config_error(tmp_path: Path) -> None:
    path = _lab(tmp_path, "  base_delay: 1\n  retry_base_delay: 2\n")
    with pytest.raises(ConfigError) as info:
        load_lab(path)
    message = str(info.value)
    assert "field 'teacher': 'base_delay' is the older name of 'retry_base_delay'" in message


def test_a_bad_old_lab_name_is_reported_under_the_name_written(tmp_path: Path) -> None:
    path = _lab(tmp_path, "  max_in_flight: 8\n  requests_per_minute: -5\n")
    with pytest.raises(ConfigError) as info:
        load_lab(path)
    message = str(info.value)
    assert "teacher.requests_per_minute" in message and "lab.yaml:5," in message


OLD_NEMOTRON = """\
teacher:
  base_url: http://127.0.0.1:8000/v1
  model: meta/llama-3.1-70b-instruct
  api_key_env: OPENAI_API_KEY
  max_in_flight: 64
  temperature: 0.9
  top_p: 0.95
  max_tokens: 1024
  seed: 11
  retry_base_delay: 0.1
families:
  open_qa:
    macro_topics: [Natural sciences]
reward:
  backend: judge
"""

NEW_NEMOTRON = """\
teacher:
  base_url: http://127.0.0.1:8000/v1
  model: meta/llama-3.1-70b-instruct
  api_key_env: OPENAI_API_KEY
  max_in_flight: 64
  retry_base_delay: 0.1
prompt_sampling:
  temperature: 0.9
  top_p: 0.95
  max_tokens: 1024
  seed: 11
families:
  open_qa:
    macro_topics: [Natural sciences]
reward:
  backend: judge
"""


def test_an_old_nemotron_file_loads_as_the_new_layout(tmp_path: Path) -> None:
    (tmp_path / "old.yaml").write_text(OLD_NEMOTRON, encoding="utf-8")
    (tmp_path / "new.yaml").write_text(NEW_NEMOTRON, encoding="utf-8")
    old = load_nemotron(tmp_path / "old.yaml")
    assert old == load_nemotron(tmp_path / "new.yaml")
    sampling = old.prompt_sampling
    assert (sampling.temperature, sampling.top_p, sampling.max_tokens, sampling.seed) == (
        0.9,
        0.95,
        1024,
        11,
    )
    assert "temperature" not in old.teacher.model_dump()
    # Defaults when nothing is said: the prompts are written at 0.7 with seed 0, as before.
    bare = load_nemotron(_nemotron(tmp_path, ""))
    assert (bare.prompt_sampling.temperature, bare.prompt_sampling.seed) == (0.7, 0)


def test_the_shipped_nemotron_example_loads() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "nemotron_pipeline.yaml"
    config = load_nemotron(example)
    assert config.teacher.model == "meta/llama-3.1-70b-instruct"
    assert config.prompt_sampling.max_tokens == 1024


def test_a_bad_sampling_value_in_an_old_nemotron_teacher_names_where_it_was_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.yaml"
    path.write_text(OLD_NEMOTRON.replace("top_p: 0.95", "top_p: 1.5"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_nemotron(path)
    message = str(info.value)
    assert "teacher.top_p" in message and "old.yaml:7," in message


def test_prompt_sampling_given_twice_is_one_config_error(tmp_path: Path) -> None:
    path = tmp_path / "both.yaml"
    path.write_text(
        NEW_NEMOTRON.replace("  retry_base_delay: 0.1\n", "  retry_base_delay: 0.1\n  seed: 3\n"),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"teacher\.seed and prompt_sampling"):
        load_nemotron(path)


def test_nemotron_teacher_takes_the_shared_settings(tmp_path: Path) -> None:
    """Rate limits, the client library and the largest backoff, which Nemotron lacked."""
    config = load_nemotron(
        _nemotron(tmp_path, "  backend: openai\n  rpm: 120\n  retry_max_delay: 4\n")
    )
    client = make_teacher_client(config.teacher, None, Accounting())
    assert type(client.backend).__name__ == "OpenAIClientBackend"
    assert client.limiter is not None and client.limiter.requests is not None
    assert client.retry.max_delay == 4.0
    # The judge is reached like the teacher but is not held to the teacher's rate limit.
    judge = make_reward_model(config, cache=None).client  # type: ignore[attr-defined]
    assert judge.retry.max_delay == 4.0 and judge.limiter is None
    assert type(judge.backend).__name__ == "OpenAIClientBackend"


def test_a_nim_reward_is_reached_at_its_own_url_with_the_teachers_retries(
    tmp_path: Path,
) -> None:
    path = _nemotron(tmp_path, "  max_attempts: 2\n  timeout: 30\n")
    text = path.read_text(encoding="utf-8").replace(
        "reward:\n  backend: judge\n",
        "reward:\n  backend: nim\n  base_url: http://127.0.0.1:8001/v1\n"
        "  model: nvidia/nemotron-4-340b-reward\n  api_key_env: null\n",
    )
    path.write_text(text, encoding="utf-8")
    client = make_reward_model(load_nemotron(path), cache=None).client  # type: ignore[attr-defined]
    assert type(client.backend).__name__ == "NIMRewardBackend"
    assert client.backend.base_url == "http://127.0.0.1:8001/v1"
    assert (client.backend.timeout, client.retry.max_attempts) == (30.0, 2)
