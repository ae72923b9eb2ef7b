"""Write synthloom's bundled example datasets (deterministic; the outputs are committed).

    python examples/make_examples.py

Two pairs of datasets, each a "real" reference and a "synthetic" set with flaws the assay must
catch:

* table/ -- customers: the synthetic income is shifted up 15 %, ages beyond the reference's
  10th/90th percentiles are gone (a dropped tail), the rarest region never appears, women are
  under-represented, two rows are copies of reference rows, and one note leaks an email address.
* chat/  -- instruction data: the synthetic answers are shorter, the rare topics (the tail) are
  gone, older people and women are under-represented, one answer leaks an email and a phone
  number, one copies a passage of a private document (chat/private/), and a few near-duplicates.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
SEED = 20261126

REGIONS = ["north", "south", "east", "west", "central", "islands"]
REGION_P = [0.3, 0.25, 0.2, 0.15, 0.08, 0.02]
PLANS = ["basic", "plus", "premium"]


def customers(n: int, rng: np.random.Generator) -> pd.DataFrame:
    age = np.clip(rng.normal(42, 13, n), 18, 90).round()
    income = np.exp(9.6 + 0.018 * age + rng.normal(0, 0.35, n)).round(2)
    gender = rng.choice(["female", "male", "nonbinary"], n, p=[0.49, 0.48, 0.03])
    region = rng.choice(REGIONS, n, p=REGION_P)
    plan = np.where(
        income > np.quantile(income, 0.8),
        "premium",
        np.where(income > np.quantile(income, 0.4), "plus", "basic"),
    )
    flip = rng.random(n) < 0.15
    plan = np.where(flip, rng.choice(PLANS, n), plan)
    employed = rng.random(n) < 0.72
    days = rng.integers(0, 3 * 365, n)
    signup = (pd.Timestamp("2023-01-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")
    notes = rng.choice(
        [
            "prefers email contact",
            "asked about upgrades",
            "no notes",
            "late payment in spring",
            "referred by a friend",
            "moved recently",
        ],
        n,
    )
    return pd.DataFrame(
        {
            "customer_id": [f"C{100000 + i}" for i in range(n)],
            "age": age.astype(int),
            "income": income,
            "gender": gender,
            "region": region,
            "plan": plan,
            "employed": employed,
            "signup_date": signup,
            "notes": notes,
        }
    )


def make_table(rng: np.random.Generator) -> None:
    out = HERE / "table"
    out.mkdir(exist_ok=True)
    reference = customers(2000, rng)
    synthetic = customers(2600, rng)
    synthetic["customer_id"] = [f"S{200000 + i}" for i in range(len(synthetic))]
    # a shifted column
    synthetic["income"] = (synthetic["income"] * 1.15).round(2)
    # a dropped tail: no ages beyond the reference's 10th / 90th percentiles
    lo, hi = reference["age"].quantile([0.10, 0.90])
    synthetic = synthetic[(synthetic["age"] >= lo) & (synthetic["age"] <= hi)]
    # the rarest region never generated
    synthetic = synthetic[synthetic["region"] != "islands"]
    # women under-represented: drop four in five of them
    women = synthetic.index[synthetic["gender"] == "female"]
    synthetic = synthetic.drop(rng.choice(women, size=int(len(women) * 0.8), replace=False))
    synthetic = synthetic.iloc[:2000].reset_index(drop=True)
    # two copies of real rows, and a leaked email address
    synthetic.iloc[10] = reference.iloc[3]
    synthetic.iloc[11] = reference.iloc[4]
    synthetic.loc[20, "notes"] = "wants invoices sent to maria.keller@example.org"
    reference.to_csv(out / "reference.csv", index=False)
    synthetic.to_csv(out / "synthetic.csv", index=False)


TOPICS = {
    "cooking": [
        "How do I keep {p} interested in cooking at home?",
        "What is a quick dinner {p} can make after work?",
        "How should {p} store fresh herbs?",
    ],
    "finance": [
        "How can {p} start saving for retirement?",
        "What should {p} know before taking a loan?",
        "How does {p} build an emergency fund?",
    ],
    "health": [
        "What exercise routine suits {p}?",
        "How can {p} sleep better?",
        "What should {p} eat before a long run?",
    ],
    "programming": [
        "How can {p} learn Python quickly?",
        "What is a good first project for {p} learning to code?",
        "How does {p} debug a failing test?",
    ],
    "travel": [
        "What should {p} pack for a week in the mountains?",
        "How can {p} travel cheaply in Europe?",
        "What documents does {p} need to travel abroad?",
    ],
}
RARE_TOPICS = {
    "beekeeping": [
        "How does {p} prevent varroa mites in a beehive?",
        "When should {p} harvest honey from a hive?",
    ],
    "glassblowing": [
        "What temperature does {p} need to anneal blown glass?",
        "Which glassblowing tools should {p} buy first?",
    ],
    "falconry": [
        "How does {p} train a young falcon to return to the glove?",
        "What permits does {p} need for falconry?",
    ],
    "bookbinding": [
        "How can {p} sew a coptic stitch binding?",
        "Which paper grain direction should {p} use for a notebook?",
    ],
}
PEOPLE = {
    "young": ["a young man", "a teenage girl", "a college student", "a young woman"],
    "old": [
        "an elderly woman",
        "a retired grandfather",
        "an older man",
        "a senior citizen",
        "my grandmother",
    ],
    "neutral": [
        "a busy parent",
        "a nurse",
        "a small business owner",
        "a teacher",
        "a software engineer",
        "a Muslim family",
        "a Christian pastor",
        "an immigrant from Mexico",
        "a wheelchair user",
        "a low-income family",
        "a wealthy investor",
        "a gay couple",
        "a woman",
        "a man",
        "she",
        "he",
    ],
}
SENTENCES = {
    "cooking": [
        "Start with simple recipes that use few ingredients.",
        "Batch cooking on Sundays saves time during the week.",
        "Keep herbs in a glass of water in the fridge, loosely covered.",
        "A sharp knife makes prep faster and safer.",
        "One-pan dishes such as stir-fries are quick and easy to clean up.",
    ],
    "finance": [
        "Automate a monthly transfer into a savings account.",
        "Compare the total cost of a loan, not just the rate.",
        "An emergency fund usually covers three to six months of expenses.",
        "Pay off high-interest debt first.",
        "Low-cost index funds are a common choice for long-term saving.",
    ],
    "health": [
        "Aim for a regular sleep schedule, even on weekends.",
        "Mix strength training with moderate cardio.",
        "Eat easily digested carbohydrates a few hours before a long run.",
        "Limit screens in the hour before bed.",
        "Increase training volume gradually to avoid injury.",
    ],
    "programming": [
        "Write small programs every day and read other people's code.",
        "Reproduce the failure with the smallest input you can.",
        "A command-line to-do list is a good first project.",
        "Use a debugger or print statements to inspect state.",
        "Read the error message carefully; it usually names the line.",
    ],
    "travel": [
        "Pack layers, a rain jacket and sturdy shoes.",
        "Night trains and budget airlines cut costs.",
        "Check that your passport is valid for six months after your return.",
        "Book hostels early in summer.",
        "Carry a copy of your documents separately from the originals.",
    ],
    "beekeeping": [
        "Monitor mite levels with an alcohol wash each month.",
        "Harvest when most of the comb is capped.",
        "Oxalic acid treatments work best when the colony is broodless.",
    ],
    "glassblowing": [
        "Annealing usually happens near 480 degrees Celsius.",
        "Start with jacks, shears, a blowpipe and a marver.",
        "Cool the piece slowly in the annealer overnight.",
    ],
    "falconry": [
        "Use a creance line until the bird returns reliably.",
        "Reward the falcon with food on the glove.",
        "Most countries require an apprenticeship and a permit.",
    ],
    "bookbinding": [
        "The coptic stitch links signatures with a chain stitch.",
        "Run the grain parallel to the spine.",
        "Use waxed linen thread for strength.",
    ],
}
PRIVATE_DOC = (
    "Internal memo, Harbor Street clinic. Patient intake moves to the east wing on Monday; "
    "the pharmacy counter keeps its hours but the night line now forwards to the on-call nurse. "
    "Staff must not discuss appointment details by phone with anyone except the patient."
)


def chat_record(
    rng: random.Random,
    topic: str,
    prompts: dict[str, list[str]],
    people: list[str],
    n_sentences: int,
) -> dict[str, object]:
    person = rng.choice(people)
    question = rng.choice(prompts[topic]).format(p=person)
    answer = " ".join(rng.sample(SENTENCES[topic], k=min(n_sentences, len(SENTENCES[topic]))))
    return {
        "messages": [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ],
        "meta": {"topic": topic, "score": round(rng.uniform(2.5, 4.0), 2)},
    }


def make_chat(rng: random.Random) -> None:
    out = HERE / "chat"
    (out / "private").mkdir(parents=True, exist_ok=True)
    all_prompts = {**TOPICS, **RARE_TOPICS}
    everyone = PEOPLE["young"] + PEOPLE["old"] + PEOPLE["neutral"]
    reference = []
    for _ in range(400):
        topic = rng.choice(list(TOPICS)) if rng.random() < 0.85 else rng.choice(list(RARE_TOPICS))
        reference.append(chat_record(rng, topic, all_prompts, everyone, rng.randint(3, 5)))
    synthetic = []
    fewer = [
        p
        for p in PEOPLE["young"] + PEOPLE["neutral"]
        if "woman" not in p and p not in ("she", "a teenage girl")
    ]
    for _ in range(400):
        topic = rng.choice(list(TOPICS))  # the rare topics are gone
        people = fewer if rng.random() < 0.9 else everyone
        synthetic.append(chat_record(rng, topic, all_prompts, people, rng.randint(1, 3)))
    synthetic[7]["messages"][1]["content"] += (
        " Email maria.keller@example.org or call +1 415 555 0134 for help."
    )
    synthetic[15]["messages"][1]["content"] = (
        "As the memo says: Patient intake moves to the east wing on Monday; the pharmacy counter "
        "keeps its hours but the night line now forwards to the on-call nurse."
    )
    for i in range(30, 36):  # near-duplicates
        synthetic[i] = json.loads(json.dumps(synthetic[29]))
        synthetic[i]["messages"][1]["content"] += "!" * (i - 29)
    with (out / "reference.jsonl").open("w", encoding="utf-8") as fh:
        for rec in reference:
            fh.write(json.dumps(rec) + "\n")
    with (out / "synthetic.jsonl").open("w", encoding="utf-8") as fh:
        for rec in synthetic:
            fh.write(json.dumps(rec) + "\n")
    (out / "private" / "clinic_memo.txt").write_text(PRIVATE_DOC + "\n", encoding="utf-8")


def main() -> None:
    make_table(np.random.default_rng(SEED))
    make_chat(random.Random(SEED))
    (HERE / "gate.yaml").write_text(
        "# A quality gate: every rule must hold, or `synthloom assay` exits 1.\n"
        "- fidelity.overall >= 0.85\n"
        "- privacy.pii.total == 0\n"
        "- privacy.exact_copies.count == 0\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
