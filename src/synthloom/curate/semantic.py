"""Semantic dedup: records that say the same thing in different words (SemDeDup's recipe).

Texts are embedded with the embedding kernel (:mod:`synthloom.embed`, which the assay also
uses, so both speak of the same vectors), clustered with k-means, and inside each cluster every
pair whose cosine similarity reaches ``threshold`` is linked; each connected group keeps one
record (the highest score, then the first). k-means only limits which pairs are compared: two
records in different clusters are never compared, which is what makes this linear-ish instead
of quadratic, and why a rerun on the reduced data can still, rarely, find a pair.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from synthloom.curate.dedup import GroupDedup, TextView, group_representatives
from synthloom.embed import EMBED_METHODS, EmbedMethod, embed_texts
from synthloom.errors import ConfigError

__all__ = ["SemanticDedup", "semantic_duplicate_pairs"]

Record = dict[str, Any]
FloatMatrix = npt.NDArray[np.float32]

# Rows of a cluster compared at once: bounds the similarity block to _ROW_BLOCK x cluster size.
_ROW_BLOCK = 2048


def _kmeans_labels(vectors: FloatMatrix, clusters: int, seed: int) -> npt.NDArray[np.int64]:
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from sklearn.exceptions import ConvergenceWarning

    if clusters <= 1:
        return np.zeros(vectors.shape[0], dtype=np.int64)
    with warnings.catch_warnings():
        # Exact copies make fewer distinct points than clusters, which sklearn warns about;
        # copies are what we are looking for, so that is expected here.
        warnings.simplefilter("ignore", ConvergenceWarning)
        if vectors.shape[0] <= 50_000:
            model: KMeans | MiniBatchKMeans = KMeans(clusters, n_init=1, random_state=seed)
        else:
            model = MiniBatchKMeans(
                clusters, n_init=1, random_state=seed, batch_size=4096, max_iter=20
            )
        labels = model.fit_predict(vectors)
    return np.asarray(labels, dtype=np.int64)


def semantic_duplicate_pairs(
    vectors: npt.ArrayLike,
    *,
    threshold: float = 0.95,
    clusters: int | None = None,
    seed: int = 0,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Pairs (i < j) in the same k-means cluster with cosine similarity >= ``threshold``.

    ``clusters`` defaults to about sqrt(n), which keeps each cluster's pairwise block small.
    Returns the ``(k, 2)`` pairs and their cosine similarities.
    """
    emb = np.asarray(vectors, dtype=np.float32)
    if emb.ndim != 2:
        raise ValueError(f"vectors must be 2-D, got shape {emb.shape}")
    n = emb.shape[0]
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    emb = emb / np.maximum(norms, 1e-12)
    k = clusters if clusters is not None else max(1, round(n**0.5))
    k = max(1, min(k, n))
    labels = _kmeans_labels(emb, k, seed)
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    found_pairs: list[npt.NDArray[np.int64]] = []
    found_sims: list[npt.NDArray[np.float32]] = []
    for members in np.split(order, bounds):
        if members.size < 2:
            continue
        block = emb[members]
        for start in range(0, members.size, _ROW_BLOCK):
            sims = block[start : start + _ROW_BLOCK] @ block.T
            rows, cols = np.nonzero(sims >= threshold)
            # Only the upper triangle: each pair once, never an item with itself.
            upper = cols > rows + start
            rows, cols = rows[upper], cols[upper]
            found_pairs.append(np.stack([members[rows + start], members[cols]], axis=1))
            found_sims.append(sims[rows, cols])
    if not found_pairs:
        return np.empty((0, 2), dtype=np.int64), np.empty(0, dtype=np.float32)
    pairs = np.sort(np.concatenate(found_pairs).astype(np.int64), axis=1)
    return pairs, np.concatenate(found_sims).astype(np.float32)


class SemanticDedup(GroupDedup):
    """Drop records whose embedding is within ``threshold`` cosine of a kept record's."""

    name = "semantic"
    reason = "semantic duplicate"
    similarity = "cosine"

    def __init__(
        self,
        *,
        threshold: float = 0.95,
        clusters: int | None = None,
        method: EmbedMethod = "auto",
        cache_dir: str | Path | None = None,
        batch_size: int = 64,
        view: TextView | None = None,
        score_key: str = "score",
        seed: int = 0,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ConfigError(
                f"semantic threshold must be in (0, 1], got {threshold}", field="threshold"
            )
        if method not in EMBED_METHODS:
            raise ConfigError(
                f"unknown embedder {method!r}; choose {', '.join(EMBED_METHODS)}",
                field="embedder",
            )
        self.threshold = threshold
        self.clusters = clusters
        self.method: EmbedMethod = method
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.batch_size = batch_size
        super().__init__(view=view, score_key=score_key, seed=seed)

    def embed(self, texts: Sequence[str]) -> tuple[FloatMatrix, dict[str, Any]]:
        """Embed with the shared embedding kernel; returns the vectors and what embedded them."""
        vectors, info = embed_texts(
            list(texts), method=self.method, cache_dir=self.cache_dir, batch_size=self.batch_size
        )
        return np.asarray(vectors, dtype=np.float32), dict(info)

    def survivors(
        self, texts: Sequence[str], scores: Sequence[float]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], dict[str, Any]]:
        n = len(texts)
        reps = np.arange(n, dtype=np.int64)
        cosine = np.ones(n, dtype=np.float32)
        info: dict[str, Any] = {"threshold": self.threshold, "pairs": 0}
        if n >= 2:
            vectors, info["embedder"] = self.embed(texts)
            pairs, _ = semantic_duplicate_pairs(
                vectors, threshold=self.threshold, clusters=self.clusters, seed=self.seed
            )
            info["pairs"] = len(pairs)
            graph = coo_matrix(
                (np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])),
                shape=(n, n),
            )
            _, components = connected_components(graph, directed=False)
            reps = group_representatives(components, scores)
            unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            cosine = np.einsum("ij,ij->i", unit, unit[reps])
        return reps, cosine, info
