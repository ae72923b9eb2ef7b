"""Fixtures for the Nemotron tests: the fake server scripted to answer like a teacher that
writes lists (in a different messy format for each family) plus a NIM-style reward model."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest


def _items(prompt: str, stem: str) -> list[str]:
    n = int(re.search(r"(?:list|write) (\d+)", prompt, re.I).group(1))  # type: ignore[union-attr]
    tag = hashlib.sha1(prompt.encode()).hexdigest()[:6]
    return [f"{stem} {tag}-{i}" for i in range(n)]


def teacher_script(body: dict[str, Any], endpoint: str) -> str | None:
    """Answers by the kind of prompt; None leaves the default (a hash of the prompt)."""
    if body.get("model") != "fake-teacher" or endpoint != "chat":
        return None
    prompt = body["messages"][-1]["content"]
    if "distinct subtopics" in prompt:
        items = _items(prompt, "Subtopic")
        return (
            "Sure! Here are some subtopics:\n\n"
            + "\n".join(f"{i + 1}. **{s}**" for i, s in enumerate(items))
            + "\n\nLet me know if you need more."
        )
    if "questions a curious person" in prompt:
        return "\n".join(f"- {q}?" for q in _items(prompt, "Question"))
    if "requests that ask an assistant" in prompt:
        return "```json\n" + json.dumps(_items(prompt, "Write a piece")) + "\n```"
    if "Read the document below" in prompt:
        return "questions:\n" + "\n".join(f"  - {q}" for q in _items(prompt, "What does it say"))
    if "math problems" in prompt:
        return "\n".join(f"{i + 1}) {p}" for i, p in enumerate(_items(prompt, "Compute")))
    if "Python programming problems" in prompt:
        return json.dumps({"problems": _items(prompt, "Implement")})
    if "Rewrite the question" in prompt or "Rewrite the writing request" in prompt:
        original = re.search(r"^(?:Question|Request): (.*)$", prompt, re.M).group(1)  # type: ignore[union-attr]
        return f"In detail: {original}"
    if "playing the user" in prompt:
        return (
            "Could you go into more detail on that "
            + hashlib.sha1(prompt.encode()).hexdigest()[:6]
            + "?"
        )
    return None


@pytest.fixture()
def server_options() -> dict[str, Any]:
    return {"reward_models": {"fake-reward"}, "responder": teacher_script}
