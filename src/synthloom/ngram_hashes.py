"""Hashed word n-grams: one tokenization for several orders, and exact tallies of the hashes.

The assay's lexical measures (distinct-n, rare n-gram coverage) count n-grams over every text of
a dataset. Python sets of token tuples cost about a hundred bytes an n-gram and a hashing of
every tuple; at a million records that is gigabytes and minutes. This module replaces the tuples
by 64-bit hashes and the sets by sorted numpy arrays:

* :func:`ngram_hash_batches` tokenizes texts with :func:`synthloom.text.tokenize` (the same
  rules as everywhere else), hashes each distinct token of a batch once (BLAKE2b, stable across
  processes), and computes the hash of every n-gram of every requested order in vectorised numpy
  (a polynomial rolling hash of the token hashes, finished by splitmix64's mixer). N-grams never
  cross texts. Batches hold about ``batch_tokens`` tokens, so memory does not grow with the
  collection.
* :class:`HashTally` keeps the distinct hashes (and, if asked, how often each was seen) as
  sorted unique arrays, merged batch by batch: 8 bytes per distinct n-gram (16 with counts).

Exact up to 64-bit hash collisions: two different n-grams share a hash with probability about
2**-64 (a pair of token hashes, random 64-bit values, must cancel exactly), so among m distinct
n-grams the expected number of colliding pairs is m**2 / 2**65: about 3e-4 at 10**8 n-grams. A
collision can only lower a distinct count by one or merge two n-grams' counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

from synthloom.errors import ConfigError
from synthloom.hashing import (
    IntArray,
    UInt64Array,
    all_window_hashes,
    gather_ranges,
    run_starts,
    slices,
    sorted_unique,
    string_hashes,
)
from synthloom.text import tokenize

__all__ = ["HashTally", "NgramBatch", "NgramTable", "ngram_hash_batches", "text_stream"]

#: Tokens a batch holds before its n-grams are hashed (about 15 MB of Python strings).
BATCH_TOKENS = 1 << 18
# Texts taken from a sequence at a time; only a slice of this size is ever fetched at once.
_SLICE_TEXTS = 4096
# Partitions of the hash space (by the top bits) that a tally merges one at a time, so a merge
# needs temporary memory for a sixteenth of the tally, not for all of it.
_PARTITION_BITS = 4
_PARTITIONS = 1 << _PARTITION_BITS
# A tally merges what it gathered once that is a quarter of what it holds (at least this many
# hashes): each merge rewrites the tally, so merges must grow with it to cost linear time.
_MIN_MERGE = 1 << 20


@dataclass(frozen=True)
class NgramBatch:
    """The n-gram hashes of consecutive texts: ``hashes[n]`` holds the hash of every n-gram of
    order n, repeats kept, in text order; ``texts`` is how many texts the batch covers."""

    texts: int
    hashes: Mapping[int, UInt64Array]


@dataclass(frozen=True)
class NgramTable:
    """The word n-grams of order ``n`` of a collection, as hashes: ``keys`` the distinct ones
    (sorted), ``counts`` how often each occurred (None when not kept), ``total`` how many
    n-grams there were in all (repeats counted) and ``texts`` how many texts were read. Kept by
    one pass over the texts for another measure to reuse (the assay's distinct-n pass for its
    rare n-gram coverage), so the texts are tokenized once."""

    n: int
    keys: UInt64Array
    counts: IntArray | None
    total: int
    texts: int


def text_stream(texts: Iterable[str]) -> Iterator[str]:
    """The texts one by one; a sequence is read a slice at a time (an Arrow-backed sequence
    then converts a slice, not one text per call), anything else is iterated."""
    if isinstance(texts, Sequence):
        return chain.from_iterable(slices(texts, _SLICE_TEXTS))
    return iter(texts)


def ngram_hash_batches(
    texts: Iterable[str], orders: Sequence[int], *, batch_tokens: int = BATCH_TOKENS
) -> Iterator[NgramBatch]:
    """Hashes of the word n-grams of every order in ``orders`` of each text, in batches.

    Tokens are :func:`synthloom.text.tokenize`'s; a text with fewer than n tokens has no
    n-gram of order n. Items that are not strings (a missing value) are skipped and not counted
    in ``texts``.
    """
    for n in orders:
        if n < 1:
            raise ConfigError(f"n-gram order must be 1 or more, got {n}", field="n")
    token_lists: list[list[str]] = []
    pending = 0
    for text in text_stream(texts):
        if not isinstance(text, str):
            continue
        tokens = tokenize(text)
        token_lists.append(tokens)
        pending += len(tokens)
        if pending >= batch_tokens:
            yield _hash_batch(token_lists, orders)
            token_lists, pending = [], 0
    if token_lists:
        yield _hash_batch(token_lists, orders)


def _hash_batch(token_lists: list[list[str]], orders: Sequence[int]) -> NgramBatch:
    lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    starts = np.zeros(len(token_lists), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    flat = list(chain.from_iterable(token_lists))
    # Each distinct token is hashed once; the batch's tokens become indexes into those hashes.
    vocabulary = dict.fromkeys(flat)
    index = dict(zip(vocabulary, range(len(vocabulary)), strict=True))
    ids = np.fromiter(map(index.__getitem__, flat), dtype=np.int64, count=len(flat))
    symbols = string_hashes(vocabulary)[ids]
    hashes = {}
    for n in orders:
        windows = np.maximum(lengths - n + 1, 0)
        hashes[n] = all_window_hashes(symbols, n)[gather_ranges(starts, windows)]
    return NgramBatch(texts=len(token_lists), hashes=hashes)


class HashTally:
    """An exact set of 64-bit hashes, or with ``counts=True`` a multiset (each distinct hash and
    how many times it was added), held as sorted unique arrays.

    :meth:`add` sorts each batch and keeps it aside; once the batches kept aside reach a quarter
    of the tally they are merged in, one partition of the hash space at a time (a stable sort,
    numpy's timsort, merges sorted runs in linear time). Memory is 8 bytes per distinct hash
    (16 with counts) plus the batches waiting to be merged. ``min_merge``: the fewest kept-aside
    values that trigger a merge.
    """

    def __init__(self, *, counts: bool = False, min_merge: int = _MIN_MERGE) -> None:
        self._with_counts = counts
        self._min_merge = min_merge
        self._keys: list[UInt64Array] = [np.empty(0, dtype=np.uint64)] * _PARTITIONS
        self._counts: list[IntArray] = [np.empty(0, dtype=np.int64)] * _PARTITIONS
        self._pending_keys: list[UInt64Array] = []
        self._pending_counts: list[IntArray] = []
        self._pending = 0
        self._held = 0

    def add(self, hashes: UInt64Array) -> None:
        """Add every value of ``hashes`` (repeats count as often as they occur)."""
        if hashes.size == 0:
            return
        if self._with_counts:
            ordered = np.sort(hashes)
            starts = run_starts(ordered)
            self._pending_keys.append(ordered[starts])
            self._pending_counts.append(np.diff(np.append(starts, ordered.size)))
        else:
            self._pending_keys.append(sorted_unique(hashes))
        self._pending += self._pending_keys[-1].size
        if self._pending >= max(self._held // 4, self._min_merge):
            self._merge_pending()

    def _merge_pending(self) -> None:
        if not self._pending_keys:
            return
        keys, counts = self._combine(self._pending_keys, self._pending_counts)
        self._pending_keys, self._pending_counts, self._pending = [], [], 0
        edges = np.arange(1, _PARTITIONS, dtype=np.uint64) << np.uint64(64 - _PARTITION_BITS)
        bounds = np.concatenate(([0], np.searchsorted(keys, edges), [keys.size]))
        for part in range(_PARTITIONS):
            lo, hi = int(bounds[part]), int(bounds[part + 1])
            if hi > lo:
                self._keys[part], self._counts[part] = self._combine(
                    [self._keys[part], keys[lo:hi]], [self._counts[part], counts[lo:hi]]
                )
        self._held = sum(part.size for part in self._keys)

    def _combine(
        self, keys: list[UInt64Array], counts: list[IntArray]
    ) -> tuple[UInt64Array, IntArray]:
        """One sorted unique array of several sorted unique ones, and the summed counts (an
        empty array when the tally keeps none)."""
        joined = np.concatenate(keys)
        if not self._with_counts:
            ordered = np.sort(joined, kind="stable")
            return ordered[run_starts(ordered)], np.empty(0, dtype=np.int64)
        order = np.argsort(joined, kind="stable")
        ordered = joined[order]
        starts = run_starts(ordered)
        if starts.size == 0:
            return ordered, np.empty(0, dtype=np.int64)
        return ordered[starts], np.add.reduceat(np.concatenate(counts)[order], starts)

    @property
    def distinct(self) -> int:
        """How many distinct hashes were added."""
        self._merge_pending()
        return self._held

    def keys(self) -> UInt64Array:
        """The distinct hashes, sorted."""
        self._merge_pending()
        return np.concatenate(self._keys)

    def counts(self) -> IntArray:
        """How many times each of :meth:`keys` was added (needs ``counts=True``)."""
        if not self._with_counts:
            raise ConfigError("this tally keeps no counts; make it with counts=True")
        self._merge_pending()
        return np.concatenate(self._counts)
