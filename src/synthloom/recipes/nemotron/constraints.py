"""Verifiable instruction-following constraints: add them to prompts, check them on responses.

A constraint is a small dict (``{"type": "max_words", "value": 120}``) stored in the prompt
record's ``meta.constraints``; ``describe`` renders the instruction appended to the prompt and
``check`` decides, without a model, whether a response obeys it. ``augment`` draws a few
compatible constraints for a prompt from a seeded random generator, so a rerun adds the same ones.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["CONSTRAINT_TYPES", "augment", "check", "check_all", "describe"]

CONSTRAINT_TYPES: tuple[str, ...] = (
    "max_words",
    "min_words",
    "bullet_count",
    "json_format",
    "lowercase",
    "must_include",
    "must_not_include",
    "end_with",
)
# Pairs that cannot both hold, or make each other meaningless.
_CONFLICTS = {
    frozenset({"max_words", "min_words"}),
    frozenset({"json_format", "bullet_count"}),
    frozenset({"json_format", "end_with"}),
    frozenset({"json_format", "lowercase"}),
}
_KEYWORDS = ("example", "summary", "important", "because", "first", "finally", "note")
_ENDINGS = ("Is there anything else I can help with?", "That is all.", "Hope this helps.")
_WORD = re.compile(r"\b[\w'-]+\b")
_BULLET_LINE = re.compile(r"^\s*[-*•]\s+\S", re.MULTILINE)


def describe(constraint: Mapping[str, Any]) -> str:
    """The instruction sentence for one constraint."""
    kind, value = constraint["type"], constraint.get("value")
    texts = {
        "max_words": f"Answer in at most {value} words.",
        "min_words": f"Answer in at least {value} words.",
        "bullet_count": f"Format the answer as exactly {value} bullet points starting with '- '.",
        "json_format": "Wrap the whole answer in one valid JSON object.",
        "lowercase": "Write the whole answer in lowercase letters; no capitals at all.",
        "must_include": f"Include the word '{value}' in the answer.",
        "must_not_include": f"Do not use the word '{value}' anywhere in the answer.",
        "end_with": f"End the answer with the exact phrase: {value}",
    }
    if kind not in texts:
        raise ValueError(f"unknown constraint type {kind!r}; valid: {', '.join(CONSTRAINT_TYPES)}")
    return texts[kind]


def _json_object(text: str) -> bool:
    body = text.strip()
    if body.startswith("```"):
        body = re.sub(r"^```\w*\s*|\s*```$", "", body)
    try:
        return isinstance(json.loads(body), dict)
    except ValueError:
        return False


def check(constraint: Mapping[str, Any], response: str) -> bool:
    """Whether ``response`` obeys ``constraint``."""
    kind = constraint["type"]
    value: Any = constraint.get("value")
    words = _WORD.findall(response)
    if kind == "max_words":
        return len(words) <= int(value)
    if kind == "min_words":
        return len(words) >= int(value)
    if kind == "bullet_count":
        return len(_BULLET_LINE.findall(response)) == int(value)
    if kind == "json_format":
        return _json_object(response)
    if kind == "lowercase":
        return response == response.lower()
    if kind == "must_include":
        return re.search(rf"\b{re.escape(str(value))}\b", response, re.IGNORECASE) is not None
    if kind == "must_not_include":
        return re.search(rf"\b{re.escape(str(value))}\b", response, re.IGNORECASE) is None
    if kind == "end_with":
        return response.rstrip().endswith(str(value).rstrip())
    raise ValueError(f"unknown constraint type {kind!r}; valid: {', '.join(CONSTRAINT_TYPES)}")


def check_all(constraints: Sequence[Mapping[str, Any]], response: str) -> dict[str, Any]:
    """``{"passed": bool, "failed": [type, ...]}`` for a response against all its constraints."""
    failed = [c["type"] for c in constraints if not check(c, response)]
    return {"passed": not failed, "failed": failed}


def _draw(kind: str, rng: random.Random) -> dict[str, Any]:
    if kind == "max_words":
        return {"type": kind, "value": rng.choice((50, 80, 120, 200))}
    if kind == "min_words":
        return {"type": kind, "value": rng.choice((150, 250, 400))}
    if kind == "bullet_count":
        return {"type": kind, "value": rng.randint(3, 6)}
    if kind in ("must_include", "must_not_include"):
        return {"type": kind, "value": rng.choice(_KEYWORDS)}
    if kind == "end_with":
        return {"type": kind, "value": rng.choice(_ENDINGS)}
    return {"type": kind}


def augment(
    prompt: str,
    rng: random.Random,
    *,
    count: int = 1,
    types: Sequence[str] = CONSTRAINT_TYPES,
) -> tuple[str, list[dict[str, Any]]]:
    """``prompt`` with ``count`` compatible constraints appended, and the constraints."""
    unknown = [t for t in types if t not in CONSTRAINT_TYPES]
    if unknown:
        raise ValueError(
            f"unknown constraint type(s) {unknown}; valid: {', '.join(CONSTRAINT_TYPES)}"
        )
    chosen: list[dict[str, Any]] = []
    pool = list(types)
    rng.shuffle(pool)
    for kind in pool:
        if len(chosen) >= count:
            break
        if any(frozenset({kind, c["type"]}) in _CONFLICTS for c in chosen):
            continue
        drawn = _draw(kind, rng)
        if kind in ("must_include", "must_not_include"):
            # Never require and forbid the same word: draw the other rule's word from the rest.
            taken = {
                c["value"] for c in chosen if c["type"] in ("must_include", "must_not_include")
            }
            if drawn["value"] in taken:
                drawn["value"] = rng.choice([w for w in _KEYWORDS if w not in taken])
        chosen.append(drawn)
    text = prompt.rstrip() + "\n\n" + " ".join(describe(c) for c in chosen)
    return text, chosen
