"""Personal data found in synthetic text, by type, its examples masked (detectors from
:mod:`synthloom.pii`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from synthloom.errors import InputError
from synthloom.pii import PiiScanner

__all__ = ["pii_summary"]


def _preview(value: str) -> str:
    """The value with its middle masked: enough to find it, not enough to re-publish it."""
    if len(value) <= 2:
        return "*" * len(value)
    if len(value) <= 4:
        return value[0] + "*" * (len(value) - 1)
    return value[0] + "*" * (len(value) - 2) + value[-1]


def pii_summary(
    texts: Sequence[str],
    *,
    scanner: PiiScanner,
    locations: Sequence[str] | None = None,
    max_examples: int = 20,
    reveal: bool = False,
) -> dict[str, Any]:
    """Personal data found in ``texts``, by type, with the first locations.

    Returns ``{"total": matches, "by_type": {TYPE: matches} for every type the scanner looks
    for (zeros included, so the paths are stable), "records_with_pii": texts with at least one
    match, "ner": whether names and places were searched with the NER model, "examples": up to
    ``max_examples`` of {"type", "location", "start", "end", "text"}}``. ``location`` is
    ``locations[i]`` (default ``"record i"``); ``start``/``end`` are character offsets in that
    text. ``text`` keeps the first and last character and masks the rest with ``*`` of the same
    length, so the report does not re-publish what it warns about; ``reveal=True`` keeps it.
    """
    if locations is not None and len(locations) != len(texts):
        raise InputError(
            f"{len(locations)} locations for {len(texts)} texts; give one per text",
            field="locations",
        )
    by_type = {t: 0 for t in sorted(scanner.types)}
    examples: list[dict[str, Any]] = []
    records_with_pii = 0
    for i, matches in enumerate(scanner.iter_scan(texts)):
        if not matches:
            continue
        records_with_pii += 1
        for m in matches:
            by_type[m.type] += 1
            if len(examples) < max_examples:
                examples.append(
                    {
                        "type": m.type,
                        "location": locations[i] if locations is not None else f"record {i}",
                        "start": m.start,
                        "end": m.end,
                        "text": m.text if reveal else _preview(m.text),
                    }
                )
    return {
        "total": sum(by_type.values()),
        "by_type": by_type,
        "records_with_pii": records_with_pii,
        "ner": scanner.ner_available,
        "examples": examples,
    }
