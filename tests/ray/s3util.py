"""Helpers for the tests that keep a run in the S3 bucket of the ``s3_endpoint`` fixture."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any


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
