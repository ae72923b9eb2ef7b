"""The stage contract every curation step follows, and the audit trail it writes.

A stage takes an iterable of canonical records and yields the ones it keeps (possibly changed).
Whatever it drops or changes it reports to a :class:`StageLog` with a reason, so a user can see
why every record is gone or different. Stages that need a global view (dedup) consume their
whole input first; they spill it to an anonymous temporary file rather than hold every record
in a Python list, so memory grows with small per-record keys, not with the records.

:func:`run_stages` chains stages lazily and measures each one (records in, kept, dropped,
changed, seconds) without the stages having to count anything themselves.
"""

from __future__ import annotations

import json
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import IO, Any

__all__ = [
    "AuditWriter",
    "RecordSpill",
    "Stage",
    "StageLog",
    "StageStats",
    "run_stages",
    "score_of",
]

Record = dict[str, Any]


@dataclass
class StageStats:
    """What one stage did: its row of the run summary."""

    stage: str
    records_in: int = 0
    kept: int = 0
    dropped: int = 0
    changed: int = 0
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["seconds"] = round(self.seconds, 4)
        return out


class AuditWriter:
    """Where dropped and changed records are reported (JSON Lines, or kept in memory).

    Each reject line is ``{"id", "stage", "reason", **detail}``; each change line is
    ``{"id", "stage", "reason", **detail}``. With no file handle the entries are kept in the
    ``rejects`` / ``changes`` lists, which is what a Python caller of small data wants.
    """

    def __init__(self, *, rejects: IO[str] | None = None, changes: IO[str] | None = None) -> None:
        self._rejects_fh = rejects
        self._changes_fh = changes
        self.rejects: list[dict[str, Any]] = []
        self.changes: list[dict[str, Any]] = []

    def _emit(self, fh: IO[str] | None, store: list[dict[str, Any]], entry: dict[str, Any]) -> None:
        if fh is None:
            store.append(entry)
        else:
            fh.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")

    def reject(self, entry: dict[str, Any]) -> None:
        self._emit(self._rejects_fh, self.rejects, entry)

    def change(self, entry: dict[str, Any]) -> None:
        self._emit(self._changes_fh, self.changes, entry)


class StageLog:
    """A stage's handle on the audit trail: counts what it drops and changes, and writes why."""

    def __init__(self, stage: str, writer: AuditWriter, stats: StageStats) -> None:
        self.stage = stage
        self._writer = writer
        self.stats = stats

    def drop(self, record: Mapping[str, Any], reason: str, **detail: Any) -> None:
        """Report that ``record`` is dropped, and why (detail: matched id, benchmark item...)."""
        self.stats.dropped += 1
        self._writer.reject({"id": record["id"], "stage": self.stage, "reason": reason, **detail})

    def change(self, record: Mapping[str, Any], reason: str, **detail: Any) -> None:
        """Report that ``record`` is kept but changed (never pass the personal data itself)."""
        self.stats.changed += 1
        self._writer.change({"id": record["id"], "stage": self.stage, "reason": reason, **detail})


class Stage(ABC):
    """One curation step. Subclasses set ``name`` and implement :meth:`run`."""

    name: str = "stage"

    @abstractmethod
    def run(self, records: Iterable[Record], log: StageLog) -> Iterator[Record]:
        """Yield the records kept, reporting every dropped or changed one to ``log``."""

    def summary(self) -> dict[str, Any]:
        """Stage-specific figures for run.json (counts by type, parameters used...)."""
        return {}


class _Timed:
    """Wraps an iterator: counts what comes out and the time spent producing it."""

    def __init__(self, inner: Iterator[Record]) -> None:
        self._inner = inner
        self.count = 0
        self.seconds = 0.0

    def __iter__(self) -> Iterator[Record]:
        return self

    def __next__(self) -> Record:
        start = time.perf_counter()
        try:
            item = next(self._inner)
        finally:
            self.seconds += time.perf_counter() - start
        self.count += 1
        return item


def run_stages(
    records: Iterable[Record], stages: Sequence[Stage], writer: AuditWriter
) -> tuple[Iterator[Record], list[StageStats]]:
    """Chain ``stages`` over ``records`` lazily.

    Returns the iterator of curated records and one :class:`StageStats` per stage; the stats are
    complete once the iterator is exhausted. A stage's seconds exclude the time of the stages
    (and the reader) upstream of it: each wrapper's cumulative time minus its source's.
    """
    source = _Timed(iter(records))
    stats: list[StageStats] = []
    timers: list[_Timed] = [source]
    current: Iterator[Record] = source
    for stage in stages:
        stat = StageStats(stage=stage.name)
        stats.append(stat)
        timed = _Timed(stage.run(current, StageLog(stage.name, writer, stat)))
        timers.append(timed)
        current = timed

    def finish() -> Iterator[Record]:
        yield from current
        for i, stat in enumerate(stats):
            stat.records_in = timers[i].count
            stat.kept = timers[i + 1].count
            stat.seconds = max(0.0, timers[i + 1].seconds - timers[i].seconds)
            stat.details = stages[i].summary()

    return finish(), stats


def score_of(record: Mapping[str, Any], key: str) -> float:
    """The record's quality score at dotted path ``key`` in meta, or -inf when it has none.

    Used to pick which member of a duplicate group survives: the highest score, then the first.
    """
    node: Any = record.get("meta") or {}
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return float("-inf")
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, int | float):
        return float("-inf")
    value = float(node)
    return value if value == value else float("-inf")  # NaN ranks last


class RecordSpill:
    """Records parked in an anonymous temporary file while a stage looks at all of them.

    The file is deleted when closed (or when the process exits); reading back is one pass in
    the order written.
    """

    def __init__(self) -> None:
        # Closed by close() / __exit__: the spill outlives the call that creates it.
        self._fh: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self.count = 0

    def append(self, record: Mapping[str, Any]) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.count += 1

    def __iter__(self) -> Iterator[Record]:
        self._fh.flush()
        self._fh.seek(0)
        for line in self._fh:
            rec: Record = json.loads(line)
            yield rec

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> RecordSpill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
