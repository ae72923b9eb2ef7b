"""Instruction corpora for the assay benchmark, built offline from CPython's own documentation.

Two sources shipped with every CPython: ``pydoc_data.topics`` (the text behind ``help()``, 74
topics) and the docstrings of the standard library's modules, classes and functions (about 200
modules that import without side effects; each module is one topic). Both are cut into
sentences; each record asks a question about one topic (from a few dozen phrasings, some with
a name, an e-mail address or a city the PII and bias sections can find) and answers with a run
of sentences of that topic. The docstrings give the corpus about 4 times the text of the topics
alone, so that at a million records the answers are not mostly near-copies of each other.
The reference and synthetic sides are drawn with different seeds, and the synthetic side leans
towards shorter answers and fewer topics, as a teacher's output does. Records are written as
JSONL in chunks, never held whole.

    PYTHONPATH=src python benchmarks/assay_corpus.py --rows 100000 --out /tmp/corpus
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import io
import json
import re
import sys
import warnings
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
# Pieces of the short examples some answers end with, as a teacher's answers often do.
_LEAD = ["For example:", "A quick example:", "Example:", "Try this:", "In code:", "Like so:"]
_VARIABLES = ["value", "items", "result", "total", "path", "name", "count", "data", "row", "key"]
_CALLS = ["len", "sorted", "sum", "max", "min", "repr", "str", "list", "tuple", "abs", "round"]
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z*`\"(])")


# Standard-library modules left out: they act when imported (print, open a browser or a
# window), are platform-only, or are test suites and tools rather than documentation.
_SKIP_MODULES = frozenset(
    {
        "antigravity",
        "this",
        "idlelib",
        "tkinter",
        "turtle",
        "turtledemo",
        "test",
        "lib2to3",
        "ensurepip",
        "pydoc_data",
        "msilib",
        "winreg",
        "winsound",
        "msvcrt",
        "nt",
        "sre_compile",
        "sre_parse",
        "sre_constants",
    }
)


def _sentences(body: str) -> list[str]:
    text = re.sub(r"\s+", " ", body).strip()
    return [s for s in _SENTENCE.split(text) if len(s) > 20]


def _module_docstrings(name: str) -> list[str]:
    """The docstrings of a standard-library module, its classes, functions and methods (in
    name order; each once), or none when it does not import here."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
            ):
                module = importlib.import_module(name)
    except Exception:  # absent on this platform or build: not part of the corpus here
        return []
    found = [module]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reading deprecated aliases (typing.io) warns
        members = sorted(vars(module).items())
    for _, value in members:
        if inspect.isclass(value) or inspect.isroutine(value):
            found.append(value)
            if inspect.isclass(value):
                found.extend(
                    member for _, member in sorted(vars(value).items()) if inspect.isroutine(member)
                )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        docs = [getattr(item, "__doc__", None) for item in found]
    return list(dict.fromkeys(inspect.cleandoc(d) for d in docs if isinstance(d, str)))


def topic_sentences() -> list[tuple[str, list[str]]]:
    """Each topic with its sentences (whitespace folded, short bits dropped): the pydoc topics,
    then one topic per standard-library module from its docstrings."""
    out = []
    for name, body in sorted(topics.items()):
        sentences = _sentences(body)
        if len(sentences) >= 3:
            out.append((name.replace("-", " ").replace("_", " "), sentences))
    for name in sorted(sys.stdlib_module_names):
        if name.startswith("_") or name in _SKIP_MODULES:
            continue
        sentences = [s for doc in _module_docstrings(name) for s in _sentences(doc)]
        sentences = list(dict.fromkeys(sentences))
        if len(sentences) >= 3:
            out.append((f"the {name} module", sentences))
    return out


def records(rows: int, *, seed: int, synthetic: bool, start: int = 0):
    """``rows`` records (dicts with id, messages, meta), drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    corpus = topic_sentences()
    weights = np.linspace(1.0, 3.0 if synthetic else 1.5, len(corpus))
    weights /= weights.sum()
    picks = rng.choice(len(corpus), size=rows, p=weights)
    lengths = (rng.geometric(0.4 if synthetic else 0.3, size=rows) + 1).clip(2, 12)
    asks = rng.integers(0, len(_ASK), size=rows)
    for i in range(rows):
        topic, sentences = corpus[picks[i]]
        # n sentences, in order, from a window of up to 4n around a random start: answers stay on
        # one part of a topic, and two records rarely share all their sentences.
        n = int(min(lengths[i], len(sentences)))
        span = min(4 * n, len(sentences))
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
        if rng.random() < 0.5:
            variable = _VARIABLES[int(rng.integers(0, len(_VARIABLES)))]
            call = _CALLS[int(rng.integers(0, len(_CALLS)))]
            numbers = ", ".join(str(v) for v in rng.integers(0, 10_000, int(rng.integers(2, 6))))
            answer += (
                f"\n\n{_LEAD[int(rng.integers(0, len(_LEAD)))]}\n\n```python\n"
                f"{variable} = [{numbers}]\nprint({call}({variable}))\n```"
            )
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
