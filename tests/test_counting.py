"""The counts a long step reports: few calls whatever its size, the start and the end always."""

from __future__ import annotations

import pytest

from synthloom.counting import Tally, shifted


@pytest.mark.parametrize(
    "total",
    [
        pytest.param(7, id="fewer-items-than-reports"),
        pytest.param(1_000, id="thousand"),
        pytest.param(1_000_003, id="million-not-a-multiple"),
    ],
)
def test_a_tally_reports_a_few_hundred_times_at_most(total: int) -> None:
    told: list[tuple[int, int]] = []
    tally = Tally(lambda done, of: told.append((done, of)), total)
    tally.start()
    batch = 64
    for first in range(0, total, batch):
        tally.add(min(batch, total - first))
    assert told[0] == (0, total) and told[-1] == (total, total)
    assert all(of == total for _, of in told)
    done = [d for d, _ in told]
    assert done == sorted(done) and len(set(done)) == len(done)
    # The start, then at most one report a batch, and about 200 for a large step (the first
    # batch past each 200th of it), not one a batch.
    batches = -(-total // batch)
    assert len(told) <= 1 + min(batches, 201)
    assert tally.done == total


def test_a_tally_without_a_listener_only_counts() -> None:
    tally = Tally(None, 3)
    tally.start()
    tally.add(2)
    tally.add()
    assert tally.done == 3


def test_shifted_counts_a_part_of_a_larger_step() -> None:
    told: list[tuple[int, int]] = []
    second = shifted(lambda done, of: told.append((done, of)), 40, 100)
    assert second is not None
    second(0, 60)
    second(60, 60)
    assert told == [(40, 100), (100, 100)]
    assert shifted(None, 40, 100) is None
