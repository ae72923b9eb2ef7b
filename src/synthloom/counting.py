"""Counts a long step reports as it goes: ``on_count(done, total)``.

A kernel below the stages: embedding (:mod:`synthloom.embed`) and the PII scan tell how far
they are through their texts with an :data:`OnCount` callback, and the stage above decides what
to show (the assay's progress line, an ETA). :class:`Tally` keeps the number of calls small
whatever the size of the step, so that a million texts cost a few hundred calls, not a million.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["OnCount", "Tally", "shifted"]

#: Told ``(done, total)``: how many of the step's ``total`` items are finished so far.
OnCount = Callable[[int, int], None]

#: About how many times a step reports, whatever its size: often enough for a smooth line and
#: an ETA, rarely enough that reporting costs nothing next to the work.
REPORTS = 200


class Tally:
    """Counts finished items and tells ``on_count`` at the start, each time about 1/``reports``
    of ``total`` more is done, and when the last item is done. ``on_count`` None: counts only.
    """

    def __init__(self, on_count: OnCount | None, total: int, *, reports: int = REPORTS) -> None:
        self.on_count = on_count
        self.total = total
        self.done = 0
        self.step = max(1, total // max(1, reports))
        self.next_report = 0

    def start(self) -> None:
        """Tell ``(0, total)``: the work has begun (a rate is measured from here)."""
        if self.on_count is not None:
            self.on_count(self.done, self.total)
            self.next_report = self.done + self.step

    def add(self, items: int = 1) -> None:
        """``items`` more are done; tell when a report is due."""
        self.done += items
        if self.on_count is not None and (self.done >= self.next_report or self.done >= self.total):
            self.on_count(self.done, self.total)
            self.next_report = self.done + self.step


def shifted(on_count: OnCount | None, before: int, total: int) -> OnCount | None:
    """``on_count`` for a part of a larger step: the part's counts, told as ``before`` + done
    of the whole step's ``total`` (the synthetic side after the reference side's texts)."""
    if on_count is None:
        return None
    tell = on_count

    def part(done: int, _part_total: int) -> None:
        tell(before + done, total)

    return part
