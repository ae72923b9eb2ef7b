"""A second process for the reference side of a large instruction assay.

Reading records and computing their features, then the exact text measures of diversity
(distinct-n, compression ratio, MinHash near-duplicates) are per-record Python work on one
side's texts, and the two sides do not depend on each other. On the local executor, when the
two files are large, the reference side goes to a second process (so a second core works): it
is read there while this process reads the synthetic side, sent back whole, and its texts stay
there to compute :func:`synthloom.assay.diversity.text_measures` while this process goes on with
the rest of the assay. The numbers are those of one process; only the seconds move.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.pool import AsyncResult
from pathlib import Path

from synthloom.assay.diversity import text_measures
from synthloom.assay.instruction_data import InstructionData, TextColumn, read_instruction_data

__all__ = ["SideWorker"]

#: In the worker process: the texts of the side it read, until their measures are taken.
_HELD: list[TextColumn] = []


def _read(path: Path) -> InstructionData:
    data = read_instruction_data(path)
    _HELD[:] = [data.texts]
    return data


def _measure() -> dict[str, float]:
    return text_measures(_HELD.pop())


class SideWorker:
    """One worker process (started with "spawn": this process may hold threads, of Ray or of
    BLAS, that a forked child must not inherit). Close it when done; closing stops any work
    still running there."""

    def __init__(self) -> None:
        self._pool = multiprocessing.get_context("spawn").Pool(1)
        self._measures: AsyncResult[dict[str, float]] | None = None

    def read(self, path: Path) -> AsyncResult[InstructionData]:
        """Read the records at ``path`` there (:func:`read_instruction_data`); the texts stay."""
        return self._pool.apply_async(_read, (path,))

    def start_measures(self) -> None:
        """Start the text measures of the side read there."""
        self._measures = self._pool.apply_async(_measure)

    def measures(self) -> dict[str, float]:
        """The text measures started by :meth:`start_measures` (waits for them)."""
        if self._measures is None:
            raise RuntimeError("start_measures() was not called")
        return self._measures.get()

    def close(self) -> None:
        self._pool.terminate()
        self._pool.join()
