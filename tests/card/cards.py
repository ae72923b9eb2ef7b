"""Reading a card back in tests: its YAML header and the rows of its tables."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import yaml


def front_matter(card: Path) -> dict[str, Any]:
    text = card.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    data = yaml.safe_load(text[4:].split("\n---\n", 1)[0])
    assert isinstance(data, dict)
    return data


def _rows(chunk: str) -> list[list[str]]:
    rows = []
    for line in chunk.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells = line.strip().strip("|").split(" | ")
            rows.append([html.unescape(c.strip().replace("\\|", "|")) for c in cells])
    return rows[1:]  # without the header row


def table(card: Path, heading: str, occurrence: int = 0) -> list[list[str]]:
    """The rows of the table under the ``occurrence``-th heading that ends with ``heading``
    (0: the card's own run; 1: the first run it was made from)."""
    sections = [
        part.split("\n", 1)[1] if "\n" in part else ""
        for part in card.read_text(encoding="utf-8").split("\n#")
        if part.split("\n", 1)[0].rstrip().endswith(heading)
    ]
    return _rows(sections[occurrence])


def settings(card: Path, occurrence: int = 0) -> dict[str, str]:
    return {row[0]: row[1] for row in table(card, "Settings that change the data", occurrence)}
