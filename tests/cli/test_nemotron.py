"""``synthloom nemotron``: a full run, a resumed run, and bad configuration as one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from fakeserver import FakeServer
from synthloom.cli import main
from tests.recipes.nemotron.conftest import teacher_script


def _config(url: str, **over: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "teacher": {
            "base_url": url,
            "model": "fake-teacher",
            "api_key_env": None,
            "retry_base_delay": 0.0,
        },
        "families": {"coding": {"topics": ["loops"], "levels": ["beginner"], "n_problems": 3}},
        "responses": {"k": 2},
        "reward": {"backend": "nim", "model": "fake-reward"},
    }
    for key, value in over.items():
        config[key] = value
    return config


def _write(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def test_run_then_resume_without_new_calls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeServer(reward_models={"fake-reward"}, responder=teacher_script) as server:
        path = _write(tmp_path, _config(server.url))
        assert main(["nemotron", str(path), "--out", str(tmp_path / "run"), "-q"]) == 0
        summary = json.loads(capsys.readouterr().out)
        first = server.requests
        assert main(["nemotron", str(path), "--out", str(tmp_path / "run"), "-q"]) == 0
        assert server.requests == first
    assert summary["status"] == "done"
    assert summary["counts"]["prompts"] == 3 and summary["counts"]["scored"] == 6
    lines = (tmp_path / "run" / "export" / "dpo.jsonl").read_text().splitlines()
    assert len(lines) == summary["counts"]["pairs"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            {"families": {"coding": {"topics_file": "missing.txt"}}},
            "field 'families.coding.topics_file'",
            id="unknown-topic-file",
        ),
        pytest.param(
            {"reward": {"backend": "nim", "model": "r", "weights": [1.0, 2.0]}},
            "needs 5 weights",
            id="weights-wrong-length",
        ),
        pytest.param(
            {"responses": {"k": 1}},
            "preference pairs need responses.k >= 2",
            id="k-below-2-with-preference",
        ),
        pytest.param(
            {"reward": {"backend": "magic"}},
            "field 'reward.backend'",
            id="unknown-backend",
        ),
        pytest.param(
            {"responses": {"k": 2, "temprature": 0.5}},
            "unknown field",
            id="misspelt-field",
        ),
    ],
)
def test_bad_configuration_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, Any], message: str
) -> None:
    path = _write(tmp_path, _config("http://127.0.0.1:9/v1", **change))
    code = main(["nemotron", str(path), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert message in err
    assert str(path) + ":" in err  # names the file and line
    assert not (tmp_path / "run").exists()


def test_error_line_points_at_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, _config("http://x/v1", responses={"k": 1}))
    main(["nemotron", str(path), "--out", str(tmp_path / "run")])
    path = _write(
        tmp_path,
        _config("http://x/v1", reward={"backend": "nim", "model": "r", "weights": [1, 2, 3]}),
    )
    capsys.readouterr()
    main(["nemotron", str(path), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    line = int(err.split(f"{path}:")[1].split(",")[0])
    assert path.read_text().splitlines()[line - 1].strip().startswith("weights")


def test_missing_pipeline_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nemotron", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "r")]) == 2
    assert "pipeline file not found" in capsys.readouterr().err
