"""Verification and clusters for :mod:`synthloom.minhash`: exact Jaccard of candidate pairs,
and the connected components of the verified ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from synthloom.minhash.lsh import MinHasher, candidates_from_keys, lsh_bands, shard_band_keys
from synthloom.minhash.shingles import (
    FloatArray,
    IntArray,
    ShingleKind,
    UInt32Array,
    UInt64Array,
    flatten_sets,
    gather_ranges,
    shingle_flat,
    sorted_unique,
)

__all__ = [
    "NearDuplicates",
    "clusters_of_verified",
    "jaccard",
    "near_duplicate_clusters",
    "pair_jaccard",
    "pair_jaccard_flat",
    "pair_similarities",
]

_U32 = np.uint64(32)


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
    values, offsets = flatten_sets(shingle_sets)
    return pair_jaccard_flat(values, offsets, pairs, chunk_values)


def pair_jaccard_flat(
    values: UInt32Array | UInt64Array, offsets: IntArray, pairs: npt.ArrayLike, chunk_values: int
) -> FloatArray:
    """:func:`pair_jaccard` of flat shingle sets (``values`` with start ``offsets``, each set
    sorted and unique, as :func:`~synthloom.minhash.shingle_flat` gives them)."""
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
        # The keys are already sorted runs (each set is sorted, the tags increase): a stable
        # sort (timsort) merges runs instead of sorting from scratch, 3 to 4 times faster.
        keys = np.sort(values[gather_ranges(starts, lengths)] | (tags << _U32), kind="stable")
        dup = keys[1:][keys[1:] == keys[:-1]]
        inter = np.bincount((dup >> _U32).astype(np.int64), minlength=chunk.size)
        union = pair_sizes[chunk] - inter
        result[chunk] = inter / np.maximum(union, 1)
    return result


def pair_similarities(texts: Sequence[str], local_pairs: IntArray, kind: str, n: int) -> FloatArray:
    """The verification phase of near-duplicate detection: the exact Jaccard similarity of the
    shingle sets of each pair (rows of indexes into ``texts``)."""
    values, offsets = shingle_flat(texts, kind, n)
    return pair_jaccard_flat(values, offsets, local_pairs, 1 << 24)


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
    bands, rows = lsh_bands(threshold, num_perm, false_negative_weight)
    hasher = MinHasher(num_perm, seed)
    num_docs = len(texts)
    keys = np.empty((num_docs, bands), dtype=np.uint64)
    empty: list[IntArray] = [np.empty(0, dtype=np.int64)]
    for start in range(0, num_docs, chunk_docs):
        chunk_keys, chunk_empty = shard_band_keys(
            texts[start : start + chunk_docs], hasher, kind, n, bands, rows
        )
        keys[start : start + chunk_keys.shape[0]] = chunk_keys
        empty.append(start + chunk_empty)
    candidates = candidates_from_keys(keys, max_bucket_size, np.concatenate(empty))

    involved = sorted_unique(candidates.ravel())
    local_pairs = np.searchsorted(involved, candidates)
    similarity = pair_similarities([texts[int(i)] for i in involved], local_pairs, kind, n)
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
