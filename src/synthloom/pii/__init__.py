"""Personal-data (PII) detectors and redaction, shared by the assay and curation.

This package owns one idea: finding personal data in free text and taking it out again. Its
modules: :mod:`~synthloom.pii.patterns` (validators, patterns, the overlap rule),
:mod:`~synthloom.pii.ner` (the named-entity model), :mod:`~synthloom.pii.precision` (the filter
of its hits), :mod:`~synthloom.pii.scanner` (:class:`PiiScanner`),
:mod:`~synthloom.pii.redaction` (:func:`redact`), :mod:`~synthloom.pii.display` (how a match is
shown for triage) and :mod:`~synthloom.pii.evaluation` (precision and recall against a labelled
set); the names below are the public face, importable from ``synthloom.pii``.

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
IP_ADDRESS     IPv4 (octets 0-255) and IPv6 (validated by :mod:`ipaddress`), whole: full,
               compressed, IPv4-mapped (``::ffff:192.0.2.128``) or with a zone id
               (``fe80::1%eth0``) is one match, never its IPv4 part alone. A dotted quad is
               an IPv4 address, except right after a version cue (``v1.2.3.4``,
               ``version 1.2.3.4``, ``release``, ``build``): those are version strings.
URL            ``http(s)://`` / ``ftp://`` / ``www.`` addresses
=============  ================================================================================

PERSON and LOCATION come from a named-entity model when one is installed: Presidio with the
small spaCy English model (``pip install 'synthloom[pii]'``), loaded lazily, once per process.
Its hits pass the precision filter of :mod:`~synthloom.pii.precision` (defined terms, product
names, acronyms, code, headings and common words are dropped, each with its reason).

Overlapping matches are resolved in three tiers: checksum-validated types (card, IBAN) beat
the other patterns, which beat the NER model; inside a tier the longest match wins, then the
earliest.

:func:`redact` replaces what a scan found, in four modes (typed placeholder, same-length mask,
salted hash, realistic fake). Every mode is idempotent: what it writes is either not PII-shaped
or a reserved fake value that a second ``replace`` pass leaves alone.
"""

from __future__ import annotations

from synthloom.pii.patterns import (
    NER_TYPES,
    PATTERN_TYPES,
    PII_TYPES,
    PiiMatch,
    iban_valid,
    luhn_valid,
)
from synthloom.pii.redaction import REDACT_MODES, RedactMode, redact
from synthloom.pii.scanner import DroppedHit, PiiScanner, ScanResult

__all__ = [
    "NER_TYPES",
    "PATTERN_TYPES",
    "PII_TYPES",
    "REDACT_MODES",
    "DroppedHit",
    "PiiMatch",
    "PiiScanner",
    "RedactMode",
    "ScanResult",
    "iban_valid",
    "luhn_valid",
    "redact",
]
