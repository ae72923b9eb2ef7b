from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthloom.engine import RunDir
from synthloom.engine.storage import MirroredRunDir, RunStorage
from synthloom.errors import InputError


def test_open_creates_run_json_and_updates_merge(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "r").open()
    assert run.created and run.run_json.exists()
    run.update_stage("complete", status="running", records=1)
    run.update_stage("complete", records=5)
    entry = run.stage("complete")
    assert entry is not None and entry["status"] == "running" and entry["records"] == 5
    data = json.loads(run.run_json.read_text())
    assert "synthloom_version" in data and not list(run.path.glob("*.tmp"))
    again = RunDir(tmp_path / "r").open()
    assert not again.created and not again.remove_if_created()
    assert run.remove_if_created() and not run.path.exists()


def test_bad_run_json_and_file_in_the_way_are_input_errors(tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "run.json").write_text("{oops")
    with pytest.raises(InputError, match=r"run\.json"):
        RunDir(tmp_path / "r").read()
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        RunDir(tmp_path / "f").open()


def test_a_mirrored_run_dir_uploads_run_json_at_every_write(tmp_path: Path) -> None:
    store = RunStorage(tmp_path / "store")
    store.write_json({"stages": {"complete": {"status": "interrupted"}}}, "run.json")
    run = MirroredRunDir(store, tmp_path / "scratch" / "run")
    # The run's earlier state comes from the store, and every update goes back to it at once.
    assert run.stage("complete") == {"status": "interrupted"}
    run.open()
    run.update_stage("complete", status="running", invocations=2)
    stored = store.read_json("run.json")
    assert stored is not None and stored["stages"]["complete"]["status"] == "running"
    assert stored["stages"]["complete"]["invocations"] == 2
    assert run.run_json.parent == tmp_path / "scratch" / "run"
    fresh = MirroredRunDir(RunStorage(tmp_path / "empty"), tmp_path / "mirror")
    assert fresh.stage("complete") is None and not (tmp_path / "empty" / "run.json").exists()
