"""Vectorised MinHash + LSH near-duplicate detection, shared by the assay and curation.

This module owns everything between "a list of texts" and "which texts are near-duplicates":

1. **Shingles.** :func:`shingle_hashes` turns a text into the sorted, unique 32-bit hashes of
   its character n-grams (lower-cased, whitespace collapsed) or word n-grams
   (:func:`synthloom.text.tokenize`). Hashes are deterministic across processes (no Python
   ``hash()``, which is salted per process).
2. **Signatures.** :class:`MinHasher` applies ``num_perm`` hash functions from the
   multiply-add-shift family ``h(x) = ((a*x + b) mod 2**64) >> 32`` (a odd, a and b random
   64-bit; strongly universal for 32-bit keys, Dietzfelbinger 1996 / Thorup 2015). It is the
   ``a*x + b mod p`` scheme with ``p = 2**64`` and the top half kept, chosen because numpy
   multiplies modulo 2**64 for free while a true ``% p`` costs about 7x more time. Shingles are
   processed in fixed-size blocks so memory stays bounded whatever the corpus size.
3. **LSH.** :func:`lsh_params` picks bands x rows for a target Jaccard threshold by minimising
   the weighted false-positive and false-negative areas of the S-curve (the same objective as
   datasketch's ``MinHashLSH``; the integrals are computed exactly by Gauss-Legendre quadrature,
   since the S-curve is a polynomial). :func:`candidate_pairs` hashes each band to a 64-bit key,
   sorts, and emits the pairs that share a bucket in any band.
4. **Verification and clusters.** :func:`pair_jaccard` computes the exact Jaccard similarity of
   the shingle sets of many pairs at once; :func:`near_duplicate_clusters` keeps the pairs at or
   above the threshold and joins them into connected components.

A text with no shingles (empty, or whitespace only) is never anyone's near-duplicate: exact
dedup is the right tool for empty records.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from synthloom.errors import ConfigError
from synthloom.text import tokenize

__all__ = [
    "MinHasher",
    "NearDuplicates",
    "ShingleKind",
    "band_keys",
    "candidate_pairs",
    "candidates_from_keys",
    "estimate_jaccard",
    "jaccard",
    "lsh_params",
    "near_duplicate_clusters",
    "pair_jaccard",
    "pair_jaccard_flat",
    "shingle_flat",
    "shingle_hash_sets",
    "shingle_hashes",
    "sorted_unique",
]

ShingleKind = Literal["char", "word"]
UInt32Array = npt.NDArray[np.uint32]
UInt64Array = npt.NDArray[np.uint64]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Odd 64-bit constants (from splitmix64) for the polynomial rolling hash and the final mixer.
_BASE = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_U30 = np.uint64(30)
_U27 = np.uint64(27)
_U31 = np.uint64(31)
_U32 = np.uint64(32)
_EMPTY_SLOT = np.uint32(0xFFFFFFFF)

# The block of hash values one task computes at once in MinHasher.signatures (bytes): small
# enough to stay in a core's cache between the multiply, the add and the min-reduction, which is
# about twice as fast as streaming a large block through memory. Tasks take this many
# permutations each, so the block spans enough shingles to keep Python's per-block work small.
_DEFAULT_BLOCK_BYTES = 2 * 1024 * 1024
_PERMS_PER_TASK = 16


def sorted_unique(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """np.unique by sorting: numpy 2's hash-based np.unique is many times slower on uint64."""
    out = np.sort(values)
    if out.size < 2:
        return out
    return out[np.concatenate(([True], out[1:] != out[:-1]))]


def _usable_cpus() -> int:
    """CPUs this process may run on (a container's limit, not the host's core count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _mix64(values: UInt64Array) -> UInt64Array:
    """splitmix64's finaliser: spreads every input bit over the whole word (in place)."""
    values ^= values >> _U30
    values *= _MIX1
    values ^= values >> _U27
    values *= _MIX2
    values ^= values >> _U31
    return values


def _symbols(texts: Sequence[str], kind: str) -> tuple[UInt64Array, IntArray]:
    """Every text's symbols (code points or token hashes), concatenated, and their lengths."""
    if kind == "char":
        normalised = [" ".join(t.lower().split()) for t in texts]
        lengths = np.fromiter((len(t) for t in normalised), dtype=np.int64, count=len(texts))
        joined = "".join(normalised).encode("utf-32-le")
        return np.frombuffer(joined, dtype=np.uint32).astype(np.uint64), lengths
    if kind == "word":
        token_lists = [tokenize(t) for t in texts]
        lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int64, count=len(texts))
        hashes = (zlib.crc32(tok.encode("utf-8")) for toks in token_lists for tok in toks)
        return np.fromiter(hashes, dtype=np.uint64, count=int(lengths.sum())), lengths
    raise ConfigError(f"unknown shingle kind {kind!r}; use 'char' or 'word'", field="kind")


def _window_hashes(symbols: UInt64Array, starts: IntArray, width: int) -> UInt64Array:
    """64-bit hashes of the ``width`` symbols beginning at each start position."""
    with np.errstate(over="ignore"):
        acc = symbols[starts]
        for j in range(1, width):
            acc *= _BASE
            acc += symbols[starts + j]
        # The width is mixed in so a short text never equals one window of a longer text.
        acc += np.uint64(width)
        return _mix64(acc)


def _all_window_hashes(symbols: UInt64Array, width: int) -> UInt64Array:
    """:func:`_window_hashes` at every start 0 .. len - width, computed on contiguous slices
    (no gathers): the same values, several times faster for the full windows of a batch."""
    count = symbols.size - width + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        acc = symbols[:count].copy()
        for j in range(1, width):
            acc *= _BASE
            acc += symbols[j : j + count]
        acc += np.uint64(width)
        return _mix64(acc)


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
    positions = _gather_ranges(doc_starts[:num_docs], counts)
    full = _all_window_hashes(symbols, n)[positions]
    short_docs = np.flatnonzero((lengths > 0) & (lengths < n))
    short = np.empty(short_docs.size, dtype=np.uint64)
    for width in range(1, n):
        which = lengths[short_docs] == width
        if which.any():
            short[which] = _window_hashes(symbols, doc_starts[short_docs[which]], width)
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


def _gather_ranges(starts: IntArray, lengths: IntArray) -> IntArray:
    """Concatenation of ``arange(s, s + l)`` for every (s, l), without a Python loop."""
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    shift: IntArray = np.repeat(starts - (ends - lengths), lengths)
    return np.arange(total, dtype=np.int64) + shift


def _flatten(shingle_sets: Sequence[npt.NDArray[np.integer]]) -> tuple[UInt64Array, IntArray]:
    """Concatenated values and start offsets (length len(sets) + 1) of a list of arrays."""
    lengths = np.fromiter((s.size for s in shingle_sets), dtype=np.int64, count=len(shingle_sets))
    offsets = np.zeros(len(shingle_sets) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] == 0:
        return np.empty(0, dtype=np.uint64), offsets
    values = np.concatenate([np.asarray(s, dtype=np.uint64) for s in shingle_sets])
    return values, offsets


class MinHasher:
    """MinHash signatures of shingle sets, ``num_perm`` hash functions drawn from ``seed``."""

    def __init__(
        self, num_perm: int = 128, seed: int = 0, *, block_bytes: int = _DEFAULT_BLOCK_BYTES
    ) -> None:
        if num_perm < 1:
            raise ConfigError(f"num_perm must be >= 1, got {num_perm}", field="num_perm")
        self.num_perm = num_perm
        self.seed = seed
        rng = np.random.default_rng(seed)
        # a must be odd for the multiply-shift family to be universal.
        self._a = rng.integers(0, 2**64, size=num_perm, dtype=np.uint64, endpoint=False) | 1
        self._b = rng.integers(0, 2**64, size=num_perm, dtype=np.uint64, endpoint=False)
        self._block = max(1, block_bytes // (8 * min(num_perm, _PERMS_PER_TASK)))

    def signatures(self, shingle_sets: Sequence[npt.NDArray[np.integer]]) -> UInt32Array:
        """A ``(len(shingle_sets), num_perm)`` uint32 matrix of minimum hash values.

        Each set holds 32-bit shingle hashes. A document without shingles gets 0xFFFFFFFF in
        every slot.
        """
        values, offsets = _flatten(shingle_sets)
        return self._signatures_flat(values, offsets)

    def signatures_of_texts(
        self, texts: Sequence[str], *, kind: ShingleKind = "char", n: int = 5
    ) -> UInt32Array:
        """Signatures of texts, shingled as :func:`shingle_hashes` does."""
        values, offsets = shingle_flat(texts, kind, n, unique=False)
        return self._signatures_flat(values, offsets)

    def _signatures_flat(self, values: UInt64Array, offsets: IntArray) -> UInt32Array:
        num_docs = offsets.size - 1
        # Computed permutation-major: reduceat along the contiguous axis is the fast one.
        sig_t = np.full((self.num_perm, num_docs), _EMPTY_SLOT, dtype=np.uint32)
        if values.size:
            # numpy releases the GIL inside ufuncs, so permutation groups run on all cores.
            workers = max(1, min(_usable_cpus(), self.num_perm // 16, 8))
            tasks = max(1, -(-self.num_perm // _PERMS_PER_TASK))
            groups = np.array_split(np.arange(self.num_perm), tasks)
            with ThreadPoolExecutor(max_workers=workers) as pool:
                done = [
                    pool.submit(self._fill, sig_t, perms, values, offsets[:-1]) for perms in groups
                ]
                for future in done:
                    future.result()
        return np.ascontiguousarray(sig_t.T)

    def _fill(
        self, sig_t: UInt32Array, perms: IntArray, values: UInt64Array, doc_starts: IntArray
    ) -> None:
        """Write the minima of hash functions ``perms`` into their rows of ``sig_t``."""
        block = self._block
        buf = np.empty((perms.size, min(block, values.size)), dtype=np.uint64)
        a = self._a[perms, None]
        b = self._b[perms, None]
        rows = sig_t[perms[0] : perms[-1] + 1]
        for start in range(0, values.size, block):
            stop = min(start + block, values.size)
            out = buf[:, : stop - start]
            with np.errstate(over="ignore"):
                np.multiply(a, values[None, start:stop], out=out)
                out += b
            # Segments of this block: its first position plus every document start inside it.
            lo, hi = np.searchsorted(doc_starts, [start, stop], side="right")
            seg_starts = np.concatenate(([start], doc_starts[lo:hi][doc_starts[lo:hi] < stop]))
            # side="right" skips empty documents that share a start with the next document.
            seg_docs = np.searchsorted(doc_starts, seg_starts, side="right") - 1
            # The hash is the top 32 bits; x >> 32 never decreases as x grows, so the minimum
            # of the shifted values is the shifted minimum: shift after reducing, not before.
            minima = (np.minimum.reduceat(out, seg_starts - start, axis=1) >> _U32).astype(
                np.uint32
            )
            # A document cut by a block boundary has a segment in each block: keep the smaller.
            np.minimum(rows[:, seg_docs], minima, out=minima)
            rows[:, seg_docs] = minima


def estimate_jaccard(sig_a: npt.NDArray[np.uint32], sig_b: npt.NDArray[np.uint32]) -> float:
    """The MinHash estimate of the Jaccard similarity: the share of equal signature slots."""
    if sig_a.shape != sig_b.shape:
        raise ValueError(f"signatures differ in shape: {sig_a.shape} vs {sig_b.shape}")
    return float(np.mean(sig_a == sig_b))


def jaccard(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Exact Jaccard similarity of two sets given as arrays (0.0 when both are empty)."""
    set_a = sorted_unique(np.asarray(a).ravel())
    set_b = sorted_unique(np.asarray(b).ravel())
    union = np.union1d(set_a, set_b).size
    if union == 0:
        return 0.0
    return float(np.intersect1d(set_a, set_b, assume_unique=True).size / union)


def pair_jaccard(
    shingle_sets: Sequence[npt.NDArray[np.integer]],
    pairs: npt.ArrayLike,
    *,
    chunk_values: int = 1 << 24,
) -> FloatArray:
    """Exact Jaccard similarity for each row (i, j) of ``pairs``, vectorised.

    Each set must hold unique values below 2**32 (as :func:`shingle_hashes` returns). Pairs are
    processed in chunks of about ``chunk_values`` shingles so memory stays bounded. Two empty
    sets have similarity 0.
    """
    values, offsets = _flatten(shingle_sets)
    return pair_jaccard_flat(values, offsets, pairs, chunk_values)


def pair_jaccard_flat(
    values: UInt64Array, offsets: IntArray, pairs: npt.ArrayLike, chunk_values: int
) -> FloatArray:
    pair_arr = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    sizes = np.diff(offsets)
    result = np.zeros(len(pair_arr), dtype=np.float64)
    if len(pair_arr) == 0:
        return result
    pair_sizes = sizes[pair_arr[:, 0]] + sizes[pair_arr[:, 1]]
    cut_points = np.searchsorted(
        np.cumsum(pair_sizes), np.arange(chunk_values, int(pair_sizes.sum()), chunk_values)
    )
    for chunk in np.split(np.arange(len(pair_arr)), np.unique(cut_points)):
        if chunk.size == 0:
            continue
        # Both sets of a pair, each value tagged with the pair's local index in the high 32
        # bits: after sorting, a value the two sets share shows up as two equal neighbours.
        ends = pair_arr[chunk]
        starts = offsets[ends].ravel()
        lengths = sizes[ends].ravel()
        tags = np.repeat(np.repeat(np.arange(chunk.size, dtype=np.uint64), 2), lengths)
        keys = np.sort(values[_gather_ranges(starts, lengths)] | (tags << _U32))
        dup = keys[1:][keys[1:] == keys[:-1]]
        inter = np.bincount((dup >> _U32).astype(np.int64), minlength=chunk.size)
        union = pair_sizes[chunk] - inter
        result[chunk] = inter / np.maximum(union, 1)
    return result


def _gauss_legendre(lo: float, hi: float, degree: int) -> tuple[FloatArray, FloatArray]:
    """Nodes and weights that integrate polynomials up to ``degree`` exactly on [lo, hi]."""
    nodes, weights = np.polynomial.legendre.leggauss(degree // 2 + 1)
    half = (hi - lo) / 2.0
    return lo + half * (nodes + 1.0), weights * half


def lsh_params(
    threshold: float,
    num_perm: int,
    *,
    false_positive_weight: float = 0.5,
    false_negative_weight: float = 0.5,
) -> tuple[int, int]:
    """(bands, rows) with bands * rows <= num_perm that best separates pairs at ``threshold``.

    A pair of Jaccard s shares at least one bucket with probability ``1 - (1 - s**rows)**bands``.
    The choice minimises ``fp_weight * area(P, 0..threshold) + fn_weight * area(1-P,
    threshold..1)``, datasketch's objective; ties go to the first (bands, rows) in the order
    bands = 1.., rows = 1.., as datasketch does.
    """
    if not 0.0 < threshold <= 1.0:
        raise ConfigError(f"threshold must be in (0, 1], got {threshold}", field="threshold")
    if num_perm < 2:
        raise ConfigError(f"num_perm must be >= 2 for LSH, got {num_perm}", field="num_perm")
    x_lo, w_lo = _gauss_legendre(0.0, threshold, num_perm)
    x_hi, w_hi = _gauss_legendre(threshold, 1.0, num_perm)
    best: tuple[float, int, int] | None = None
    for bands in range(1, num_perm + 1):
        max_rows = num_perm // bands
        rows = np.arange(1, max_rows + 1, dtype=np.float64)[:, None]
        p_lo = 1.0 - (1.0 - x_lo[None, :] ** rows) ** bands
        p_hi = 1.0 - (1.0 - x_hi[None, :] ** rows) ** bands
        errors = false_positive_weight * (p_lo @ w_lo) + false_negative_weight * ((1 - p_hi) @ w_hi)
        idx = int(np.argmin(errors))
        if best is None or errors[idx] < best[0]:
            best = (float(errors[idx]), bands, idx + 1)
    assert best is not None
    return best[1], best[2]


def band_keys(signatures: npt.NDArray[np.uint32], bands: int, rows: int) -> UInt64Array:
    """A ``(num_docs, bands)`` matrix of 64-bit keys, one per band of ``rows`` signature slots."""
    sig = np.asarray(signatures)
    if sig.ndim != 2:
        raise ValueError(f"signatures must be 2-D, got shape {sig.shape}")
    if bands * rows > sig.shape[1]:
        raise ConfigError(
            f"bands x rows = {bands * rows} exceeds the {sig.shape[1]} signature slots",
            field="bands",
        )
    keys = np.empty((sig.shape[0], bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for band in range(bands):
            acc = np.full(sig.shape[0], np.uint64(band + 1), dtype=np.uint64)
            for col in sig[:, band * rows : (band + 1) * rows].T:
                acc *= _BASE
                acc ^= col.astype(np.uint64)
                acc = _mix64(acc)
            keys[:, band] = acc
    return keys


def _bucket_pairs(keys: UInt64Array, max_bucket_size: int) -> IntArray:
    """Pairs (i < j) of rows that share a key in one band."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
    sizes = np.diff(np.append(starts, keys.size))
    out: list[IntArray] = []
    for size in np.unique(sizes[sizes >= 2]):
        group_starts = starts[sizes == size]
        members = order[group_starts[:, None] + np.arange(size)[None, :]]
        if size <= max_bucket_size:
            left, right = np.triu_indices(int(size), k=1)
        else:
            # A huge bucket (hundreds of copies of one text) would give size**2 / 2 pairs; a
            # star to its first member keeps the cluster connected at linear cost.
            left = np.zeros(size - 1, dtype=np.int64)
            right = np.arange(1, size, dtype=np.int64)
        out.append(np.stack([members[:, left].ravel(), members[:, right].ravel()], axis=1))
    if not out:
        return np.empty((0, 2), dtype=np.int64)
    return np.concatenate(out).astype(np.int64)


def candidates_from_keys(
    keys: UInt64Array, max_bucket_size: int, skip: IntArray | None
) -> IntArray:
    num_docs = keys.shape[0]
    found: list[IntArray] = []
    for band in range(keys.shape[1]):
        band_key = keys[:, band]
        if skip is not None and skip.size:
            rows = np.setdiff1d(np.arange(num_docs), skip)
            pairs = rows[_bucket_pairs(band_key[rows], max_bucket_size)]
        else:
            pairs = _bucket_pairs(band_key, max_bucket_size)
        found.append(pairs)
    pairs = np.concatenate(found) if found else np.empty((0, 2), dtype=np.int64)
    if pairs.size == 0:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.sort(pairs, axis=1)
    codes = sorted_unique(pairs[:, 0] * num_docs + pairs[:, 1])
    return np.stack([codes // num_docs, codes % num_docs], axis=1)


def candidate_pairs(
    signatures: npt.NDArray[np.uint32],
    bands: int,
    rows: int,
    *,
    max_bucket_size: int = 256,
) -> IntArray:
    """A ``(k, 2)`` array of unique document pairs (i < j) sharing a bucket in any band.

    Buckets larger than ``max_bucket_size`` contribute a star (every member paired with the
    first) instead of all pairs, which keeps connected components right at linear cost.
    Documents whose signature is all 0xFFFFFFFF (no shingles) are never candidates.
    """
    sig = np.asarray(signatures)
    empty = np.flatnonzero(np.all(sig == _EMPTY_SLOT, axis=1)) if sig.size else None
    return candidates_from_keys(band_keys(sig, bands, rows), max_bucket_size, empty)


@dataclass(frozen=True)
class NearDuplicates:
    """What :func:`near_duplicate_clusters` found.

    ``labels[i]`` is the smallest index in document i's cluster (so ``labels[i] == i`` marks the
    document to keep when keeping the first of each cluster); ``pairs`` are the verified pairs
    (i < j) with exact Jaccard >= threshold and ``similarities`` their Jaccard values.
    """

    labels: IntArray
    pairs: IntArray
    similarities: FloatArray
    num_candidates: int
    bands: int
    rows: int

    @property
    def duplicated(self) -> npt.NDArray[np.bool_]:
        """True for every document that has at least one near-duplicate."""
        mask = np.zeros(self.labels.size, dtype=bool)
        mask[self.pairs.ravel()] = True
        return mask


def near_duplicate_clusters(
    texts: Sequence[str],
    *,
    threshold: float = 0.8,
    num_perm: int = 128,
    kind: ShingleKind = "char",
    n: int = 5,
    seed: int = 0,
    chunk_docs: int = 20_000,
    max_bucket_size: int = 256,
    false_negative_weight: float = 0.95,
) -> NearDuplicates:
    """Clusters of near-duplicate texts: MinHash + LSH candidates, verified by exact Jaccard.

    Texts are shingled and hashed ``chunk_docs`` at a time and only the band keys are kept, so
    memory grows with ``len(texts) * bands`` rather than with the shingles. Shingles are computed
    again only for the documents that turn up in a candidate pair.

    Every candidate is verified, so a false positive costs only a cheap exact check while a
    false negative is a missed duplicate: the bands are chosen with ``false_negative_weight``
    0.95 (a pair exactly at the threshold is found with probability about 0.95, one 0.05 above
    it about 0.99 at 128 permutations), not datasketch's 0.5 (about 0.4 and 0.7).
    """
    if not 0.0 < false_negative_weight < 1.0:
        raise ConfigError(
            f"false_negative_weight must be in (0, 1), got {false_negative_weight}",
            field="false_negative_weight",
        )
    bands, rows = lsh_params(
        threshold,
        num_perm,
        false_positive_weight=1.0 - false_negative_weight,
        false_negative_weight=false_negative_weight,
    )
    hasher = MinHasher(num_perm, seed)
    num_docs = len(texts)
    keys = np.empty((num_docs, bands), dtype=np.uint64)
    empty: list[IntArray] = [np.empty(0, dtype=np.int64)]
    for start in range(0, num_docs, chunk_docs):
        values, offsets = shingle_flat(texts[start : start + chunk_docs], kind, n, unique=False)
        signatures = hasher._signatures_flat(values, offsets)
        keys[start : start + signatures.shape[0]] = band_keys(signatures, bands, rows)
        empty.append(start + np.flatnonzero(np.diff(offsets) == 0))
    candidates = candidates_from_keys(keys, max_bucket_size, np.concatenate(empty))

    involved = sorted_unique(candidates.ravel())
    values, offsets = shingle_flat([texts[int(i)] for i in involved], kind, n)
    local_pairs = np.searchsorted(involved, candidates)
    similarity = pair_jaccard_flat(values, offsets, local_pairs, 1 << 24)
    return clusters_of_verified(candidates, similarity, threshold, num_docs, bands, rows)


def clusters_of_verified(
    candidates: IntArray,
    similarity: FloatArray,
    threshold: float,
    num_docs: int,
    bands: int,
    rows: int,
) -> NearDuplicates:
    """Clusters as connected components of the candidate pairs whose exact Jaccard similarity
    reaches ``threshold``; each document is labelled with the smallest index of its cluster."""
    keep = similarity >= threshold
    pairs = candidates[keep]
    graph = coo_matrix(
        (np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])),
        shape=(num_docs, num_docs),
    )
    _, components = connected_components(graph, directed=False)
    first = np.full(num_docs, num_docs, dtype=np.int64)
    np.minimum.at(first, components, np.arange(num_docs, dtype=np.int64))
    return NearDuplicates(
        labels=first[components],
        pairs=pairs,
        similarities=similarity[keep],
        num_candidates=len(candidates),
        bands=bands,
        rows=rows,
    )
