"""The progress displays of ``synthloom complete`` and ``synthloom assay`` on stderr.

Two lines, so that it stays whole in an 80-column terminal:

    complete ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 120/1000 0:00:10 ETA 0:01:12
      cached 5 · failed 0 · rejected 0 · 12 req/s · 903 tok/s

The bar takes whatever width the first line leaves; the counters have their own line.

The assay's display (:func:`assay_progress`) is a line per section: on a terminal a live
line with a spinner and the running section's elapsed time (in the long steps, reading,
embedding and the NER scan, its counts and an ETA: ``embedding 5,000 + 5,000 texts ·
3,200/10,000 texts · 41s · ETA 1m27s``), redrawn at most 4 times a second, each finished
section printed above it; elsewhere (a log, a pipe) plain lines, one when a section starts
and one when it ends, and a long step's counts at most every 10 s, with no control
characters.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column
from rich.text import Text

if TYPE_CHECKING:  # the types only: ``complete`` imports this module without the assay
    from synthloom.assay.options import OnProgress, ProgressEvent

__all__ = [
    "assay_line",
    "assay_progress",
    "complete_progress",
    "count_text",
    "counters_line",
    "plain_printer",
    "short_duration",
]

#: Seconds between two count lines of a step in a log or pipe.
PLAIN_EVERY = 10.0
#: The assay's live line fits an 80-column terminal.
WIDTH = 80


def counters_line(task: Task) -> str:
    """The second line: what came from the cache, failed or was rejected, and the rates."""
    f = task.fields
    return (
        f"  cached {f['cached']} · failed {f['failed']} · rejected {f['rejected']} · "
        f"{f['rps']:.0f} req/s · {f['tps']:.0f} tok/s"
    )


class _TwoLineProgress(Progress):
    """rich's Progress with each task's counters on a line of their own under its bar."""

    def get_renderables(self) -> Iterable[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        for task in self.tasks:
            yield Text(counters_line(task), no_wrap=True, overflow="ellipsis")


@contextmanager
def complete_progress(quiet: bool, console: Console | None = None) -> Iterator[Any]:
    """Yields the ``on_progress`` callback for ``complete_dataset`` (None when quiet).

    The display starts with the first report, so that an input refused before the run
    starts leaves only its one error line on the terminal; it stops when the block ends.
    """
    if quiet:
        yield None
        return
    bar = _TwoLineProgress(
        TextColumn("[bold]complete"),
        BarColumn(bar_width=None),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=False,
    )
    task = bar.add_task("complete", total=None, cached=0, failed=0, rejected=0, rps=0.0, tps=0.0)

    def on_progress(snap: dict[str, Any]) -> None:
        if not bar.live.is_started:
            bar.start()
        elapsed = max(snap["elapsed"], 1e-9)
        bar.update(
            task,
            total=snap["total"] or None,
            completed=snap["done"],
            cached=snap["cached"],
            failed=snap["failed"],
            rejected=snap["rejected"],
            rps=snap["requests"] / elapsed,
            tps=snap["tokens"] / elapsed,
        )

    try:
        yield on_progress
    finally:
        if bar.live.is_started:
            bar.stop()


def short_duration(seconds: float) -> str:
    """``41s``, ``1m27s``, ``2h05m``: a duration as a progress line shows it."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def count_text(done: int, total: int, unit: str, seconds: float, eta: float | None) -> str:
    """``3,200/10,000 texts · 41s · ETA 1m27s`` (no ETA until a rate is measured)."""
    parts = [f"{done:,}/{total:,}" + (f" {unit}" if unit else ""), short_duration(seconds)]
    if eta is not None:
        parts.append(f"ETA {short_duration(eta)}")
    return " · ".join(parts)


def assay_line(event: ProgressEvent) -> str:
    """One plain progress line of the assay: ``fidelity ...``, ``embedding 60 + 60 texts ·
    37/120 texts · 2s · ETA 4s`` or ``fidelity done in 0.3s``."""
    if event.event == "start":
        return f"assay: {event.label} ..."
    if event.event == "count":
        counts = count_text(
            event.done or 0, event.total or 0, event.unit, event.seconds or 0.0, event.eta
        )
        return f"assay: {event.label} · {counts}"
    verb = "failed after" if event.event == "failed" else "done in"
    return f"assay: {event.label} {verb} {event.seconds or 0.0:.1f}s"


def plain_printer(
    out: TextIO, *, every: float = PLAIN_EVERY, clock: Callable[[], float] = time.monotonic
) -> OnProgress:
    """The assay's progress as plain lines on ``out`` (a log, a pipe): every start, end and
    failure, and a step's counts at most once every ``every`` seconds (a quick step shows none:
    its start and end lines say enough), so a long embedding leaves a line each 10 s, not
    hundreds."""
    last_line = clock()

    def plain(event: ProgressEvent) -> None:
        nonlocal last_line
        now = clock()
        if event.event == "count" and now - last_line < every:
            return
        last_line = now
        print(assay_line(event), file=out, flush=True)

    return plain


class _StepColumn(ProgressColumn):
    """The running step's label and time, or its label, counts, time and ETA: ``assay:
    embedding 5,000 + 5,000 texts · 3,200/10,000 texts · 41s · ETA 1m27s``, in ``width``
    columns. The label gives way (an ellipsis) before the numbers do, and the ETA told with
    the last count runs down between counts."""

    def __init__(self, width: int) -> None:
        super().__init__(table_column=Column(no_wrap=True, width=width))
        self.width = width

    def render(self, task: Task) -> Text:
        f = task.fields
        if f.get("done") is None:
            status = short_duration(task.elapsed or 0.0)
        else:
            # The step's own time (reading a file has no start event of its own), and its
            # ETA, run on from the last count.
            since = time.monotonic() - f["told_at"]
            eta = None if f["eta"] is None else max(0.0, f["eta"] - since)
            status = "· " + count_text(
                f["done"], f["total_items"], f["unit"], f["seconds"] + since, eta
            )
        # Plain text: no markup read from labels.
        label = Text(task.description, style="bold", no_wrap=True, overflow="ellipsis")
        label.truncate(max(1, self.width - len(status) - 1), overflow="ellipsis")
        return Text.assemble(label, " ", status, no_wrap=True)


@contextmanager
def assay_progress(quiet: bool, stream: TextIO | None = None) -> Iterator[OnProgress | None]:
    """Yields the assay's ``on_progress`` callback (None when quiet) for ``stream`` (stderr)."""
    if quiet:
        yield None
        return
    out = stream or sys.stderr
    if not out.isatty():
        yield plain_printer(out)
        return
    live = Progress(
        SpinnerColumn(),
        _StepColumn(width=WIDTH - 2),  # the spinner and its space take two columns
        console=Console(file=out, width=WIDTH),
        transient=True,
        refresh_per_second=4,
    )
    task = live.add_task("assay", total=None, done=None)

    def on_progress(event: ProgressEvent) -> None:
        if not live.live.is_started:
            live.start()
        if event.event == "start":
            live.reset(task, description=f"assay: {event.label}", done=None)
        elif event.event == "count":
            live.update(
                task,
                description=f"assay: {event.label}",
                done=event.done,
                total_items=event.total,
                unit=event.unit,
                eta=event.eta,
                seconds=event.seconds or 0.0,
                told_at=time.monotonic(),
            )
            if event.done is not None and event.total is not None and event.done >= event.total:
                # A short step counts everything within one refresh period: draw its last
                # count now, or the line would go from no count straight to "done".
                live.refresh()
        else:
            # Plain text: no markup read from labels, no colour on the numbers.
            live.console.print(
                assay_line(event),
                markup=False,
                highlight=False,
                no_wrap=True,
                overflow="ellipsis",
            )

    try:
        yield on_progress
    finally:
        if live.live.is_started:
            live.stop()
