"""A few hundred instruction records written the way people write them, for the assay's tests.

The records mix question styles (direct questions, requests, pasted context, short chat turns),
topics (cooking, tax, travel, gardening, code, health, law, parenting), answer shapes (one
line, a paragraph, a numbered list), optional system prompts, a taxonomy ``meta.leaf`` with
many distinct values, an optional reviewer note, and people described the way prose describes
them (a grandmother, her son, a retired nurse). Names and places come from short invented lists,
never from real people's data. Everything depends only on the seed.

:func:`fair_split` shuffles one such dataset and cuts it in two halves: two samples of the same
population, which a trustworthy assay must score alike (no flagged group, no lost tail).
"""

from __future__ import annotations

import random
from typing import Any

FIRST_NAMES = [
    "Maren", "Tobias", "Ines", "Kofi", "Ludmila", "Ravi", "Odile", "Henrik", "Priya", "Mateo",
    "Sunniva", "Dariusz", "Amara", "Joaquin", "Yelena", "Bastian", "Noor", "Callum", "Fenna",
    "Aurelio",
]  # fmt: skip
TOWNS = [
    "Eastbrook", "Marlow Heath", "Kestrel Bay", "Portvale", "Ashcombe", "Linden Falls",
    "Greywater", "Hollin Cross", "Saltmarsh", "Brackenridge",
]  # fmt: skip
PEOPLE = [
    "my grandmother", "my son", "my daughter", "a retired nurse", "my husband", "my wife",
    "an elderly neighbour", "a teenage girl I tutor", "my father", "my mother",
    "a young man at work", "my sister", "my brother", "a colleague of mine", "my aunt", "a friend",
]  # fmt: skip
TOPICS: dict[str, list[tuple[str, str]]] = {
    "cooking": [
        (
            "make a sourdough starter",
            "Mix equal weights of flour and water, cover loosely and "
            "feed it daily, discarding half before each feed. After five to seven days it should "
            "double within six hours of feeding.",
        ),
        (
            "keep rice from going mushy",
            "Rinse the rice until the water runs clear, use a little "
            "less water than the packet says and let it rest off the heat, lid on, "
            "for ten minutes.",
        ),
        (
            "substitute eggs in a cake",
            "A tablespoon of ground flax mixed with three of water, "
            "left for five minutes, replaces one egg; for lighter cakes use a quarter cup of "
            "unsweetened apple sauce instead.",
        ),
        (
            "store fresh herbs",
            "Treat soft herbs like flowers: trim the stems, stand them in a "
            "glass of water and cover loosely. Woody herbs keep better wrapped in a damp towel.",
        ),
    ],
    "tax": [
        (
            "claim home office expenses",
            "Keep a record of the floor area you use only for work "
            "and the share of heating and electricity it takes. Most schemes also allow a flat "
            "daily rate if you prefer not to keep receipts.",
        ),
        (
            "file taxes as a freelancer",
            "Register as self-employed, keep every invoice and "
            "receipt, and set aside roughly a quarter of each payment for tax and contributions.",
        ),
        (
            "handle a late tax return",
            "File it as soon as you can; penalties usually grow with "
            "time, and many offices waive part of them if you explain the reason and pay promptly.",
        ),
    ],
    "travel": [
        (
            "pack for a week with only hand luggage",
            "Choose one colour palette so everything "
            "matches, roll rather than fold, and plan to wash a few items halfway through.",
        ),
        (
            "avoid jet lag",
            "Shift your sleep by an hour a day before you leave, get daylight in "
            "the morning at your destination and avoid long naps on the first afternoon.",
        ),
        (
            "find cheap train tickets",
            "Book as early as the operator allows, travel outside peak "
            "hours and check whether splitting the journey into two tickets costs less.",
        ),
    ],
    "gardening": [
        (
            "grow tomatoes on a balcony",
            "Pick a compact variety, use a pot of at least twenty "
            "litres, water deeply in the morning and feed weekly once the first fruits set.",
        ),
        (
            "get rid of aphids without chemicals",
            "Spray them off with a strong jet of water, "
            "encourage ladybirds and lacewings, and wipe stubborn colonies with soapy water.",
        ),
        (
            "prune a young apple tree",
            "Prune in late winter, remove crossing and inward-growing "
            "branches, and cut the leader back by a third to encourage an open shape.",
        ),
    ],
    "code": [
        (
            "read a CSV file in Python",
            "Use the csv module for simple files, or pandas.read_csv "
            "when you need types and missing values handled; pass encoding='utf-8' explicitly.",
        ),
        (
            "undo the last git commit",
            "If you have not pushed, run git reset --soft HEAD~1 to "
            "keep the changes staged; if you have pushed, prefer git revert so history stays.",
        ),
        (
            "speed up a slow SQL query",
            "Look at the query plan first; an index on the columns in "
            "the WHERE clause and the join keys usually gives the largest win.",
        ),
    ],
    "health": [
        (
            "sleep better",
            "Keep the same wake-up time every day, dim the lights an hour before "
            "bed and keep caffeine to the morning. See a doctor if poor sleep lasts for weeks.",
        ),
        (
            "start running after a long break",
            "Alternate one minute of running with two of "
            "walking for twenty minutes, three times a week, and add a minute of running "
            "each week.",
        ),
        (
            "lower blood pressure through diet",
            "Cut down on salt, eat more vegetables, fruit and "
            "whole grains, and keep alcohol moderate; check the numbers with a doctor regularly.",
        ),
    ],
    "law": [
        (
            "get a deposit back from a landlord",
            "Write to the landlord citing the tenancy "
            "agreement and the check-out report, give a deadline of fourteen days and keep copies.",
        ),
        (
            "return a faulty product",
            "Within the first thirty days you are usually entitled to "
            "a full refund; after that the seller may offer a repair or replacement first.",
        ),
        (
            "write a simple will",
            "List what you own, name an executor and the people who should "
            "inherit, and sign it in front of two witnesses who inherit nothing.",
        ),
    ],
    "parenting": [
        (
            "help a child with homework without doing it",
            "Sit nearby, ask what the task wants "
            "before offering any help, and praise the effort rather than the answer.",
        ),
        (
            "handle toddler tantrums",
            "Stay calm and close, name the feeling, and wait; "
            "explaining or bargaining in the middle of a tantrum rarely helps.",
        ),
        (
            "limit screen time fairly",
            "Agree the rules together, keep screens out of bedrooms "
            "at night, and make the limits the same for the adults where you can.",
        ),
    ],
}
QUESTION_TEMPLATES = [
    "How do I {task}?",
    "What's the best way to {task}? {person_cap} asked me and I wasn't sure.",
    "Can you explain how to {task}, step by step?",
    "I'm trying to {task} for {person}. Any tips?",
    "{name} from {town} here. Quick question: how would you {task}?",
    "Is there an easy way to {task}? I've tried a couple of things and nothing worked so far.",
    "hi, could you tell me how to {task}",
    "We are in {town} this week and {person} wants to know how to {task}. What should we do?",
]
ANSWER_OPENERS = [
    "", "Good question. ", "Sure. ", "Here's what usually works. ", "In short: ",
    "It depends a little on your situation, but generally: ",
]  # fmt: skip
ANSWER_CLOSERS = [
    "", " Let me know if you want more detail.", " Hope that helps!",
    " If anything is unclear, ask again with a bit more context.",
    " {person_cap} might find it easier to do it together the first time.",
]  # fmt: skip
SYSTEM_PROMPTS = [
    "You are a helpful assistant.",
    "You are a friendly assistant who answers briefly and plainly.",
]
LIST_STEPS = ["First", "Then", "After that", "Finally"]


def _answer(rng: random.Random, tip: str, person: str) -> str:
    sentences = [s.strip() for s in tip.replace("; ", ". ").split(". ") if s.strip()]
    shape = rng.random()
    if shape < 0.3 and len(sentences) >= 2:
        steps = [f"{i + 1}. {s.rstrip('.')}." for i, s in enumerate(sentences)]
        body = "\n".join(steps)
    elif shape < 0.45:
        body = sentences[0].rstrip(".") + "."
    else:
        body = tip
        if rng.random() < 0.4:
            body += f" {rng.choice(LIST_STEPS)}, check again after a week or so."
    closer = rng.choice(ANSWER_CLOSERS).format(person_cap=person[:1].upper() + person[1:])
    return rng.choice(ANSWER_OPENERS) + body + closer


def instruction_records(n: int = 400, *, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` varied chat records (user question, assistant answer) in synthloom's format."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    topics = sorted(TOPICS)
    for i in range(n):
        topic = rng.choice(topics)
        task, tip = rng.choice(TOPICS[topic])
        person = rng.choice(PEOPLE)
        question = rng.choice(QUESTION_TEMPLATES).format(
            task=task,
            person=person,
            person_cap=person[:1].upper() + person[1:],
            name=rng.choice(FIRST_NAMES),
            town=rng.choice(TOWNS),
        )
        if rng.random() < 0.15:
            question = question.lower()  # people type in a hurry
        messages: list[dict[str, str]] = []
        if rng.random() < 0.3:
            messages.append({"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})
        messages.append({"role": "user", "content": question})
        messages.append({"role": "assistant", "content": _answer(rng, tip, person)})
        if rng.random() < 0.1:
            messages.append({"role": "user", "content": rng.choice(["thanks!", "And in winter?"])})
            messages.append(
                {"role": "assistant", "content": "You're welcome. " + rng.choice(TOPICS[topic])[1]}
            )
        meta: dict[str, Any] = {
            "topic": topic,
            # A taxonomy leaf path: many distinct values, a few shared (id-like at this size).
            "leaf": f"{topic}/{task.replace(' ', '_')}/{rng.randrange(120)}",
            "score": round(rng.uniform(2.5, 5.0), 2),
        }
        if rng.random() < 0.2:
            meta["reviewer_note"] = rng.choice(["checked", "needs sources", "ok"])
        records.append({"id": f"rec-{i:04d}", "messages": messages, "meta": meta})
    return records


def fair_split(
    records: list[dict[str, Any]], *, seed: int = 1
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Two random halves of ``records``: samples of one population that must score alike."""
    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)
    half = len(shuffled) // 2
    return shuffled[:half], shuffled[half:]
