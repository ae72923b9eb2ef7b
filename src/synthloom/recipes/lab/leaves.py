"""One LAB leaf, shared by both executors: its plan and fingerprint, running it, and the
run's finish (phase datasets, the mix, run.json).

``generate`` (the local executor) and :mod:`synthloom.recipes.lab.ray_run` (one leaf a Ray
shard) both run leaves with :func:`run_leaf` and close the run with :func:`finish_run`, so the
records are the same whichever executor made them.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from pathlib import Path
from typing import Any

from synthloom.engine.rejects import RejectWriter
from synthloom.engine.rundir import RunDir
from synthloom.errors import InputError
from synthloom.llm.accounting import Accounting
from synthloom.llm.settings import make_backend as make_teacher_backend
from synthloom.llm.settings import make_teacher_client
from synthloom.recipes.lab.chunking import Chunk, chunk_markdown, document_text
from synthloom.recipes.lab.config import PipelineConfig, settings_for
from synthloom.recipes.lab.mix import PHASES, mix
from synthloom.recipes.lab.outcome import STAGE, empty_leaves, leaf_slug
from synthloom.recipes.lab.recipes import (
    LeafOutput,
    Teacher,
    run_freeform,
    run_grounded,
    run_knowledge,
    with_context,
)
from synthloom.records import make_record, read_records, write_parquet
from synthloom.taxonomy.documents import read_documents
from synthloom.taxonomy.model import Leaf, Taxonomy

__all__ = [
    "STAGE",
    "finish_run",
    "finished_leaf",
    "leaf_chunks",
    "leaf_fingerprint",
    "leaf_plan",
    "make_teacher_backend",
    "make_teacher_client",
    "run_leaf",
    "write_phases",
]

# The teacher's backend and client come from the one factory, synthloom.llm.settings; they are
# named here too because both executors of a LAB run import them from this module.


def leaf_chunks(leaf: Leaf, chunk_tokens: int) -> tuple[list[Chunk], str]:
    """A knowledge leaf's chunks and a hash of its documents' bytes."""
    assert leaf.document is not None
    try:
        documents = read_documents(leaf.document, leaf.file)
    except InputError as exc:
        raise InputError(f"{exc}", path=leaf.file, field="document") from exc
    digest = hashlib.sha256()
    chunks: list[Chunk] = []
    for doc in documents:
        digest.update(doc.name.encode() + b"\0" + doc.data)
        text = document_text(doc.name, doc.data)
        for chunk in chunk_markdown(text, max_tokens=chunk_tokens, document=doc.name):
            chunks.append(Chunk(chunk.text, chunk.document, len(chunks), chunk.tokens))
    return chunks, digest.hexdigest()


def leaf_fingerprint(leaf: Leaf, settings: Any, config: PipelineConfig, docs: str) -> str:
    ident = {
        "qna": hashlib.sha256(leaf.file.read_bytes()).hexdigest(),
        "docs": docs,
        "settings": settings.model_dump(),
        "model": config.teacher.model,
        "judge": config.teacher.judge_model,
        "seed": config.seed,
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:32]


def leaf_plan(leaf: Leaf, config: PipelineConfig, source: str) -> tuple[Any, list[Chunk], str]:
    """A leaf's recipe settings, its chunks (knowledge leaves) and its fingerprint."""
    settings = settings_for(config, leaf, source=source)
    chunks: list[Chunk] = []
    docs = ""
    if leaf.kind == "knowledge":
        chunks, docs = leaf_chunks(leaf, settings.chunk_tokens)
    return settings, chunks, leaf_fingerprint(leaf, settings, config, docs)


def finished_leaf(leaf_dir: Path, fingerprint: str) -> dict[str, Any] | None:
    """The leaf's done.json entry when it finished with these settings, else None."""
    done = leaf_dir / "done.json"
    if not done.exists():
        return None
    previous: dict[str, Any] = json.loads(done.read_text(encoding="utf-8"))
    return previous if previous.get("fingerprint") == fingerprint else None


async def run_leaf(
    leaf: Leaf,
    config: PipelineConfig,
    teacher: Teacher,
    leaf_dir: Path,
    rejects_dir: Path,
    source: str,
    plan: tuple[Any, list[Chunk], str] | None = None,
) -> dict[str, Any]:
    """Run one leaf into ``leaf_dir``, its rejects into ``rejects_dir`` (skipped when its
    done.json fingerprint matches).

    ``plan``: the leaf's :func:`leaf_plan`, when the caller read it already.
    """
    settings, chunks, fingerprint = plan or leaf_plan(leaf, config, source)
    previous = finished_leaf(leaf_dir, fingerprint)
    if previous is not None:
        return {**previous, "skipped": True}
    done = leaf_dir / "done.json"
    done.unlink(missing_ok=True)
    output: LeafOutput
    if leaf.kind == "freeform_skill":
        output = await run_freeform(leaf, settings, teacher)
    elif leaf.kind == "grounded_skill":
        output = await run_grounded(leaf, settings, teacher)
    else:
        output = await run_knowledge(leaf, settings, teacher, chunks)
    leaf_dir.mkdir(parents=True, exist_ok=True)
    write_parquet(output.records, leaf_dir / "samples.parquet")
    # The leaf's rejects are written anew with its samples (a run before 2026-12 kept them in
    # the leaf's folder: that file goes).
    # One part a leaf (they are in memory already): on an object store a rerun overwrites it.
    older = (leaf_dir / "rejects.jsonl",)
    size = max(1, len(output.rejects))
    with RejectWriter(rejects_dir, STAGE, fresh=True, older=older, rows_per_part=size) as rejects:
        for reject in output.rejects:
            rejects.write(reject)
    entry = {
        "leaf": leaf.path,
        "kind": leaf.kind,
        "samples": len(output.records),
        "rejects": rejects.count,
        "rejects_by_step": dict(rejects.by_step),
        "failures": output.failures,
        "chunks": len(chunks) if leaf.kind == "knowledge" else None,
        "fingerprint": fingerprint,
    }
    # A leaf with failed requests is not done: the next run asks those again.
    if output.failures == 0:
        done.write_text(json.dumps(entry, sort_keys=True) + "\n", encoding="utf-8")
    return {**entry, "skipped": False}


def write_phases(run: Path, kinds: dict[str, str], config: PipelineConfig) -> dict[str, int]:
    """Write the phase datasets from the samples of the leaves ``kinds`` names (path -> kind)."""
    knowledge: list[dict[str, Any]] = []
    skills: list[dict[str, Any]] = []
    for leaf_path, kind in kinds.items():
        path = run / STAGE / "leaves" / leaf_slug(leaf_path) / "samples.parquet"
        if not path.exists():
            continue
        records = list(read_records(path))
        (knowledge if kind == "knowledge" else skills).extend(records)
    out = config.outputs
    rng = random.Random(f"{config.seed}|distractors")
    pool: dict[str, list[str]] = {}
    for record in knowledge:
        contexts = pool.setdefault(record["meta"]["leaf"], [])
        if record["meta"]["context"] not in contexts:
            contexts.append(record["meta"]["context"])
    everything = [c for contexts in pool.values() for c in contexts]
    distracted: list[dict[str, Any]] = []
    for record in knowledge:
        meta = record["meta"]
        gold = meta["context"]
        # Distractors come from the same leaf first (harder, same topic), then from others.
        same = [c for c in pool[meta["leaf"]] if c != gold]
        others = [c for c in everything if c != gold and c not in same]
        rng.shuffle(same)
        rng.shuffle(others)
        documents = (same + others)[: out.distractors]
        gold_in = rng.random() < out.gold_probability
        if gold_in:
            documents.append(gold)
        rng.shuffle(documents)
        user = with_context("\n\n".join(documents), meta["question"])
        messages = [
            {"role": "user", "content": user},
            {"role": "assistant", "content": meta["answer"]},
        ]
        distracted.append(
            make_record(
                messages,
                {**meta, "gold_included": gold_in, "distractors": len(documents) - gold_in},
            )
        )
    phase_dir = run / STAGE / "phases"
    phase_dir.mkdir(parents=True, exist_ok=True)
    datasets = {"knowledge": knowledge, "knowledge_distractors": distracted, "skills": skills}
    for name in PHASES:
        write_parquet(datasets[name], phase_dir / f"{name}.parquet")
    return {name: len(rows) for name, rows in datasets.items()}


def finish_run(
    run: RunDir,
    leaves: list[Leaf],
    config: PipelineConfig,
    results: list[dict[str, Any]],
    accounting: Accounting,
    started: float,
    pipeline_path: str | Path | None,
    *,
    taxonomy: Taxonomy,
    skip_invalid: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """Write the phase datasets and the mix from the leaves' outputs; the stage's entry.

    The phases hold every leaf of the taxonomy that has samples in the run, not only the ones
    this invocation ran: generating one subtree (``--subtree``, ``--changed-since``) into an
    existing run adds to it instead of dropping the other leaves (leaves that are gone from the
    tree, or chosen now and invalid, are dropped).
    """
    source = str(pipeline_path or "pipeline")
    current = (set(taxonomy.found) - set(taxonomy.invalid_paths)) | {lf.path for lf in leaves}
    earlier = (run.stage(STAGE) or {}).get("leaves") or {}
    leaf_entries = {k: v for k, v in earlier.items() if k in current}
    leaf_entries.update({r["leaf"]: {k: v for k, v in r.items() if k != "leaf"} for r in results})
    kinds = {path: str(entry.get("kind")) for path, entry in leaf_entries.items()}
    phases = write_phases(run.path, kinds, config)
    export = None
    if config.mix is not None:
        base = Path(pipeline_path).parent if pipeline_path is not None else Path(".")
        export = mix(
            config.mix,
            run.path / "export",
            base_dir=base,
            run=run.path,
            source_name=source,
            skip_invalid=skip_invalid,
        )
    failures = sum(r["failures"] for r in results)
    entry = run.update_stage(
        STAGE,
        status="done" if failures == 0 else "incomplete",
        leaves=leaf_entries,
        phases=phases,
        export=export,
        accounting=accounting.to_dict(),
        elapsed_s=round(time.monotonic() - started, 3),
        invalid_leaves=[str(issue) for issue in taxonomy.errors],
        empty_leaves=empty_leaves(run.path, results),
        **extra,
    )
    entry["run_dir"] = str(run.path)
    return entry
