"""Redaction for :mod:`synthloom.pii`: what a scan found, replaced in one of four modes."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterator, Sequence
from typing import Literal

from synthloom.errors import InputError
from synthloom.pii.patterns import PiiMatch, luhn_valid

__all__ = ["REDACT_MODES", "RedactMode", "redact"]

REDACT_MODES: tuple[str, ...] = ("redact", "mask", "hash", "replace")

RedactMode = Literal["redact", "mask", "hash", "replace"]

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
