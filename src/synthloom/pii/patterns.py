"""The pattern detectors of :mod:`synthloom.pii`: validators with checksums, precompiled
patterns, one finder per type, and the overlap rule every scan ends with."""

from __future__ import annotations

import bisect
import ipaddress
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

__all__ = [
    "FINDERS",
    "MIN_DIGITS",
    "NER_TYPES",
    "PATTERN_TYPES",
    "PII_TYPES",
    "PiiMatch",
    "count_digits",
    "iban_valid",
    "luhn_valid",
    "resolve_overlaps",
    "scan_patterns",
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
# The dotted tail is tried before a hex group: "::ffff:192.0.2.128" is one IPv4-mapped address,
# not "::ffff:192" followed by the rest. A zone id ("fe80::1%eth0") belongs to the address.
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?"
    r"(?:%[0-9A-Za-z_~-]+(?:\.[0-9A-Za-z_~-]+)*)?(?![\w:%]|\.\d)"
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


_ASCII_DIGITS = "0123456789"


def count_digits(text: str) -> int:
    """How many digits (``str.isdigit``) ``text`` holds (the digit-based finders' cheap
    pre-check)."""
    # str.count runs in C: ten passes over an ASCII text cost less than one Python loop.
    ascii_digits = sum(map(text.count, _ASCII_DIGITS))
    if text.isascii():
        return ascii_digits
    return ascii_digits + sum(map(str.isdigit, _ASCII_RUN.sub("", text)))


_ASCII_RUN = re.compile(r"[\x00-\x7f]+")


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
    yield from _find_ipv4(text)
    yield from _find_ipv6(text)


def _find_ipv4(text: str) -> Iterator[tuple[int, int]]:
    if "." in text:
        for m in _IPV4.finditer(text):
            if _VERSION_CUE.search(text, max(0, m.start() - 12), m.start()):
                continue
            yield m.span()


def _find_ipv6(text: str) -> Iterator[tuple[int, int]]:
    if text.count(":") >= 2:
        for m in _IPV6.finditer(text):
            value = m.group()
            address = value.split("%", 1)[0]
            # Require real content: times (12:30:45), bare '::' and C++ scopes (a::b) are not
            # addresses; a zone id or a dotted IPv4 tail is content enough (fe80::1%eth0).
            groups = sum(1 for g in re.split(r"[:.]", address) if g)
            if groups < 3 and "%" not in value and "." not in address:
                continue
            try:
                ipaddress.IPv6Address(value)
            except ValueError:
                continue
            yield m.span()


def _find_phones(text: str) -> Iterator[tuple[int, int]]:
    if "+" in text:
        for m in _PHONE_INTL.finditer(text):
            if 8 <= count_digits(m.group()) <= 15:
                yield m.span()
    for m in _PHONE_NATIONAL.finditer(text):
        if 9 <= count_digits(m.group()) <= 12:
            yield m.span()


#: The finder of each pattern type: (start, end) of every match in a text.
FINDERS: dict[str, Callable[[str], Iterator[tuple[int, int]]]] = {
    "EMAIL": _find_emails,
    "PHONE": _find_phones,
    "CREDIT_CARD": _find_cards,
    "IBAN": _find_ibans,
    "US_SSN": _find_ssns,
    "IP_ADDRESS": _find_ips,
    "URL": _find_urls,
}
#: Digit-based detectors cannot match a text with fewer digits than this; counting is cheaper.
MIN_DIGITS = {"PHONE": 8, "CREDIT_CARD": 13, "IBAN": 2, "US_SSN": 9}


# Substrings every match of a pattern holds, searched before the pattern itself runs. Both start
# with a literal, which the regex engine finds with a fast scan instead of trying the full
# pattern (and its look-behinds) at every position.
_IPV4_HINT = re.compile(r"\.\d{1,3}\.\d{1,3}\.")  # a.b.c.d: the dots around b and c
_IBAN_HINT = re.compile(r"[A-Z]{2}\d\d")  # country code and check digits
_IPV6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:")  # two of the colons


def _could_match(kind: str, text: str, digits: int) -> bool:
    """False when ``kind``'s finder cannot match ``text``: each test is a character, count or
    substring every match of the type holds, checked before the type's patterns run."""
    if digits < MIN_DIGITS.get(kind, 0):
        return False
    if kind == "EMAIL":
        return "@" in text
    if kind == "URL":
        # Only w and W match (?i)w, and lower() makes "w" of nothing else but W.
        return "://" in text or ("." in text and "www." in text.lower())
    if kind == "US_SSN":
        return text.count("-") >= 2
    if kind == "IBAN":
        return _IBAN_HINT.search(text) is not None
    return True


_DIGIT_BOUND = frozenset(MIN_DIGITS) | {"IP_ADDRESS"}


def scan_patterns(text: str, types: Sequence[str]) -> list[PiiMatch]:
    """Every match of the pattern ``types`` in ``text``, overlaps unresolved: the matches of
    ``FINDERS[kind](text)`` for each kind, in the order of ``types``. Types that cannot match
    (no ``@`` for an e-mail, too few digits for a phone...) are skipped before their
    patterns run: most texts hold no personal data, and a regex costs a pass per pattern."""
    found: list[PiiMatch] = []
    digits = count_digits(text) if not _DIGIT_BOUND.isdisjoint(types) else 0
    for kind in types:
        spans: Iterable[tuple[int, int]]
        if kind == "IP_ADDRESS":
            # The IPv4 and IPv6 halves of the finder, each behind its own hint.
            spans = itertools.chain(
                _find_ipv4(text) if digits >= 4 and _IPV4_HINT.search(text) else (),
                _find_ipv6(text) if _IPV6_HINT.search(text) else (),
            )
        elif _could_match(kind, text, digits):
            spans = FINDERS[kind](text)
        else:
            continue
        for start, end in spans:
            found.append(PiiMatch(kind, start, end, text[start:end]))
    return found


def resolve_overlaps(matches: list[PiiMatch]) -> list[PiiMatch]:
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
