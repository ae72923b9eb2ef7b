"""Text helpers shared by the assay, curation and the collapse lab.

One tokenizer and one definition of "rare n-gram", so that the assay's tail coverage and the
collapse lab's tail loss speak about the same things.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from synthloom.messages import message_text

__all__ = [
    "RARE_QUANTILE",
    "count_ngrams",
    "ngrams",
    "prompt_text",
    "rare_cutoff",
    "rare_ngrams",
    "record_text",
    "response_text",
    "tokenize",
]

_TOKEN = re.compile(r"\w+(?:'\w+)*|[^\w\s]", re.UNICODE)

#: The bottom share of the frequency distribution that counts as "rare".
RARE_QUANTILE = 0.10


def tokenize(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens."""
    return _TOKEN.findall(text.lower())


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """All contiguous n-grams of a token sequence."""
    if n < 1:
        raise ValueError("n must be >= 1")
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def count_ngrams(texts: Iterable[str], n: int) -> Counter[tuple[str, ...]]:
    """Counts of every n-gram over a collection of texts."""
    counts: Counter[tuple[str, ...]] = Counter()
    for text in texts:
        counts.update(ngrams(tokenize(text), n))
    return counts


def rare_ngrams(
    counts: Mapping[tuple[str, ...], int], quantile: float = RARE_QUANTILE, min_count: int = 1
) -> set[tuple[str, ...]]:
    """The n-grams in the bottom `quantile` of the frequency distribution.

    Only n-grams seen at least `min_count` times take part: the cut-off is the `quantile` of
    their counts (at least `min_count`), and every one whose count is at or below it is rare.
    With the default `min_count=1` the cut-off in natural text is usually 1: the n-grams seen
    once, which are the first to vanish when a model is trained on its own output (the collapse
    lab's definition, where the reference is large). On a few hundred texts most n-grams seen
    once are chance, and a fair sample of the same population misses about half of them, so
    the assay asks for ``min_count=3``: rare, but a pattern rather than noise.
    """
    kept = [c for c in counts.values() if c >= min_count]
    if not kept:
        return set()
    cutoff = rare_cutoff(kept, quantile, floor=min_count)
    return {gram for gram, c in counts.items() if min_count <= c <= cutoff}


def rare_cutoff(
    frequencies: Iterable[int], quantile: float = RARE_QUANTILE, floor: float = 1.0
) -> float:
    """The count at or below which an item is rare: the `quantile` of the counts, at least
    `floor` (1 by default).

    The same rule as :func:`rare_ngrams`, for anything counted (categories, clusters, words).
    """
    freqs = np.fromiter(frequencies, dtype=np.float64)
    if freqs.size == 0:
        return float(floor)
    return max(float(floor), float(np.quantile(freqs, quantile)))


def prompt_text(record: Mapping[str, Any]) -> str:
    """All non-assistant turns of a record, joined. Tool results count here: the model reads
    them, it does not write them."""
    return "\n".join(message_text(m) for m in record["messages"] if m["role"] != "assistant")


def response_text(record: Mapping[str, Any]) -> str:
    """All assistant turns of a record, joined, tool calls written as ``name(arguments)``: what
    the model is trained to produce."""
    return "\n".join(message_text(m) for m in record["messages"] if m["role"] == "assistant")


def record_text(record: Mapping[str, Any]) -> str:
    """Every turn of a record (tool calls included), joined."""
    return "\n".join(message_text(m) for m in record["messages"])
