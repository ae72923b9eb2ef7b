"""Deterministic 64-bit hashing and sorted-array helpers shared by the text kernels.

This module owns the pieces that :mod:`synthloom.minhash` (shingles, band keys) and
:mod:`synthloom.ngram_hashes` (hashed n-grams for distinct-n and rare n-grams) both build on:

* :func:`mix64` and :data:`HASH_BASE`: splitmix64's finaliser and the multiplier of a
  polynomial rolling hash, all in numpy uint64 arithmetic (wrapping modulo 2**64);
* :func:`window_hashes` / :func:`all_window_hashes`: the rolling hash of fixed-width windows of
  a symbol array;
* :func:`string_hashes`: a stable 64-bit hash of strings (BLAKE2b), the same in every process
  (Python's ``hash()`` is salted per process);
* :func:`sorted_unique`, :func:`gather_ranges`: array helpers;
* :func:`slices`: a sequence cut into consecutive slices, so a kernel walks any
  ``Sequence[str]`` (a list, or a compact Arrow-backed sequence) without copying it whole.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = [
    "HASH_BASE",
    "FloatArray",
    "IntArray",
    "UInt32Array",
    "UInt64Array",
    "all_window_hashes",
    "gather_ranges",
    "mix64",
    "slices",
    "sorted_unique",
    "string_hashes",
    "window_hashes",
]

_T = TypeVar("_T")

UInt32Array = npt.NDArray[np.uint32]
UInt64Array = npt.NDArray[np.uint64]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Odd 64-bit constants (from splitmix64) for the polynomial rolling hash and the final mixer.
#: The multiplier of the polynomial rolling hash (shingles, n-grams) and of the band-key hash.
HASH_BASE = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_U30 = np.uint64(30)
_U27 = np.uint64(27)
_U31 = np.uint64(31)


def sorted_unique(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """np.unique by sorting: numpy 2's hash-based np.unique is many times slower on uint64."""
    out = np.sort(values)
    if out.size < 2:
        return out
    return out[np.concatenate(([True], out[1:] != out[:-1]))]


def mix64(values: UInt64Array) -> UInt64Array:
    """splitmix64's finaliser: spreads every input bit over the whole word (in place)."""
    values ^= values >> _U30
    values *= _MIX1
    values ^= values >> _U27
    values *= _MIX2
    values ^= values >> _U31
    return values


def window_hashes(symbols: UInt64Array, starts: IntArray, width: int) -> UInt64Array:
    """64-bit hashes of the ``width`` symbols beginning at each start position."""
    with np.errstate(over="ignore"):
        acc = symbols[starts]
        for j in range(1, width):
            acc *= HASH_BASE
            acc += symbols[starts + j]
        # The width is mixed in so a short text never equals one window of a longer text.
        acc += np.uint64(width)
        return mix64(acc)


def all_window_hashes(symbols: UInt64Array, width: int) -> UInt64Array:
    """:func:`window_hashes` at every start 0 .. len - width, computed on contiguous slices
    (no gathers): the same values, several times faster for the full windows of a batch."""
    count = symbols.size - width + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        acc = symbols[:count].copy()
        for j in range(1, width):
            acc *= HASH_BASE
            acc += symbols[j : j + count]
        acc += np.uint64(width)
        return mix64(acc)


def string_hashes(strings: Iterable[str], *, words: int = 1) -> UInt64Array:
    """A stable hash (BLAKE2b of the UTF-8 bytes) of each string, ``words`` 64-bit words long:
    shape ``(count,)`` for one word, ``(count, words)`` for more.

    Lone surrogates (which JSON can carry) are encoded as they are, so no string fails and two
    different strings never share their bytes.
    """
    digest = b"".join(
        hashlib.blake2b(s.encode("utf-8", "surrogatepass"), digest_size=8 * words).digest()
        for s in strings
    )
    values = np.frombuffer(digest, dtype=np.uint64).copy()
    return values if words == 1 else values.reshape(-1, words)


def run_starts(sorted_values: npt.NDArray[Any]) -> IntArray:
    """Where each run of equal values begins in a sorted array (empty for an empty array)."""
    if sorted_values.size == 0:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))


def starts_of(lengths: IntArray) -> IntArray:
    """Where each of consecutive ranges of ``lengths`` begins: 0, then the running totals."""
    starts = np.zeros(lengths.size, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return starts


def gather_ranges(starts: IntArray, lengths: IntArray) -> IntArray:
    """Concatenation of ``arange(s, s + l)`` for every (s, l), without a Python loop."""
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    shift: IntArray = np.repeat(starts - (ends - lengths), lengths)
    return np.arange(total, dtype=np.int64) + shift


def slices(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    """Consecutive slices of at most ``size`` items: a sequence walked in pieces, never copied
    whole (what a slice of the sequence's own class costs is all it costs)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
