"""A scripted LAB teacher for the fake server: answers each of our prompts in the format it
asks for, as a pure function of the request body, with planted bad items for every judge.

Planted: some question requests get chatter with no tags (unusable answer), some questions are
"weak" (the question judge says 0), some answers are "(bad)" (the pair judge says 1), some
knowledge answers are "unsupported" (the faithfulness judge says 0).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

_COUNT = re.compile(r"Write (\d+) new")


def _h(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16)


def _between(text: str, tag: str) -> str:
    match = re.search(rf"<{tag}>\s*(.*?)\s*</{tag}>", text, re.DOTALL)
    return match.group(1) if match else ""


def lab_responder(body: dict[str, Any], endpoint: str) -> str | None:
    prompt = body["messages"][-1]["content"] if endpoint == "chat" else body["prompt"]
    h = _h(prompt + str(body.get("seed")))
    count_match = _COUNT.search(prompt)
    count = int(count_match.group(1)) if count_match else 1
    if prompt.startswith("You are writing new questions"):
        if h % 11 == 0:
            return "Sure, here are some great questions for you!"
        out = []
        for i in range(count):
            weak = " weak" if (h + i) % 4 == 0 else ""
            out.append(f"<question>Generated{weak} question {h:x}-{i}?</question>")
        return "\n".join(out)
    if prompt.startswith("You are writing a new context passage"):
        return f"<context>Meeting {h:x}: Kim will file the report by Friday.</context>"
    if prompt.startswith("You are judging a question"):
        question = _between(prompt, "question")
        return "Rationale: vague.\nScore: 0" if "weak" in question else "Rationale: ok.\nScore: 1"
    if prompt.startswith("You are an expert assistant"):
        return f"Answer {h:x}" + (" (bad)" if h % 5 == 0 else "")
    if prompt.startswith("You are grading an answer"):
        answer = _between(prompt, "answer")
        return "Rationale: wrong.\nScore: 1" if "(bad)" in answer else "Rationale: fine.\nScore: 3"
    if prompt.startswith("You are writing question and answer pairs"):
        pairs = []
        for i in range(count):
            note = " unsupported" if (h + i) % 5 == 0 else ""
            pairs.append(
                f"<question>Fact question {h:x}-{i}?</question>\n"
                f"<answer>Fact answer {h:x}-{i}{note}.</answer>"
            )
        return "\n".join(pairs)
    if prompt.startswith("You are checking that an answer is faithful"):
        answer = prompt.split("Answer:", 1)[1].split("\n", 1)[0]
        return "Rationale: not in passage.\nScore: 0" if "unsupported" in answer else "Score: 1"
    if prompt.startswith("You are checking that an answer addresses"):
        return "Rationale: on topic.\nScore: 2"
    if prompt.startswith("You are checking the quality of a question"):
        return "Rationale: clear.\nScore: 1"
    return None
