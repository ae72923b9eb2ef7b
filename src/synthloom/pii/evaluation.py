"""Scoring a PII detector against labelled text: precision and recall per type.

A labelled set is JSONL, one text a line: ``{"id", "text", "entities": [{"type", "start",
"end"}, ...]}`` (``tests/data/pii_eval.jsonl`` is synthloom's own, documented in
``benchmarks/make_pii_eval.py``). A found span is a true positive when it overlaps a labelled
span of the same type that no other found span has claimed (one to one, in text order): the
model may take "Dr. Okafor" where the label says "Okafor", and both mean the same person.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from synthloom.errors import InputError
from synthloom.pii.patterns import PiiMatch

__all__ = ["LabelledText", "TypeScore", "load_labelled", "score_spans"]


@dataclass(frozen=True)
class LabelledText:
    """One text of a labelled set and its gold spans (type, start, end)."""

    id: str
    text: str
    entities: tuple[tuple[str, int, int], ...]


@dataclass
class TypeScore:
    """Counts of one type over a labelled set, and the rates they give."""

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0

    @property
    def precision(self) -> float | None:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else None

    @property
    def recall(self) -> float | None:
        gold = self.true_positives + self.false_negatives
        return self.true_positives / gold if gold else None


def load_labelled(path: Path) -> list[LabelledText]:
    """The texts of a labelled JSONL file; a malformed line is an error naming it."""
    rows: list[LabelledText] = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text = row["text"]
            spans = tuple((e["type"], int(e["start"]), int(e["end"])) for e in row["entities"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(
                f"not a labelled text ({exc}); expected text and entities with type, start, end",
                path=path,
                line=number,
            ) from exc
        rows.append(LabelledText(str(row.get("id", number)), text, spans))
    return rows


def score_spans(
    labelled: Sequence[LabelledText],
    found: Iterable[Sequence[PiiMatch]],
    *,
    types: Iterable[str] | None = None,
) -> dict[str, TypeScore]:
    """Precision and recall counts per type of ``found`` (one match list per labelled text)."""
    scores: dict[str, TypeScore] = {t: TypeScore() for t in types or ()}
    for item, matches in zip(labelled, found, strict=True):
        claimed: set[int] = set()
        for m in sorted(matches, key=lambda m: (m.start, m.end)):
            score = scores.setdefault(m.type, TypeScore())
            hit = next(
                (
                    i
                    for i, (kind, start, end) in enumerate(item.entities)
                    if i not in claimed and kind == m.type and start < m.end and m.start < end
                ),
                None,
            )
            if hit is None:
                score.false_positives += 1
            else:
                claimed.add(hit)
                score.true_positives += 1
        for i, (kind, _, _) in enumerate(item.entities):
            if i not in claimed:
                scores.setdefault(kind, TypeScore()).false_negatives += 1
    return scores
