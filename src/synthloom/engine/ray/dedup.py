"""MinHash near-duplicate clusters on Ray, equal to ``minhash.near_duplicate_clusters``.

The work is the local function's, split three ways across the cluster:

1. **Signatures per shard.** Texts are cut into shards of ``shard_docs`` by index; one task per
   shard shingles, MinHashes and band-hashes it, and returns only its band keys (and which of
   its documents have no shingles). Signatures do not depend on how the texts are cut.
2. **Bands grouped by key.** One task per group of bands gathers that band's keys from every
   shard (object references, so the keys go from worker to worker, not through the driver)
   and emits the pairs that share a bucket, with the local function's rules (star for a
   bucket over ``max_bucket_size``, documents without shingles never candidates).
3. **Verification.** Candidate pairs are split into chunks; each task computes the exact
   Jaccard of its pairs from the texts involved.

Clusters are then resolved on the driver exactly as locally: connected components of the
verified pairs, each labelled by its smallest index, so the result does not depend on the
order tasks finish in.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from synthloom.engine.ray_executor import RayOptions, import_ray, init_ray
from synthloom.errors import ConfigError
from synthloom.minhash import (
    MinHasher,
    NearDuplicates,
    ShingleKind,
    candidates_from_keys,
    clusters_of_verified,
    lsh_bands,
    pair_similarities,
    shard_band_keys,
    sorted_unique,
)

__all__ = ["near_duplicate_clusters_ray"]

IntArray = npt.NDArray[np.int64]


def _shard_keys(
    texts: Sequence[str], num_perm: int, seed: int, kind: str, n: int, bands: int, rows: int
) -> tuple[npt.NDArray[np.uint64], IntArray]:
    """Band keys of one shard and the local indexes of its documents without shingles."""
    return shard_band_keys(texts, MinHasher(num_perm, seed), kind, n, bands, rows)


def _band_pairs(
    band_range: tuple[int, int],
    max_bucket_size: int,
    empty: IntArray,
    *shard_keys: npt.NDArray[np.uint64],
) -> IntArray:
    """Candidate pairs of the bands in ``band_range``, over the keys of every shard."""
    keys = np.concatenate([k[:, band_range[0] : band_range[1]] for k in shard_keys])
    return candidates_from_keys(keys, max_bucket_size, empty)


def near_duplicate_clusters_ray(
    texts: Sequence[str],
    *,
    threshold: float = 0.8,
    num_perm: int = 128,
    kind: ShingleKind = "char",
    n: int = 5,
    seed: int = 0,
    max_bucket_size: int = 256,
    false_negative_weight: float = 0.95,
    shard_docs: int = 20_000,
    verify_pairs: int = 200_000,
    options: RayOptions | None = None,
) -> NearDuplicates:
    """:func:`synthloom.minhash.near_duplicate_clusters` computed by Ray tasks; same result.

    ``shard_docs``: texts per signature task; ``verify_pairs``: candidate pairs per
    verification task. ``options.address`` picks the cluster (see :class:`RayOptions`).
    """
    bands, rows = lsh_bands(threshold, num_perm, false_negative_weight)
    if shard_docs < 1 or verify_pairs < 1:
        raise ConfigError("shard_docs and verify_pairs must be >= 1", field="shard_docs")
    MinHasher(num_perm, seed)  # checks num_perm before any task starts
    ray = import_ray()
    options = options or RayOptions()
    started = init_ray(options)
    try:
        num_docs = len(texts)
        keys_task = ray.remote(_shard_keys)
        pairs_task = ray.remote(_band_pairs)
        verify_task = ray.remote(pair_similarities)
        starts = list(range(0, num_docs, shard_docs))
        shard_refs = [
            keys_task.options(num_returns=2).remote(
                list(texts[s : s + shard_docs]), num_perm, seed, kind, n, bands, rows
            )
            for s in starts
        ]
        empty_parts = ray.get([ref[1] for ref in shard_refs])
        empty = np.concatenate(
            [np.empty(0, dtype=np.int64)]
            + [s + e for s, e in zip(starts, empty_parts, strict=True)]
        ).astype(np.int64)
        key_refs = [ref[0] for ref in shard_refs]
        groups = np.array_split(np.arange(bands), min(bands, max(1, options.actors)))
        pair_parts = ray.get(
            [
                pairs_task.remote((int(g[0]), int(g[-1]) + 1), max_bucket_size, empty, *key_refs)
                for g in groups
                if g.size
            ]
        )
        pairs = np.concatenate(pair_parts) if pair_parts else np.empty((0, 2), dtype=np.int64)
        if pairs.size:
            codes = sorted_unique(pairs[:, 0] * num_docs + pairs[:, 1])
            candidates = np.stack([codes // num_docs, codes % num_docs], axis=1)
        else:
            candidates = np.empty((0, 2), dtype=np.int64)

        verify_refs = []
        for chunk_start in range(0, len(candidates), verify_pairs):
            chunk = candidates[chunk_start : chunk_start + verify_pairs]
            involved = sorted_unique(chunk.ravel())
            verify_refs.append(
                verify_task.remote(
                    [texts[int(i)] for i in involved], np.searchsorted(involved, chunk), kind, n
                )
            )
        parts = ray.get(verify_refs)
    finally:
        if started:
            ray.shutdown()
    similarity = np.concatenate(parts) if parts else np.empty(0, dtype=np.float64)
    return clusters_of_verified(candidates, similarity, threshold, num_docs, bands, rows)
