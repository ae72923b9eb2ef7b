"""Per-record features of instruction data, so that it goes through the table fidelity metrics.

Each record becomes one row: number of turns, prompt and response length (characters and
words), vocabulary richness of the response (type-token ratio and Guiraud's root TTR, which
depends less on length), whether a system prompt is present, and every scalar ``meta`` field
(nested dicts are flattened with dots: ``meta.scores.helpfulness``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from synthloom.engine.ray.assay import map_shards_ray
from synthloom.engine.ray_executor import RayOptions
from synthloom.text import prompt_text, response_text, tokenize

__all__ = [
    "BASE_FEATURES",
    "FEATURE_KINDS",
    "feature_rows",
    "features_frame",
    "finish_features",
    "flatten_meta",
    "raw_features",
    "raw_features_ray",
    "record_feature_row",
    "record_features",
    "record_features_ray",
]

BASE_FEATURES = (
    "turns",
    "prompt_chars",
    "response_chars",
    "prompt_words",
    "response_words",
    "response_ttr",
    "response_root_ttr",
    "has_system",
)
#: The base features' kinds, fixed so that a feature is always scored by the same metric
#: (detection would make a word count categorical in a run where it takes five values).
#: Turn counts are small integers, compared value by value; ``meta.*`` kinds are detected
#: from the reference.
FEATURE_KINDS = {
    "turns": "categorical",
    "prompt_chars": "numerical",
    "response_chars": "numerical",
    "prompt_words": "numerical",
    "response_words": "numerical",
    "response_ttr": "numerical",
    "response_root_ttr": "numerical",
    "has_system": "boolean",
}


def flatten_meta(meta: Mapping[str, Any], prefix: str = "meta") -> dict[str, Any]:
    """Scalar meta values keyed by their dotted path; lists and None are left out."""
    out: dict[str, Any] = {}
    for key, value in meta.items():
        name = f"{prefix}.{key}"
        if isinstance(value, Mapping):
            out.update(flatten_meta(value, name))
        elif isinstance(value, (bool, int, float, str)):
            out[name] = value
    return out


def record_feature_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """The features of one record, as a row for :func:`features_frame`.

    The per-record phase (tokenising is the costly part): :func:`record_features_ray` maps it
    over shards of records and builds the frame on the driver, so both executors agree.
    """
    messages = record["messages"]
    prompt, response = prompt_text(record), response_text(record)
    tokens = tokenize(response)
    types = len(set(tokens))
    row: dict[str, Any] = {
        # Tool results are input the model reads, not turns of the conversation.
        "turns": sum(1 for m in messages if m["role"] in ("user", "assistant")),
        "prompt_chars": len(prompt),
        "response_chars": len(response),
        "prompt_words": len(prompt.split()),
        "response_words": len(response.split()),
        "response_ttr": types / len(tokens) if tokens else 0.0,
        "response_root_ttr": types / math.sqrt(len(tokens)) if tokens else 0.0,
        "has_system": any(m["role"] == "system" for m in messages),
    }
    row.update(flatten_meta(record.get("meta") or {}))
    return row


def feature_rows(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """:func:`record_feature_row` of each record: the phase one Ray task runs on a shard."""
    return [record_feature_row(r) for r in records]


def record_features(
    records: Sequence[Mapping[str, Any]], *, meta_columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """One feature row per record. ``meta_columns`` limits which meta fields are kept."""
    return finish_features(raw_features(records), meta_columns=meta_columns)


def raw_features(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The feature rows of ``records`` as a frame, not yet finished: the assay reads records in
    batches and finishes the concatenated frames once (:func:`finish_features`)."""
    return pd.DataFrame.from_records(feature_rows(records))


def raw_features_ray(
    records: Sequence[Mapping[str, Any]],
    *,
    shard_records: int = 10_000,
    options: RayOptions | None = None,
) -> pd.DataFrame:
    """:func:`raw_features`, the rows computed by one Ray task per ``shard_records`` records
    (tokenising is the costly part); the frame is built here by the same code, so it is equal."""
    shards = map_shards_ray(
        feature_rows,
        records,
        shard_size=shard_records,
        shard_field="shard_records",
        options=options,
    )
    return pd.DataFrame.from_records([row for rows in shards for row in rows])


def record_features_ray(
    records: Sequence[Mapping[str, Any]],
    *,
    meta_columns: Sequence[str] | None = None,
    shard_records: int = 10_000,
    options: RayOptions | None = None,
) -> pd.DataFrame:
    """:func:`record_features` with the rows computed by Ray tasks (:func:`raw_features_ray`)."""
    raw = raw_features_ray(records, shard_records=shard_records, options=options)
    return finish_features(raw, meta_columns=meta_columns)


def features_frame(
    rows: Sequence[Mapping[str, Any]], *, meta_columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """The frame of :func:`record_features` from rows already computed by
    :func:`record_feature_row`."""
    return finish_features(pd.DataFrame.from_records(list(rows)), meta_columns=meta_columns)


def finish_features(
    frame: pd.DataFrame, *, meta_columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """The feature table from a frame of raw feature rows: every base feature (empty ones
    added), then the meta fields (``meta_columns``, or all the frame has), a field that is
    numeric in some records and text in others as text."""
    frame = frame.copy()
    for name in BASE_FEATURES:
        if name not in frame.columns:
            frame[name] = pd.Series(dtype="float64")
    keep = list(BASE_FEATURES)
    metas = [c for c in frame.columns if c.startswith("meta.")]
    if meta_columns is not None:
        for name in meta_columns:
            if name not in frame.columns:
                frame[name] = None
        metas = list(meta_columns)
    frame = frame[keep + metas]
    # A meta field that is numeric in some records and text in others is treated as text.
    for name in metas:
        col = frame[name]
        if col.dtype == object and col.dropna().map(lambda v: isinstance(v, str)).any():
            frame[name] = col.map(lambda v: v if v is None or isinstance(v, str) else str(v))
    return frame
