"""Hashed n-grams and hash tallies against Python tuples, sets and Counters on messy texts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pytest

from synthloom.errors import ConfigError
from synthloom.ngram_hashes import HashTally, ngram_hash_batches, text_stream
from synthloom.text import ngrams, tokenize
from tests.messy_texts import OnlySlices, messy_texts

TEXTS = messy_texts(600, seed=3)


def _hashed(texts: Sequence[str], orders: tuple[int, ...], batch_tokens: int) -> dict[int, list]:
    out: dict[int, list] = {n: [] for n in orders}
    for batch in ngram_hash_batches(texts, orders, batch_tokens=batch_tokens):
        for n in orders:
            out[n].extend(batch.hashes[n].tolist())
    return out


@pytest.mark.parametrize(
    "orders", [pytest.param((1, 2, 3), id="1-3"), pytest.param((4, 2), id="4,2")]
)
def test_each_ngram_gets_one_hash_and_each_hash_one_ngram(orders: tuple[int, ...]) -> None:
    hashed = _hashed(TEXTS, orders, batch_tokens=5000)
    for n in orders:
        grams = [g for t in TEXTS for g in ngrams(tokenize(t), n)]
        assert len(hashed[n]) == len(grams)  # every n-gram, in text order, none across texts
        pairs = set(zip(grams, hashed[n], strict=True))
        # A bijection: as many distinct (n-gram, hash) pairs as distinct n-grams and hashes.
        assert len(pairs) == len(set(grams)) == len(set(hashed[n]))


def test_hashes_do_not_depend_on_batches_or_process_state() -> None:
    small = _hashed(TEXTS, (1, 3), batch_tokens=1)
    large = _hashed(TEXTS, (1, 3), batch_tokens=1 << 30)
    assert small == large
    # Stable across processes: the hash of one bigram is a fixed number (BLAKE2b, not hash()).
    again = _hashed(["The cat", "the  CAT"], (2,), batch_tokens=10)[2]
    assert again[0] == again[1] == _hashed(["the cat"], (2,), batch_tokens=10)[2][0]


def test_texts_are_read_by_slices_and_non_strings_are_skipped() -> None:
    column = OnlySlices([*TEXTS[:50], None, *TEXTS[50:]])  # type: ignore[list-item]
    batches = list(ngram_hash_batches(column, (2,)))
    assert sum(b.texts for b in batches) == len(TEXTS)
    assert column.slices >= 1
    assert sum(b.hashes[2].size for b in batches) == sum(len(ngrams(tokenize(t), 2)) for t in TEXTS)
    assert list(text_stream(iter(["a", "b"]))) == ["a", "b"]


def test_an_order_below_one_is_refused() -> None:
    with pytest.raises(ConfigError, match="order must be 1 or more, got 0"):
        list(ngram_hash_batches(["a b"], (1, 0)))


@pytest.mark.parametrize(
    "min_merge",
    [pytest.param(1, id="merge-every-batch"), pytest.param(1 << 22, id="merge-at-the-end")],
)
def test_tally_is_the_set_and_the_counter_of_what_was_added(min_merge: int) -> None:
    rng = np.random.default_rng(5)
    # Skewed repeats (Zipf), values spread over the whole 64-bit range and its edges.
    pool = rng.integers(0, 2**64, size=30_000, dtype=np.uint64, endpoint=False)
    pool[:3] = [0, 2**64 - 1, 2**63]
    batches = [
        pool[np.minimum(rng.zipf(1.3, size=size), pool.size) - 1]
        for size in (1, 0, 7000, 300, 12_000, 5)
    ]
    plain = HashTally(min_merge=min_merge)
    counted = HashTally(counts=True, min_merge=min_merge)
    for batch in batches:
        plain.add(batch)
        counted.add(batch)
    expected = Counter(v for b in batches for v in b.tolist())
    assert plain.distinct == counted.distinct == len(expected)
    assert plain.keys().tolist() == sorted(expected)
    assert dict(zip(counted.keys().tolist(), counted.counts().tolist(), strict=True)) == expected
    with pytest.raises(ConfigError, match="counts=True"):
        plain.counts()


def test_empty_tally() -> None:
    tally = HashTally(counts=True)
    tally.add(np.empty(0, dtype=np.uint64))
    assert tally.distinct == 0 and tally.keys().size == 0 and tally.counts().size == 0
