"""The assay's work on Ray, equal to the local functions; no stage is imported here.

* :func:`map_shards_ray`: one Ray task per shard of a list, each running a phase function the
  caller passes (the assay passes its public per-record phase,
  :func:`synthloom.assay.features.feature_rows`), the shard results returned in order. The
  stage above decides what a phase is; this layer only runs it.
* :func:`embed_texts_ray`: all-MiniLM-L6-v2 vectors (the embedding kernel's
  :func:`synthloom.embed.minilm_vectors`, at the precision the method names) computed by one
  task per shard of texts (each worker loads the model once per task). Vectors equal the local
  ones up to float noise: batches pad differently. The TF-IDF fallback is fitted on the whole
  corpus, so it is not sharded: it runs on the driver, exactly as locally.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from synthloom.embed import (
    EMBED_METHODS,
    MINILM_MAX_TOKENS,
    check_max_tokens,
    embed_texts,
    minilm_info,
    minilm_missing,
    minilm_precision,
    minilm_vectors,
)
from synthloom.engine.ray_executor import RayOptions, import_ray, init_ray
from synthloom.errors import ConfigError

__all__ = ["embed_texts_ray", "map_shards_ray"]

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_shards_ray(
    phase: Callable[..., Result],
    items: Sequence[Item],
    *,
    shard_size: int,
    shard_field: str = "shard_size",
    args: tuple[Any, ...] = (),
    options: RayOptions | None = None,
) -> list[Result]:
    """``[phase(shard, *args) for shard in shards of items]``, one Ray task per shard.

    ``phase`` must be a top-level function (Ray ships it by reference to its module).
    ``shard_size`` below 1 raises :class:`ConfigError` naming ``shard_field``. Ray is started
    here (and stopped after) unless this process is already connected.
    """
    if shard_size < 1:
        raise ConfigError(f"must be >= 1, got {shard_size}", field=shard_field)
    ray = import_ray()
    started = init_ray(options or RayOptions())
    try:
        task = ray.remote(phase)
        refs = [
            task.remote(list(items[s : s + shard_size]), *args)
            for s in range(0, len(items), shard_size)
        ]
        results: list[Result] = ray.get(refs)
    finally:
        if started:
            ray.shutdown()
    return results


def embed_texts_ray(
    texts: list[str],
    *,
    method: str = "auto",
    batch_size: int = 64,
    shard_texts: int = 20_000,
    max_tokens: int = MINILM_MAX_TOKENS,
    options: RayOptions | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """:func:`synthloom.embed.embed_texts` with the MiniLM vectors computed by Ray tasks.

    Returns ``(vectors, info)`` as the local function does. ``method`` "tfidf", or "auto" where
    MiniLM is not installed, runs the local function (it needs the whole corpus at once).
    """
    if shard_texts < 1:
        raise ConfigError(f"must be >= 1, got {shard_texts}", field="shard_texts")
    if method not in EMBED_METHODS:
        raise ConfigError(
            f"unknown embedding method {method!r}; choose one of {', '.join(EMBED_METHODS)}",
            field="method",
        )
    check_max_tokens(max_tokens)
    if method == "tfidf" or not texts or minilm_missing():
        # The local function fits TF-IDF on the whole corpus, or names the missing extra.
        return embed_texts(
            texts,
            method=method,  # type: ignore[arg-type]
            batch_size=batch_size,
            max_tokens=max_tokens,
        )
    precision = minilm_precision(method)
    parts = map_shards_ray(
        minilm_vectors,
        texts,
        shard_size=shard_texts,
        args=(batch_size, precision, max_tokens),
        options=options,
    )
    vectors = np.concatenate(parts).astype(np.float32)
    return vectors, minilm_info(precision, max_tokens, cached=False)
