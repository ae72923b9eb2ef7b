"""Assay feature and embedding extraction on Ray, equal to the local functions.

* :func:`record_features_ray`: the per-record feature rows (tokenising every record, the costly
  part) are computed by one task per shard of records; the frame is then built on the driver
  by the same code as :func:`synthloom.assay.features.record_features`, so it is identical.
* :func:`embed_texts_ray`: all-MiniLM-L6-v2 vectors computed by one task per shard of texts
  (each worker loads the model once per task). Vectors equal the local ones up to float noise:
  batches pad differently. The TF-IDF fallback is fitted on the whole corpus, so it is not
  sharded: it runs on the driver, exactly as locally.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from synthloom.assay.features import features_frame, record_feature_row
from synthloom.embed import (
    EMBED_METHODS,
    MINILM_DIM,
    MINILM_NAME,
    embed_texts,
    minilm_missing,
    minilm_vectors,
)
from synthloom.engine.ray_executor import RayOptions, import_ray, init_ray
from synthloom.errors import ConfigError

__all__ = ["embed_texts_ray", "record_features_ray"]


def _feature_rows(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One Ray task: the assay's per-record phase over one shard of records."""
    return [record_feature_row(r) for r in records]


def _check_shard(value: int, name: str) -> None:
    if value < 1:
        raise ConfigError(f"must be >= 1, got {value}", field=name)


def record_features_ray(
    records: Sequence[Mapping[str, Any]],
    *,
    meta_columns: Sequence[str] | None = None,
    shard_records: int = 10_000,
    options: RayOptions | None = None,
) -> pd.DataFrame:
    """:func:`synthloom.assay.features.record_features`, its rows computed by Ray tasks."""
    _check_shard(shard_records, "shard_records")
    ray = import_ray()
    started = init_ray(options or RayOptions())
    try:
        task = ray.remote(_feature_rows)
        refs = [
            task.remote(list(records[s : s + shard_records]))
            for s in range(0, len(records), shard_records)
        ]
        rows = [row for part in ray.get(refs) for row in part]
    finally:
        if started:
            ray.shutdown()
    return features_frame(rows, meta_columns=meta_columns)


def embed_texts_ray(
    texts: list[str],
    *,
    method: str = "auto",
    batch_size: int = 64,
    shard_texts: int = 20_000,
    options: RayOptions | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """:func:`synthloom.embed.embed_texts` with the MiniLM vectors computed by Ray tasks.

    Returns ``(vectors, info)`` as the local function does. ``method`` "tfidf", or "auto" where
    MiniLM is not installed, runs the local function (it needs the whole corpus at once).
    """
    _check_shard(shard_texts, "shard_texts")
    if method not in EMBED_METHODS:
        raise ConfigError(
            f"unknown embedding method {method!r}; choose one of {', '.join(EMBED_METHODS)}",
            field="method",
        )
    if method == "tfidf" or not texts or (method == "auto" and minilm_missing()):
        return embed_texts(texts, method=method, batch_size=batch_size)  # type: ignore[arg-type]
    if minilm_missing():
        return embed_texts(texts, method="minilm", batch_size=batch_size)  # raises
    ray = import_ray()
    started = init_ray(options or RayOptions())
    try:
        task = ray.remote(minilm_vectors)
        refs = [
            task.remote(texts[s : s + shard_texts], batch_size)
            for s in range(0, len(texts), shard_texts)
        ]
        vectors = np.concatenate(ray.get(refs)).astype(np.float32)
    finally:
        if started:
            ray.shutdown()
    info = {"method": MINILM_NAME, "dim": MINILM_DIM, "cached": False, "reason": None}
    return vectors, info
