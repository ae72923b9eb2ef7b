"""Instruction corpora for the assay benchmark, built offline from CPython's own documentation.

``pydoc_data.topics`` (the text behind ``help()``, shipped with every CPython) is cut into
sentences; each record asks a question about one topic (from a few dozen phrasings, some with
a name, an e-mail address or a city the PII and bias sections can find) and answers with a run of
consecutive sentences of that topic. The reference and synthetic sides are drawn with different
seeds, and the synthetic side leans towards shorter answers and fewer topics, as a teacher's
output does. Records are written as JSONL in chunks, never held whole.

    PYTHONPATH=src python benchmarks/assay_corpus.py --rows 100000 --out /tmp/corpus
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from pydoc_data.topics import topics

import numpy as np

_ASK = [
    "Explain {topic} in Python.",
    "What does the Python documentation say about {topic}?",
    "I'm confused about {topic}. Can you walk me through it?",
    "How does {topic} work? Keep it short.",
    "Give me an overview of {topic} with an example if you can.",
    "my code breaks around {topic}, what should I know",
    "Summarise the rules for {topic}.",
    "Can you explain {topic} to a beginner?",
    "Hi, I'm {name} from {city}. What is {topic} about?",
    "{name} here ({email}) - quick question on {topic}?",
    "Write a short explanation of {topic} for our team wiki.",
    "Why would I use {topic}?",
    "What are the pitfalls of {topic}?",
    "She asked me about {topic}; how should I answer her?",
    "He keeps misusing {topic}. What's the right way?",
    "Compare {topic} with the alternatives.",
]
_NAMES = ["Maria Garcia", "John Smith", "Wei Zhang", "Aisha Khan", "Olga Petrova", "Kwame Mensah"]
_CITIES = ["Lisbon", "Chicago", "Nairobi", "Osaka", "Toronto", "Berlin", "Lima"]
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z*`\"(])")


def topic_sentences() -> list[tuple[str, list[str]]]:
    """Each documentation topic with its sentences (whitespace folded, short bits dropped)."""
    out = []
    for name, body in sorted(topics.items()):
        text = re.sub(r"\s+", " ", body).strip()
        sentences = [s for s in _SENTENCE.split(text) if len(s) > 20]
        if len(sentences) >= 3:
            out.append((name.replace("-", " ").replace("_", " "), sentences))
    return out


def records(rows: int, *, seed: int, synthetic: bool, start: int = 0):
    """``rows`` records (dicts with id, messages, meta), drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    corpus = topic_sentences()
    weights = np.linspace(1.0, 3.0 if synthetic else 1.5, len(corpus))
    weights /= weights.sum()
    picks = rng.choice(len(corpus), size=rows, p=weights)
    lengths = (rng.geometric(0.45 if synthetic else 0.3, size=rows) + 1).clip(2, 12)
    asks = rng.integers(0, len(_ASK), size=rows)
    for i in range(rows):
        topic, sentences = corpus[picks[i]]
        # n sentences, in order, from a window of up to 3n around a random start: answers stay on
        # one part of a topic, and two records rarely share all their sentences.
        n = int(min(lengths[i], len(sentences)))
        span = min(3 * n, len(sentences))
        first = int(rng.integers(0, len(sentences) - span + 1))
        chosen = np.sort(rng.choice(span, size=n, replace=False)) + first
        name = _NAMES[int(rng.integers(0, len(_NAMES)))]
        ask = _ASK[asks[i]].format(
            topic=topic,
            name=name,
            city=_CITIES[int(rng.integers(0, len(_CITIES)))],
            email=name.lower().replace(" ", ".") + "@example.org",
        )
        answer = " ".join(sentences[j] for j in chosen)
        yield {
            "id": f"{'syn' if synthetic else 'ref'}-{start + i}",
            "messages": [
                {"role": "user", "content": ask},
                {"role": "assistant", "content": answer},
            ],
            "meta": {"topic": topic, "score": round(float(rng.uniform(1, 5)), 2)},
        }


def write_corpus(path: Path, rows: int, *, seed: int, synthetic: bool) -> Path:
    """Write ``rows`` records to ``path`` (JSONL) in chunks; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        chunk: list[str] = []
        for rec in records(rows, seed=seed, synthetic=synthetic):
            chunk.append(json.dumps(rec, ensure_ascii=False))
            if len(chunk) >= 10_000:
                fh.write("\n".join(chunk) + "\n")
                chunk.clear()
        if chunk:
            fh.write("\n".join(chunk) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/.corpus"))
    args = parser.parse_args()
    for side, seed, synthetic in (("reference", 1, False), ("synthetic", 2, True)):
        path = write_corpus(
            args.out / f"{side}-{args.rows}.jsonl", args.rows, seed=seed, synthetic=synthetic
        )
        print(path, path.stat().st_size // 1_000_000, "MB")


if __name__ == "__main__":
    main()
