"""What a LAB run kept: the chosen leaves that kept no sample at all, and why.

A leaf whose every item was rejected is a failed leaf even when no request failed (a judge
threshold that nothing passes, a teacher that never follows the answer format): ``generate``
names these leaves with their most common reject reason and exits 1.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["empty_leaves", "reject_reason"]


def reject_reason(reject: dict[str, Any]) -> str:
    """A reject's kind, without the parts that differ from item to item (rationales, errors):
    ``judge_pair: score 1 < 2``, ``generate_questions: unusable answer``."""
    reason = str(reject.get("reason") or "no reason given").split(":", 1)[0].strip()
    return f"{reject.get('step') or 'unknown step'}: {reason}"


def _reasons(rejects: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    if not rejects.exists():
        return counts
    with rejects.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                counts[reject_reason(json.loads(line))] += 1
    return counts


def empty_leaves(leaves_dir: Path, results: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``[{"leaf", "rejects", "most_common_reject", "count"}]`` for each result (a leaf's entry
    in run.json) with no sample; the reason is read from the leaf's ``rejects.jsonl``."""
    out = []
    for result in results:
        if result.get("samples", 0) > 0:
            continue
        slug = str(result["leaf"]).replace("/", "__") or "root"
        counts = _reasons(leaves_dir / slug / "rejects.jsonl")
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
