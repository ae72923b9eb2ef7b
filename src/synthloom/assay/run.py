"""``run_assay``: measure a synthetic dataset against a reference and write the report.

The assay computes each section (fidelity, diversity, privacy, bias, tails) independently; an
item that fails records its error under ``errors`` in metrics.json and in its row of the report
instead of failing the whole assay. Problems with the user's input (unreadable files, datasets
of different kinds, missing columns, a bad gate file) raise ``InputError`` before anything is
written, so an earlier report in the output folder stays intact.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from synthloom import __version__
from synthloom.assay.gate import GateRule, check_rule_paths, evaluate_gate, load_gate
from synthloom.assay.kinds import decide_kinds, load_kinds
from synthloom.assay.schema import schema_matcher
from synthloom.atomic import clean_leftovers, publish_dir, staging_dir, write_text
from synthloom.engine.storage import check_output_dir
from synthloom.errors import DataFormatError, InputError
from synthloom.messages import message_text
from synthloom.records import (
    Dataset,
    day_numbers,
    load_dataset,
    read_records,
    read_table,
    text_columns,
)
from synthloom.text import record_text

__all__ = ["AssayOptions", "AssayResult", "load_private_texts", "run_assay", "to_jsonable"]

T = TypeVar("T")

_TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst", ".html", ".htm", ".tex"}
_RECORD_SUFFIXES = {".jsonl", ".ndjson", ".json", ".parquet", ".pq"}
_TABLE_SUFFIXES = {".csv", ".tsv"}
#: Score fields looked for in ``meta`` to report mean quality per demographic group.
SCORE_FIELDS = ("score", "reward", "quality", "judge_score", "rating")
#: Fewer reference rows than this and DCR / membership inference are not computed.
MIN_ROWS_FOR_HOLDOUT = 10


@dataclass
class AssayOptions:
    """Everything that tunes an assay besides the two datasets and the output folder."""

    private: list[Path] = field(default_factory=list)
    gate: Path | None = None
    sensitive: list[str] = field(default_factory=list)
    embedder: str = "auto"
    seed: int = 0
    span: int = 50
    holdout_fraction: float = 0.2
    sample_size: int = 200
    max_embed: int = 20000
    lexicon: Path | None = None
    #: A YAML/JSON mapping column -> kind that overrides the kinds detected from the reference.
    kinds: Path | None = None
    #: "real" (both sides on the reference's bin edges) or "report" (SDMetrics 0.32
    #: QualityReport's per-side edges, to reproduce its numbers).
    fidelity_binning: str = "real"
    ner: str = "auto"
    write_report: bool = True
    #: "ray": per-record features and MiniLM embeddings of instruction data computed by Ray
    #: tasks (same numbers); tables and the TF-IDF fallback run locally either way.
    executor: str = "local"
    ray_address: str | None = None


@dataclass
class AssayResult:
    metrics: dict[str, Any]
    out: Path
    gate_results: list[dict[str, Any]] | None

    @property
    def gate_failures(self) -> list[str]:
        return [
            f"{g['rule']} (got {g['shown']})" for g in self.gate_results or [] if not g["passed"]
        ]

    @property
    def exit_code(self) -> int:
        return 1 if self.gate_failures else 0


# --------------------------------------------------------------------------------------------
# helpers


def to_jsonable(obj: Any) -> Any:
    """Convert numpy / pandas scalars and containers to plain JSON values (NaN -> null)."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(obj, (pd.Timestamp, _dt.datetime, _dt.date)):
        return obj.isoformat()
    if obj is None or isinstance(obj, str):
        return obj
    if obj is pd.NaT:
        return None
    return str(obj)


class _Sections:
    """Runs each assay item, timing it and recording its error instead of raising."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}
        self.seconds: dict[str, float] = {}

    def run(self, name: str, fn: Callable[[], T]) -> T | None:
        start = time.perf_counter()
        try:
            return fn()
        except InputError:
            raise
        except Exception as exc:  # one odd item must not fail the report
            self.errors[name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
            return None
        finally:
            self.seconds[name] = round(time.perf_counter() - start, 4)


def load_private_texts(paths: Sequence[Path]) -> tuple[list[str], list[str]]:
    """Texts (and their names) of the private sources: documents, record files, tables, folders."""
    texts: list[str] = []
    names: list[str] = []
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise DataFormatError("private source not found; check the path", path=path)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in _TEXT_SUFFIXES | _RECORD_SUFFIXES | _TABLE_SUFFIXES
            )
            if not found:
                raise DataFormatError(
                    "private source folder holds no .txt, .md, .jsonl, .json, .parquet "
                    "or .csv file",
                    path=path,
                )
            files.extend(found)
        else:
            files.append(path)
    for path in files:
        suffix = path.suffix.lower()
        if suffix in _TEXT_SUFFIXES:
            try:
                texts.append(path.read_text(encoding="utf-8"))
            except UnicodeDecodeError as exc:
                raise DataFormatError(
                    "private source is not UTF-8 text; re-encode it as UTF-8", path=path
                ) from exc
            names.append(str(path))
        elif suffix in _RECORD_SUFFIXES:
            try:
                for i, rec in enumerate(read_records(path)):
                    texts.append(record_text(rec))
                    names.append(f"{path} record {i + 1}")
            except DataFormatError:
                table = read_table(path)
                for i, row in enumerate(_table_texts(table)):
                    texts.append(row)
                    names.append(f"{path} row {i + 1}")
        elif suffix in _TABLE_SUFFIXES:
            for i, row in enumerate(_table_texts(read_table(path))):
                texts.append(row)
                names.append(f"{path} row {i + 1}")
        else:
            raise DataFormatError(
                f"unknown private source format '{suffix}'; use .txt, .md, .jsonl, .json, "
                ".parquet or .csv",
                path=path,
            )
    return texts, names


def _table_texts(table: pd.DataFrame) -> list[str]:
    text_cols = text_columns(table)
    if not text_cols:
        return []
    return [
        " | ".join(str(v) for v in row if isinstance(v, str))
        for row in table[text_cols].itertuples(index=False)
    ]


def _check_same_kind(synthetic: Dataset, reference: Dataset) -> None:
    if synthetic.kind != reference.kind:
        raise DataFormatError(
            f"is {synthetic.kind} data but the reference {reference.path} "
            f"is {reference.kind} data; "
            "compare datasets of the same kind",
            path=synthetic.path,
        )


def _compared_columns(synthetic: Dataset, reference: Dataset) -> list[str]:
    """The columns the fidelity and tail metrics will be computed on (no features computed)."""
    if reference.table is not None:
        return [str(c) for c in reference.table.columns]
    from synthloom.assay.features import BASE_FEATURES, flatten_meta

    assert synthetic.records is not None and reference.records is not None
    sides = [
        {name for r in records for name in flatten_meta(r.get("meta") or {})}
        for records in (synthetic.records, reference.records)
    ]
    return [*BASE_FEATURES, *sorted(sides[0] & sides[1])]


def _check_columns(synthetic: Dataset, reference: Dataset) -> None:
    assert synthetic.table is not None and reference.table is not None
    syn_cols = [str(c) for c in synthetic.table.columns]
    ref_cols = [str(c) for c in reference.table.columns]
    missing = [c for c in ref_cols if c not in syn_cols]
    extra = [c for c in syn_cols if c not in ref_cols]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"lacks column(s) {', '.join(missing)} of the reference")
        if extra:
            parts.append(f"has column(s) {', '.join(extra)} the reference lacks")
        raise DataFormatError(
            " and ".join(parts) + "; give both datasets the same columns", path=synthetic.path
        )
    dupes = sorted({c for c in ref_cols if ref_cols.count(c) > 1})
    if dupes:
        raise DataFormatError(f"duplicate column name(s) {', '.join(dupes)}", path=reference.path)


def _check_sensitive(columns: Sequence[str], table: pd.DataFrame, path: Path) -> None:
    for name in columns:
        if name not in table.columns:
            raise DataFormatError(
                f"--sensitive column '{name}' does not exist; columns are "
                + ", ".join(map(str, table.columns)),
                path=path,
                field=name,
            )


#: What an assay writes into its folder; anything else there (the embedding cache, a user's own
#: files) is carried over when a new result replaces an old one.
RESULT_FILES = ("metrics.json", "report.html")


def _publish(out: Path, metrics: dict[str, Any], report_html: str | None) -> None:
    """Swap the new metrics.json and report.html in together: a kill leaves old or new."""
    staging = staging_dir(out)
    try:
        write_text(staging / "metrics.json", json.dumps(metrics, indent=2, ensure_ascii=False))
        if report_html is not None:
            write_text(staging / "report.html", report_html)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    publish_dir(staging, out, RESULT_FILES)


# --------------------------------------------------------------------------------------------
# table assay


def _privacy_view(
    reference: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """The columns that distances are measured on (ids dropped, datetimes as day numbers)."""
    columns = [c for c, k in kinds.items() if k != "id"]
    ref, syn = reference[columns].copy(), synthetic[columns].copy()
    distance_kinds: dict[str, str] = {}
    for col in columns:
        kind = kinds[col]
        if kind == "datetime":
            for frame in (ref, syn):
                frame[col] = day_numbers(frame[col])
        distance_kinds[col] = "numeric" if kind in ("numerical", "datetime") else "categorical"
    return ref, syn, distance_kinds


def _assay_table(
    synthetic: pd.DataFrame,
    reference: pd.DataFrame,
    options: AssayOptions,
    sections: _Sections,
    private_texts: list[str],
    private_names: list[str],
    extras: dict[str, Any],
) -> dict[str, Any]:
    from synthloom.assay import bias, fidelity, privacy, tails
    from synthloom.pii import PiiScanner

    metrics: dict[str, Any] = {}
    kinds, kind_sources = decide_kinds(
        reference, overrides=extras.get("kind_overrides"), source=options.kinds
    )
    extras["kinds"] = kinds
    extras["kind_sources"] = kind_sources
    extras["tables"] = (reference, synthetic)
    fid = sections.run(
        "fidelity",
        lambda: fidelity.table_fidelity(
            reference, synthetic, kinds=kinds, binning=options.fidelity_binning
        ),
    )
    metrics["fidelity"] = fid or {
        "column_shapes": None,
        "column_pair_trends": None,
        "overall": None,
    }

    priv: dict[str, Any] = {}
    # Identifier columns say nothing about copying: a synthetic row with a fresh id and every
    # other value copied is still a copy.
    ref_values, syn_values, distance_kinds = _privacy_view(reference, synthetic, kinds)
    priv["exact_copies"] = sections.run(
        "privacy.exact_copies",
        lambda: privacy.exact_copies(
            privacy.row_keys(ref_values),
            privacy.row_keys(syn_values),
            reference_names=[f"row {i + 1}" for i in range(len(ref_values))],
            synthetic_names=[f"row {i + 1}" for i in range(len(syn_values))],
        ),
    )
    if len(reference) >= MIN_ROWS_FOR_HOLDOUT:
        train, holdout = privacy.split_holdout(
            ref_values, frac=options.holdout_fraction, seed=options.seed
        )
        priv["dcr"] = sections.run(
            "privacy.dcr",
            lambda: privacy.distance_to_closest_record(
                train, holdout, syn_values, kinds=distance_kinds, seed=options.seed
            ),
        )
        priv["membership_inference_auc"] = sections.run(
            "privacy.membership_inference_auc",
            lambda: privacy.membership_inference_auc(
                train, holdout, syn_values, kinds=distance_kinds, seed=options.seed
            ),
        )
    else:
        priv["dcr"] = None
        priv["membership_inference_auc"] = None
        sections.errors["privacy.dcr"] = (
            f"needs at least {MIN_ROWS_FOR_HOLDOUT} reference rows to hold some out"
        )
    text_cols = [c for c, k in kinds.items() if k in ("categorical", "id")]
    cells: list[str] = []
    locations: list[str] = []
    for col in text_cols:
        for i, value in enumerate(synthetic[col].tolist()):
            if isinstance(value, str) and value:
                cells.append(value)
                locations.append(f"row {i + 1}, column {col}")
    scanner = PiiScanner(ner=options.ner)
    priv["pii"] = sections.run(
        "privacy.pii", lambda: privacy.pii_summary(cells, scanner=scanner, locations=locations)
    ) or {"total": None, "by_type": {}}
    if private_texts:
        syn_rows = _table_texts(synthetic)
        priv["verbatim"] = sections.run(
            "privacy.verbatim",
            lambda: privacy.verbatim_overlap(
                syn_rows,
                private_texts,
                span=options.span,
                synthetic_names=[f"row {i + 1}" for i in range(len(syn_rows))],
                private_names=private_names,
            ),
        )
    else:
        priv["verbatim"] = None
    metrics["privacy"] = priv

    metrics["bias"] = (
        sections.run(
            "bias.sensitive",
            lambda: _table_bias(
                bias.table_representation(
                    reference, synthetic, options.sensitive, seed=options.seed
                )
            ),
        )
        if options.sensitive
        else {"sensitive": {}, "max_tvd": None, "flagged": []}
    )

    numeric = [c for c, k in kinds.items() if k in ("numerical",)]
    categorical = [c for c, k in kinds.items() if k in ("categorical", "boolean")]
    metrics["tails"] = {
        "numeric": sections.run(
            "tails.numeric", lambda: tails.numeric_tail_coverage(reference, synthetic, numeric)
        ),
        "categories": sections.run(
            "tails.categories",
            lambda: tails.rare_category_coverage(reference, synthetic, categorical),
        ),
    }
    metrics["diversity"] = {
        "synthetic": {"duplicate_row_share": float(synthetic.duplicated().mean())},
        "reference": {"duplicate_row_share": float(reference.duplicated().mean())},
    }
    return metrics


def _table_bias(sensitive: dict[str, Any]) -> dict[str, Any]:
    """The sensitive columns' results plus the headline numbers the instruction assay has."""
    supported = [
        item["tvd"] for item in sensitive.values() if item.get("supported") and "tvd" in item
    ]
    return {
        "sensitive": sensitive,
        "max_tvd": max(supported) if supported else None,
        "flagged": [
            {"column": column, "group": group}
            for column, item in sensitive.items()
            for group in item.get("flagged", [])
        ],
    }


# --------------------------------------------------------------------------------------------
# instruction-data assay


def _meta_scores(records: Sequence[Mapping[str, Any]]) -> list[float] | None:
    for name in SCORE_FIELDS:
        values = [r.get("meta", {}).get(name) for r in records]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            return [float(v) for v in values]  # type: ignore[arg-type]
    return None


def _assay_instruction(
    synthetic: list[dict[str, Any]],
    reference: list[dict[str, Any]],
    options: AssayOptions,
    sections: _Sections,
    private_texts: list[str],
    private_names: list[str],
    out: Path,
    extras: dict[str, Any],
) -> dict[str, Any]:
    from synthloom.assay import bias, diversity, embedding_fidelity, fidelity, privacy, tails
    from synthloom.assay.features import FEATURE_KINDS, record_features
    from synthloom.pii import PiiScanner

    metrics: dict[str, Any] = {}
    syn_texts = [record_text(r) for r in synthetic]
    ref_texts = [record_text(r) for r in reference]

    # Fidelity of per-record features (plus the meta fields both sides carry).
    features: Callable[..., pd.DataFrame] = record_features
    if options.executor == "ray":
        from synthloom.engine.ray.assay import record_features_ray

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
        lambda: _embed_both(ref_texts, syn_texts, options, out / "cache"),
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
    priv["pii"] = sections.run(
        "privacy.pii", lambda: privacy.pii_summary(pii_texts, scanner=scanner, locations=locations)
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
            scores=_meta_scores(synthetic),
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


# --------------------------------------------------------------------------------------------
# entry point


def _embed_both(
    ref_texts: list[str], syn_texts: list[str], options: AssayOptions, cache: Path
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Both sides in one embedding space; MiniLM shards on Ray with ``--executor ray``."""
    from synthloom.assay import embed

    if options.executor == "ray" and options.embedder != "tfidf" and not embed._minilm_missing():
        from synthloom.engine.ray.assay import embed_texts_ray

        def on_ray(texts: Sequence[str], batch_size: int) -> np.ndarray:
            vectors, _ = embed_texts_ray(list(texts), method="minilm", batch_size=batch_size)
            return vectors

        # The same per-dataset cache as the local path: a rerun embeds nothing.
        ref, ref_hit = embed._embed_minilm(ref_texts, cache, 64, compute=on_ray)
        syn, syn_hit = embed._embed_minilm(syn_texts, cache, 64, compute=on_ray)
        info = {"method": embed.MINILM_NAME, "dim": 384, "cached": ref_hit and syn_hit}
        return ref, syn, {**info, "reason": None}
    return embed.embed_pair(ref_texts, syn_texts, method=options.embedder, cache_dir=cache)


def run_assay(
    synthetic: str | Path,
    reference: str | Path,
    out: str | Path,
    options: AssayOptions | None = None,
) -> AssayResult:
    """Measure `synthetic` against `reference`; write report.html and metrics.json to `out`.

    Raises InputError (nothing written) for unusable input; returns the result with the gate's
    verdict otherwise (``result.exit_code`` is 1 when the gate is not met).
    """
    options = options or AssayOptions()
    out = Path(out)
    started = time.perf_counter()
    check_output_dir(out)
    clean_leftovers(out, RESULT_FILES)  # what a run killed while publishing left
    gate_rules: list[GateRule] | None = load_gate(options.gate) if options.gate else None
    if options.ner not in ("auto", "on", "off"):
        raise InputError(
            f"unknown NER setting '{options.ner}'; choose auto, on or off", field="--ner"
        )
    if options.embedder not in ("auto", "minilm", "tfidf"):
        raise InputError(
            f"unknown embedder '{options.embedder}'; choose auto, minilm or tfidf",
            field="--embedder",
        )
    if options.fidelity_binning not in ("real", "report"):
        raise InputError(
            f"unknown fidelity binning '{options.fidelity_binning}'; choose real or report",
            field="--fidelity-binning",
        )
    if options.executor not in ("local", "ray"):
        raise InputError(
            f"unknown executor '{options.executor}'; choose local or ray", field="--executor"
        )
    ray_started = False
    if options.executor == "ray":
        from synthloom.engine.ray_executor import RayOptions, init_ray

        ray_started = init_ray(RayOptions(address=options.ray_address))
    try:
        return _run_assay(synthetic, reference, out, options, gate_rules, started)
    finally:
        if ray_started:
            import ray

            ray.shutdown()


def _run_assay(
    synthetic: str | Path,
    reference: str | Path,
    out: Path,
    options: AssayOptions,
    gate_rules: list[GateRule] | None,
    started: float,
) -> AssayResult:
    extras: dict[str, Any] = {}
    if options.lexicon is not None:
        from synthloom.assay.bias import load_lexicon

        extras["lexicon"] = load_lexicon(options.lexicon)
    if options.kinds is not None:
        extras["kind_overrides"] = load_kinds(options.kinds)
    syn = load_dataset(synthetic)
    ref = load_dataset(reference)
    _check_same_kind(syn, ref)
    if gate_rules:
        check_rule_paths(
            gate_rules,
            schema_matcher(syn.kind, _compared_columns(syn, ref), options.sensitive),
            syn.kind,
        )
    private_texts, private_names = load_private_texts(options.private)

    sections = _Sections()
    if syn.kind == "table":
        _check_columns(syn, ref)
        assert syn.table is not None and ref.table is not None
        _check_sensitive(options.sensitive, ref.table, ref.path)
        body = _assay_table(
            syn.table, ref.table, options, sections, private_texts, private_names, extras
        )
    else:
        assert syn.records is not None and ref.records is not None
        if options.sensitive:
            raise InputError(
                "--sensitive names table columns; instruction data uses the demographic lexicon",
                field="--sensitive",
            )
        out.mkdir(parents=True, exist_ok=True)
        body = _assay_instruction(
            syn.records,
            ref.records,
            options,
            sections,
            private_texts,
            private_names,
            out,
            extras,
        )

    metrics: dict[str, Any] = {
        "synthloom_version": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "dataset": {
            "kind": syn.kind,
            "synthetic": {"path": str(syn.path), "rows": len(syn)},
            "reference": {"path": str(ref.path), "rows": len(ref)},
            "private_sources": len(private_names),
            "embedder": extras.get("embedder"),
            "column_kinds": extras.get("kinds"),
            "column_kind_sources": extras.get("kind_sources"),
        },
        **body,
        "errors": dict(sections.errors),
        "seconds": {**sections.seconds, "total": round(time.perf_counter() - started, 3)},
    }
    metrics = to_jsonable(metrics)
    gate_results = evaluate_gate(gate_rules, metrics) if gate_rules else None
    metrics["gate"] = (
        {"passed": all(g["passed"] for g in gate_results), "rules": gate_results}
        if gate_results is not None
        else None
    )

    result = AssayResult(metrics=metrics, out=out, gate_results=gate_results)
    report_html = None
    if options.write_report:
        from synthloom.assay.report import render_report

        report_html = render_report(metrics, extras)
    _publish(out, metrics, report_html)
    return result
