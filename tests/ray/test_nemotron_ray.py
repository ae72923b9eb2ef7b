"""``nemotron --executor ray``: responses + rewards sharded on actors equal the local run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from fakeserver import FakeServer
from synthloom.cli import main
from synthloom.errors import InputError
from synthloom.recipes.nemotron import load_pipeline, run_pipeline_sync
from synthloom.recipes.nemotron.ray_run import nemotron_shard_dir
from synthloom.records import read_records
from tests.ray.helpers import download, new_bucket, s3, stored, wait_until_stored
from tests.recipes.nemotron.conftest import teacher_script

pytestmark = pytest.mark.slow


@pytest.fixture()
def nemo_server() -> Any:
    with FakeServer(
        reward_models={"fake-reward"}, responder=teacher_script, latency=0.005
    ) as server:
        yield server


def _pipeline(tmp_path: Path, url: str, **executor: Any) -> Path:
    config: dict[str, Any] = {
        "teacher": {
            "base_url": url,
            "model": "fake-teacher",
            "api_key_env": None,
            "max_in_flight": 8,
            "retry_base_delay": 0.0,
        },
        "families": {
            "open_qa": {
                "macro_topics": ["Astronomy", "Cooking"],
                "n_subtopics": 2,
                "n_questions": 2,
            },
            "coding": {"topics": ["loops"], "levels": ["beginner"], "n_problems": 2},
        },
        "responses": {"k": 3},
        "reward": {"backend": "nim", "model": "fake-reward"},
    }
    if executor:
        config["executor"] = executor
    path = tmp_path / f"pipeline-{len(executor)}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _outputs(out: Path) -> dict[str, list[str]]:
    """The published outputs; the local run writes groups as they finish, so sort them."""
    found = {
        "prompts": [
            json.dumps(r, sort_keys=True) for r in read_records(out / "prompts/prompts.parquet")
        ]
    }
    for name in ("responses", "sft", "pairs"):
        found[name] = sorted(
            json.dumps(r, sort_keys=True)
            for part in sorted((out / name).glob("part-*.parquet"))
            for r in read_records(part)
        )
    for name in ("sft", "dpo"):
        found[name + ".jsonl"] = sorted((out / "export" / f"{name}.jsonl").read_text().splitlines())
    return found


def _cached(out: Path) -> int:
    paths = [out / "cache.sqlite", *(out / "_ray" / "nemotron").glob("*/cache.sqlite")]
    return sum(stored(path) for path in paths)


def test_nemotron_on_ray_equals_the_local_executor(
    ray_session: Any, nemo_server: FakeServer, tmp_path: Path
) -> None:
    local = run_pipeline_sync(load_pipeline(_pipeline(tmp_path, nemo_server.url)), tmp_path / "l")
    asked = nemo_server.requests
    nemo_server.reset_counters()
    path = _pipeline(
        tmp_path, nemo_server.url, name="ray", actors=2, per_actor_in_flight=3, shard_size=3
    )
    entry = run_pipeline_sync(load_pipeline(path), tmp_path / "r")
    assert entry["status"] == "done" and entry["executor"] == "ray"
    assert local["counts"]["prompts"] == 10 and entry["counts"] == local["counts"]
    assert entry["shards"] == 4 and entry["shards_run"] == 4 and entry["shards_skipped"] == 0
    ray_out = _outputs(tmp_path / "r")
    assert ray_out == _outputs(tmp_path / "l") and ray_out["pairs"] and ray_out["sft"]
    for k in range(4):
        assert (nemotron_shard_dir(tmp_path / "r", k) / "done.json").exists()
        assert (nemotron_shard_dir(tmp_path / "r", k) / "cache.sqlite").exists()
    # The same calls as locally, and the accounting says so.
    assert nemo_server.requests == asked
    acc = entry["teacher_accounting"]["requests"] + entry["reward_accounting"]["requests"]
    assert acc == asked


def test_interrupted_nemotron_run_resumes_skipping_finished_shards(
    ray_session: Any, nemo_server: FakeServer, tmp_path: Path
) -> None:
    out = tmp_path / "r"
    config = load_pipeline(
        _pipeline(
            tmp_path, nemo_server.url, name="ray", actors=2, per_actor_in_flight=3, shard_size=2
        )
    )

    def stop(snapshot: dict[str, Any]) -> None:
        if snapshot["finished"] >= 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_pipeline_sync(config, out, on_progress=stop)
    state = json.loads((out / "run.json").read_text())["stages"]["nemotron"]
    assert state["status"] == "interrupted" and not (out / "export" / "sft.jsonl").exists()
    markers = {
        p.parent.name: p.read_text() for p in (out / "_ray" / "nemotron").glob("*/done.json")
    }
    assert 1 <= len(markers) < 5
    stored = _cached(out)
    nemo_server.reset_counters()
    entry = run_pipeline_sync(config, out)
    assert entry["status"] == "done" and entry["shards_skipped"] == len(markers)
    assert entry["shards_run"] == 5 - len(markers)
    # Prompts come from the run's cache, finished shards are skipped, nothing stored is re-asked.
    assert nemo_server.requests == _cached(out) - stored
    for name, text in markers.items():
        assert (out / "_ray" / "nemotron" / name / "done.json").read_text() == text
    run_pipeline_sync(load_pipeline(_pipeline(tmp_path, nemo_server.url)), tmp_path / "l")
    assert _outputs(out) == _outputs(tmp_path / "l")


def test_a_killed_actors_shard_is_redone(ray_session: Any, tmp_path: Path) -> None:
    killed: list[dict[str, Any]] = []

    def kill_once(snapshot: dict[str, Any]) -> None:
        # After the first finished shard, the actor that finished it has just been handed
        # shard 2 (shards go out in order): once that shard has stored some answers, kill its
        # actor mid-shard (Ray restarts it), so the shard must be run again from its cache.
        if not killed:
            killed.append({k: v for k, v in snapshot.items() if k != "actors"})
            wait_until_stored(nemotron_shard_dir(tmp_path / "r", 2) / "cache.sqlite", 5)
            ray_session.kill(snapshot["actors"][snapshot["last_actor"]], no_restart=False)

    with FakeServer(
        reward_models={"fake-reward"}, responder=teacher_script, latency=0.02
    ) as server:
        local = run_pipeline_sync(load_pipeline(_pipeline(tmp_path, server.url)), tmp_path / "l")
        asked_locally = server.requests
        server.reset_counters()
        path = _pipeline(
            tmp_path, server.url, name="ray", actors=2, per_actor_in_flight=3, shard_size=3
        )
        entry = run_pipeline_sync(load_pipeline(path), tmp_path / "r", on_progress=kill_once)
        asked = server.requests
    # 10 prompts in 4 shards on 2 actors: the kill hit the actor running shard 2.
    assert killed and killed[0]["shards"] == 4 and killed[0]["prompts"] == 10
    assert killed[0]["finished"] == 1 and killed[0]["running"] == 2
    assert entry["status"] == "done" and entry["shard_retries"] >= 1
    assert entry["shards"] == 4 and entry["shards_run"] == 4 and entry["shards_skipped"] == 0
    assert entry["counts"] == local["counts"]
    ray_out = _outputs(tmp_path / "r")
    assert ray_out == _outputs(tmp_path / "l") and ray_out["pairs"] and ray_out["sft"]
    for k in range(4):
        assert (nemotron_shard_dir(tmp_path / "r", k) / "done.json").exists()
    # The redone shard replays the answers stored before the kill (5 or more). An actor has
    # one prompt in flight (3 // k), so k = 3 requests: those, and answers still queued for
    # the cache's writer, are asked twice (without the replay, the 5+ stored would be too).
    assert asked_locally <= asked <= asked_locally + 2 * 3


def test_cli_nemotron_on_ray_and_bad_options(
    ray_session: Any, nemo_server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _pipeline(tmp_path, nemo_server.url)
    args = ["nemotron", str(path), "-q", "--executor", "ray", "--actors", "1"]
    assert main([*args, "--shard-size", "4", "--out", str(tmp_path / "run")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "done" and summary["counts"]["prompts"] == 10
    assert summary["ray"] == {"shards": 3, "shards_run": 3, "shards_skipped": 0, "shard_retries": 0}
    for bad, where in (
        (["--executor", "spark"], "--executor"),
        (["--shard-size", "0"], "--shard-size"),
        (["--per-actor-in-flight", "0"], "--per-actor-in-flight"),
    ):
        assert main([*args, *bad, "--out", str(tmp_path / "bad")]) == 2
        err = capsys.readouterr().err
        assert where in err and err.count("\n") == 1
    bad_yaml = _pipeline(tmp_path, nemo_server.url, name="ray", shard_size=0)
    assert main(["nemotron", str(bad_yaml), "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert f"{bad_yaml}:" in err and "executor.shard_size" in err and err.count("\n") == 1


@pytest.mark.objectstore
def test_nemotron_on_ray_with_its_run_in_an_s3_bucket(
    s3_endpoint: str, ray_session: Any, nemo_server: FakeServer, tmp_path: Path
) -> None:
    local = run_pipeline_sync(load_pipeline(_pipeline(tmp_path, nemo_server.url)), tmp_path / "l")
    asked = nemo_server.requests
    nemo_server.reset_counters()
    path = _pipeline(
        tmp_path, nemo_server.url, name="ray", actors=2, per_actor_in_flight=3, shard_size=3
    )
    bucket = new_bucket()
    out = f"s3://{bucket}/nemo"
    entry = run_pipeline_sync(load_pipeline(path), out)
    assert entry["status"] == "done" and entry["run_dir"] == out
    assert entry["counts"] == local["counts"] and nemo_server.requests == asked
    keys = download(f"{bucket}/nemo", tmp_path / "got")
    assert _outputs(tmp_path / "got") == _outputs(tmp_path / "l")
    assert "cache.sqlite" in keys  # the driver's prompt-generation cache
    for k in range(4):
        assert f"_ray/nemotron/shard-{k:05d}/done.json" in keys
        assert f"_ray/nemotron/shard-{k:05d}/cache.sqlite" in keys
    # A rerun, with nothing kept locally, skips every shard and asks nothing.
    nemo_server.reset_counters()
    again = run_pipeline_sync(load_pipeline(path), out)
    assert again["status"] == "done" and again["shards_skipped"] == 4
    assert nemo_server.requests == 0 and again["counts"] == local["counts"]
    with pytest.raises(InputError, match="needs the Ray executor"):
        run_pipeline_sync(load_pipeline(_pipeline(tmp_path, nemo_server.url)), f"s3://{bucket}/x")
    assert not s3().exists(f"{bucket}/x")
