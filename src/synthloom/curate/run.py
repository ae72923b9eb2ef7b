"""``curate_file``: the whole curation of one dataset into an output folder.

It owns choosing and ordering the stages from :class:`CurateOptions`, checking every input
before anything is written, and the output folder::

    OUT/data.parquet (or data.jsonl)   the curated records
    OUT/rejects.jsonl                  {"id", "stage", "reason", ...} per dropped record
    OUT/changes.jsonl                  {"id", "stage", "reason", ...} per changed record
    OUT/run.json                       options, versions and the per-stage summary

Everything is written in a temporary folder next to OUT and moved into place at the end, so a
run that fails (bad input on line 9,000) leaves an existing OUT as it was. Stages run in a
fixed order: exact, minhash, semantic dedup, decontamination, PII (cheap global filters first,
so the costlier ones see fewer records; PII last, so nothing dropped later is scanned).
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import platform
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from synthloom import __version__
from synthloom.atomic import clean_leftovers, publish_dir, staging_dir
from synthloom.curate.base import AuditWriter, Stage, StageStats, run_stages
from synthloom.curate.decontam import Decontaminate, load_benchmark
from synthloom.curate.dedup import ExactDedup, NearDedup, TextView
from synthloom.curate.redact import PII_MODES, PiiRedact
from synthloom.curate.semantic import SemanticDedup
from synthloom.embed import EMBED_METHODS, EmbedMethod
from synthloom.engine.storage import check_output_dir
from synthloom.errors import ConfigError, DataFormatError
from synthloom.minhash import NearDuplicates, ShingleKind
from synthloom.records import read_records, records_to_table

__all__ = ["DEDUP_METHODS", "CurateOptions", "CurateResult", "build_stages", "curate_file"]

Record = dict[str, Any]
DEDUP_METHODS = ("exact", "minhash", "semantic")
OutputFormat = Literal["parquet", "jsonl"]
_PARQUET_BATCH = 10_000


@dataclass
class CurateOptions:
    """Every setting of a curation run (the CLI's flags, one to one)."""

    dedup: Sequence[str] = ("exact", "minhash")
    roles: Sequence[str] | None = None
    case_sensitive: bool = False
    strip_punctuation: bool = False
    score_key: str = "score"
    threshold: float = 0.8
    num_perm: int = 128
    shingle: ShingleKind = "char"
    shingle_size: int = 5
    semantic_threshold: float = 0.95
    embedder: EmbedMethod = "auto"
    decontaminate: Sequence[Path] = ()
    bench_fields: Sequence[str] = ("text",)
    bench_id_field: str | None = None
    decontam_ngram: int = 13
    contaminated: Literal["drop", "flag"] = "drop"
    pii: Literal["redact", "mask", "hash", "replace"] | None = None
    pii_types: Sequence[str] | None = None
    ner: Literal["auto", "on", "off"] = "auto"
    #: Environment variable holding the secret salt of ``hash`` and ``replace`` (its value is
    #: never written anywhere). Without a salt a hashed phone number or card can be recovered by
    #: hashing every possible number.
    pii_salt_env: str | None = "SYNTHLOOM_PII_SALT"
    format: OutputFormat = "parquet"
    seed: int = 0
    #: "ray" runs MinHash dedup as Ray tasks (same result); ``actors``: parallel tasks a step.
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    actors: int = 2

    def snapshot(self) -> dict[str, Any]:
        """The options as plain JSON values, for run.json."""
        out = asdict(self)
        out["decontaminate"] = [str(p) for p in self.decontaminate]
        for key in ("dedup", "roles", "bench_fields", "pii_types"):
            if out[key] is not None:
                out[key] = list(out[key])
        return out


@dataclass
class CurateResult:
    """What a run produced: where, how many records, and each stage's row of the summary."""

    out: Path
    data_path: Path
    records_in: int
    records_out: int
    stages: list[StageStats]
    seconds: float
    run: dict[str, Any] = field(default_factory=dict)


def _check_options(options: CurateOptions) -> None:
    unknown = [m for m in options.dedup if m not in DEDUP_METHODS]
    if unknown:
        raise ConfigError(
            f"unknown dedup method '{unknown[0]}'; choose from {', '.join(DEDUP_METHODS)}",
            field="--dedup",
        )
    if not 0.0 < options.threshold <= 1.0:
        raise ConfigError(
            f"threshold must be in (0, 1], got {options.threshold}", field="--threshold"
        )
    if not 0.0 < options.semantic_threshold <= 1.0:
        raise ConfigError(
            f"semantic threshold must be in (0, 1], got {options.semantic_threshold}",
            field="--semantic-threshold",
        )
    if options.pii is not None and options.pii not in PII_MODES:
        raise ConfigError(
            f"unknown PII mode '{options.pii}'; choose {', '.join(PII_MODES)}", field="--pii"
        )
    if options.format not in ("parquet", "jsonl"):
        raise ConfigError(
            f"unknown output format '{options.format}'; choose parquet or jsonl", field="--format"
        )
    for value, allowed, flag in (
        (options.shingle, ("char", "word"), "--shingle"),
        (options.embedder, EMBED_METHODS, "--embedder"),
        (options.ner, ("auto", "on", "off"), "--ner"),
    ):
        if value not in allowed:
            raise ConfigError(f"unknown value '{value}'; choose {', '.join(allowed)}", field=flag)
    if options.executor not in ("local", "ray"):
        raise ConfigError(
            f"unknown executor '{options.executor}'; choose local or ray", field="--executor"
        )
    if options.contaminated not in ("drop", "flag"):
        raise ConfigError(
            f"unknown action '{options.contaminated}'; choose drop or flag", field="--contaminated"
        )


def _ray_clusters(options: CurateOptions) -> Callable[..., NearDuplicates]:
    # Imported here: the local path never loads the Ray executor.
    from synthloom.engine.ray import near_duplicate_clusters_ray
    from synthloom.engine.ray_executor import RayOptions

    ray_options = RayOptions(address=options.ray_address, actors=options.actors)
    ray_options.validate()
    return functools.partial(near_duplicate_clusters_ray, options=ray_options)


def build_stages(options: CurateOptions, *, cache_dir: Path | None = None) -> list[Stage]:
    """The stages ``options`` ask for, in run order; raises on any bad option or benchmark."""
    _check_options(options)
    view = TextView(
        roles=frozenset(options.roles) if options.roles is not None else None,
        lowercase=not options.case_sensitive,
        strip_punctuation=options.strip_punctuation,
    )
    stages: list[Stage] = []
    if "exact" in options.dedup:
        stages.append(ExactDedup(view=view, score_key=options.score_key))
    if "minhash" in options.dedup:
        stages.append(
            NearDedup(
                clusters=_ray_clusters(options) if options.executor == "ray" else None,
                threshold=options.threshold,
                num_perm=options.num_perm,
                shingle=options.shingle,
                ngram=options.shingle_size,
                view=view,
                score_key=options.score_key,
                seed=options.seed,
            )
        )
    if "semantic" in options.dedup:
        stages.append(
            SemanticDedup(
                threshold=options.semantic_threshold,
                method=options.embedder,
                cache_dir=cache_dir,
                view=view,
                score_key=options.score_key,
                seed=options.seed,
            )
        )
    if options.decontaminate:
        benches = []
        seen: set[str] = set()
        for path in options.decontaminate:
            bench = load_benchmark(
                path, fields=options.bench_fields, id_field=options.bench_id_field
            )
            # Two files with one stem (gsm8k/test.jsonl, mmlu/test.jsonl) need distinct names.
            name = bench.name if bench.name not in seen else str(path)
            seen.add(name)
            benches.append(
                bench if name == bench.name else type(bench)(name, bench.item_ids, bench.texts)
            )
        stages.append(
            Decontaminate(
                benches,
                ngram=options.decontam_ngram,
                roles=options.roles,
                action=options.contaminated,
            )
        )
    if options.pii is not None:
        stages.append(
            PiiRedact(
                mode=options.pii,
                types=options.pii_types,
                ner=options.ner,
                roles=options.roles,
                salt=os.environ.get(options.pii_salt_env, "") if options.pii_salt_env else "",
            )
        )
    return stages


def _open_input(path: Path) -> Iterator[Record]:
    """The records of ``path``, with the first one read now so a bad file fails early."""
    if not path.exists():
        raise DataFormatError("input file not found; check the path", path=path)
    records = read_records(path)
    first = next(records, None)
    if first is None:
        # Curating nothing would replace an earlier result with an empty one.
        raise DataFormatError("holds no records; nothing to curate", path=path)
    return itertools.chain([first], records)


def _write_parquet_stream(records: Iterable[Record], path: Path) -> int:
    """Stream records into one Parquet file, a row group per batch (never all in memory)."""
    writer: pq.ParquetWriter | None = None
    count = 0
    batch: list[Record] = []
    preference = False

    def flush() -> None:
        nonlocal writer
        table: pa.Table = records_to_table(batch, preference)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
        batch.clear()

    try:
        for rec in records:
            if count == 0:
                # The first record decides the schema: preference data has chosen/rejected.
                preference = "chosen" in rec or "rejected" in rec
            batch.append(rec)
            count += 1
            if len(batch) >= _PARQUET_BATCH:
                flush()
        if batch or writer is None:
            flush()
    finally:
        if writer is not None:
            writer.close()
    return count


def _write_jsonl_stream(records: Iterable[Record], path: Path) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            count += 1
    return count


def _versions() -> dict[str, str]:
    import numpy
    import pyarrow

    return {
        "synthloom": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pyarrow": pyarrow.__version__,
    }


#: What curate writes into its folder; anything else there is carried over to a new result.
RESULT_FILES = ("data.parquet", "data.jsonl", "rejects.jsonl", "changes.jsonl", "run.json", "cache")


def curate_file(
    input_path: str | Path, out: str | Path, options: CurateOptions | None = None
) -> CurateResult:
    """Curate the dataset at ``input_path`` into the folder ``out`` (see the module doc)."""
    options = options or CurateOptions()
    input_path, out = Path(input_path), Path(out)
    check_output_dir(out)
    # Everything the user can get wrong is checked before the first byte is written.
    records = _open_input(input_path)
    stages = build_stages(options)
    clean_leftovers(out, RESULT_FILES)  # what a run killed while publishing left
    work = staging_dir(out)
    try:
        for stage in stages:
            if isinstance(stage, SemanticDedup):
                stage.cache_dir = work / "cache"
        data_name = f"data.{options.format}"
        started = time.perf_counter()
        with (
            (work / "rejects.jsonl").open("w", encoding="utf-8") as rejects,
            (work / "changes.jsonl").open("w", encoding="utf-8") as changes,
        ):
            kept, stats = run_stages(records, stages, AuditWriter(rejects=rejects, changes=changes))
            if options.format == "parquet":
                written = _write_parquet_stream(kept, work / data_name)
            else:
                written = _write_jsonl_stream(kept, work / data_name)
        seconds = time.perf_counter() - started
        # With no stage at all, what was written is what was read.
        records_in = stats[0].records_in if stats else written
        run = {
            "command": "curate",
            "status": "complete",
            "input": str(input_path),
            "output": str(out / data_name),
            "records_in": records_in,
            "records_out": written,
            "seconds": round(seconds, 3),
            "options": options.snapshot(),
            "versions": _versions(),
            "stages": [s.as_dict() for s in stats],
        }
        (work / "run.json").write_text(json.dumps(run, indent=2, ensure_ascii=False) + "\n")
        shutil.rmtree(work / "cache", ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    # One swap: a kill leaves the old result or the new one, never a mix (and a rerun with the
    # other format leaves no old data beside the new).
    publish_dir(work, out, RESULT_FILES)
    return CurateResult(
        out=out,
        data_path=out / data_name,
        records_in=records_in,
        records_out=written,
        stages=stats,
        seconds=seconds,
        run=run,
    )
