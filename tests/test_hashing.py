"""The small array helpers of synthloom.hashing against plain Python."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from synthloom.hashing import run_starts, starts_of


@pytest.mark.parametrize("values", [[], [4], [1, 1, 1], [0, 0, 3, 5, 5, 5, 9], [2, 7, 7, 8]])
def test_run_starts_are_where_groupby_starts_a_run(values: list[int]) -> None:
    expected, at = [], 0
    for _, run in itertools.groupby(values):
        expected.append(at)
        at += len(list(run))
    assert run_starts(np.asarray(values, dtype=np.uint64)).tolist() == expected


@pytest.mark.parametrize("lengths", [[], [3], [2, 0, 5, 1], [0, 0]])
def test_starts_of_are_the_running_totals_before_each_range(lengths: list[int]) -> None:
    expected = list(itertools.accumulate([0, *lengths[:-1]])) if lengths else []
    assert starts_of(np.asarray(lengths, dtype=np.int64)).tolist() == expected
