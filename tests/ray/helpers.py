"""Helpers shared by the Ray tests: the teacher settings, reading back records and caches, and
the S3 bucket of the ``s3_endpoint`` fixture."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

from fakeserver import FakeServer
from synthloom.engine import CompleteConfig
from synthloom.records import read_records


def complete_config(server: FakeServer) -> CompleteConfig:
    """``complete`` against the fake teacher: 2 samples a prompt, quick retries."""
    return CompleteConfig(
        model="fake-teacher",
        base_url=server.url,
        n=2,
        seed=7,
        temperature=0.7,
        api_key_env=None,
        max_attempts=2,
        base_delay=0.01,
        max_delay=0.02,
    )


def complete_argv(prompts: Path, url: str) -> list[str]:
    """``synthloom complete PROMPTS`` against the fake teacher, before the other options."""
    return [
        "complete",
        str(prompts),
        "--base-url",
        url,
        "--model",
        "fake-teacher",
        "--api-key-env",
        "",
    ]


def part_records(folder: Path) -> list[str]:
    """The records of a folder's ``part-*.parquet`` files, as sorted JSON lines."""
    return sorted(
        json.dumps(r, sort_keys=True)
        for part in sorted(folder.glob("part-*.parquet"))
        for r in read_records(part)
    )


def stored(path: Path) -> int:
    """Answers committed so far to one cache file (0 before it has its table)."""
    if not path.exists():
        return 0
    try:
        with closing(sqlite3.connect(path)) as db:
            return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
    except sqlite3.OperationalError:  # no table yet, or the writer is creating it
        return 0


def wait_until_stored(path: Path, answers: int) -> None:
    """Poll until a running shard has committed ``answers`` answers to its cache."""
    deadline = time.monotonic() + 120
    while stored(path) < answers:
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never held {answers} answers")
        time.sleep(0.005)


def s3() -> Any:
    """s3fs on the test endpoint, with no listing cached from before."""
    import fsspec

    fs = fsspec.filesystem("s3")
    fs.invalidate_cache()
    return fs


def new_bucket() -> str:
    name = f"synthloom-{uuid.uuid4().hex[:12]}"
    s3().mkdir(name)
    return name


def download(prefix: str, target: Path) -> list[str]:
    """Every object under ``prefix`` into ``target``; the relative keys, sorted."""
    fs = s3()
    keys = sorted(k for k in fs.find(prefix) if k.startswith(prefix.rstrip("/") + "/"))
    rels = []
    for key in keys:
        rel = key[len(prefix.rstrip("/")) + 1 :]
        local = target / rel
        local.parent.mkdir(parents=True, exist_ok=True)
        fs.get_file(key, str(local))
        rels.append(rel)
    return rels


def s3_stored(key: str, tmp: Path) -> int:
    """Answers in a cache file in the bucket (0 if there is none)."""
    fs = s3()
    if not fs.exists(key):
        return 0
    local = tmp / f"cache-{uuid.uuid4().hex[:8]}.sqlite"
    fs.get_file(key, str(local))
    return stored(local)
