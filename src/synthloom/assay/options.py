"""The assay's options, its result, and how each item of it runs (timed, its error recorded).

:class:`AssayOptions` tunes an assay, :class:`AssayResult` is what :func:`synthloom.assay.run_assay`
returns, :class:`Sections` runs each measured item so that one failure never fails the report
and tells :class:`ProgressEvent` s as it goes (counts and a rate-based ETA inside the long
steps), and :func:`to_jsonable` turns the numbers into plain JSON values for metrics.json.
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd

from synthloom.assay.sampling import BOOTSTRAP_RESAMPLES, DEFAULT_SAMPLE_SIZE
from synthloom.counting import OnCount
from synthloom.errors import InputError
from synthloom.memory import release_free_memory

__all__ = [
    "AssayOptions",
    "AssayResult",
    "OnProgress",
    "ProgressEvent",
    "Sections",
    "to_jsonable",
]

T = TypeVar("T")

#: What a :class:`ProgressEvent` tells.
EventKind = Literal["start", "count", "end", "failed"]


@dataclass(frozen=True)
class ProgressEvent:
    """One thing the assay tells ``AssayOptions.on_progress`` as it goes.

    ``event``: "start" when an item or step begins (``seconds`` None), "count" as a long step
    (reading records, embedding, the NER scan) gets through its items, "end" (``seconds``: how
    long it took) or "failed" when it is over. A "count" carries ``done`` of ``total``
    ``unit`` (texts, messages), ``seconds`` since the step began and ``eta``: seconds left at
    the rate measured since its first count (None until there is a rate).
    """

    event: EventKind
    label: str
    seconds: float | None = None
    done: int | None = None
    total: int | None = None
    unit: str = ""
    eta: float | None = None


#: Told each :class:`ProgressEvent` as the assay goes.
OnProgress = Callable[[ProgressEvent], None]


@dataclass
class AssayOptions:
    """Everything that tunes an assay besides the two datasets and the output folder."""

    private: list[Path] = field(default_factory=list)
    gate: Path | None = None
    sensitive: list[str] = field(default_factory=list)
    embedder: str = "auto"
    seed: int = 0
    span: int = 50
    holdout_fraction: float = 0.2
    #: Texts per side self-BLEU scores against each other (its definition depends on it).
    sample_size: int = 200
    max_embed: int = 20000
    #: Records per side the costly instruction metrics (embeddings, Vendi, NER) are computed
    #: on, drawn with ``seed``; None (``--full``): all records.
    sample: int | None = DEFAULT_SAMPLE_SIZE
    #: Resamples of the bootstrap interval beside each sampled number.
    bootstrap_resamples: int = BOOTSTRAP_RESAMPLES
    lexicon: Path | None = None
    #: A YAML/JSON mapping column -> kind that overrides the kinds detected from the reference.
    kinds: Path | None = None
    #: "real" (both sides on the reference's bin edges) or "report" (SDMetrics 0.32
    #: QualityReport's per-side edges, to reproduce its numbers).
    fidelity_binning: str = "real"
    ner: str = "auto"
    #: Write every PII hit, unmasked, to ``pii_examples.jsonl`` in the output folder.
    show_pii: bool = False
    write_report: bool = True
    #: "ray": per-record features and MiniLM embeddings of instruction data, and the per-pair
    #: measures of preference data, computed by Ray tasks (same numbers); tables and the
    #: TF-IDF fallback run locally either way.
    executor: str = "local"
    ray_address: str | None = None
    #: 2: on the local executor, the reference side of instruction data is read, and its exact
    #: text measures computed, in a second process (same numbers, less wall time on two cores,
    #: the reference's texts held twice). It starts with "spawn": a Python script that sets it
    #: must guard its entry point with ``if __name__ == "__main__":``.
    processes: int = 1
    #: Told each section's start and end, and counts inside the long steps (the CLI's
    #: progress lines); None: silent.
    on_progress: OnProgress | None = None


@dataclass
class AssayResult:
    """What an assay measured, where it wrote it, and the gate's verdict (None: no gate)."""

    metrics: dict[str, Any]
    out: Path
    gate_results: list[dict[str, Any]] | None

    @property
    def gate_failures(self) -> list[str]:
        return [
            f"{g['rule']} (got {g['shown']})" for g in self.gate_results or [] if not g["passed"]
        ]

    @property
    def exit_code(self) -> int:
        return 1 if self.gate_failures else 0


def to_jsonable(obj: Any) -> Any:
    """Convert numpy / pandas scalars and containers to plain JSON values (NaN -> null)."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(obj, (pd.Timestamp, _dt.datetime, _dt.date)):
        return obj.isoformat()
    if obj is None or isinstance(obj, str):
        return obj
    if obj is pd.NaT:
        return None
    return str(obj)


class Sections:
    """Runs each assay item, timing it and recording its error instead of raising.

    ``errors`` (item -> one-line message) and ``seconds`` (item -> run time) go into
    metrics.json; an ``InputError`` is the user's to fix and still propagates. A long step
    reports its counts through :meth:`counter`, which :meth:`count` turns into "count" events
    with the time since the step began and an ETA.
    """

    def __init__(self, on_progress: OnProgress | None = None) -> None:
        self.errors: dict[str, str] = {}
        self.seconds: dict[str, float] = {}
        self.on_progress = on_progress
        self.held: list[ProgressEvent] = []
        # The running step: its label, when it began, and its first count (the rate's origin).
        self.step = ""
        self.step_start = time.perf_counter()
        self.first_count: tuple[float, int] | None = None

    def tell(self, event: EventKind, label: str, seconds: float | None = None) -> None:
        """Pass one start, end or failed event on (nothing when no one listens)."""
        if event == "start":
            self.begin(label)
        self.send(ProgressEvent(event, label, seconds))

    def send(self, event: ProgressEvent) -> None:
        if self.on_progress is not None:
            for held in self.held:
                self.on_progress(held)
            self.held.clear()
            self.on_progress(event)

    def hold(self, event: EventKind, label: str, seconds: float | None = None) -> None:
        """Keep an event until the first item starts: a user's input refused before that
        (a missing column, a bad kinds file) leaves its one error line and nothing else."""
        self.held.append(ProgressEvent(event, label, seconds))

    def begin(self, label: str) -> None:
        """A step named ``label`` starts now: later counts are its counts."""
        self.step = label
        self.step_start = time.perf_counter()
        self.first_count = None

    def count(self, done: int, total: int, unit: str = "") -> None:
        """Tell that the running step has done ``done`` of ``total`` ``unit``, with the
        seconds since it began and the seconds left at the rate since its first count."""
        if self.on_progress is None:
            return
        now = time.perf_counter()
        eta: float | None = None
        if self.first_count is None:
            self.first_count = (now, done)
        else:
            since, done_then = self.first_count
            if done > done_then and now > since:
                eta = max(0, total - done) * (now - since) / (done - done_then)
        self.send(
            ProgressEvent(
                "count",
                self.step,
                now - self.step_start,
                done=done,
                total=total,
                unit=unit,
                eta=eta,
            )
        )

    def counter(self, unit: str) -> OnCount:
        """The ``on_count(done, total)`` a long step calls: counts of ``unit`` for the step
        running when it is called."""

        def on_count(done: int, total: int) -> None:
            self.count(done, total, unit)

        return on_count

    def run(self, name: str, fn: Callable[[], T], label: str | None = None) -> T | None:
        """Run item ``name``; ``label`` (default: the name) is what progress lines show."""
        shown = label or name
        self.tell("start", shown)
        start = time.perf_counter()
        event: EventKind = "end"
        try:
            return fn()
        except InputError:
            event = "failed"
            raise
        except Exception as exc:  # one odd item must not fail the report
            event = "failed"
            self.errors[name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
            return None
        finally:
            self.seconds[name] = round(time.perf_counter() - start, 4)
            # What the item freed goes back to the system before the next one allocates
            # (about 0.1 s with a fragmented heap of 2.4 GB; not counted in its seconds).
            release_free_memory()
            self.tell(event, shown, self.seconds[name])
