"""The Ray executor for ``complete``: equal to the local executor, resume, crashes, failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fakeserver import FakeServer
from synthloom.cli import main
from synthloom.engine import complete_dataset_sync
from synthloom.engine.ray_executor import (
    RayOptions,
    ShardFailed,
    complete_dataset_ray,
    import_ray,
    ray_shard_dir,
    read_stage_ray,
)
from synthloom.engine.rejects import Reject, read_rejects
from synthloom.errors import DataFormatError, MissingDependencyError
from synthloom.records import read_records, write_jsonl
from tests.ray.helpers import complete_argv, complete_config, part_records, stored

pytestmark = pytest.mark.slow


def _prompts(path: Path, n: int) -> Path:
    write_jsonl(
        [
            {
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {
                        "role": "user",
                        "content": f"question {i}: why is {i} {'odd' if i % 2 else 'even'}?",
                    },
                ],
                "meta": {"row": i},
            }
            for i in range(n)
        ],
        path,
    )
    return path


def _cached_answers(out: Path, shards: int) -> int:
    return sum(stored(ray_shard_dir(out, "complete", k) / "cache.sqlite") for k in range(shards))


def test_ray_records_equal_the_local_executor(
    ray_session: Any, server: FakeServer, tmp_path: Path
) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 37)
    config = complete_config(server)
    local = complete_dataset_sync(prompts, tmp_path / "local", config)
    server.reset_counters()
    options = RayOptions(actors=2, per_actor_in_flight=3, shard_size=10)
    entry = complete_dataset_ray(prompts, tmp_path / "ray", config, options=options)
    assert entry["status"] == "done" and entry["shards"] == 4 and entry["shards_done"] == 4
    assert entry["records"] == local["records"] == 74
    # The shards' ledgers add up to what the server answered, as the local run's ledger does.
    assert entry["ledger"]["answers"] == server.answered == local["ledger"]["answers"] == 74
    assert part_records(tmp_path / "ray" / "complete") == part_records(
        tmp_path / "local" / "complete"
    )
    # Total in flight never exceeds actors x per-actor.
    assert 1 <= server.max_in_flight <= 6
    # Each published shard holds its own index range, in order.
    part = list(read_records(tmp_path / "ray" / "complete" / "part-00002.parquet"))
    indexes = [(r["meta"]["teacher"]["prompt_index"], r["meta"]["teacher"]["sample"]) for r in part]
    assert indexes == [(i, s) for i in range(20, 30) for s in range(2)]
    # Ray Data reads the run's parts from its path in record order.
    rows = read_stage_ray(tmp_path / "ray").take_all()
    seen = [(json.loads(r["meta"])["teacher"]["prompt_index"], r["id"]) for r in rows]
    assert len(rows) == 74 and [i for i, _ in seen] == sorted(i for i, _ in seen)
    assert {r for _, r in seen} == {r["id"] for r in read_records(tmp_path / "local" / "complete")}


def test_ray_rejects_equal_the_local_executors(
    ray_session: Any, server: FakeServer, tmp_path: Path
) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 30)
    rows = [json.loads(line) for line in prompts.read_text().splitlines()]
    for i in (3, 14, 15):  # answers with no choices, every time: rejected, never records
        rows[i]["messages"][-1]["content"] += " [fault:empty*99]"
    write_jsonl(rows, prompts)
    config = complete_config(server)
    local = complete_dataset_sync(prompts, tmp_path / "local", config)
    options = RayOptions(actors=2, per_actor_in_flight=3, shard_size=10)
    entry = complete_dataset_ray(prompts, tmp_path / "ray", config, options=options)
    assert entry["records"] == local["records"] == 54

    def key(reject: Reject) -> tuple[int, int]:
        return reject.detail["prompt_index"], reject.detail["sample"]

    expected = [
        r.as_dict()
        for r in sorted(
            read_rejects(tmp_path / "local" / "rejects" / "complete", stage="complete"), key=key
        )
    ]
    assert [(r["detail"]["prompt_index"], r["detail"]["sample"]) for r in expected] == [
        (i, s) for i in (3, 14, 15) for s in range(2)
    ]
    # One part per shard that has rejects, in (prompt, sample) order: shards 0 and 1.
    folder = tmp_path / "ray" / "rejects" / "complete"
    assert sorted(p.name for p in folder.iterdir()) == ["part-00000.jsonl", "part-00001.jsonl"]
    assert [r.as_dict() for r in read_rejects(folder, stage="complete")] == expected
    read = read_stage_ray(tmp_path / "ray", kind="rejects").take_all()
    assert [(r["id"], r["step"], r["reason"], r["raw"]) for r in read] == [
        (r["id"], r["step"], r["reason"], r["raw"]) for r in expected
    ]


def test_interrupted_run_resumes_without_repeating_a_stored_call(
    ray_session: Any, server: FakeServer, tmp_path: Path
) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 48)
    config = complete_config(server)
    out = tmp_path / "ray"
    options = RayOptions(actors=2, per_actor_in_flight=2, shard_size=8)

    def stop(snapshot: dict[str, Any]) -> None:
        if snapshot["finished"] >= 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        complete_dataset_ray(prompts, out, config, options=options, on_progress=stop)
    state = json.loads((out / "run.json").read_text())["stages"]["complete"]
    assert state["status"] == "interrupted" and 1 <= state["shards_done"] < 6
    marker = ray_shard_dir(out, "complete", 0) / "done.json"
    done_before = {
        k: (ray_shard_dir(out, "complete", k) / "done.json").read_text()
        for k in range(6)
        if (ray_shard_dir(out, "complete", k) / "done.json").exists()
    }
    stored = _cached_answers(out, 6)
    server.reset_counters()
    entry = complete_dataset_ray(prompts, out, config, options=options)
    assert entry["status"] == "done" and entry["records"] == 96
    assert entry["shards_skipped"] == len(done_before)
    # Only the answers never stored are asked again; finished shards are left untouched.
    assert server.requests == 96 - stored
    for k, text in done_before.items():
        assert (ray_shard_dir(out, "complete", k) / "done.json").read_text() == text
    assert marker.exists()
    local = complete_dataset_sync(prompts, tmp_path / "local", config)
    assert local["records"] == 96
    assert part_records(out / "complete") == part_records(tmp_path / "local" / "complete")


def test_a_killed_actors_shard_is_redone(ray_session: Any, tmp_path: Path) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 40)
    killed: list[int] = []

    def kill_once(snapshot: dict[str, Any]) -> None:
        # The actor that just finished a shard has been handed the next one: kill it mid-shard.
        if not killed and snapshot["running"] >= 1:
            killed.append(snapshot["last_actor"])
            ray_session.kill(snapshot["actors"][snapshot["last_actor"]], no_restart=False)

    with FakeServer(latency=0.1) as server:
        config = complete_config(server)
        options = RayOptions(actors=2, per_actor_in_flight=2, shard_size=8)
        entry = complete_dataset_ray(
            prompts, tmp_path / "ray", config, options=options, on_progress=kill_once
        )
        asked = server.requests
        local = complete_dataset_sync(prompts, tmp_path / "local", config)
    assert killed and entry["shard_retries"] >= 1
    assert entry["status"] == "done" and entry["records"] == local["records"] == 80
    assert part_records(tmp_path / "ray" / "complete") == part_records(
        tmp_path / "local" / "complete"
    )
    # At most the requests in flight on the killed actor are asked twice.
    assert 80 <= asked <= 80 + options.per_actor_in_flight


def test_a_bad_record_fails_before_any_call_naming_shard_and_line(
    ray_session: Any, server: FakeServer, tmp_path: Path
) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 30)
    lines = prompts.read_text().splitlines()
    lines[24] = '{"messages": [{"role": "user"}]}'
    prompts.write_text("\n".join(lines) + "\n")
    options = RayOptions(actors=1, per_actor_in_flight=2, shard_size=10)
    with pytest.raises(DataFormatError, match=r"shard 2 \(record 24\).*p\.jsonl:25"):
        complete_dataset_ray(prompts, tmp_path / "ray", complete_config(server), options=options)
    assert server.requests == 0


def _parquet_prompts(folder: Path, n: int, parts: int, bad: int | None = None) -> Path:
    """n prompts as ``parts`` Parquet files in ``folder`` (rows in the raw messages shape)."""
    folder.mkdir(parents=True)
    rows = [
        {
            "messages": [{"role": "user", "content": f"parquet question {i}"}],
            "meta": json.dumps({"row": i}),
        }
        for i in range(n)
    ]
    if bad is not None:
        rows[bad]["messages"] = [{"role": "user", "content": None}]
    pq.write_table(pa.Table.from_pylist(rows), folder.with_suffix(".parquet"))  # all, in one
    step = -(-n // parts)
    for k in range(parts):
        pq.write_table(
            pa.Table.from_pylist(rows[k * step : (k + 1) * step]), folder / f"p{k}.parquet"
        )
    return folder


def test_parquet_prompts_are_read_by_ray_data_and_give_the_local_records(
    ray_session: Any, server: FakeServer, tmp_path: Path
) -> None:
    prompts = _parquet_prompts(tmp_path / "prompts", 25, parts=3)
    config = complete_config(server)
    local = complete_dataset_sync(prompts.with_suffix(".parquet"), tmp_path / "local", config)
    # Shards of 10 records cut across the 3 files (9, 9, 7 rows): sharded by record index.
    options = RayOptions(actors=2, per_actor_in_flight=2, shard_size=10)
    entry = complete_dataset_ray(prompts, tmp_path / "ray", config, options=options)
    assert entry["status"] == "done" and entry["shards"] == 3 and entry["records"] == 50
    assert local["records"] == 50
    assert part_records(tmp_path / "ray" / "complete") == part_records(
        tmp_path / "local" / "complete"
    )
    part = list(read_records(tmp_path / "ray" / "complete" / "part-00001.parquet"))
    assert sorted({r["meta"]["row"] for r in part}) == list(range(10, 20))


def test_a_bad_parquet_row_fails_naming_shard_and_record(
    ray_session: Any, server: FakeServer, tmp_path: Path
) -> None:
    prompts = _parquet_prompts(tmp_path / "prompts", 25, parts=3, bad=17)
    options = RayOptions(actors=1, per_actor_in_flight=2, shard_size=10)
    with pytest.raises(DataFormatError, match=r"shard 1 \(record 17\).*prompts record 17"):
        complete_dataset_ray(prompts, tmp_path / "ray", complete_config(server), options=options)
    assert server.requests == 0


def test_an_error_in_a_shard_fails_the_run_naming_the_shard(
    ray_session: Any, tmp_path: Path
) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 20)
    with FakeServer(models={"real"}) as server:
        options = RayOptions(actors=2, per_actor_in_flight=2, shard_size=10)
        with pytest.raises(ShardFailed, match=r"shard [01] \(records (0-9|10-19) .*--model"):
            complete_dataset_ray(
                prompts, tmp_path / "ray", complete_config(server), options=options
            )
    state = json.loads((tmp_path / "ray" / "run.json").read_text())["stages"]["complete"]
    assert state["status"] == "failed" and state["shards_done"] < 2 and "shard" in state["error"]


def test_cli_complete_on_ray_and_its_failure_exit_code(
    ray_session: Any, server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 12)
    args = [
        *complete_argv(prompts, server.url),
        "--quiet",
        "--executor",
        "ray",
        "--actors",
        "2",
        "--per-actor-in-flight",
        "2",
        "--shard-size",
        "5",
    ]
    assert main([*args, "--out", str(tmp_path / "run")]) == 0
    assert "12 records" in capsys.readouterr().out
    assert len(list((tmp_path / "run" / "complete").glob("part-*.parquet"))) == 3
    rc = main(
        [
            *args[:3],
            "http://127.0.0.1:9/v1",
            *args[4:],
            "--out",
            str(tmp_path / "bad"),
            "--max-attempts",
            "1",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "shard" in err and err.count("\n") == 1


def test_missing_ray_is_a_missing_dependency_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingDependencyError, match=r"synthloom\[ray\]"):
        import_ray()


def test_the_local_path_never_imports_ray() -> None:
    code = (
        "import sys, synthloom.cli, synthloom.engine, synthloom.curate, synthloom.assay;"
        "sys.exit(1 if 'ray' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_an_unreachable_cluster_fails_at_once_writing_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 3)
    base = ["complete", str(prompts), "--base-url", "http://127.0.0.1:9/v1", "--model", "m"]
    for address in ("127.0.0.1:9", "ray://127.0.0.1:9"):
        rc = main(
            [*base, "--out", str(tmp_path / "run"), "--executor", "ray", "--ray-address", address]
        )
        err = capsys.readouterr().err
        assert rc == 2 and err.count("\n") == 1 and f"cannot connect to Ray at {address}" in err
        assert not (tmp_path / "run").exists()
    # RAY_ADDRESS is checked the same way.
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:9")
    rc = main([*base, "--out", str(tmp_path / "run"), "--executor", "ray"])
    assert rc == 2 and "cannot connect to Ray at 127.0.0.1:9" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_quiet_prints_only_the_summary_line_even_when_ray_starts(
    server: FakeServer, tmp_path: Path
) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 4)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    command = [
        sys.executable,
        "-m",
        "synthloom",
        *complete_argv(prompts, server.url),
        "--out",
        str(tmp_path / "run"),
        "--executor",
        "ray",
        "--shard-size",
        "2",
        "--quiet",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith("synthloom complete (ray): 4 records in ")
    assert done.stdout.count("\n") == 1
