"""Turning a model's list answer into a Python list of strings, without a second model call.

Models answer "give me 5 topics" in many shapes: a JSON array (bare, fenced, or inside an object),
a YAML sequence, a numbered list (``1.``, ``1)``, ``(1)``, ``Question 1:``), a bulleted list
(``-``, ``*``, ``•``, ``+``), often wrapped in a sentence of preamble and a closing remark.
``parse_list`` tries the strict formats first (they say exactly where items begin and end), then
the line-marker formats; an answer none of them explains raises ``ListParseError`` with the
reason, which the caller records as a reject.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

__all__ = ["ListParseError", "parse_list"]


class ListParseError(ValueError):
    """The answer holds no list we can read (a ValueError, so parse hooks treat it as a reject)."""


_FENCE = re.compile(r"```[\w-]*\s*\n(.*?)```", re.DOTALL)
# "1. x", "1) x", "(1) x", "1: x", "1 - x", "#1 x", "Q1: x", "Question 1: x", "Step 1. x"
_NUMBERED = re.compile(
    r"^\s*(?:\*\*)?(?:(?:question|q|item|topic|task|problem|step|no\.?)\s*)?#?\(?(\d{1,3})"
    r"(?:[.):]|\s+-|\s+–)(?:\*\*)?\s+(.*)$",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^\s*(?:[-*•+▪‣◦]|\u2022)\s+(.*)$")
_WRAPPING = "\"'`“”‘’"


def _clean(item: str) -> str:
    """Strip markdown emphasis, surrounding quotes and trailing separators from one item."""
    text = " ".join(item.split())
    # **Title**: rest -> Title: rest ; bold used for emphasis carries no meaning in an item.
    text = text.replace("**", "").replace("__", "")
    text = text.strip().rstrip(",;").strip()
    if len(text) >= 2 and text[0] in _WRAPPING and text[-1] in _WRAPPING:
        text = text[1:-1].strip()
    return text


def _from_value(value: Any) -> list[str] | None:
    """A list of strings from a decoded JSON/YAML value, or None if it is not list-shaped."""
    if isinstance(value, dict):
        # {"topics": [...]} or {"items": [...]}: the one list-valued field.
        lists = [v for v in value.values() if isinstance(v, list)]
        if len(lists) != 1:
            return None
        value = lists[0]
    if not isinstance(value, list) or not value:
        return None
    items: list[str] = []
    # [{"topic": a}, {"topic": b}]: the shared key is a label, not content.
    shared_keys = (
        all(isinstance(e, dict) for e in value) and len({tuple(sorted(e)) for e in value}) == 1
    )
    for entry in value:
        if isinstance(entry, str | int | float) and not isinstance(entry, bool):
            items.append(str(entry))
        elif isinstance(entry, dict) and len(entry) >= 1:
            # [{"question": "..."}] -> the first string field; {"Title": "text"} -> "Title: text"
            strings = [v for v in entry.values() if isinstance(v, str)]
            if len(entry) == 1 and not shared_keys:
                key, val = next(iter(entry.items()))
                items.append(f"{key}: {val}" if isinstance(val, str) and val else str(key))
            elif strings:
                items.append(strings[0])
            else:
                return None
        else:
            return None
    cleaned = [_clean(i) for i in items]
    return [c for c in cleaned if c] or None


def _try_json(text: str) -> list[str] | None:
    start = min((i for i in (text.find("["), text.find("{")) if i >= 0), default=-1)
    if start < 0:
        return None
    end = max(text.rfind("]"), text.rfind("}"))
    if end <= start:
        return None
    try:
        value = json.loads(text[start : end + 1])
    except ValueError:
        return None
    return _from_value(value)


def _try_yaml(text: str) -> list[str] | None:
    # Only text that is a YAML sequence from its first line: prose parses as a YAML string, and a
    # markdown bullet list would also parse as YAML but is handled (more leniently) below.
    stripped = text.strip()
    if not (stripped.startswith("- ") or re.match(r"^[A-Za-z_]\w*:\s*\n\s*- ", stripped)):
        return None
    try:
        value = yaml.safe_load(stripped)
    except yaml.YAMLError:
        return None
    return _from_value(value)


def _marker_items(lines: list[str], pattern: re.Pattern[str], group: int) -> list[str]:
    """Items that start at a marker line; unmarked lines right after an item continue it."""
    items: list[str] = []
    current: list[str] | None = None
    blank_run = 0
    for line in lines:
        match = pattern.match(line)
        if match:
            if current is not None:
                items.append(" ".join(current))
            current = [match.group(group)]
            blank_run = 0
        elif not line.strip():
            blank_run += 1
        elif current is not None and blank_run == 0 and (line[:1].isspace() or not items):
            # An indented line continues its item; so does any line right under the first.
            current.append(line.strip())
        elif current is not None:
            # An unindented line after a gap ends the list (a closing remark).
            items.append(" ".join(current))
            current = None
    if current is not None:
        items.append(" ".join(current))
    return [c for c in (_clean(i) for i in items) if c]


def parse_list(text: str, *, min_items: int = 1, max_items: int | None = None) -> list[str]:
    """The items of the list in ``text``; raises ListParseError saying why there is none.

    ``max_items`` truncates (models often give one more than asked); fewer than ``min_items``
    is an error. Duplicates (case-insensitive) are dropped, keeping the first.
    """
    if not text or not text.strip():
        raise ListParseError("the answer is empty")
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    items: list[str] | None = None
    for body in candidates:
        items = _try_json(body) or _try_yaml(body)
        if items:
            break
        lines = body.splitlines()
        numbered = _marker_items(lines, _NUMBERED, 2)
        bulleted = _marker_items(lines, _BULLET, 1)
        items = numbered if len(numbered) >= len(bulleted) else bulleted
        if len(items) >= 2 or (items and min_items <= 1):
            break
        items = None
    if not items:
        raise ListParseError("no numbered, bulleted, JSON or YAML list found in the answer")
    seen: set[str] = set()
    unique: list[str] = []
    for item in items:
        key = item.casefold()
        if key not in seen:
            seen.add(key)
            unique.append(item)
    if len(unique) < min_items:
        raise ListParseError(f"found {len(unique)} list item(s), expected at least {min_items}")
    return unique[:max_items] if max_items is not None else unique
