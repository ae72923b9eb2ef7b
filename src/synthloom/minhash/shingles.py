"""Shingling for :mod:`synthloom.minhash`: texts to deterministic 32-bit shingle hashes,
flat (values plus offsets) for the vectorised phases after it."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from synthloom.errors import ConfigError
from synthloom.hashing import (
    HASH_BASE,
    FloatArray,
    IntArray,
    UInt32Array,
    UInt64Array,
    all_window_hashes,
    gather_ranges,
    mix64,
    sorted_unique,
    window_hashes,
)
from synthloom.text import tokenize

__all__ = [
    "HASH_BASE",
    "FloatArray",
    "IntArray",
    "ShingleKind",
    "UInt32Array",
    "UInt64Array",
    "flatten_sets",
    "gather_ranges",
    "mix64",
    "normalised_text",
    "shingle_flat",
    "shingle_hash_sets",
    "shingle_hashes",
    "sorted_unique",
]

ShingleKind = Literal["char", "word"]
_U32 = np.uint64(32)


def normalised_text(text: str, kind: str) -> str:
    """What a text's shingles are made of, as one string: for ``kind="char"`` the lower-cased
    text with runs of whitespace collapsed to one space, for ``"word"`` its
    :func:`synthloom.text.tokenize` tokens joined by spaces (tokens hold no whitespace, so the
    join is one-to-one). Texts with the same normalised text have the same shingles."""
    if kind == "char":
        return " ".join(text.lower().split())
    if kind == "word":
        return " ".join(tokenize(text))
    raise ConfigError(f"unknown shingle kind {kind!r}; use 'char' or 'word'", field="kind")


def _symbols(texts: Sequence[str], kind: str) -> tuple[UInt64Array, IntArray]:
    """Every text's symbols (code points or token hashes), concatenated, and their lengths."""
    if kind == "char":
        normalised = [normalised_text(t, kind) for t in texts]
        lengths = np.fromiter((len(t) for t in normalised), dtype=np.int64, count=len(texts))
        # surrogatepass: a lone surrogate (JSON can carry one) is a code point like any other.
        joined = "".join(normalised).encode("utf-32-le", "surrogatepass")
        return np.frombuffer(joined, dtype=np.uint32).astype(np.uint64), lengths
    if kind == "word":
        token_lists = [tokenize(t) for t in texts]
        lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(texts))
        hashes = (
            zlib.crc32(tok.encode("utf-8", "surrogatepass")) for toks in token_lists for tok in toks
        )
        return np.fromiter(hashes, dtype=np.uint64, count=int(lengths.sum())), lengths
    raise ConfigError(f"unknown shingle kind {kind!r}; use 'char' or 'word'", field="kind")


def shingle_flat(
    texts: Sequence[str], kind: str, n: int, *, unique: bool = True
) -> tuple[UInt64Array, IntArray]:
    """Shingle hashes of every text, flat, with start offsets (len(texts) + 1).

    ``unique=True``: each text's hashes sorted and deduplicated (sets, for exact Jaccard).
    ``unique=False``: each text's hashes in text order, repeats kept; a minimum does not care,
    so MinHash signatures skip the sort, the costliest step here.
    """
    if n < 1:
        raise ConfigError(f"shingle size must be >= 1, got {n}", field="n")
    symbols, lengths = _symbols(texts, kind)
    num_docs = len(texts)
    doc_starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    # Full windows of every text long enough, then one shorter window for each short text:
    # a text shorter than n symbols still has content and becomes a single shingle.
    counts = np.maximum(lengths - n + 1, 0)
    positions = gather_ranges(doc_starts[:num_docs], counts)
    full = all_window_hashes(symbols, n)[positions]
    short_docs = np.flatnonzero((lengths > 0) & (lengths < n))
    short = np.empty(short_docs.size, dtype=np.uint64)
    for width in range(1, n):
        which = lengths[short_docs] == width
        if which.any():
            short[which] = window_hashes(symbols, doc_starts[short_docs[which]], width)
    if not unique:
        # A text has full windows or one short window, never both: lay both out in text order.
        per_doc = counts.copy()
        per_doc[short_docs] = 1
        offsets = np.zeros(num_docs + 1, dtype=np.int64)
        np.cumsum(per_doc, out=offsets[1:])
        values = np.empty(int(offsets[-1]), dtype=np.uint64)
        if short_docs.size:
            is_short = np.zeros(num_docs, dtype=bool)
            is_short[short_docs] = True
            slot_is_short = np.repeat(is_short, per_doc)
            values[slot_is_short] = short >> _U32
            values[~slot_is_short] = full >> _U32
        else:
            values[:] = full >> _U32
        return values, offsets
    owners = np.concatenate(
        (np.repeat(np.arange(num_docs, dtype=np.int64), counts), short_docs)
    ).astype(np.uint64)
    # Sorting (document, hash) keys dedups within each document and groups documents in order.
    keys = sorted_unique((owners << _U32) | (np.concatenate((full, short)) >> _U32))
    offsets = np.searchsorted(keys >> _U32, np.arange(num_docs + 1, dtype=np.uint64)).astype(
        np.int64
    )
    return keys & np.uint64(0xFFFFFFFF), offsets


def shingle_hashes(text: str, *, kind: ShingleKind = "char", n: int = 5) -> UInt32Array:
    """The sorted, unique 32-bit hashes of a text's shingles.

    ``kind="char"``: n-character windows of the lower-cased text with runs of whitespace
    collapsed to one space. ``kind="word"``: n-token windows of :func:`synthloom.text.tokenize`.
    A text shorter than n symbols gives one shingle; an empty text gives none.
    """
    values, _ = shingle_flat([text], kind, n)
    return values.astype(np.uint32)


def shingle_hash_sets(
    texts: Sequence[str], *, kind: ShingleKind = "char", n: int = 5
) -> list[UInt32Array]:
    """:func:`shingle_hashes` of many texts at once (vectorised over the whole batch)."""
    values, offsets = shingle_flat(texts, kind, n)
    return np.split(values.astype(np.uint32), offsets[1:-1])


def flatten_sets(shingle_sets: Sequence[npt.NDArray[np.integer]]) -> tuple[UInt64Array, IntArray]:
    """Concatenated values and start offsets (length len(sets) + 1) of a list of arrays."""
    lengths = np.fromiter((s.size for s in shingle_sets), dtype=np.int64, count=len(shingle_sets))
    offsets = np.zeros(len(shingle_sets) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] == 0:
        return np.empty(0, dtype=np.uint64), offsets
    values = np.concatenate([np.asarray(s, dtype=np.uint64) for s in shingle_sets])
    return values, offsets
