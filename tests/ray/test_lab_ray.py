"""``generate --executor ray``: the LAB leaves on an actor pool equal the local run, resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fakeserver import FakeServer
from synthloom.cli import main
from synthloom.errors import InputError
from synthloom.recipes.lab import PHASES, PipelineConfig, generate_sync, load_pipeline
from synthloom.recipes.lab.ray_run import lab_shard_dir
from synthloom.records import read_records
from synthloom.taxonomy.load import load_taxonomy
from synthloom.taxonomy.plan import select_leaves
from tests.ray.helpers import download, new_bucket, s3, stored, wait_until_stored
from tests.recipes.lab.responder import lab_responder

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "taxonomy"
PIPELINE = ROOT / "examples" / "lab_pipeline.yaml"


@pytest.fixture()
def lab_server() -> Any:
    with FakeServer(responder=lab_responder, latency=0.005) as srv:
        yield srv


def _config(url: str, executor: str = "local", **ray: Any) -> PipelineConfig:
    config = load_pipeline(PIPELINE)
    teacher = config.teacher.model_copy(
        update={"base_url": url, "api_key_env": None, "max_attempts": 2, "base_delay": 0.0}
    )
    ex = config.executor.model_copy(update={"name": executor, **ray})
    return config.model_copy(update={"teacher": teacher, "executor": ex})


def _outputs(out: Path) -> dict[str, Any]:
    """Everything a LAB run publishes, as comparable text."""
    found: dict[str, Any] = {}
    for path in sorted((out / "lab").rglob("*.parquet")):
        found[str(path.relative_to(out))] = [
            json.dumps(r, sort_keys=True) for r in read_records(path)
        ]
    for path in sorted((out / "rejects" / "lab").rglob("part-*.jsonl")):
        # Rejects are logged as the judges answer, so their order follows the concurrency.
        found[str(path.relative_to(out))] = sorted(path.read_text(encoding="utf-8").splitlines())
    for path in sorted((out / "export").glob("*.jsonl")):
        found[str(path.relative_to(out))] = path.read_text(encoding="utf-8")
    return found


def _cached(out: Path) -> int:
    return sum(stored(path) for path in (out / "_ray" / "lab").glob("*/cache.sqlite"))


def test_lab_on_ray_equals_the_local_executor(
    ray_session: Any, lab_server: FakeServer, tmp_path: Path
) -> None:
    local = generate_sync(
        EXAMPLE, _config(lab_server.url), tmp_path / "local", pipeline_path=PIPELINE
    )
    asked = lab_server.requests
    lab_server.reset_counters()
    config = _config(lab_server.url, "ray", actors=2, per_actor_in_flight=4)
    entry = generate_sync(EXAMPLE, config, tmp_path / "ray", pipeline_path=PIPELINE)
    assert entry["status"] == "done" and entry["executor"] == "ray"
    assert entry["shards"] == 3 and entry["shards_run"] == 3 and entry["shards_skipped"] == 0
    assert entry["phases"] == local["phases"] and entry["leaves"].keys() == local["leaves"].keys()
    ray_out, local_out = _outputs(tmp_path / "ray"), _outputs(tmp_path / "local")
    assert set(ray_out) >= {f"lab/phases/{name}.parquet" for name in PHASES}
    assert sum(key.startswith("rejects/lab/") for key in ray_out) == 3  # one part a leaf
    assert ray_out == local_out
    # One cache and one marker per leaf; the same calls as the local run, at most 2 x 4 at once.
    leaves = load_taxonomy(EXAMPLE).leaves
    for leaf in leaves:
        assert (lab_shard_dir(tmp_path / "ray", leaf) / "done.json").exists()
        assert (lab_shard_dir(tmp_path / "ray", leaf) / "cache.sqlite").exists()
    assert lab_server.requests == asked == entry["accounting"]["requests"]
    assert 1 <= lab_server.max_in_flight <= 8


def test_interrupted_lab_run_resumes_skipping_finished_leaves(
    ray_session: Any, lab_server: FakeServer, tmp_path: Path
) -> None:
    out = tmp_path / "ray"
    config = _config(lab_server.url, "ray", actors=2, per_actor_in_flight=2)

    def stop(snapshot: dict[str, Any]) -> None:
        if snapshot["finished"] >= 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_sync(EXAMPLE, config, out, pipeline_path=PIPELINE, on_progress=stop)
    state = json.loads((out / "run.json").read_text())["stages"]["lab"]
    assert state["status"] == "interrupted"
    markers = {p.parent.name: p.read_text() for p in (out / "_ray" / "lab").glob("*/done.json")}
    # A leaf is finished once its own done.json is written; the shard marker follows it, so a
    # worker killed between the two leaves a finished leaf without a marker.
    finished = {p.parent.name for p in (out / "lab" / "leaves").glob("*/done.json")}
    assert 1 <= len(markers) <= len(finished) < 3 and set(markers) <= finished
    stored = _cached(out)
    lab_server.reset_counters()
    entry = generate_sync(EXAMPLE, config, out, pipeline_path=PIPELINE)
    assert entry["status"] == "done" and entry["shards_skipped"] == len(finished)
    assert entry["shards_run"] == 3 - len(finished)
    # Only answers never stored are asked; finished leaves are untouched.
    assert lab_server.requests == _cached(out) - stored
    for name, text in markers.items():
        assert (out / "_ray" / "lab" / name / "done.json").read_text() == text
    local = tmp_path / "local"
    generate_sync(EXAMPLE, _config(lab_server.url), local, pipeline_path=PIPELINE)
    assert _outputs(out) == _outputs(local)
    # A third run asks nothing and skips every leaf.
    lab_server.reset_counters()
    again = generate_sync(EXAMPLE, config, out, pipeline_path=PIPELINE)
    assert lab_server.requests == 0 and again["shards_skipped"] == 3


def test_a_killed_actors_leaf_is_redone(ray_session: Any, tmp_path: Path) -> None:
    # The leaves are the shards, submitted in this order: the third waits for a free actor.
    leaves = select_leaves(load_taxonomy(EXAMPLE))
    third = leaves[2]
    killed: list[dict[str, Any]] = []

    def kill_once(snapshot: dict[str, Any]) -> None:
        # After the first finished leaf, the actor that finished it has just been handed the
        # third leaf: once that leaf has stored some answers, kill its actor mid-leaf (Ray
        # restarts it), so the leaf must be run again and replay what its cache holds.
        if not killed:
            killed.append({k: v for k, v in snapshot.items() if k != "actors"})
            wait_until_stored(lab_shard_dir(tmp_path / "ray", third) / "cache.sqlite", 6)
            ray_session.kill(snapshot["actors"][snapshot["last_actor"]], no_restart=False)

    with FakeServer(responder=lab_responder, latency=0.02) as server:
        local = generate_sync(
            EXAMPLE, _config(server.url), tmp_path / "local", pipeline_path=PIPELINE
        )
        asked_locally = server.requests
        server.reset_counters()
        config = _config(server.url, "ray", actors=2, per_actor_in_flight=2)
        entry = generate_sync(
            EXAMPLE, config, tmp_path / "ray", pipeline_path=PIPELINE, on_progress=kill_once
        )
        asked = server.requests
    # The kill hit the actor running the third leaf (3 leaves, 2 actors, one finished).
    assert killed and killed[0]["shards"] == 3
    assert killed[0]["finished"] == 1 and killed[0]["running"] == 2
    assert entry["status"] == "done" and entry["shard_retries"] >= 1
    assert entry["shards"] == 3 and entry["shards_run"] == 3 and entry["shards_skipped"] == 0
    assert entry["phases"] == local["phases"]
    assert _outputs(tmp_path / "ray") == _outputs(tmp_path / "local")
    for leaf in leaves:
        assert (lab_shard_dir(tmp_path / "ray", leaf) / "done.json").exists()
    # The redone leaf replays the answers stored before the kill (6 or more): only the requests
    # in flight on the killed actor, and answers still queued for its cache's writer, are
    # asked twice (without the replay, the 6+ stored answers would be asked again too).
    assert asked_locally <= asked <= asked_locally + 2 * config.executor.per_actor_in_flight


def test_cli_generate_on_ray_and_bad_options(
    ray_session: Any,
    lab_server: FakeServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["generate", str(EXAMPLE), "--pipeline", str(PIPELINE), "--base-url", lab_server.url]
    run = ["--out", str(tmp_path / "run"), "--subtree", "knowledge"]
    assert main([*args, *run, "--executor", "ray", "--actors", "1"]) == 0
    summary = capsys.readouterr().out
    assert summary.startswith("done on ray (1 leaves run, 0 already done, 0 retried): 1 leaves")
    for bad, where in (
        (["--executor", "spark"], "--executor"),
        (["--executor", "ray", "--actors", "0"], "--actors"),
        (["--executor", "ray", "--per-actor-in-flight", "0"], "--per-actor-in-flight"),
    ):
        assert main([*args, "--out", str(tmp_path / "bad"), *bad]) == 2
        err = capsys.readouterr().err
        assert where in err and err.count("\n") == 1
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text("teacher:\n  model: m\nexecutor:\n  name: ray\n  actors: 0\n")
    assert main(["generate", str(EXAMPLE), "-p", str(pipeline), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert f"{pipeline}:5" in err and "executor.actors" in err and err.count("\n") == 1
    # A leaf that fails in our code (here: no server answers) fails the run naming the leaf.
    pipeline.write_text(
        "teacher:\n  model: m\n  base_url: http://127.0.0.1:9/v1\n  api_key_env: null\n"
        "  max_attempts: 1\nexecutor: ray\n"
    )
    rc = main(
        [*args[:2], "-p", str(pipeline), "--subtree", "knowledge", "--out", str(tmp_path / "x")]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "leaf knowledge/" in err and err.count("\n") == 1


@pytest.mark.objectstore
def test_lab_on_ray_with_its_run_in_an_s3_bucket(
    s3_endpoint: str, ray_session: Any, lab_server: FakeServer, tmp_path: Path
) -> None:
    local = generate_sync(
        EXAMPLE, _config(lab_server.url), tmp_path / "local", pipeline_path=PIPELINE
    )
    asked = lab_server.requests
    lab_server.reset_counters()
    bucket = new_bucket()
    out = f"s3://{bucket}/lab-run"
    config = _config(lab_server.url, "ray", actors=2, per_actor_in_flight=4)
    entry = generate_sync(EXAMPLE, config, out, pipeline_path=PIPELINE)
    assert entry["status"] == "done" and entry["run_dir"] == out
    assert entry["phases"] == local["phases"] and lab_server.requests == asked
    keys = download(f"{bucket}/lab-run", tmp_path / "got")
    assert _outputs(tmp_path / "got") == _outputs(tmp_path / "local")
    # Each leaf's cache and marker are in the bucket, and run.json says the run is done.
    for leaf in load_taxonomy(EXAMPLE).leaves:
        assert f"_ray/lab/{leaf.slug}/cache.sqlite" in keys
        assert f"_ray/lab/{leaf.slug}/done.json" in keys
    state = json.loads((tmp_path / "got" / "run.json").read_text())["stages"]["lab"]
    assert state["status"] == "done" and state["executor"] == "ray"
    # A rerun, with nothing kept locally, skips every leaf and asks nothing.
    lab_server.reset_counters()
    again = generate_sync(EXAMPLE, config, out, pipeline_path=PIPELINE)
    assert again["status"] == "done" and again["shards_skipped"] == 3
    assert lab_server.requests == 0 and again["phases"] == local["phases"]
    # The local executor writes paths only: a URL is refused before anything is written.
    with pytest.raises(InputError, match="needs the Ray executor"):
        generate_sync(EXAMPLE, _config(lab_server.url), f"s3://{bucket}/x", pipeline_path=PIPELINE)
    assert not s3().exists(f"{bucket}/x")
