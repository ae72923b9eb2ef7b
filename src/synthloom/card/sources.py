"""Facts a card reads from the files a run used or left: git commits, file digests, row counts
and the records each step dropped, grouped by reason."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from synthloom.card.places import public_url
from synthloom.engine.rejects import read_rejects

__all__ = [
    "GitState",
    "count_json_items",
    "count_jsonl_reasons",
    "count_parquet_reasons",
    "count_rows",
    "file_digest",
    "git_state",
    "reason_kind",
]

#: Files larger than this are not hashed for the card (it would make every export wait).
DIGEST_LIMIT = 1 << 30
#: Characters of a JSON file read at a time when counting its records.
JSON_CHUNK = 1 << 20
#: Rows of a Parquet part decoded at a time when counting its reject reasons.
REASON_BATCH = 10_000
_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_AFTER_ELEMENT = frozenset(" \t\n\r,]")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_WRAPPERS = frozenset({"unusable answer", "parse hook refused the answer"})


def reason_kind(reason: object) -> str:
    """The kind of a reject reason: its first clause with numbers as N, so that
    ``score 0 < 1: vague.`` and ``score 1 < 2: off topic`` count together as ``score N < N``
    (after a wrapper such as ``parse hook refused the answer``, the clause that says why)."""
    clauses = " ".join(str(reason or "no reason recorded").split()).split(": ")
    taken = [clauses[0]]
    # The client's wrappers say only that an answer was refused; the clause after says why.
    while taken[-1] in _WRAPPERS and len(taken) < len(clauses):
        taken.append(clauses[len(taken)])
    head = _NUMBER.sub("N", ": ".join(taken).rstrip("."))
    return head if len(head) <= 80 else head[:79] + "…"


def count_jsonl_reasons(paths: Iterable[Path], *, stage_keys: tuple[str, ...]) -> Counter[str]:
    """``"stage: reason kind"`` -> lines, over JSONL files of ``{stage|step, reason}`` lines.
    Unreadable lines are counted as such: a card never fails on a damaged audit file."""
    counts: Counter[str] = Counter()
    for path in paths:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    counts["unreadable audit line"] += 1
                    continue
                if not isinstance(row, dict):
                    continue
                stage = next((str(row[k]) for k in stage_keys if row.get(k)), "")
                label = reason_kind(row.get("reason"))
                counts[f"{stage}: {label}" if stage else label] += 1
    return counts


def count_rejects(*places: Path, stage: str, prefix: str | None = None) -> Counter[str]:
    """``"step: reason kind"`` (or ``"prefix: reason kind"``) -> rejects, read through the one
    reject reader (:func:`synthloom.engine.rejects.read_rejects`, every layout a run of any
    version wrote). A damaged part is counted as such: a card never fails on it."""
    counts: Counter[str] = Counter()
    try:
        for reject in read_rejects(*places, stage=stage):
            counts[f"{prefix or reject.step}: {reason_kind(reject.reason)}"] += 1
    except (OSError, ValueError, KeyError, TypeError):
        counts["unreadable rejects part"] += 1
    return counts


def count_parquet_reasons(folder: Path, prefix: str, keys: tuple[str, ...]) -> Counter[str]:
    """Reasons kept in the ``meta`` JSON of Parquet parts (``complete``'s rejects and
    failures: ``meta.teacher.reject.reason``), as ``"prefix: reason kind"`` -> records."""
    counts: Counter[str] = Counter()
    if not folder.is_dir():
        return counts
    for part in sorted(folder.glob("*.parquet")):
        try:
            # Only the meta column, a batch at a time: a large rejects folder is never held.
            metas = [
                raw
                for batch in pq.ParquetFile(part).iter_batches(REASON_BATCH, columns=["meta"])
                for raw in batch.column(0).to_pylist()
            ]
        except (OSError, KeyError, ValueError):
            counts[f"{prefix}: unreadable part {part.name}"] += 1
            continue
        for raw in metas:
            try:
                value: object = json.loads(raw) if isinstance(raw, str) else raw
            except ValueError:
                value = None
            for key in keys:
                value = value.get(key) if isinstance(value, dict) else None
            counts[f"{prefix}: {reason_kind(value)}"] += 1
    return counts


def count_rows(path: Path) -> int:
    """Records in a Parquet file (from its footer, no data read), elements of a JSON array
    (:func:`count_json_items`) or non-blank lines of a JSONL file (streamed)."""
    if path.suffix.lower() == ".parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    if path.suffix.lower() == ".json":
        return count_json_items(path)
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def count_json_items(path: Path, *, chunk_chars: int = JSON_CHUNK) -> int:
    """The elements of a JSON file's top-level array (1 for any other document), decoded one
    at a time from ``chunk_chars`` read at once, so a large export is never held whole (an
    element longer than a chunk makes the next read larger). Raises ``ValueError`` (a
    ``json.JSONDecodeError``) for a file that is not JSON."""
    decoder = json.JSONDecoder()
    with path.open(encoding="utf-8-sig") as handle:
        buffer, pos, size = handle.read(chunk_chars), 0, chunk_chars

        def more() -> bool:
            """Drop what was read, append the next chunk; False at the end of the file."""
            nonlocal buffer, pos, size
            chunk = handle.read(size)
            if not chunk:
                return False
            if pos == 0:
                size *= 2  # one element longer than the buffer: read more at a time
            buffer, pos = buffer[pos:] + chunk, 0
            return True

        def at_token() -> str:
            """The next character that is not JSON whitespace ('' at the end)."""
            nonlocal pos
            while True:
                match = _JSON_SPACE.match(buffer, pos)
                pos = match.end() if match else pos
                if pos < len(buffer) or not more():
                    return buffer[pos : pos + 1]

        if at_token() != "[":
            # One document, not an array: one record (decoded to check it is JSON at all).
            decoder.decode(buffer[pos:] + handle.read())
            return 1
        pos += 1
        count = 0
        while at_token() != "]":
            while True:
                try:
                    end = decoder.raw_decode(buffer, pos)[1]
                except json.JSONDecodeError:
                    end = -1
                # An element is whole when what follows may follow an element: a number
                # read up to the buffer's end may be cut short ("12" of "125", "1" of "1.5").
                if (0 <= end < len(buffer) and buffer[end] in _AFTER_ELEMENT) or not more():
                    break
            if end < 0:
                decoder.raw_decode(buffer, pos)  # at the end of the file: say what is wrong
            count += 1
            pos = end
            token = at_token()
            if token == ",":
                pos += 1
                if at_token() == "]":
                    raise json.JSONDecodeError("an element expected after ','", buffer, pos)
            elif token != "]":
                raise json.JSONDecodeError("expected ',' or ']' after an element", buffer, pos)
        pos += 1
        if at_token():
            raise json.JSONDecodeError("extra data after the array", buffer, pos)
        return count


def file_digest(path: Path) -> str | None:
    """The file's SHA-256, or None for a folder, a missing file or one over 1 GiB."""
    try:
        if not path.is_file() or path.stat().st_size > DIGEST_LIMIT:
            return None
        hasher = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(block)
    except OSError:
        return None
    return hasher.hexdigest()


@dataclass(frozen=True)
class GitState:
    """The checkout a folder lies in: commit, whether the folder has uncommitted changes, and
    the origin remote when it is public (None otherwise)."""

    commit: str
    dirty: bool
    remote: str | None


def _git(folder: Path, *args: str) -> str | None:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=20,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None  # no git on this machine, or it hung: the card says no commit
    return done.stdout.strip() if done.returncode == 0 else None


def git_state(folder: Path) -> GitState | None:
    """The git state of ``folder`` when it lies in a git checkout, else None."""
    if not folder.is_dir():
        return None
    commit = _git(folder, "rev-parse", "HEAD")
    if not commit:
        return None
    status = _git(folder, "status", "--porcelain", "--untracked-files=normal", "--", ".")
    remote = _git(folder, "remote", "get-url", "origin")
    return GitState(
        commit=commit,
        dirty=bool(status),
        remote=public_url(remote) if remote else None,
    )
