"""synthloom.memory: freed memory goes back to the system."""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import pytest

from synthloom.memory import release_free_memory


def _resident_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 1e6


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="malloc_trim is glibc's; elsewhere release_free_memory does nothing",
)
def test_holes_left_in_the_heap_are_handed_back() -> None:
    # 3,000 arrays of 100 KB (below glibc's mmap threshold: they live in the heap), every
    # other one freed: 150 MB of holes that free() keeps and malloc_trim hands back.
    arrays: list[np.ndarray | None] = [np.ones(12_500) for _ in range(3_000)]
    for i in range(0, len(arrays), 2):
        arrays[i] = None
    before = _resident_mb()
    release_free_memory()
    after = _resident_mb()
    assert before - after > 100, (before, after)
    assert all(a is None or a[0] == 1.0 for a in arrays)  # what is kept is intact
