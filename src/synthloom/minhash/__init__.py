"""Vectorised MinHash + LSH near-duplicate detection, shared by the assay and curation.

This package owns everything between "a list of texts" and "which texts are near-duplicates",
in three modules: :mod:`~synthloom.minhash.shingles` (1), :mod:`~synthloom.minhash.lsh` (2 and
3) and :mod:`~synthloom.minhash.clusters` (4). The phases are public functions
(:func:`shard_band_keys`, :func:`candidates_from_keys`, :func:`pair_similarities`,
:func:`clusters_of_verified`), so the Ray version (:mod:`synthloom.engine.ray.dedup`) runs the
same steps as tasks:

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

:func:`near_duplicated` (in :mod:`~synthloom.minhash.duplicated`) answers the smaller question a
near-duplicate *rate* asks, which texts have a near-duplicate, with the same flags as step 4 and
memory that does not grow with the candidate pairs: copies are collapsed before MinHash, and a
pair is verified only while it can still change a flag.
"""

from __future__ import annotations

from synthloom.minhash.clusters import (
    NearDuplicates,
    clusters_of_verified,
    jaccard,
    near_duplicate_clusters,
    pair_jaccard,
    pair_jaccard_flat,
    pair_similarities,
)
from synthloom.minhash.duplicated import (
    CopyGroups,
    NearDuplicateSettings,
    copy_groups,
    near_duplicated,
)
from synthloom.minhash.lsh import (
    MinHasher,
    band_keys,
    candidate_pairs,
    candidates_from_keys,
    estimate_jaccard,
    lsh_bands,
    lsh_params,
    shard_band_keys,
)
from synthloom.minhash.shingles import (
    ShingleKind,
    normalised_text,
    shingle_flat,
    shingle_hash_sets,
    shingle_hashes,
    sorted_unique,
)

__all__ = [
    "CopyGroups",
    "MinHasher",
    "NearDuplicateSettings",
    "NearDuplicates",
    "ShingleKind",
    "band_keys",
    "candidate_pairs",
    "candidates_from_keys",
    "clusters_of_verified",
    "copy_groups",
    "estimate_jaccard",
    "jaccard",
    "lsh_bands",
    "lsh_params",
    "near_duplicate_clusters",
    "near_duplicated",
    "normalised_text",
    "pair_jaccard",
    "pair_jaccard_flat",
    "pair_similarities",
    "shard_band_keys",
    "shingle_flat",
    "shingle_hash_sets",
    "shingle_hashes",
    "sorted_unique",
]
