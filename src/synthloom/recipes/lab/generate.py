"""``generate``: run the LAB recipes over a taxonomy into a run directory.

    <run>/run.json                       config, versions, stage "lab": per-leaf counts, accounting
    <run>/cache.sqlite                   every teacher answer (a re-run replays it: no new calls)
    <run>/lab/leaves/<leaf>/samples.parquet   the leaf's kept samples (records)
    <run>/lab/leaves/<leaf>/done.json         written when the leaf finished without failures
    <run>/rejects/lab/<leaf>/part-00000.jsonl every dropped item (synthloom.engine.rejects):
                                              step, reason, item, raw answer
    <run>/lab/phases/{knowledge,knowledge_distractors,skills}.parquet
    <run>/export/<name>.jsonl            the mix, when the pipeline has one
    <run>/_documents/                    clones of the knowledge leaves' document repositories

A leaf whose ``done.json`` fingerprint (qna.yaml, documents, settings, models) still matches is
skipped; anything else is run again, and its answers come from the cache.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synthloom.engine.executor import blocking
from synthloom.engine.rejects import rejects_dir
from synthloom.engine.rundir import RunDir
from synthloom.engine.storage import refuse_url
from synthloom.errors import InputError
from synthloom.llm.accounting import Accounting
from synthloom.llm.backends import Backend
from synthloom.llm.cache import ResponseCache
from synthloom.recipes.lab.config import PipelineConfig
from synthloom.recipes.lab.leaves import (
    STAGE,
    finish_run,
    leaf_chunks,
    leaf_plan,
    make_teacher_backend,
    make_teacher_client,
    run_leaf,
)
from synthloom.recipes.lab.ray_run import generate_ray
from synthloom.recipes.lab.recipes import Teacher
from synthloom.recipes.lab.select import chosen_taxonomy, document_options
from synthloom.taxonomy.model import Taxonomy

__all__ = ["STAGE", "generate", "generate_sync", "leaf_chunks", "make_teacher_backend"]


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
    tasks: list[asyncio.Future[dict[str, Any]]] = []
    try:
        # Every leaf's documents are read (and its fingerprint made) before any leaf asks the
        # teacher anything: a missing or unreadable document costs no request.
        plans = [leaf_plan(leaf, config, source) for leaf in leaves]
    except BaseException:
        await client.aclose()
        cache.close()
        run.update_stage(STAGE, status="failed", accounting=accounting.to_dict())
        raise
    tasks = [
        asyncio.ensure_future(
            run_leaf(
                leaf,
                config,
                teacher,
                run.path / STAGE / "leaves" / leaf.slug,
                rejects_dir(run.path, STAGE, leaf.slug),
                source,
                plan,
            )
        )
        for leaf, plan in zip(leaves, plans, strict=True)
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
    return finish_run(
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


generate_sync = blocking(generate, "generate_sync")
