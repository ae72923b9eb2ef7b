"""Keeping secrets out of what we print and store: one function, applied where server text enters.

Every API key synthloom reads (``synthloom.llm.backends.api_key_from_env``) is remembered here for
the life of the process. ``redact`` removes those values, and the values of credential headers
(``Authorization``, ``Proxy-Authorization``, ``api-key``, ``x-api-key``) and bare ``Bearer``
tokens, from a text: servers and proxies that echo the request in an error body would otherwise
put the key into our error messages, and from there onto the terminal, into run.json and into
the failures/ and rejects/ Parquet parts. ``redact_values`` removes only the remembered values;
it is for model answers, where an HTTP tutorial may rightly mention an ``Authorization`` header.
"""

from __future__ import annotations

import json
import re

__all__ = ["REDACTED", "redact", "redact_values", "remember_secret"]

REDACTED = "[REDACTED]"

#: Shorter values are left alone in texts: placeholders such as "EMPTY" or "none" (what local
#: servers are given) are no secrets, and replacing them would mangle ordinary words.
_MIN_SECRET = 6

_secrets: set[str] = set()

# 'Authorization: Bearer x', '"authorization": "Bearer x"', "api-key=x", "x-api-key': 'x", ...
_HEADER_VALUE = re.compile(
    r"(?i)(\b(?:proxy-)?authorization|\bx-api-key|\bapi[-_]?key)"
    r"(\\?[\"']?\s*[:=]\s*\\?[\"']?\s*)"
    r"((?:bearer|basic|token)\s+)?+"  # possessive: a scheme word is never taken for the value
    r"(?!\[REDACTED\])([^\s\"'\\,;}&)\]]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer\s+)([A-Za-z0-9._~+/=-]{6,})")


def remember_secret(value: str) -> None:
    """Have ``redact`` and ``redact_values`` remove ``value`` (and its JSON-escaped form)."""
    if len(value) >= _MIN_SECRET:
        _secrets.add(value)
        _secrets.add(json.dumps(value)[1:-1])


def redact_values(text: str) -> str:
    """``text`` with every remembered secret value replaced by ``[REDACTED]``."""
    # Longest first, so that a key containing another one is removed whole.
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact(text: str) -> str:
    """``text`` without remembered secrets, credential header values or bearer tokens."""
    text = redact_values(text)
    text = _HEADER_VALUE.sub(lambda m: f"{m[1]}{m[2]}{m[3] or ''}{REDACTED}", text)
    return _BEARER.sub(lambda m: f"{m[1]}{REDACTED}", text)
