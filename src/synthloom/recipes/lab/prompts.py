"""The LAB prompts (Jinja templates in ``prompts/``, written for synthloom) and the parsers of
the teacher's answers.

Answers use simple tags (``<question>``, ``<context>``, ``<answer>``) and judges end with a
``Score: N`` line: formats that small open models follow reliably and that survive chatter
around them. A parser raises ValueError for an answer it cannot use, so the teacher client asks
again (and rejects the item after ``max_parse_attempts``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

__all__ = [
    "Score",
    "parse_answer",
    "parse_contexts",
    "parse_pairs",
    "parse_questions",
    "parse_score",
    "render",
]

_DIR = Path(__file__).resolve().parent / "prompts"


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_DIR),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,  # plain-text prompts, never HTML
    )


def render(template: str, **values: Any) -> str:
    """Render ``prompts/<template>.j2``."""
    return _env().get_template(f"{template}.j2").render(**values).strip()


def _tagged(text: str, tag: str) -> list[str]:
    pattern = re.compile(rf"<{tag}>\s*(.*?)\s*</{tag}>", re.DOTALL | re.IGNORECASE)
    return [m.strip() for m in pattern.findall(text) if m.strip()]


def parse_questions(text: str) -> list[str]:
    """Every ``<question>`` in the answer (ValueError when there is none)."""
    found = _tagged(text, "question")
    if not found:
        raise ValueError("no <question>...</question> in the answer")
    return found


def parse_contexts(text: str) -> list[str]:
    """Every ``<context>`` in the answer (ValueError when there is none)."""
    found = _tagged(text, "context")
    if not found:
        raise ValueError("no <context>...</context> in the answer")
    return found


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """``<question>`` / ``<answer>`` pairs in order (ValueError when there is none)."""
    pattern = re.compile(
        r"<question>\s*(.*?)\s*</question>\s*<answer>\s*(.*?)\s*</answer>",
        re.DOTALL | re.IGNORECASE,
    )
    pairs = [(q.strip(), a.strip()) for q, a in pattern.findall(text) if q.strip() and a.strip()]
    if not pairs:
        raise ValueError("no <question>...</question><answer>...</answer> pair in the answer")
    return pairs


def parse_answer(text: str) -> str:
    """The answer text (inside ``<answer>`` tags when the teacher added them)."""
    tagged = _tagged(text, "answer")
    answer = tagged[0] if tagged else text.strip()
    if answer.lower().startswith("answer:"):
        answer = answer[7:].strip()
    if not answer:
        raise ValueError("the answer is empty")
    return answer


@dataclass(frozen=True, slots=True)
class Score:
    value: int
    rationale: str


_SCORE = re.compile(r"score\s*[:=]\s*\**\s*(\d+)", re.IGNORECASE)
_RATIONALE = re.compile(r"rationale\s*:\s*(.*)", re.IGNORECASE)


def parse_score(text: str, *, low: int, high: int) -> Score:
    """The last ``Score: N`` line, which must lie in ``[low, high]``."""
    found = _SCORE.findall(text)
    if not found:
        raise ValueError("no 'Score: N' line in the judge's answer")
    value = int(found[-1])
    if not low <= value <= high:
        raise ValueError(f"score {value} is outside {low}..{high}")
    match = _RATIONALE.search(text)
    rationale = match.group(1).strip() if match else ""
    return Score(value, rationale[:500])
