"""The assay of instruction data: per-record features, embeddings and texts.

Fidelity is measured on per-record features (:mod:`synthloom.assay.features`) and in embedding
space (:mod:`synthloom.embed`); diversity, privacy, bias and tails on the texts. With
``--executor ray`` the features and the MiniLM vectors are computed by Ray tasks (same numbers).
The costly parts (embeddings and what is computed on them, NER) run on a seeded sample of each
side (:mod:`synthloom.assay.sampling`), drawn here before anything is embedded or shipped.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from synthloom.assay import bias, diversity, embedding_fidelity, fidelity, privacy, tails
from synthloom.assay.features import FEATURE_KINDS
from synthloom.assay.instruction_data import InstructionData
from synthloom.assay.kinds import decide_kinds
from synthloom.assay.options import AssayOptions, Sections
from synthloom.assay.sampling import Bootstrap, SideSample, draw_sample, interval
from synthloom.counting import OnCount
from synthloom.embed import (
    MINILM_MAX_TOKENS,
    embed_pair,
    minilm_cached,
    minilm_info,
    minilm_missing,
    minilm_precision,
)
from synthloom.engine.ray.assay import embed_texts_ray
from synthloom.ngram_hashes import NgramTable
from synthloom.pii import NER_TYPES, PiiScanner
from synthloom.pii.precision import CaseCounts

__all__ = [
    "assay_instruction",
    "embed_both",
    "sampled_paths",
    "sampled_pii_summary",
]


def assay_instruction(
    synthetic: InstructionData,
    reference: InstructionData,
    options: AssayOptions,
    sections: Sections,
    private_texts: list[str],
    private_names: list[str],
    out: Path,
    extras: dict[str, Any],
    *,
    reference_measures: Callable[[], dict[str, float]] | None = None,
) -> dict[str, Any]:
    """Every section of the instruction-data assay; ``extras`` gets what the report draws
    (kinds, feature tables, embeddings) and ``out / "cache"`` holds the embedding cache.

    Both sides come read in batches
    (:func:`synthloom.assay.instruction_data.read_instruction_data`), their features computed
    then (by Ray tasks with ``--executor ray``). ``reference_measures``: waits for the
    reference's :func:`synthloom.assay.diversity.text_measures` computed in another process
    (:class:`synthloom.assay.side_worker.SideWorker`)."""
    metrics: dict[str, Any] = {}
    # Drawn on the driver, by index, before any work is shipped: Ray embeds the same texts.
    ref_sample = draw_sample(len(reference), options.sample, seed=options.seed, side="reference")
    syn_sample = draw_sample(len(synthetic), options.sample, seed=options.seed, side="synthetic")
    sampled = ref_sample.sampled or syn_sample.sampled
    boot = Bootstrap(seed=options.seed, resamples=options.bootstrap_resamples)
    syn_texts, ref_texts = synthetic.texts, reference.texts

    # Fidelity of per-record features (plus the meta fields both sides carry).
    ref_columns, syn_columns = reference.meta_columns, synthetic.meta_columns
    shared = [c for c in ref_columns if c in syn_columns]
    one_sided = sorted(set(ref_columns + syn_columns) - set(shared))
    ref_feat = reference.finished_features(shared)
    syn_feat = synthetic.finished_features(shared)
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
    ref_embed, syn_embed = ref_sample.take(ref_texts), syn_sample.take(syn_texts)
    emb = sections.run(
        "embeddings",
        lambda: embed_both(
            ref_embed, syn_embed, options, out / "cache", on_count=sections.counter("texts")
        ),
        label=f"embedding {len(ref_embed):,} + {len(syn_embed):,} texts",
    )
    ref_emb: np.ndarray | None = None
    syn_emb: np.ndarray | None = None
    if emb is not None:
        ref_emb, syn_emb, info = emb
        extras["embeddings"] = (ref_emb, syn_emb)
        extras["embedder"] = info
        fid["embedding"] = sections.run(
            "fidelity.embedding",
            # The assay samples (or, with --full, keeps every row) itself: no second cap.
            lambda: embedding_fidelity.embedding_fidelity(
                ref_emb,
                syn_emb,
                seed=options.seed,
                max_samples=None,
                bootstrap=boot if sampled else None,
                samples=(ref_sample, syn_sample),
            ),
        )
    else:
        fid["embedding"] = None
    metrics["fidelity"] = fid

    # Diversity, synthetic and reference side by side. The distinct-n pass over a side's texts
    # also keeps its bigram table for the rare n-gram coverage (tails.ngrams), computed right
    # after and then let go: each text is tokenized once for both.
    bigrams: dict[str, NgramTable | None] = {}

    def diversity_of(
        texts: Sequence[str],
        vecs: np.ndarray | None,
        side: SideSample,
        name: str,
        measures: Callable[[], dict[str, float]] | None = None,
    ) -> Callable[[], Any]:
        def run() -> dict[str, Any]:
            if measures is not None:
                measured = measures()
            else:
                measured, bigrams[name] = diversity.text_measures_with_table(
                    texts, table=tails.NGRAM_ORDER, counted=name == "reference"
                )
            return diversity.diversity(
                texts,
                vecs,
                seed=options.seed,
                sample_size=options.sample_size,
                embedded=side,
                bootstrap=boot,
                measures=measured,
            )

        return run

    metrics["diversity"] = {
        "synthetic": sections.run(
            "diversity.synthetic", diversity_of(syn_texts, syn_emb, syn_sample, "synthetic")
        ),
        "reference": sections.run(
            "diversity.reference",
            diversity_of(ref_texts, ref_emb, ref_sample, "reference", reference_measures),
        ),
    }
    tail_ngrams = sections.run(
        "tails.ngrams",
        lambda: tails.rare_ngram_coverage(
            ref_texts,
            syn_texts,
            n=tails.NGRAM_ORDER,
            reference_ngrams=bigrams.get("reference"),
            synthetic_ngrams=bigrams.get("synthetic"),
        ),
    )
    bigrams.clear()

    # Privacy.
    priv: dict[str, Any] = {}
    # System turns are dropped and whitespace and case normalised: mix adds a system prompt,
    # and a copy with a new system prompt is still a copy.
    syn_names = synthetic.names
    priv["exact_copies"] = sections.run(
        "privacy.exact_copies",
        lambda: privacy.exact_copies(
            reference.keys,
            synthetic.keys,
            reference_names=reference.names,
            synthetic_names=syn_names,
        ),
    )
    # Tool-call arguments are scanned too: an e-mail address often travels there.
    pii_texts, locations = synthetic.messages, synthetic.message_locations
    record_of = synthetic.message_record
    scanner = PiiScanner(ner=options.ner)
    pii_hits = extras.setdefault("pii_hits", []) if options.show_pii else None

    def pii() -> dict[str, Any]:
        on_count = sections.counter("messages")
        if syn_sample.sampled and scanner.ner_available:
            return sampled_pii_summary(
                pii_texts,
                locations,
                record_of,
                syn_sample,
                scanner,
                boot,
                all_hits=pii_hits,
                on_count=on_count,
            )
        return privacy.pii_summary(
            pii_texts, scanner=scanner, locations=locations, all_hits=pii_hits, on_count=on_count
        )

    priv["pii"] = sections.run("privacy.pii", pii) or {"total": None, "by_type": {}}
    priv["verbatim"] = (
        sections.run(
            "privacy.verbatim",
            lambda: privacy.verbatim_overlap(
                synthetic.content if synthetic.content is not None else [],
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
            scores=synthetic.meta_scores(),
            seed=options.seed,
        ),
    )

    # Tail coverage.
    numeric = [c for c, k in kinds.items() if k == "numerical"]
    categorical = [c for c, k in kinds.items() if k in ("categorical",)]
    metrics["tails"] = {
        "ngrams": tail_ngrams,
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
    if tails_clusters := metrics["tails"]["clusters"]:
        tails_clusters["sampled"] = sampled
    metrics["sampling"] = {
        "size": options.sample,
        "full": options.sample is None,
        "seed": options.seed,
        "resamples": options.bootstrap_resamples,
        "reference": {"rows": ref_sample.rows, "n": ref_sample.n, "sampled": ref_sample.sampled},
        "synthetic": {"rows": syn_sample.rows, "n": syn_sample.n, "sampled": syn_sample.sampled},
        # Bias has intervals of its own (differences of shares), not from sampling.
        "sampled": sampled_paths(
            {
                "fidelity": {"embedding": metrics["fidelity"].get("embedding") or {}},
                "diversity": metrics["diversity"],
                "privacy": {"pii": priv["pii"]},
            }
        )
        + (["tails.clusters"] if sampled else []),
    }
    return metrics


def sampled_paths(metrics: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The paths of the numbers that carry an interval (an ``<name>_interval`` beside them)."""
    found: list[str] = []
    for key, value in metrics.items():
        if not isinstance(value, Mapping):
            continue
        if key.endswith("_interval"):
            base = prefix + key.removesuffix("_interval")
            # Either one interval, or one per key of a mapping (``by_type_interval``).
            found.extend([base] if "low" in value else [f"{base}.{sub}" for sub in value])
        else:
            found.extend(sampled_paths(value, f"{prefix}{key}."))
    return found


def sampled_pii_summary(
    texts: Sequence[str],
    locations: Sequence[str],
    record_of: Sequence[int] | npt.NDArray[np.int64],
    sample: SideSample,
    scanner: PiiScanner,
    boot: Bootstrap,
    *,
    all_hits: list[dict[str, Any]] | None = None,
    max_examples: int = 20,
    on_count: OnCount | None = None,
) -> dict[str, Any]:
    """:func:`synthloom.assay.privacy.pii_summary` with the NER model run on a sample of records.

    The pattern detectors (e-mail, phone, card...) scan every text; the named-entity model
    scans the messages of the sampled records (``record_of[i]``: the record text ``i`` belongs
    to), its precision filter reading the case of the words of all texts. Its counts
    (``by_type`` of PERSON and LOCATION, ``ner_dropped``, and so ``total`` and
    ``records_with_pii``) are estimates for the whole set: the sample's count times records /
    sampled records, rounded, each with an ``<name>_interval`` from resampling the sampled
    records' counts. ``ner_sample`` says how many records and messages the model read and what
    it found there. ``on_count`` is told the sampled messages the model has read.
    """
    assert sample.indices is not None
    exact_hits: list[dict[str, Any]] = []
    exact = privacy.pii_summary(
        texts,
        scanner=PiiScanner(types=scanner.types, ner="off"),
        locations=locations,
        all_hits=exact_hits,
        max_examples=max_examples,
    )
    position = {int(r): k for k, r in enumerate(sample.indices)}
    picked = np.flatnonzero(np.isin(np.asarray(record_of), sample.indices)).tolist()
    ner_hits: list[dict[str, Any]] = []
    found = privacy.pii_summary(
        [texts[t] for t in picked],
        scanner=scanner,
        locations=[locations[t] for t in picked],
        all_hits=ner_hits,
        max_examples=max_examples,
        case_counts=CaseCounts.of(texts) if scanner.ner_filter else None,
        on_count=on_count,
    )
    ner_hits = [{**h, "index": picked[h["index"]]} for h in ner_hits if h["type"] in NER_TYPES]

    # Per sampled record: its NER hits by type and drops by reason, and its messages that only
    # the model flags (the pattern detectors' messages are counted exactly already).
    with_pattern = {h["index"] for h in exact_hits if h["kept"]}
    per_record: dict[str, np.ndarray] = {}

    def count(name: str, text_index: int) -> None:
        row = per_record.setdefault(name, np.zeros(sample.n, dtype=np.float64))
        row[position[record_of[text_index]]] += 1

    ner_only_messages: set[int] = set()
    for h in ner_hits:
        if h["kept"]:
            count(f"by_type.{h['type']}", h["index"])
            count("total", h["index"])
            if h["index"] not in with_pattern and h["index"] not in ner_only_messages:
                ner_only_messages.add(h["index"])
                count("records_with_pii", h["index"])
        else:
            count(f"ner_dropped.by_reason.{h['reason']}", h["index"])
            count("ner_dropped.total", h["index"])

    def estimate(name: str, exact_part: int) -> tuple[int, dict[str, Any]]:
        values = per_record.get(name, np.zeros(sample.n, dtype=np.float64))
        scaled = float(values.mean()) * sample.rows
        low, high = boot.mean(values, scale=sample.rows, stream=zlib.crc32(name.encode()))
        shown = interval(
            exact_part + scaled,
            None if low is None else exact_part + low,
            None if high is None else exact_part + high,
            n=sample.n,
        )
        return exact_part + round(scaled), shown

    result = dict(exact)
    result["by_type"] = dict(exact["by_type"])
    result["by_type_interval"] = {}
    for kind in scanner.types:
        if kind in NER_TYPES:
            value, shown = estimate(f"by_type.{kind}", 0)
            result["by_type"][kind] = value
            result["by_type_interval"][kind] = shown
    result["total"], result["total_interval"] = estimate("total", exact["total"])
    result["records_with_pii"], result["records_with_pii_interval"] = estimate(
        "records_with_pii", exact["records_with_pii"]
    )
    dropped_total, dropped_total_interval = estimate("ner_dropped.total", 0)
    by_reason: dict[str, int] = {}
    by_reason_interval: dict[str, Any] = {}
    for reason in found["ner_dropped"]["by_reason"]:
        by_reason[reason], by_reason_interval[reason] = estimate(
            f"ner_dropped.by_reason.{reason}", 0
        )
    result["ner_dropped"] = {
        "total": dropped_total,
        "total_interval": dropped_total_interval,
        "by_reason": by_reason,
        "by_reason_interval": by_reason_interval,
    }
    result["ner"] = found["ner"]
    result["ner_filter"] = found["ner_filter"]
    result["ner_sample"] = {
        "records": sample.n,
        "of": sample.rows,
        "messages": len(picked),
        "by_type": {k: v for k, v in found["by_type"].items() if k in NER_TYPES},
    }
    # Examples in the order of the texts: the patterns' from every record, the model's from
    # the sample.
    order = {loc: i for i, loc in enumerate(locations)}
    examples = exact["examples"] + [e for e in found["examples"] if e["type"] in NER_TYPES]
    examples.sort(key=lambda e: (order[e["location"]], e["start"]))
    result["examples"] = examples[:max_examples]
    result["dropped_examples"] = found["dropped_examples"]
    if all_hits is not None:
        all_hits.extend(sorted(exact_hits + ner_hits, key=lambda h: (h["index"], h["start"])))
    return result


def embed_both(
    ref_texts: list[str],
    syn_texts: list[str],
    options: AssayOptions,
    cache: Path,
    on_count: OnCount | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Both sides in one embedding space; MiniLM shards on Ray with ``--executor ray``
    (``on_count``: texts embedded so far, on the local path)."""
    if options.executor == "ray" and options.embedder != "tfidf" and not minilm_missing():
        method, precision = options.embedder, minilm_precision(options.embedder)

        def on_ray(texts: Sequence[str], batch_size: int) -> np.ndarray:
            vectors, _ = embed_texts_ray(list(texts), method=method, batch_size=batch_size)
            return vectors

        # The same per-dataset cache as the local path: a rerun embeds nothing.
        ref, ref_hit = minilm_cached(ref_texts, cache, 64, compute=on_ray, precision=precision)
        syn, syn_hit = minilm_cached(syn_texts, cache, 64, compute=on_ray, precision=precision)
        return ref, syn, minilm_info(precision, MINILM_MAX_TOKENS, cached=ref_hit and syn_hit)
    return embed_pair(
        ref_texts, syn_texts, method=options.embedder, cache_dir=cache, on_count=on_count
    )
