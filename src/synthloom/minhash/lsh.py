"""Signatures and LSH for :mod:`synthloom.minhash`: MinHash signatures of shingle sets, the
bands x rows choice for a threshold, band keys, and the candidate pairs that share a bucket."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt

from synthloom.errors import ConfigError
from synthloom.hashing import run_starts
from synthloom.minhash.shingles import (
    HASH_BASE,
    FloatArray,
    IntArray,
    ShingleKind,
    UInt32Array,
    UInt64Array,
    flatten_sets,
    mix64,
    shingle_flat,
    sorted_unique,
)

__all__ = [
    "EMPTY_SLOT",
    "MinHasher",
    "band_keys",
    "candidate_pairs",
    "candidates_from_keys",
    "estimate_jaccard",
    "lsh_bands",
    "lsh_params",
    "shard_band_keys",
]

_U32 = np.uint64(32)
#: The signature value of a document without shingles (in every slot).
EMPTY_SLOT = np.uint32(0xFFFFFFFF)

# The block of hash values one task computes at once in MinHasher.signatures (bytes): small
# enough to stay in a core's cache between the multiply, the add and the min-reduction, which is
# about twice as fast as streaming a large block through memory. Tasks take this many
# permutations each, so the block spans enough shingles to keep Python's per-block work small.
_DEFAULT_BLOCK_BYTES = 2 * 1024 * 1024
_PERMS_PER_TASK = 16


def _usable_cpus() -> int:
    """CPUs this process may run on (a container's limit, not the host's core count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


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
        values, offsets = flatten_sets(shingle_sets)
        return self.signatures_flat(values, offsets)

    def signatures_of_texts(
        self, texts: Sequence[str], *, kind: ShingleKind = "char", n: int = 5
    ) -> UInt32Array:
        """Signatures of texts, shingled as :func:`shingle_hashes` does."""
        values, offsets = shingle_flat(texts, kind, n, unique=False)
        return self.signatures_flat(values, offsets)

    def signatures_flat(self, values: UInt64Array, offsets: IntArray) -> UInt32Array:
        """:meth:`signatures` of flat shingle hashes (``values``, with start ``offsets`` of
        length num_docs + 1, as :func:`~synthloom.minhash.shingle_flat` gives them)."""
        num_docs = offsets.size - 1
        # Computed permutation-major: reduceat along the contiguous axis is the fast one.
        sig_t = np.full((self.num_perm, num_docs), EMPTY_SLOT, dtype=np.uint32)
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
                acc *= HASH_BASE
                acc ^= col.astype(np.uint64)
                acc = mix64(acc)
            keys[:, band] = acc
    return keys


def _bucket_pairs(keys: UInt64Array, max_bucket_size: int) -> IntArray:
    """Pairs (i < j) of rows that share a key in one band."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = run_starts(sorted_keys)
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
    """Unique pairs (i < j) of rows of ``keys`` (``(num_docs, bands)``, :func:`band_keys`) that
    share a key in any band, as :func:`candidate_pairs` says; rows in ``skip`` never pair."""
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
    empty = np.flatnonzero(np.all(sig == EMPTY_SLOT, axis=1)) if sig.size else None
    return candidates_from_keys(band_keys(sig, bands, rows), max_bucket_size, empty)


def lsh_bands(threshold: float, num_perm: int, false_negative_weight: float) -> tuple[int, int]:
    """(bands, rows) of :func:`synthloom.minhash.near_duplicate_clusters`: :func:`lsh_params`
    with the false-positive weight ``1 - false_negative_weight``, which must be in (0, 1)."""
    if not 0.0 < false_negative_weight < 1.0:
        raise ConfigError(
            f"false_negative_weight must be in (0, 1), got {false_negative_weight}",
            field="false_negative_weight",
        )
    return lsh_params(
        threshold,
        num_perm,
        false_positive_weight=1.0 - false_negative_weight,
        false_negative_weight=false_negative_weight,
    )


def shard_band_keys(
    texts: Sequence[str], hasher: MinHasher, kind: str, n: int, bands: int, rows: int
) -> tuple[UInt64Array, IntArray]:
    """The first phase of near-duplicate detection on a slice of texts: each text's band keys
    (``(len(texts), bands)``), and the indexes (in the slice) of the texts without shingles.
    Keys do not depend on how a corpus is cut into slices."""
    values, offsets = shingle_flat(texts, kind, n, unique=False)
    signatures = hasher.signatures_flat(values, offsets)
    return band_keys(signatures, bands, rows), np.flatnonzero(np.diff(offsets) == 0)
