"""Texts as real datasets hold them, for the text kernels' tests: chat records flattened the way
the assay flattens them, stretches of English prose, and the odd ones every large dump has.

The odd ones: empty and whitespace-only texts, one-word answers, punctuation runs, accents,
Greek (whose final sigma lower-cases by context), Turkish dotted I (which lower-cases to two code
points), CJK without spaces, emoji with skin-tone and joiner sequences, right-to-left Arabic, a
lone surrogate (a JSON ``\\ud83d`` escape cut in half), code and URLs, contractions, a text of
tens of thousands of characters, exact copies, and copies that differ only in case and spacing.
Everything depends only on the seed. :class:`OnlySlices` wraps texts so a test proves a kernel
reads them by slices.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from pydoc_data.topics import topics
from typing import overload

from synthloom.text import record_text
from tests.assay.realistic import instruction_records

WORDS = " ".join(topics.values()).split()

ODD = [
    "",
    "   \n\t  ",
    "ok",
    "Thanks!!!",
    "?!?! ... ---",
    "Crème brûlée: café-style, naïve façade; Øresund & Ångström.",
    "ΟΔΟΣ ΣΟΦΟΣ Σ. Η ΘΑΛΑΣΣΑ ΕΙΝΑΙ ΗΡΕΜΗ ΣΗΜΕΡΑ.",
    "İSTANBUL'DA İKİ GÜN KALDIK, ışıklar ve İzmir'e yolculuk.",
    "東京は今日も晴れです。明日は雨が降るでしょう。",
    "Great job 👍🏽 see you at the 👨‍👩‍👧 picnic 🎉🎉",
    "مرحبا بكم في الدورة، سنبدأ الدرس الأول غدا.",
    "broken emoji \ud83d here",
    "def f(x):\n    return x ** 2  # square it\n\nprint(f(3))",
    "See https://example.org/docs?id=42&lang=en#top or mail help@example.org.",
    "I can't, won't and shouldn't; rock'n'roll isn't dead, y'all.",
    "a",
    "a b",
    "a b c",
]


def prose(rng: random.Random, low: int, high: int) -> str:
    """A stretch of Python's documentation (shipped with CPython), ``low`` to ``high`` words."""
    start = rng.randrange(len(WORDS) - high)
    return " ".join(WORDS[start : start + rng.randint(low, high)])


def messy_texts(count: int = 600, *, seed: int = 0) -> list[str]:
    """``count`` texts: about half flattened chat records, the rest prose, the odd ones above,
    one very long text, copies and near-copies, in a shuffled order."""
    rng = random.Random(seed)
    records = [record_text(r) for r in instruction_records(count // 2, seed=seed)]
    texts = records + [prose(rng, 3, 120) for _ in range(count // 4)] + list(ODD)
    texts.append(prose(rng, 6000, 8000))  # a pasted manual page
    while len(texts) < count:
        original = rng.choice(texts)
        kind = rng.random()
        if kind < 0.4:
            texts.append(original)  # an exact copy
        elif kind < 0.7:
            texts.append("  ".join(original.upper().split()))  # shouted, spaced out
        else:
            words = original.split()
            if words:
                words[rng.randrange(len(words))] = rng.choice(WORDS)
            texts.append(" ".join(words))  # one word changed
    rng.shuffle(texts)
    return texts[:count]


class OnlySlices(Sequence[str]):
    """A sequence that can be sliced and measured but refuses to be iterated whole, or (unless
    ``items_too``) read one item at a time: what a compact column of a million texts should
    never have to do."""

    def __init__(self, items: list[str], *, items_too: bool = False) -> None:
        self._items = items
        self._items_too = items_too
        self.slices = 0

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if not isinstance(index, slice):
            if not self._items_too:
                raise AssertionError("read one item at a time")
            return self._items[index]
        self.slices += 1
        return self._items[index]

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("iterated whole")
