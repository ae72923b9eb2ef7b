"""The sharded-job driver on its own: markers, fingerprints, reruns, status and the merge."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from synthloom.engine.jobs import Job, Markers, Shard, ShardWorkspace, run_job
from synthloom.engine.ray_pool import RayOptions, ShardFailed
from synthloom.engine.rundir import RunDir
from synthloom.engine.storage import RunStorage
from synthloom.errors import InputError

pytestmark = pytest.mark.slow

OPTIONS = RayOptions(actors=2, per_actor_in_flight=1)


def _runner(failing: dict[int, int], broken: int | None = None) -> Callable[..., dict[str, Any]]:
    """A run_shard (a closure, so Ray ships it by value) that logs each run in its workspace,
    returns ``failing[key]`` failed requests, and raises in shard ``broken``."""

    def run_shard(shard: Shard, space: ShardWorkspace) -> dict[str, Any]:
        log = space.folder / "runs.txt"
        with log.open("a", encoding="utf-8") as handle:
            handle.write(shard.label + "\n")
        if shard.key == broken:
            raise ValueError(f"cannot parse row {shard.args[0]}")
        return {"failures": failing.get(shard.key, 0), "total": sum(shard.args)}

    return run_shard


def _job(
    run_shard: Callable[..., dict[str, Any]],
    *,
    rows: list[tuple[int, ...]],
    fingerprints: list[str | None] | None = None,
    job_fingerprint: str | None = "job-a",
    merged: list[tuple[int, int]] | None = None,
) -> Job:
    prints = fingerprints or [None] * len(rows)

    def plan() -> list[Shard]:
        return [
            Shard(k, f"part {k} (rows {row})", ("_ray", "sums", f"part-{k}"), row, prints[k])
            for k, row in enumerate(rows)
        ]

    def on_shard(shard: Shard, marker: dict[str, Any]) -> None:
        if merged is not None:
            merged.append((shard.key, marker["total"]))

    def finish(markers: Markers) -> dict[str, Any]:
        failures = sum(int(m["failures"]) for m in markers.values())
        return {"status": "done" if failures == 0 else "incomplete"}

    def summary(markers: Markers) -> dict[str, Any]:
        return {"grand_total": sum(int(m["total"]) for m in markers.values())}

    return Job(
        stage="sums",
        plan=plan,
        run_shard=run_shard,
        on_shard=on_shard,
        finish=finish,
        summary=summary,
        fields={"input": "rows"},
        fingerprint=job_fingerprint,
    )


def _runs(out: Path, key: int) -> int:
    log = out / "_ray" / "sums" / f"part-{key}" / "runs.txt"
    return len(log.read_text().splitlines()) if log.exists() else 0


@pytest.fixture(params=["ray", "in-process"])
def go(request: pytest.FixtureRequest) -> Callable[..., dict[str, Any]]:
    """Run a job on the Ray pool, or in this process (the same driver, without Ray)."""
    in_process = request.param == "in-process"
    if not in_process:
        request.getfixturevalue("ray_session")

    def run(job: Job, out: Path, **kwargs: Any) -> dict[str, Any]:
        entry = run_job(job, RunDir(out), RunStorage(out), OPTIONS, in_process=in_process, **kwargs)
        assert entry["executor"] == ("local" if in_process else "ray")
        return entry

    return run


def test_markers_skip_finished_shards_and_rerun_failed_or_changed_ones(
    go: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    out = tmp_path / "run"
    rows = [(1, 2), (3, 4), (5, 6)]
    merged: list[tuple[int, int]] = []
    seen: list[dict[str, Any]] = []
    first = go(
        _job(_runner({1: 2}), rows=rows, fingerprints=["a", "b", "c"], merged=merged),
        out,
        on_progress=lambda snapshot: seen.append(snapshot),
    )
    # Shard 1 left failed requests: the job finishes, says so, and its marker counts them.
    assert first["status"] == "incomplete" and "finished_at" not in first
    assert first["shards"] == 3 and first["shards_run"] == 3 and first["shards_skipped"] == 0
    assert first["grand_total"] == 21 and first["invocations"] == 1 and first["input"] == "rows"
    assert sorted(merged) == [(0, 3), (1, 7), (2, 11)]
    assert [s["finished"] for s in seen] == [1, 2, 3] and {s["shards"] for s in seen} == {3}
    marker = json.loads((out / "_ray" / "sums" / "part-1" / "done.json").read_text())
    assert marker["failures"] == 2 and marker["shard"] == 1 and marker["fingerprint"] == "b"
    assert not list(out.rglob("*.tmp*"))
    # The next invocation runs only shard 1 (failed requests) and shard 2 (another fingerprint).
    merged.clear()
    second = go(_job(_runner({}), rows=rows, fingerprints=["a", "b", "c2"], merged=merged), out)
    assert second["status"] == "done" and "finished_at" in second and second["invocations"] == 2
    assert second["shards_run"] == 2 and second["shards_skipped"] == 1
    assert sorted(merged) == [(1, 7), (2, 11)] and second["grand_total"] == 21
    assert [_runs(out, k) for k in range(3)] == [1, 2, 2]
    # A third asks nothing.
    third = go(_job(_runner({}), rows=rows, fingerprints=["a", "b", "c2"]), out)
    assert third["shards_skipped"] == 3 and [_runs(out, k) for k in range(3)] == [1, 2, 2]


def test_an_error_in_a_shard_fails_the_run_naming_it_and_run_json_says_so(
    go: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    out = tmp_path / "run"
    rows = [(1,), (2,), (3,), (4,)]
    with pytest.raises(ShardFailed, match=r"^part 2 \(rows \(3,\)\) failed: ValueError: cannot"):
        go(_job(_runner({}, broken=2), rows=rows), out)
    state = json.loads((out / "run.json").read_text())["stages"]["sums"]
    assert state["status"] == "failed" and state["error"].startswith("part 2 (rows (3,))")
    assert "\n" not in state["error"] and state["shards"] == 4 and state["shards_done"] < 4
    assert not (out / "_ray" / "sums" / "part-2" / "done.json").exists()
    # Fixed, the same job resumes: the broken shard runs again, finished ones are skipped.
    done_before = state["shards_done"]
    again = go(_job(_runner({}), rows=rows), out)
    assert again["status"] == "done" and again["shards_skipped"] == done_before
    assert _runs(out, 2) == 2


def test_a_run_with_another_job_fingerprint_is_refused_before_anything_changes(
    go: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    out = tmp_path / "run"
    go(_job(_runner({}), rows=[(1,)]), out)
    before = (out / "run.json").read_text()
    with pytest.raises(InputError, match="already holds a 'sums' run with other inputs"):
        go(_job(_runner({}), rows=[(1,)], job_fingerprint="job-b"), out)
    assert (out / "run.json").read_text() == before and _runs(out, 0) == 1


def test_an_interrupted_run_is_recorded_as_such_and_resumes(
    go: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    out = tmp_path / "run"
    rows = [(k,) for k in range(6)]

    def stop(snapshot: dict[str, Any]) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        go(_job(_runner({}), rows=rows), out, on_progress=stop)
    state = json.loads((out / "run.json").read_text())["stages"]["sums"]
    assert state["status"] == "interrupted" and 1 <= state["shards_done"] < 6
    assert state["grand_total"] == sum(
        json.loads(p.read_text())["total"] for p in (out / "_ray" / "sums").glob("*/done.json")
    )
    entry = go(_job(_runner({}), rows=rows), out)
    assert entry["status"] == "done" and entry["shards_skipped"] == state["shards_done"]
    assert entry["grand_total"] == 15 and all(_runs(out, k) >= 1 for k in range(6))
