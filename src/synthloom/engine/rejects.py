"""What a generation stage drops, and why: one reject record, one writer, one reader.

``complete``, the LAB recipes and the Nemotron pipeline report every item they drop as a
:class:`Reject` through a :class:`RejectWriter`, and read them back with :func:`read_rejects`:

    {"id": "...", "stage": "lab", "step": "judge_pair", "reason": "score 1 < 2: ...",
     "detail": {"leaf": "..."}, "item": {...}, "raw": "the answer as the teacher sent it"}

``id`` names what was dropped (the prompt record's id for ``complete``, else a content hash of
the item), ``step`` where in the stage it was dropped, ``reason`` why (its kind before the
first colon: :func:`reason_kind`), ``detail`` what locates it (prompt index and sample, leaf,
attempts...), ``item`` the work item as the stage held it (for ``complete`` a prompt record
that can be answered again), ``raw`` the teacher's answer when there was one. Curate's audit
trail (``curate/base.py``) writes the same ``id`` / ``stage`` / ``reason``.

Where: ``<run>/rejects/<stage>/part-NNNNN.jsonl`` (LAB: one folder per leaf,
``<run>/rejects/lab/<leaf>/``), beside the data folders, never in them.

Why JSON Lines and not Parquet: a reject holds free-form text (the raw answer, which is often
not what was asked for, and items whose shape differs from step to step), which a column
schema would have to flatten into JSON strings anyway; a line per reject is readable with
``head`` or ``jq`` while a run is going, and rejects are the small side of a run (a big
``complete`` run writes its records to Parquet, its rejects to parts of at most
``rows_per_part`` lines). Parts are written whole to a temporary name and renamed, like the
data's Parquet shards, so a part that exists is complete: ``complete`` counts the items in it
as done when it resumes.

Older layouts are still read: ``complete``'s Parquet parts (prompt records with
``meta.teacher.reject``), LAB's ``lab/leaves/<leaf>/rejects.jsonl`` and Nemotron's
``prompts/rejects.jsonl``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthloom.atomic import write_text
from synthloom.normalize import record_id
from synthloom.records import read_records

__all__ = [
    "REJECTS",
    "Reject",
    "RejectWriter",
    "read_rejects",
    "reason_kind",
    "rejects_by_step",
    "rejects_dir",
]

#: The folder of the run that holds every stage's rejects.
REJECTS = "rejects"


def rejects_dir(run: Path, stage: str, *unit: str) -> Path:
    """The folder of a stage's rejects in the run folder ``run`` (``unit``: a LAB leaf)."""
    return run.joinpath(REJECTS, stage, *unit)


@dataclass(frozen=True, slots=True)
class Reject:
    """One dropped item (see the module docstring). An empty ``id`` is made from the content."""

    stage: str
    step: str
    reason: str
    item: Any = None
    raw: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            key = [self.stage, self.step, self.item, dict(self.detail)]
            object.__setattr__(self, "id", record_id([], key))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "stage": self.stage,
            "step": self.step,
            "reason": self.reason,
            "detail": dict(self.detail),
            "item": self.item,
            "raw": self.raw,
        }

    def line(self) -> str:
        """The reject as one line of a rejects file."""
        return json.dumps(self.as_dict(), ensure_ascii=False) + "\n"

    @property
    def kind(self) -> str:
        """``step: reason kind``, what a summary counts (``judge_pair: score 1 < 2``)."""
        return f"{self.step or 'unknown step'}: {reason_kind(self.reason)}"


def reason_kind(reason: str | None) -> str:
    """A reason without the part that differs from item to item (after the first colon)."""
    return str(reason or "no reason given").split(":", 1)[0].strip()


def rejects_by_step(rejects: Iterator[Reject] | list[Reject]) -> dict[str, int]:
    """How many rejects each step made, in the order the steps first appear."""
    return dict(Counter(r.step for r in rejects))


class RejectWriter(AbstractContextManager["RejectWriter"]):
    """Writes a stage's rejects as JSONL parts (``part-NNNNN.jsonl``) into ``folder``.

    ``fresh``: the stage is writing this folder's rejects anew (a LAB leaf, a Nemotron run):
    earlier parts, and the files of an older layout given in ``older``, are removed first;
    else new parts follow the ones there (a resumed ``complete``). Counts by step come free.
    """

    def __init__(
        self,
        folder: Path,
        stage: str,
        *,
        rows_per_part: int = 10_000,
        fresh: bool = False,
        older: tuple[Path, ...] = (),
    ) -> None:
        self.folder = folder
        self.stage = stage
        self.rows_per_part = rows_per_part
        self.by_step: Counter[str] = Counter()
        self._lines: list[str] = []
        folder.mkdir(parents=True, exist_ok=True)
        for tmp in folder.glob("*.tmp"):  # a part a killed run was writing
            tmp.unlink()
        if fresh:
            for old in (*folder.glob("part-*.jsonl"), *folder.glob("part-*.parquet"), *older):
                old.unlink(missing_ok=True)
        self._next = len(list(folder.glob("part-*.jsonl")))

    @property
    def count(self) -> int:
        return sum(self.by_step.values())

    def write(self, reject: Reject) -> None:
        self.by_step[reject.step] += 1
        self._lines.append(reject.line())
        if len(self._lines) >= self.rows_per_part:
            self.flush()

    def reject(
        self,
        step: str,
        reason: str,
        item: Any = None,
        raw: str | None = None,
        *,
        id: str = "",
        **detail: Any,
    ) -> None:
        """Write the reject of ``item`` at ``step`` for ``reason`` (``detail``: where it was)."""
        self.write(Reject(self.stage, step, reason, item, raw, detail, id))

    def flush(self) -> None:
        """Write what is buffered as the next part, whole (a temporary file, then a rename)."""
        if self._lines:
            write_text(self.folder / f"part-{self._next:05d}.jsonl", "".join(self._lines))
            self._next += 1
            self._lines.clear()

    def close(self) -> None:
        self.flush()

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_rejects(*places: Path, stage: str) -> Iterator[Reject]:
    """Every reject of ``stage`` in ``places``, as written: a folder's parts in name order
    (and the Parquet parts an older ``complete`` wrote there), or a file of JSON lines of an
    older layout. Places that do not exist hold none."""
    for place in places:
        if place.is_dir():
            for part in sorted(place.glob("part-*.jsonl")):
                yield from _jsonl(part, stage)
            for part in sorted(place.glob("part-*.parquet")):
                for record in read_records(part):
                    yield _from_complete_record(record, stage)
        elif place.is_file():
            yield from _jsonl(place, stage)


def _jsonl(path: Path, stage: str) -> Iterator[Reject]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield _from_line(json.loads(line), stage)


def _from_line(row: dict[str, Any], stage: str) -> Reject:
    if "step" in row and "detail" in row:  # this module's own line
        return Reject(
            row["stage"],
            row["step"],
            row["reason"],
            row.get("item"),
            row.get("raw"),
            row.get("detail") or {},
            row.get("id") or "",
        )
    if "step" in row:  # LAB before 2026-12: {leaf, step, reason, item, raw}
        where = {"leaf": row.get("leaf")}
        item, raw = row.get("item"), row.get("raw")
        return Reject(stage, row["step"], str(row.get("reason")), item, raw, where)
    # Nemotron's prompts before 2026-12: {stage (its step), prompt, meta, status, reason, raw}
    return Reject(
        stage,
        str(row.get("stage") or "prompts"),
        str(row.get("reason")),
        {"prompt": row.get("prompt"), "meta": row.get("meta") or {}},
        row.get("raw"),
        {"status": row.get("status")},
    )


def _from_complete_record(record: dict[str, Any], stage: str) -> Reject:
    """A reject ``complete`` wrote as a Parquet prompt record before 2026-12."""
    meta = dict(record.get("meta") or {})
    teacher = dict(meta.pop("teacher", None) or {})
    answer = teacher.pop("reject", None) or {}
    item = {k: v for k, v in record.items() if k != "meta"}
    return Reject(
        stage,
        "answer",
        str(answer.get("reason")),
        {**item, "meta": meta},
        answer.get("raw"),
        {**teacher, "attempts": answer.get("attempts")},
        str(record.get("id") or ""),
    )
