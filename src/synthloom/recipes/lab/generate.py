"""``generate``: run the LAB recipes over a taxonomy into a run directory.

    <run>/run.json                       config, versions, stage "lab": per-leaf counts, accounting
    <run>/cache.sqlite                   every teacher answer (a re-run replays it: no new calls)
    <run>/lab/leaves/<leaf>/samples.parquet   the leaf's kept samples (records)
    <run>/lab/leaves/<leaf>/rejects.jsonl     every dropped item: step, reason, item, raw answer
    <run>/lab/leaves/<leaf>/done.json         written when the leaf finished without failures
    <run>/lab/phases/{knowledge,knowledge_distractors,skills}.parquet
    <run>/export/<name>.jsonl            the mix, when the pipeline has one
    <run>/_documents/                    clones of the knowledge leaves' document repositories

A leaf whose ``done.json`` fingerprint (qna.yaml, documents, settings, models) still matches is
skipped; anything else is run again, and its answers come from the cache.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synthloom.engine.rundir import RunDir
from synthloom.engine.storage import refuse_url
from synthloom.errors import InputError
from synthloom.llm.accounting import Accounting
from synthloom.llm.backends import Backend, OpenAIClientBackend, OpenAIHTTPBackend
from synthloom.llm.cache import ResponseCache
from synthloom.llm.client import TeacherClient
from synthloom.llm.limits import RateLimiter
from synthloom.llm.retry import RetryPolicy
from synthloom.recipes.lab.chunking import Chunk, chunk_markdown, document_text
from synthloom.recipes.lab.config import PipelineConfig, TeacherSettings, settings_for
from synthloom.recipes.lab.mix import PHASES, mix
from synthloom.recipes.lab.outcome import empty_leaves
from synthloom.recipes.lab.recipes import (
    LeafOutput,
    Teacher,
    run_freeform,
    run_grounded,
    run_knowledge,
    with_context,
)
from synthloom.recipes.lab.select import chosen_taxonomy, document_options
from synthloom.records import make_record, read_records, write_parquet
from synthloom.taxonomy.documents import read_documents
from synthloom.taxonomy.model import Leaf, Taxonomy

__all__ = ["STAGE", "generate", "generate_sync", "leaf_chunks", "make_teacher_backend"]

STAGE = "lab"


def make_teacher_backend(settings: TeacherSettings) -> Backend:
    """The backend the pipeline's teacher section names."""
    cls = OpenAIClientBackend if settings.backend == "openai" else OpenAIHTTPBackend
    return cls(
        settings.base_url,
        api_key_env=settings.api_key_env,
        timeout=settings.timeout,
        connect_timeout=settings.connect_timeout,
    )


def make_teacher_client(
    settings: TeacherSettings,
    cache: ResponseCache,
    accounting: Accounting,
    backend: Backend | None = None,
) -> TeacherClient:
    """The teacher client of a LAB run: its backend, retries and limits from ``settings``."""
    return TeacherClient(
        backend or make_teacher_backend(settings),
        cache=cache,
        retry=RetryPolicy(
            max_attempts=settings.max_attempts,
            base_delay=settings.base_delay,
            max_delay=settings.max_delay,
            max_request_time=settings.max_request_time,
        ),
        limiter=RateLimiter(
            requests_per_minute=settings.requests_per_minute,
            tokens_per_minute=settings.tokens_per_minute,
        )
        if settings.requests_per_minute or settings.tokens_per_minute
        else None,
        accounting=accounting,
    )


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


def _fingerprint(leaf: Leaf, settings: Any, config: PipelineConfig, docs: str) -> str:
    ident = {
        "qna": hashlib.sha256(leaf.file.read_bytes()).hexdigest(),
        "docs": docs,
        "settings": settings.model_dump(),
        "model": config.teacher.model,
        "judge": config.teacher.judge_model,
        "seed": config.seed,
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:32]


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)


def _leaf_plan(leaf: Leaf, config: PipelineConfig, source: str) -> tuple[Any, list[Chunk], str]:
    """A leaf's recipe settings, its chunks (knowledge leaves) and its fingerprint."""
    settings = settings_for(config, leaf, source=source)
    chunks: list[Chunk] = []
    docs = ""
    if leaf.kind == "knowledge":
        chunks, docs = leaf_chunks(leaf, settings.chunk_tokens)
    return settings, chunks, _fingerprint(leaf, settings, config, docs)


def _finished_leaf(leaf_dir: Path, fingerprint: str) -> dict[str, Any] | None:
    """The leaf's done.json entry when it finished with these settings, else None."""
    done = leaf_dir / "done.json"
    if not done.exists():
        return None
    previous: dict[str, Any] = json.loads(done.read_text(encoding="utf-8"))
    return previous if previous.get("fingerprint") == fingerprint else None


async def _run_leaf(
    leaf: Leaf, config: PipelineConfig, teacher: Teacher, leaf_dir: Path, source: str
) -> dict[str, Any]:
    settings, chunks, fingerprint = _leaf_plan(leaf, config, source)
    previous = _finished_leaf(leaf_dir, fingerprint)
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
    _write_jsonl(leaf_dir / "rejects.jsonl", output.rejects)
    steps: dict[str, int] = {}
    for reject in output.rejects:
        steps[reject["step"]] = steps.get(reject["step"], 0) + 1
    entry = {
        "leaf": leaf.path,
        "kind": leaf.kind,
        "samples": len(output.records),
        "rejects": len(output.rejects),
        "rejects_by_step": steps,
        "failures": output.failures,
        "chunks": len(chunks) if leaf.kind == "knowledge" else None,
        "fingerprint": fingerprint,
    }
    # A leaf with failed requests is not done: the next run asks those again.
    if output.failures == 0:
        done.write_text(json.dumps(entry, sort_keys=True) + "\n", encoding="utf-8")
    return {**entry, "skipped": False}


def _phases(run: Path, kinds: dict[str, str], config: PipelineConfig) -> dict[str, int]:
    """Write the phase datasets from the samples of the leaves ``kinds`` names (path -> kind)."""
    knowledge: list[dict[str, Any]] = []
    skills: list[dict[str, Any]] = []
    for leaf_path, kind in kinds.items():
        slug = leaf_path.replace("/", "__") or "root"
        path = run / STAGE / "leaves" / slug / "samples.parquet"
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


async def generate(
    taxonomy: str | Path | Taxonomy,
    config: PipelineConfig,
    out: str | Path,
    *,
    subtree: str | None = None,
    changed_since: str | None = None,
    backend: Backend | None = None,
    pipeline_path: str | Path | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    skip_invalid: bool = False,
    documents_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Run the LAB recipes over the chosen leaves of ``taxonomy`` into the run directory ``out``.

    Leaves are chosen (``subtree``, ``changed_since``, the pipeline's ``leaves`` globs) before
    any is checked; an invalid chosen leaf is a ConfigError unless ``skip_invalid``, which runs
    the valid ones and lists the others in ``invalid_leaves``. A loaded ``Taxonomy`` (as
    :func:`synthloom.recipes.lab.select.chosen_taxonomy` gives) is used as it is. Documents of
    repository URLs come from ``documents_dir`` (or the pipeline's), else are cloned into
    ``<out>/_documents``.

    Returns the run.json entry of the stage: ``status``, ``leaves`` (per leaf: ``kind``,
    ``samples``, ``rejects``, ``rejects_by_step``, ``failures``, ``chunks``, ``skipped``),
    ``phases`` (records per phase dataset), ``export`` (the mix summary or None),
    ``accounting`` (this invocation's requests, cache hits, tokens...), ``elapsed_s``,
    ``invalid_leaves`` (errors of skipped leaves), ``empty_leaves`` (chosen leaves that kept no
    sample, each with its most common reject reason), plus ``run_dir``.

    With ``config.executor.name == "ray"`` the leaves run on a Ray actor pool (see
    :mod:`synthloom.recipes.lab.ray_run`; same outputs, plus ``executor``, ``ray``,
    ``shards_run``, ``shards_skipped``, ``shard_retries``); ``on_progress`` is then called
    after each finished leaf.
    """
    tax = chosen_taxonomy(
        taxonomy,
        config,
        subtree=subtree,
        changed_since=changed_since,
        skip_invalid=skip_invalid,
        documents=document_options(
            config, out=out, pipeline_path=pipeline_path, documents_dir=documents_dir
        ),
    )
    if config.executor.name == "ray":
        if backend is not None:
            raise InputError(
                "a backend object only works with the local executor; on Ray the actors build "
                "the backend the pipeline's teacher section names",
                field="executor.name",
            )
        from synthloom.recipes.lab.ray_run import generate_ray

        return generate_ray(
            tax,
            config,
            out,
            pipeline_path=pipeline_path,
            on_progress=on_progress,
            skip_invalid=skip_invalid,
        )
    refuse_url(out, local_executor=True)
    source = str(pipeline_path or "pipeline")
    leaves = tax.leaves
    run = RunDir(out).open()
    started = time.monotonic()
    accounting = Accounting()
    settings = config.teacher
    cache = ResponseCache(run.cache_path)
    client = make_teacher_client(settings, cache, accounting, backend)
    run.update_stage(
        STAGE,
        status="running",
        taxonomy=str(tax.root.resolve()),
        config=config.model_dump(mode="json"),
        leaves_selected=[leaf.path for leaf in leaves],
        invalid_leaves=[str(issue) for issue in tax.errors],
    )
    teacher = Teacher(client, settings, config.seed)
    status = "failed"
    results: list[dict[str, Any]] = []
    tasks = [
        asyncio.ensure_future(
            _run_leaf(leaf, config, teacher, run.path / STAGE / "leaves" / leaf.slug, source)
        )
        for leaf in leaves
    ]
    try:
        results = list(await asyncio.gather(*tasks))
        status = "done"
    except (asyncio.CancelledError, KeyboardInterrupt):
        status = "interrupted"
        raise
    finally:
        # One leaf failing (a dead server) stops the others before the client closes: no
        # request is sent after the error and no connection is left open.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.aclose()
        cache.close()
        if status != "done":
            run.update_stage(STAGE, status=status, accounting=accounting.to_dict())
    return _finish(
        run,
        leaves,
        config,
        results,
        accounting,
        started,
        pipeline_path,
        taxonomy=tax,
        skip_invalid=skip_invalid,
    )


def _finish(
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
    phases = _phases(run.path, kinds, config)
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
        empty_leaves=empty_leaves(run.path / STAGE / "leaves", results),
        **extra,
    )
    entry["run_dir"] = str(run.path)
    return entry


def generate_sync(
    taxonomy: str | Path | Taxonomy,
    config: PipelineConfig,
    out: str | Path,
    *,
    subtree: str | None = None,
    changed_since: str | None = None,
    backend: Backend | None = None,
    pipeline_path: str | Path | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    skip_invalid: bool = False,
    documents_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Blocking ``generate``."""
    return asyncio.run(
        generate(
            taxonomy,
            config,
            out,
            subtree=subtree,
            changed_since=changed_since,
            backend=backend,
            pipeline_path=pipeline_path,
            on_progress=on_progress,
            skip_invalid=skip_invalid,
            documents_dir=documents_dir,
        )
    )
