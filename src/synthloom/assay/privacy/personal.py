"""Personal data found in synthetic text, by type, with examples a person can triage
(detectors from :mod:`synthloom.pii`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from synthloom.counting import OnCount, Tally
from synthloom.errors import InputError
from synthloom.pii import PiiMatch, PiiScanner
from synthloom.pii.display import context_words, mask_secrets, token_shape
from synthloom.pii.precision import DROP_REASONS, CaseCounts

__all__ = ["pii_summary"]


def _example(match: PiiMatch, shown: str, location: str, context: int) -> dict[str, Any]:
    before, after = context_words(shown, match.start, match.end, context)
    return {
        "type": match.type,
        "location": location,
        "start": match.start,
        "end": match.end,
        "shape": token_shape(match.text),
        "text": shown[match.start : match.end],
        "before": before,
        "after": after,
    }


def pii_summary(
    texts: Sequence[str],
    *,
    scanner: PiiScanner,
    locations: Sequence[str] | None = None,
    max_examples: int = 20,
    reveal: bool = False,
    context: int = 6,
    all_hits: list[dict[str, Any]] | None = None,
    case_counts: CaseCounts | None = None,
    on_count: OnCount | None = None,
) -> dict[str, Any]:
    """Personal data found in ``texts``, by type, with the first locations.

    Returns ``{"total": matches, "by_type": {TYPE: matches} for every type the scanner looks
    for (zeros included, so the paths are stable), "records_with_pii": texts with at least one
    match, "ner": whether names and places were searched with the NER model, "ner_filter":
    whether its hits passed the precision filter, "ner_dropped": {"total", "by_reason":
    {reason: hits}}, "examples" and "dropped_examples": up to ``max_examples`` each}``.

    An example is ``{"type", "location", "start", "end", "shape", "text", "before", "after"}``:
    ``location`` is ``locations[i]`` (default ``"record i"``), ``start``/``end`` character
    offsets in that text, ``shape`` the value's word shape (``Xxxxx Xxxxx``), ``before`` and
    ``after`` up to ``context`` words around it. ``text`` is the value as found, except for
    the secret types (cards, IBANs, SSNs), masked to their last four characters there and in
    every example's words; ``reveal=True`` masks nothing. A dropped example adds its
    ``reason``. The filter's ``common_word`` rule reads the case of the words of all
    ``texts`` (or ``case_counts``, those of a larger set ``texts`` were sampled from).

    ``all_hits``, when given, receives every hit, kept or dropped, unmasked, for the data
    owner: ``{"type", "location", "index", "start", "end", "text", "kept", "reason"}``.
    ``on_count(done, total)`` is told how many texts are scanned as the scan goes (the
    named-entity model's batches make it the long step of the privacy section).
    """
    if locations is not None and len(locations) != len(texts):
        raise InputError(
            f"{len(locations)} locations for {len(texts)} texts; give one per text",
            field="locations",
        )
    by_type = {t: 0 for t in sorted(scanner.types)}
    by_reason = dict.fromkeys(DROP_REASONS, 0)
    examples: list[dict[str, Any]] = []
    dropped_examples: list[dict[str, Any]] = []
    records_with_pii = 0
    counts = None
    if scanner.ner_available and scanner.ner_filter:
        counts = case_counts if case_counts is not None else CaseCounts.of(texts)
    results = scanner.iter_scan_results(texts, case_counts=counts)
    tally = Tally(on_count, len(texts))
    tally.start()
    for i, (text, result) in enumerate(zip(texts, results, strict=True)):
        tally.add()
        if not result.matches and not result.dropped:
            continue
        location = locations[i] if locations is not None else f"record {i}"
        shown = text if reveal else mask_secrets(text, result.matches)
        if result.matches:
            records_with_pii += 1
        for m in result.matches:
            by_type[m.type] += 1
            if len(examples) < max_examples:
                examples.append(_example(m, shown, location, context))
        for d in result.dropped:
            by_reason[d.reason] += 1
            if len(dropped_examples) < max_examples:
                dropped_examples.append(
                    {**_example(d.match, shown, location, context), "reason": d.reason}
                )
        if all_hits is not None:
            hits = [(m, None) for m in result.matches] + [
                (d.match, d.reason) for d in result.dropped
            ]
            for m, reason in sorted(hits, key=lambda h: h[0].start):
                all_hits.append(
                    {
                        "type": m.type,
                        "location": location,
                        "index": i,
                        "start": m.start,
                        "end": m.end,
                        "text": m.text,
                        "kept": reason is None,
                        "reason": reason,
                    }
                )
    return {
        "total": sum(by_type.values()),
        "by_type": by_type,
        "records_with_pii": records_with_pii,
        "ner": scanner.ner_available,
        "ner_filter": scanner.ner_available and scanner.ner_filter,
        "ner_dropped": {"total": sum(by_reason.values()), "by_reason": by_reason},
        "examples": examples,
        "dropped_examples": dropped_examples,
    }
