"""The prompts file of a ``complete`` run: read and checked whole before anything is asked,
the content digest of every prompt (``<run>/<stage>.prompts.u64``), and what changed since the
run folder's last invocation (which rebuilds the outputs from the cache).
"""

from __future__ import annotations

import hashlib
import json
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from synthloom.engine.complete_config import CompleteConfig
from synthloom.engine.rundir import RunDir
from synthloom.errors import DataFormatError, InputError
from synthloom.records import read_records

__all__ = [
    "PromptScan",
    "count_prompts",
    "prompt_changes",
    "prompts_file",
    "read_digests",
    "run_fingerprint",
    "scan_prompts",
    "settings_fingerprint",
    "write_digests",
]


def count_prompts(path: str | Path) -> int:
    """How many records a prompts file holds, cheaply (no parsing of JSONL lines)."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError("file not found; check the path", path=path)
    if path.is_dir():
        raise DataFormatError("is a directory; give a data file", path=path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        with path.open("rb") as fh:
            return sum(1 for line in fh if line.strip())
    if suffix in (".parquet", ".pq"):
        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise DataFormatError(f"not a readable Parquet file ({exc})", path=path) from exc
    return sum(1 for _ in read_records(path, prompt_only=True))


@dataclass(frozen=True)
class PromptScan:
    """Every prompt of a file read and checked: how many, and a content digest of each."""

    count: int
    digests: array[int]

    def changes_from(self, previous: array[int]) -> tuple[int, int]:
        """(prompts here whose content the previous file did not hold, prompts it held no more)."""
        now = np.frombuffer(self.digests.tobytes(), dtype=np.uint64)
        before = np.frombuffer(previous.tobytes(), dtype=np.uint64)
        added = int(np.count_nonzero(~np.isin(now, before)))
        removed = int(np.count_nonzero(~np.isin(before, now)))
        return added, removed


def _digest(record: dict[str, Any]) -> int:
    raw = json.dumps([record["id"], record["messages"], record["meta"]], sort_keys=True)
    return int.from_bytes(hashlib.blake2b(raw.encode("utf-8"), digest_size=8).digest(), "little")


def scan_prompts(path: str | Path) -> PromptScan:
    """Read and check every record of ``path`` before anything is asked or written.

    Streams the file (8 bytes are kept a prompt), so a bad line anywhere fails the run in one
    line naming it before the first paid request.
    """
    count_prompts(path)  # a missing file, a folder or unreadable Parquet, in one line
    digests = array("Q")
    for record in read_records(path, prompt_only=True):
        digests.append(_digest(record))
    return PromptScan(len(digests), digests)


def prompts_file(run: RunDir, stage: str) -> Path:
    return run.path / f"{stage}.prompts.u64"


def read_digests(path: Path) -> array[int] | None:
    if not path.is_file():
        return None
    digests = array("Q")
    digests.frombytes(path.read_bytes())
    return digests


def write_digests(path: Path, digests: array[int]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(digests.tobytes())
    tmp.replace(path)


def run_fingerprint(scan: PromptScan, config: CompleteConfig) -> str:
    """What the outputs are made of: the prompts' contents and the settings that shape answers."""
    hasher = hashlib.sha256(json.dumps(config.defining(), sort_keys=True).encode("utf-8"))
    hasher.update(scan.digests.tobytes())
    return hasher.hexdigest()[:32]


def settings_fingerprint(config: CompleteConfig) -> str:
    raw = json.dumps(config.defining(), sort_keys=True).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()[:32]


def prompt_changes(
    run: RunDir,
    config: CompleteConfig,
    scan: PromptScan,
    existing: dict[str, Any] | None,
    fingerprint: str,
) -> dict[str, Any]:
    """What changed since the run folder's last invocation, and whether its outputs start afresh.

    Returns ``prompts_changed`` (prompts whose content is new), ``prompts_removed`` and
    ``outputs_reset`` (None, or why the stage's outputs are rebuilt from the cache).
    """
    fields: dict[str, Any] = {"prompts_changed": 0, "prompts_removed": 0, "outputs_reset": None}
    if existing is None or existing.get("fingerprint") in (None, fingerprint):
        return fields
    reasons = []
    if existing.get("settings_fingerprint") != settings_fingerprint(config):
        reasons.append("settings changed")
    previous = read_digests(prompts_file(run, config.stage))
    if previous is None:
        reasons.append("prompts of an earlier version")
    else:
        added, removed = scan.changes_from(previous)
        fields.update(prompts_changed=added, prompts_removed=removed)
        if added or removed or len(previous) != scan.count:
            reasons.append(f"{added} prompts changed or added, {removed} removed")
        elif not reasons:
            reasons.append("prompts reordered")
    if not config.use_cache:
        raise InputError(
            f"holds a '{config.stage}' run with other prompts or settings "
            f"({'; '.join(reasons)}); without the cache every answer would be bought again: "
            "drop --no-cache to reuse the stored answers, or use a new --out",
            path=run.path,
        )
    fields["outputs_reset"] = "; ".join(reasons)
    return fields
