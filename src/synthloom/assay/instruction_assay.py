"""The assay of instruction data: per-record features, embeddings and texts.

Fidelity is measured on per-record features (:mod:`synthloom.assay.features`) and in embedding
space (:mod:`synthloom.embed`); diversity, privacy, bias and tails on the texts. With
``--executor ray`` the features and the MiniLM vectors are computed by Ray tasks (same numbers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthloom.assay import bias, diversity, embedding_fidelity, fidelity, privacy, tails
from synthloom.assay.features import FEATURE_KINDS, record_features, record_features_ray
from synthloom.assay.kinds import decide_kinds
from synthloom.assay.options import AssayOptions, Sections
from synthloom.embed import (
    MINILM_MAX_TOKENS,
    embed_pair,
    minilm_cached,
    minilm_info,
    minilm_missing,
    minilm_precision,
)
from synthloom.engine.ray.assay import embed_texts_ray
from synthloom.messages import message_text
from synthloom.pii import PiiScanner
from synthloom.text import record_text

__all__ = ["SCORE_FIELDS", "assay_instruction", "embed_both", "meta_scores"]

#: Score fields looked for in ``meta`` to report mean quality per demographic group.
SCORE_FIELDS = ("score", "reward", "quality", "judge_score", "rating")


def meta_scores(records: Sequence[Mapping[str, Any]]) -> list[float] | None:
    """The first of :data:`SCORE_FIELDS` that every record's ``meta`` holds as a number."""
    for name in SCORE_FIELDS:
        values = [r.get("meta", {}).get(name) for r in records]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            return [float(v) for v in values]  # type: ignore[arg-type]
    return None


def assay_instruction(
    synthetic: list[dict[str, Any]],
    reference: list[dict[str, Any]],
    options: AssayOptions,
    sections: Sections,
    private_texts: list[str],
    private_names: list[str],
    out: Path,
    extras: dict[str, Any],
) -> dict[str, Any]:
    """Every section of the instruction-data assay; ``extras`` gets what the report draws
    (kinds, feature tables, embeddings) and ``out / "cache"`` holds the embedding cache."""
    metrics: dict[str, Any] = {}
    syn_texts = [record_text(r) for r in synthetic]
    ref_texts = [record_text(r) for r in reference]

    # Fidelity of per-record features (plus the meta fields both sides carry).
    features: Callable[..., pd.DataFrame] = record_features
    if options.executor == "ray":
        features = record_features_ray
    ref_meta = features(reference)
    syn_meta = features(synthetic)
    shared = [c for c in ref_meta.columns if c.startswith("meta.") and c in syn_meta.columns]
    one_sided = sorted(
        {c for c in list(ref_meta.columns) + list(syn_meta.columns) if c.startswith("meta.")}
        - set(shared)
    )
    ref_feat = features(reference, meta_columns=shared)
    syn_feat = features(synthetic, meta_columns=shared)
    extras["tables"] = (ref_feat, syn_feat)
    kinds, kind_sources = decide_kinds(
        ref_feat, fixed=FEATURE_KINDS, overrides=extras.get("kind_overrides"), source=options.kinds
    )
    extras["kinds"] = kinds
    extras["kind_sources"] = kind_sources
    fid = sections.run(
        "fidelity",
        lambda: fidelity.table_fidelity(
            ref_feat, syn_feat, kinds=kinds, binning=options.fidelity_binning
        ),
    ) or {"column_shapes": None, "column_pair_trends": None, "overall": None}
    fid["meta_fields_one_side_only"] = one_sided

    # Embedding-space fidelity.
    emb = sections.run(
        "embeddings",
        lambda: embed_both(ref_texts, syn_texts, options, out / "cache"),
    )
    ref_emb: np.ndarray | None = None
    syn_emb: np.ndarray | None = None
    if emb is not None:
        ref_emb, syn_emb, info = emb
        extras["embeddings"] = (ref_emb, syn_emb)
        extras["embedder"] = info
        fid["embedding"] = sections.run(
            "fidelity.embedding",
            lambda: embedding_fidelity.embedding_fidelity(ref_emb, syn_emb, seed=options.seed),
        )
    else:
        fid["embedding"] = None
    metrics["fidelity"] = fid

    # Diversity, synthetic and reference side by side.
    def diversity_of(texts: list[str], vecs: np.ndarray | None) -> Callable[[], Any]:
        return lambda: diversity.diversity(
            texts, vecs, seed=options.seed, sample_size=options.sample_size
        )

    metrics["diversity"] = {
        "synthetic": sections.run("diversity.synthetic", diversity_of(syn_texts, syn_emb)),
        "reference": sections.run("diversity.reference", diversity_of(ref_texts, ref_emb)),
    }

    # Privacy.
    priv: dict[str, Any] = {}
    # System turns are dropped and whitespace and case normalised: mix adds a system prompt,
    # and a copy with a new system prompt is still a copy.
    syn_names = [f"record {i + 1} (id {r['id']})" for i, r in enumerate(synthetic)]
    priv["exact_copies"] = sections.run(
        "privacy.exact_copies",
        lambda: privacy.exact_copies(
            [privacy.record_key(r) for r in reference],
            [privacy.record_key(r) for r in synthetic],
            reference_names=[f"record {i + 1} (id {r['id']})" for i, r in enumerate(reference)],
            synthetic_names=syn_names,
        ),
    )
    pii_texts: list[str] = []
    locations: list[str] = []
    for i, rec in enumerate(synthetic):
        for j, msg in enumerate(rec["messages"]):
            # Tool-call arguments are scanned too: an e-mail address often travels there.
            pii_texts.append(message_text(msg))
            locations.append(f"record {i + 1} (id {rec['id']}), message {j + 1} ({msg['role']})")
    scanner = PiiScanner(ner=options.ner)
    pii_hits = extras.setdefault("pii_hits", []) if options.show_pii else None
    priv["pii"] = sections.run(
        "privacy.pii",
        lambda: privacy.pii_summary(
            pii_texts, scanner=scanner, locations=locations, all_hits=pii_hits
        ),
    ) or {"total": None, "by_type": {}}
    priv["verbatim"] = (
        sections.run(
            "privacy.verbatim",
            lambda: privacy.verbatim_overlap(
                [privacy.content_text(r) for r in synthetic],
                private_texts,
                span=options.span,
                synthetic_names=syn_names,
                private_names=private_names,
            ),
        )
        if private_texts
        else None
    )
    metrics["privacy"] = priv

    # Bias / representation.
    lexicon = extras.get("lexicon")
    metrics["bias"] = sections.run(
        "bias",
        lambda: bias.representation(
            ref_texts,
            syn_texts,
            lexicon=lexicon,
            scores=meta_scores(synthetic),
            seed=options.seed,
        ),
    )

    # Tail coverage.
    numeric = [c for c, k in kinds.items() if k == "numerical"]
    categorical = [c for c, k in kinds.items() if k in ("categorical",)]
    metrics["tails"] = {
        "ngrams": sections.run(
            "tails.ngrams", lambda: tails.rare_ngram_coverage(ref_texts, syn_texts)
        ),
        "clusters": (
            sections.run(
                "tails.clusters",
                lambda: tails.rare_cluster_coverage(ref_emb, syn_emb, seed=options.seed),
            )
            if ref_emb is not None and syn_emb is not None
            else None
        ),
        "numeric": sections.run(
            "tails.numeric", lambda: tails.numeric_tail_coverage(ref_feat, syn_feat, numeric)
        ),
        "categories": sections.run(
            "tails.categories",
            lambda: tails.rare_category_coverage(ref_feat, syn_feat, categorical),
        ),
    }
    return metrics


def embed_both(
    ref_texts: list[str], syn_texts: list[str], options: AssayOptions, cache: Path
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Both sides in one embedding space; MiniLM shards on Ray with ``--executor ray``."""
    if options.executor == "ray" and options.embedder != "tfidf" and not minilm_missing():
        method, precision = options.embedder, minilm_precision(options.embedder)

        def on_ray(texts: Sequence[str], batch_size: int) -> np.ndarray:
            vectors, _ = embed_texts_ray(list(texts), method=method, batch_size=batch_size)
            return vectors

        # The same per-dataset cache as the local path: a rerun embeds nothing.
        ref, ref_hit = minilm_cached(ref_texts, cache, 64, compute=on_ray, precision=precision)
        syn, syn_hit = minilm_cached(syn_texts, cache, 64, compute=on_ray, precision=precision)
        return ref, syn, minilm_info(precision, MINILM_MAX_TOKENS, cached=ref_hit and syn_hit)
    return embed_pair(ref_texts, syn_texts, method=options.embedder, cache_dir=cache)
