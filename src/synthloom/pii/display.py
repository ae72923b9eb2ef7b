"""How a match of :mod:`synthloom.pii` is shown to a person triaging it: its shape, its words
around it, and its value, masked only for the secret types.

A report that masks every value (``L******d``) hides what a user must see to judge a hit: that
"Landlord" was taken for a name. Names, places, e-mail addresses, phones, URLs and IP addresses
are therefore shown as found; the types whose value is a secret by itself and carries a checksum
(:data:`SECRET_TYPES`: payment cards, IBANs, US social security numbers) are masked to their
last four characters, in the value and wherever they appear in the words around another match.
"""

from __future__ import annotations

from collections.abc import Sequence

from synthloom.pii.patterns import PiiMatch

__all__ = ["SECRET_TYPES", "context_words", "mask_secrets", "masked_value", "token_shape"]

#: Types whose value is masked wherever a report shows it.
SECRET_TYPES: frozenset[str] = frozenset({"CREDIT_CARD", "IBAN", "US_SSN"})


def token_shape(value: str) -> str:
    """spaCy's word shape of ``value``: capitals ``X``, small letters ``x``, digits ``d``, other
    characters kept, a run of one kind cut at four (``Landlord`` -> ``Xxxxx``,
    ``Maria Keller`` -> ``Xxxxx Xxxxx``, ``DPCTGAN`` -> ``XXXX``)."""
    out: list[str] = []
    last = ""
    run = 0
    for char in value:
        if char.isalpha():
            kind = "X" if char.isupper() else "x"
        elif char.isdigit():
            kind = "d"
        else:
            kind = char
        run = run + 1 if kind == last else 1
        last = kind
        if run <= 4:
            out.append(kind)
    return "".join(out)


def masked_value(kind: str, value: str) -> str:
    """``value`` as a report shows it: secret types keep their last four letters or digits
    (separators too, so the length is the same), every other type is shown as it is."""
    if kind not in SECRET_TYPES:
        return value
    positions = [i for i, c in enumerate(value) if c.isalnum()]
    keep = set(positions[-4:])
    return "".join(c if i in keep or not c.isalnum() else "*" for i, c in enumerate(value))


def mask_secrets(text: str, matches: Sequence[PiiMatch]) -> str:
    """``text`` with every secret-type match masked in place (offsets do not move)."""
    secrets = [m for m in matches if m.type in SECRET_TYPES]
    if not secrets:
        return text
    out = list(text)
    for m in secrets:
        out[m.start : m.end] = masked_value(m.type, text[m.start : m.end])
    return "".join(out)


def context_words(text: str, start: int, end: int, words: int = 6) -> tuple[str, str]:
    """Up to ``words`` words before ``text[start:end]`` and after it, whitespace collapsed."""
    lo = max(0, start - 40 * words)
    hi = min(len(text), end + 40 * words)
    before = text[lo:start].split()
    after = text[end:hi].split()
    # A window edge that cuts a word leaves a piece of it: drop the piece.
    if lo > 0 and before and not text[lo - 1].isspace():
        before = before[1:]
    if hi < len(text) and after and not text[hi].isspace():
        after = after[:-1]
    return " ".join(before[-words:] if words else []), " ".join(after[:words])
