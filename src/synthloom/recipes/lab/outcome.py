"""What a LAB run kept: the chosen leaves that kept no sample at all, and why.

A leaf whose every item was rejected is a failed leaf even when no request failed (a judge
threshold that nothing passes, a teacher that never follows the answer format): ``generate``
names these leaves with their most common reject reason and exits 1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from synthloom.engine.rejects import Reject, read_rejects, rejects_dir

__all__ = ["STAGE", "empty_leaves", "leaf_rejects", "leaf_slug"]

STAGE = "lab"


def leaf_slug(path: str) -> str:
    """A leaf's folder name in the run (its path with ``/`` as ``__``; the root is ``root``)."""
    return path.replace("/", "__") or "root"


def leaf_rejects(run: Path, leaf_path: str) -> Iterator[Reject]:
    """A leaf's rejects in the run folder ``run`` (also where a run before 2026-12 kept them:
    ``lab/leaves/<leaf>/rejects.jsonl``)."""
    slug = leaf_slug(leaf_path)
    older = run / STAGE / "leaves" / slug / "rejects.jsonl"
    return read_rejects(rejects_dir(run, STAGE, slug), older, stage=STAGE)


def empty_leaves(run: Path, results: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``[{"leaf", "rejects", "most_common_reject", "count"}]`` for each result (a leaf's entry
    in run.json) with no sample, with the leaf's most common kind of reject
    (``judge_pair: score 1 < 2``, ``generate_questions: unusable answer``)."""
    out = []
    for result in results:
        if result.get("samples", 0) > 0:
            continue
        counts = Counter(reject.kind for reject in leaf_rejects(run, str(result["leaf"])))
        reason, count = counts.most_common(1)[0] if counts else ("nothing was generated", 0)
        out.append(
            {
                "leaf": result["leaf"],
                "rejects": sum(counts.values()),
                "most_common_reject": reason,
                "count": count,
            }
        )
    return out
