"""``complete --executor ray`` with its run storage on an object store (S3 through fsspec).

The store is moto's S3 server on 127.0.0.1, reached by s3fs over real HTTP, so every byte the
actors and the driver exchange goes through the S3 API, as on a cluster with a bucket.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from fakeserver import FakeServer
from synthloom.cli import main
from synthloom.engine import complete_dataset_sync
from synthloom.engine.ray_executor import RayOptions, complete_dataset_ray, read_stage_ray
from synthloom.engine.storage import RunStorage
from synthloom.errors import InputError
from synthloom.records import write_jsonl
from tests.ray.helpers import (
    complete_argv,
    complete_config,
    new_bucket,
    part_records,
    s3,
    s3_stored,
)

pytestmark = [pytest.mark.slow, pytest.mark.objectstore]


def _prompts(path: Path, n: int) -> Path:
    rows = [
        {"messages": [{"role": "user", "content": f"q{i}: is {i} prime?"}], "meta": {"row": i}}
        for i in range(n)
    ]
    write_jsonl(rows, path)
    return path


def _s3_records(prefix: str, tmp: Path) -> list[str]:
    fs = s3()
    tmp.mkdir(parents=True, exist_ok=True)
    for key in fs.glob(f"{prefix}/part-*.parquet"):
        fs.get_file(key, str(tmp / key.rsplit("/", 1)[-1]))
    return part_records(tmp)


def _s3_cached_answers(prefix: str, shards: int, tmp: Path, first: int = 0) -> int:
    """Answers in the bucket's shard caches (from shard ``first``)."""
    keys = [f"{prefix}/_ray/complete/shard-{k:05d}/cache.sqlite" for k in range(first, shards)]
    return sum(s3_stored(key, tmp) for key in keys)


def _unfinished_cached(prefix: str, shards: int, tmp: Path, first: int = 0) -> int:
    """Answers in the bucket's caches of the shards (from ``first``) that have no marker yet."""
    fs = s3()
    return sum(
        s3_stored(f"{prefix}/_ray/complete/shard-{k:05d}/cache.sqlite", tmp)
        for k in range(first, shards)
        if not fs.exists(f"{prefix}/_ray/complete/shard-{k:05d}/done.json")
    )


def test_a_run_on_s3_equals_the_local_executor_and_resumes_from_the_bucket(
    ray_session: Any, server: FakeServer, tmp_path: Path
) -> None:
    bucket = new_bucket()
    prompts = _prompts(tmp_path / "p.jsonl", 30)
    s3().put_file(str(prompts), f"{bucket}/in/p.jsonl")
    config = complete_config(server)
    local = complete_dataset_sync(prompts, tmp_path / "local", config)
    server.reset_counters()
    out = f"s3://{bucket}/runs/a"
    options = RayOptions(actors=2, per_actor_in_flight=3, shard_size=8)
    entry = complete_dataset_ray(f"s3://{bucket}/in/p.jsonl", out, config, options=options)
    assert entry["status"] == "done" and entry["shards"] == 4 and entry["records"] == 60
    assert entry["output"] == f"{out}/complete" and entry["run_dir"] == out
    assert server.requests == 60
    ray_records = _s3_records(f"{bucket}/runs/a/complete", tmp_path / "got")
    assert ray_records == part_records(tmp_path / "local" / "complete") and local["records"] == 60
    # The run's state lives in the bucket: run.json, the manifest, every shard's cache and marker.
    fs = s3()
    state = json.loads(fs.cat_file(f"{bucket}/runs/a/run.json"))["stages"]["complete"]
    assert state["status"] == "done" and state["input"] == f"s3://{bucket}/in/p.jsonl"
    for k in range(4):
        assert fs.exists(f"{bucket}/runs/a/_ray/complete/shard-{k:05d}/done.json")
    assert _s3_cached_answers(f"{bucket}/runs/a", 4, tmp_path) == 60
    # Ray Data reads the parts from the bucket, in record order, for a pipeline to go on with.
    rows = read_stage_ray(out).take_all()
    teacher = [json.loads(r["meta"])["teacher"] for r in rows]
    order = [(t["prompt_index"], t["sample"]) for t in teacher]
    assert len(rows) == 60 and order == sorted(order)
    local_rows = [
        row
        for part in sorted((tmp_path / "local" / "complete").glob("part-*.parquet"))
        for row in pq.read_table(part).to_pylist()
    ]
    by_id = {r["id"]: r for r in local_rows}
    assert [{k: r[k] for k in by_id[r["id"]]} for r in rows] == [by_id[r["id"]] for r in rows]
    with pytest.raises(InputError, match="no finished Ray 'complete' run"):
        read_stage_ray(f"s3://{bucket}/runs/none")
    # A second invocation (nothing local is kept between them) finds every shard done.
    server.reset_counters()
    again = complete_dataset_ray(f"s3://{bucket}/in/p.jsonl", out, config, options=options)
    assert again["shards_skipped"] == 4 and again["shards_run"] == 0 and server.requests == 0
    assert again["invocations"] == 2


def test_an_interrupted_s3_run_asks_again_only_what_the_bucket_does_not_hold(
    ray_session: Any, server: FakeServer, tmp_path: Path
) -> None:
    bucket = new_bucket()
    prefix = f"{bucket}/runs/b"
    prompts = _prompts(tmp_path / "p.jsonl", 96)
    config = complete_config(server)
    out = f"s3://{prefix}"
    # A slow teacher and a short upload period: running shards upload their caches as they go.
    options = RayOptions(actors=2, per_actor_in_flight=2, shard_size=24, cache_sync_s=0.05)
    server.latency = 0.05

    def stop(snapshot: dict[str, Any]) -> None:
        # Once a shard is done, wait until one of the shards started since (2 or 3, each over
        # a second from its end) has uploaded answers, then stop.
        if snapshot["finished"] >= 1:
            deadline = time.monotonic() + 60
            while _unfinished_cached(prefix, 4, tmp_path, 2) == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        complete_dataset_ray(prompts, out, config, options=options, on_progress=stop)
    state = json.loads(s3().cat_file(f"{prefix}/run.json"))["stages"]["complete"]
    assert state["status"] == "interrupted" and 1 <= state["shards_done"] < 4
    # The stopped shards' answers stored so far are in the bucket ...
    assert _unfinished_cached(prefix, 4, tmp_path) > 0
    stored = _s3_cached_answers(prefix, 4, tmp_path)
    server.latency = 0.0
    server.reset_counters()
    entry = complete_dataset_ray(prompts, out, config, options=options)
    assert entry["status"] == "done" and entry["records"] == 192
    # ... and are not asked again.
    assert server.requests == 192 - stored
    local = complete_dataset_sync(prompts, tmp_path / "local", config)
    assert local["records"] == 192
    got = _s3_records(f"{prefix}/complete", tmp_path / "got")
    assert got == part_records(tmp_path / "local" / "complete")


def test_cli_complete_on_s3_and_bad_locations(
    ray_session: Any, server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = new_bucket()
    prompts = _prompts(tmp_path / "p.jsonl", 6)
    args = [
        *complete_argv(prompts, server.url),
        "--quiet",
        "--executor",
        "ray",
        "--shard-size",
        "4",
    ]
    assert main([*args, "--out", f"s3://{bucket}/cli"]) == 0
    line = capsys.readouterr().out
    assert f"6 records in s3://{bucket}/cli/complete (2 shards: 2 run" in line
    # The local executor writes paths only: refused before anything is written.
    rc = main([*args[:-4], "--out", f"s3://{bucket}/local"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "--executor ray" in err
    assert not s3().exists(f"{bucket}/local")
    # A protocol no fsspec package provides, and a missing object, are one-line errors.
    rc = main([*args, "--out", "nosuchproto://x/y"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "nosuchproto" in err
    rc = main(["complete", f"s3://{bucket}/missing.jsonl", *args[2:], "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "missing.jsonl: no such file" in err
    assert not (tmp_path / "r").exists()


def test_storage_paths_and_urls(s3_endpoint: str, tmp_path: Path) -> None:
    local = RunStorage(f"file://{tmp_path}/run")
    assert local.is_local and local.url("complete") == str(tmp_path / "run" / "complete")
    local.write_json({"a": 1}, "x", "m.json")
    assert local.read_json("x", "m.json") == {"a": 1} and local.read_json("nope.json") is None
    bucket = new_bucket()
    remote = RunStorage(f"s3://{bucket}/r")
    assert not remote.is_local and remote.url("a", "b") == f"s3://{bucket}/r/a/b"
    remote.write_json({"b": 2}, "m.json")
    assert remote.read_json("m.json") == {"b": 2} and remote.read_json("none.json") is None
    remote.remove("m.json")
    assert not remote.exists("m.json")
    with pytest.raises(InputError, match="nosuchproto"):
        RunStorage("nosuchproto://a/b")


def test_parquet_prompts_in_the_bucket_are_read_by_ray_data(
    ray_session: Any, server: FakeServer, tmp_path: Path
) -> None:
    import pyarrow as pa

    bucket = new_bucket()
    rows = [{"messages": [{"role": "user", "content": f"s3 prompt {i}"}]} for i in range(14)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "all.parquet")
    fs = s3()
    for k, start in enumerate((0, 5, 10)):
        part = tmp_path / f"part-{k}.parquet"
        pq.write_table(pa.Table.from_pylist(rows[start : start + 5]), part)
        fs.put_file(str(part), f"{bucket}/prompts/part-{k}.parquet")
    config = complete_config(server)
    complete_dataset_sync(tmp_path / "all.parquet", tmp_path / "local", config)
    options = RayOptions(actors=2, per_actor_in_flight=2, shard_size=4)
    out = f"s3://{bucket}/runs/pq"
    entry = complete_dataset_ray(f"s3://{bucket}/prompts", out, config, options=options)
    assert entry["status"] == "done" and entry["shards"] == 4 and entry["records"] == 28
    got = _s3_records(f"{bucket}/runs/pq/complete", tmp_path / "got")
    assert got == part_records(tmp_path / "local" / "complete")


def test_missing_credentials_are_one_line_and_nothing_starts(
    s3_endpoint: str, tmp_path: Path
) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 2)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k not in ("RAY_ADDRESS",)
    }
    env.update(
        AWS_ENDPOINT_URL=s3_endpoint,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    command = [
        sys.executable,
        "-m",
        "synthloom",
        "complete",
        str(prompts),
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--model",
        "m",
        "--executor",
        "ray",
        "--out",
        "s3://some-bucket/run",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "s3://some-bucket/run" in done.stderr and "credentials" in done.stderr
