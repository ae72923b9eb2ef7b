"""What an answer looks like, beyond its words: empty, a refusal, formatted with markdown.

Refusals are recognised by the openings assistants use to decline (``I'm sorry, but I can't``,
``As an AI language model, I cannot``, ``I won't be able to help``...) within the first
:data:`REFUSAL_WINDOW` characters: a long helpful answer that says "I can't stress enough"
halfway through is not a refusal. The format markers are the markdown constructs a judge or a
reward model may favour regardless of content (Chiang et al. 2024 found markdown lists and
headers raise Chatbot Arena win rates; the "style control" of its leaderboard discounts them).
"""

from __future__ import annotations

import re

__all__ = ["FORMAT_MARKERS", "REFUSAL_WINDOW", "format_markers", "is_empty", "is_refusal"]

#: How far into an answer a refusal opening is looked for (characters).
REFUSAL_WINDOW = 240

_A = "['\u2019]"  # straight or typographic apostrophe
# "can't", "cannot", "won't", "'m unable to", "am not able to", "must decline"...
_NEG = (
    rf"(?:can{_A}?t|cannot|can not|won{_A}t|will not|must decline|have to decline"
    rf"|(?:{_A}m|\s+am)\s+(?:not able|unable|not going)(?:\s+to)?)"
)
_VERB = (
    r"(?:help|assist|provide|comply|fulfil|fulfill|do that|create|write|generate|support"
    r"|share|give|engage|answer|complete|continue|participate)"
)
_REFUSAL = re.compile(
    r"(?:^|[.!?]\s+|\n)\s*(?:"
    rf"(?:I{_A}m|I\s+am)\s+(?:\w+\s+)?sorry,?\s+(?:but\s+)?I\s*{_NEG}"
    rf"|I\s*{_NEG}\s+{_VERB}"
    r"|As an AI(?:\s+language model|\s+assistant)?,\s+I\s+(?:can|do|don|am|have|must|won)"
    rf"|Unfortunately,?\s+I\s*{_NEG}"
    r"|I apologi[sz]e,?\s+but\s+I\s"
    r")",
    re.IGNORECASE,
)

#: Marker name -> the pattern that finds it (line-anchored ones use re.MULTILINE).
FORMAT_MARKERS: dict[str, re.Pattern[str]] = {
    "bullet_list": re.compile(r"^[ \t]*[-*+\u2022][ \t]+\S", re.MULTILINE),
    "numbered_list": re.compile(r"^[ \t]*\d{1,3}[.)][ \t]+\S", re.MULTILINE),
    "code_block": re.compile(r"^[ \t]*(?:```|~~~)", re.MULTILINE),
    "header": re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+\S", re.MULTILINE),
    # ``**`` only: ``__init__`` is a Python name far more often than bold text.
    "bold": re.compile(r"\*\*[^*\n]+\*\*"),
    "table": re.compile(r"^[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*\|", re.MULTILINE),
}


def is_empty(text: str) -> bool:
    """An answer with nothing to read (empty or whitespace only)."""
    return not text.strip()


def is_refusal(text: str) -> bool:
    """Whether an answer opens by declining (see the module docstring)."""
    return bool(_REFUSAL.search(text[:REFUSAL_WINDOW]))


def format_markers(text: str) -> dict[str, bool]:
    """Which of :data:`FORMAT_MARKERS` the text uses."""
    return {name: bool(pattern.search(text)) for name, pattern in FORMAT_MARKERS.items()}
