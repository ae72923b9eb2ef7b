"""The progress displays of ``synthloom complete`` and ``synthloom assay`` on stderr.

Two lines, so that it stays whole in an 80-column terminal:

    complete ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 120/1000 0:00:10 ETA 0:01:12
      cached 5 · failed 0 · rejected 0 · 12 req/s · 903 tok/s

The bar takes whatever width the first line leaves; the counters have their own line.

The assay's display (:func:`assay_progress`) is a line per section: on a terminal a live
line with a spinner and the running section's elapsed time, each finished section printed
above it; elsewhere (a log, a pipe) plain lines, one when a section starts and one when it
ends, with no control characters.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["assay_line", "assay_progress", "complete_progress", "counters_line"]


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


def assay_line(event: str, label: str, seconds: float | None) -> str:
    """One plain progress line of the assay: ``fidelity ...`` or ``fidelity done in 0.3s``."""
    if event == "start":
        return f"assay: {label} ..."
    verb = "failed after" if event == "failed" else "done in"
    return f"assay: {label} {verb} {seconds or 0.0:.1f}s"


@contextmanager
def assay_progress(quiet: bool, stream: TextIO | None = None) -> Iterator[Any]:
    """Yields the assay's ``on_progress`` callback (None when quiet) for ``stream`` (stderr)."""
    if quiet:
        yield None
        return
    out = stream or sys.stderr
    if not out.isatty():

        def plain(event: str, label: str, seconds: float | None) -> None:
            print(assay_line(event, label, seconds), file=out, flush=True)

        yield plain
        return
    live = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", style="bold", markup=False),
        TimeElapsedColumn(),
        console=Console(file=out, width=80),
        transient=True,
    )
    task = live.add_task("assay", total=None)

    def on_progress(event: str, label: str, seconds: float | None) -> None:
        if not live.live.is_started:
            live.start()
        if event == "start":
            live.reset(task, description=f"assay: {label}")
        else:
            # Plain text: no markup read from labels, no colour on the numbers.
            live.console.print(
                assay_line(event, label, seconds),
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
