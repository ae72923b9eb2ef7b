"""Preference sets built the way people write them, with flaws planted in known numbers.

The answers are real English prose: sentences of CPython's own reference documentation
(``pydoc_data.topics``, shipped with every Python), answering questions about the topic they
come from. Each pair's two answers use different sentences of the topic, so they are alike only
as two answers to one question are. A longer answer has five sentences, a shorter one two (12 to
25 tokens each), so "the longer answer" is certain however the sentences fall.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from pydoc_data.topics import topics as _PYDOC
from typing import Any

from synthloom.text import tokenize

PROMPT_FORMS = (
    "How does {t} work in Python?",
    "can you explain {t} to me? I know a bit of python but the docs confuse me",
    "What are the rules for {t} in Python 3 — and what are the usual gotchas?",
)
REFUSAL = "I'm sorry, but I can't help with that request."


def _sentences() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key, text in sorted(_PYDOC.items()):
        parts = re.split(r"(?<=[.])\s+(?=[A-Z])", text)
        usable = [
            re.sub(r"\s+", " ", s).strip()
            for s in parts
            if 12 <= len(tokenize(s)) <= 25 and not re.search(r"[*|#`]|^\s*[-+]", s)
        ]
        if len(usable) >= 8:
            found[key.replace("-", " ")] = usable
    return found


SENTENCES = _sentences()
TOPICS = sorted(SENTENCES)


@dataclass
class Plan:
    """What one pair looks like; the builder turns it into text."""

    prompt: str
    chosen_long: bool | None  # None: both answers the same length (identical pairs)
    chosen_score: float
    rejected_score: float
    chosen_bullets: bool = False
    rejected_bullets: bool = False
    kind: str = "normal"  # normal | identical | near_identical | refusal
    extra: dict[str, Any] = field(default_factory=dict)


def _answer(sentences: list[str], bullets: bool) -> str:
    if bullets:
        return "In short:\n" + "\n".join(f"- {s}" for s in sentences)
    return " ".join(sentences)


def build(plans: list[Plan], seed: int) -> list[dict[str, str | float]]:
    """``{prompt, chosen, rejected, score_chosen, score_rejected}`` rows for the plans."""
    rng = random.Random(seed)
    rows: list[dict[str, str | float]] = []
    for i, plan in enumerate(plans):
        topic = TOPICS[i % len(TOPICS)]
        picked = rng.sample(SENTENCES[topic], 7)
        long_side, short_side = picked[:5], picked[5:]
        if plan.chosen_long is False:
            chosen_s, rejected_s = short_side, long_side
        else:
            chosen_s, rejected_s = long_side, short_side
        chosen = _answer(chosen_s, plan.chosen_bullets)
        rejected = _answer(rejected_s, plan.rejected_bullets)
        if plan.kind == "identical":
            rejected = chosen
        elif plan.kind == "near_identical":
            rejected = chosen.replace(" the ", " a ", 1)  # one word changed, same length
            assert rejected != chosen
        elif plan.kind == "refusal":
            rejected = REFUSAL
        rows.append(
            {
                "prompt": plan.prompt,
                "chosen": chosen,
                "rejected": rejected,
                "score_chosen": plan.chosen_score,
                "score_rejected": plan.rejected_score,
            }
        )
    return rows


def _prompt(i: int) -> str:
    return PROMPT_FORMS[(i // len(TOPICS)) % len(PROMPT_FORMS)].format(t=TOPICS[i % len(TOPICS)])


def fair_plans(n: int = 40, seed: int = 0) -> list[Plan]:
    """Chosen longer in half the pairs, wide margins, one bullet list on each side as often,
    every prompt once."""
    rng = random.Random(seed)
    plans = []
    for i in range(n):
        plans.append(
            Plan(
                prompt=_prompt(i),
                chosen_long=i % 2 == 0,
                chosen_score=round(rng.uniform(2.6, 4.0), 3),
                rejected_score=round(rng.uniform(0.0, 2.0), 3),
                chosen_bullets=i % 10 == 3,
                rejected_bullets=i % 10 == 7,
            )
        )
    return plans


#: What :func:`flawed_plans` plants (40 pairs).
FLAWED = {
    "pairs": 40,
    "identical": 3,
    "near_identical": 4,  # the identical ones and one with a word changed
    "chosen_longer": 31,
    "rejected_longer": 5,
    "equal": 4,  # the identical and near-identical pairs
    "ties": 5,
    "refusals": 2,  # on the rejected side
    "duplicated_prompts": 1,
    "pairs_on_duplicated": 3,
    "bullets_chosen_only": 17,
    "bullets_rejected_only": 1,
}


def flawed_plans(seed: int = 1) -> list[Plan]:
    """40 pairs with the flaws of :data:`FLAWED`."""
    rng = random.Random(seed)
    plans = []
    for i in range(FLAWED["pairs"]):
        plan = Plan(
            prompt=_prompt(i),
            chosen_long=i % 8 != 5,  # i = 5, 13, 21, 29, 37: rejected longer
            chosen_score=round(rng.uniform(2.6, 4.0), 3),
            rejected_score=round(rng.uniform(0.0, 2.0), 3),
            chosen_bullets=i % 2 == 0,
            rejected_bullets=i == 13,
        )
        if i in (2, 17, 30):
            plan.kind, plan.chosen_long = "identical", True
            plan.chosen_bullets = False
        elif i == 24:
            plan.kind, plan.chosen_long = "near_identical", True
            plan.chosen_bullets = False
        elif i in (8, 20):
            plan.kind = "refusal"
        if i in (4, 11, 19, 26, 35):
            plan.rejected_score = plan.chosen_score
        if i in (10, 11):
            # The prompt of pair 9 again, once as pasted with a trailing newline and capitals.
            plan.prompt = _prompt(9) if i == 10 else _prompt(9).upper() + "\n"
        plans.append(plan)
    return plans


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def as_conversational(row: dict[str, Any]) -> dict[str, Any]:
    """TRL's conversational preference row (explicit prompt)."""
    return {
        "prompt": [{"role": "user", "content": row["prompt"]}],
        "chosen": [{"role": "assistant", "content": row["chosen"]}],
        "rejected": [{"role": "assistant", "content": row["rejected"]}],
        "score_chosen": row["score_chosen"],
        "score_rejected": row["score_rejected"],
    }


def as_implicit_conversational(row: dict[str, Any]) -> dict[str, Any]:
    """TRL's conversational preference row with an implicit prompt (two whole chats)."""
    user = {"role": "user", "content": row["prompt"]}
    return {
        "chosen": [user, {"role": "assistant", "content": row["chosen"]}],
        "rejected": [user, {"role": "assistant", "content": row["rejected"]}],
        "score_chosen": row["score_chosen"],
        "score_rejected": row["score_rejected"],
    }


def as_implicit_standard(row: dict[str, Any]) -> dict[str, Any]:
    """TRL's standard implicit-prompt row, in Anthropic HH-RLHF's dialogue layout."""
    head = f"\n\nHuman: {row['prompt']}\n\nAssistant:"
    return {
        "chosen": f"{head} {row['chosen']}",
        "rejected": f"{head} {row['rejected']}",
        "score_chosen": row["score_chosen"],
        "score_rejected": row["score_rejected"],
    }
