"""Joint counts of many pairs of coded columns, in a few passes over the rows.

A contingency table needs, for a pair of coded columns, how many rows hold each pair of codes.
Counted pair by pair, a table of 20 columns reads every column 19 times (190 pairs). Here the
columns are grouped into *blocks* whose joint table stays small (the product of their numbers of
codes at most :data:`CELL_LIMIT`), so that every pair needed lies in some block; one pass over
the rows counts a block's joint codes (16-bit, one ``bincount`` a chunk of rows), and each
pair's table is the block's table summed over its other members. Counts are integers, so every
table is exactly the one the pair alone would give.

:func:`plan_blocks` chooses the blocks, :func:`block_counts` counts one block on one side and
:func:`pair_table` reads a pair's table out of a block's counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["CELL_LIMIT", "BlockPlan", "block_counts", "pair_table", "plan_blocks"]

#: The most cells (product of the members' numbers of codes) a block may have: its table (32 KiB
#: of counts) stays in a core's fastest cache while the rows stream past. Measured on the 1M x 20
#: benchmark table: 36 blocks instead of 145 pair passes, a third of their CPU time; 2**10 and
#: 2**14 cost about 20% more, 2**16 (28 bigger blocks) about 40% more.
CELL_LIMIT = 1 << 12
# Rows per step of a pass: a step's joint codes (128 KiB) stay in cache between the
# multiply-adds that build them and the bincount that reads them.
_ROW_CHUNK = 1 << 16

BlockPlan = tuple[list[tuple[int, ...]], dict[tuple[int, int], int]]


def plan_blocks(
    sizes: Sequence[int], pairs: Iterable[tuple[int, int]], *, cell_limit: int = CELL_LIMIT
) -> BlockPlan:
    """(blocks, block of each pair): blocks are ascending tuples of column indexes (into
    ``sizes``, each column's number of codes) whose cells stay within ``cell_limit``; every pair
    ``(i, j)`` (``i < j``) of ``pairs`` whose own table fits lies in the block named for it.
    Pairs whose own table is larger than ``cell_limit`` are in no block.

    Greedy: a block starts from the largest pair still to count (the hardest to fit beside
    others) and takes, one at a time, the column that brings the most pairs still to count
    (the fewer codes, the better, on a tie) while the cells stay within the limit. The plan
    depends only on the sizes and the pairs, so the results do not depend on timing.
    """
    todo = {pair for pair in pairs if sizes[pair[0]] * sizes[pair[1]] <= cell_limit}
    blocks: list[tuple[int, ...]] = []
    block_of: dict[tuple[int, int], int] = {}
    while todo:
        first, second = min(todo, key=lambda p: (-sizes[p[0]] * sizes[p[1]], p))
        members = [first, second]
        cells = sizes[first] * sizes[second]
        while True:
            best: tuple[int, int, int] | None = None  # (pairs gained, -codes, -index)
            for candidate, size in enumerate(sizes):
                if candidate in members or cells * size > cell_limit:
                    continue
                gained = sum((min(m, candidate), max(m, candidate)) in todo for m in members)
                if gained and (best is None or (gained, -size, -candidate) > best):
                    best = (gained, -size, -candidate)
            if best is None:
                break
            members.append(-best[2])
            cells *= sizes[-best[2]]
        block = tuple(sorted(members))
        for pair in combinations(block, 2):
            if pair in todo:
                todo.remove(pair)
                block_of[pair] = len(blocks)
        blocks.append(block)
    return blocks, block_of


def block_counts(columns: Sequence[npt.NDArray[Any]], sizes: Sequence[int]) -> npt.NDArray[Any]:
    """How many rows hold each combination of codes of ``columns`` (equal lengths, codes of
    column ``k`` in ``0..sizes[k]-1``, any unsigned or int64 type), as an int64 array of shape
    ``sizes``."""
    cells = math.prod(sizes)
    rows = columns[0].size
    counts = np.zeros(cells, dtype=np.intp)
    if rows == 0:
        return counts.reshape(tuple(sizes))
    chunk = min(rows, max(_ROW_CHUNK, 4 * cells))  # so adding up the chunks' counts stays cheap
    # Every partial joint code (and every size) is below ``cells``: 16 bits hold them when
    # ``cells`` fits.
    joint = np.empty(chunk, dtype=np.uint16 if cells < 1 << 16 else np.intp)
    for start in range(0, rows, chunk):
        stop = min(start + chunk, rows)
        step = joint[: stop - start]
        np.copyto(step, columns[0][start:stop], casting="unsafe")
        for column, size in zip(columns[1:], sizes[1:], strict=True):
            np.multiply(step, size, out=step, casting="unsafe")
            np.add(step, column[start:stop], out=step, casting="unsafe")
        counts += np.bincount(step, minlength=cells)
    return counts.reshape(tuple(sizes))


def pair_table(
    counts: npt.NDArray[Any], members: tuple[int, ...], first: int, second: int
) -> npt.NDArray[Any]:
    """The ``(first, second)`` table (rows: codes of ``first``) out of the counts of a block
    with ``members`` (ascending column indexes, ``first < second`` among them)."""
    others = tuple(axis for axis, member in enumerate(members) if member not in (first, second))
    return counts.sum(axis=others) if others else counts
