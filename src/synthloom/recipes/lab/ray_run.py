"""``generate`` on Ray: one taxonomy leaf per shard, run by an actor pool.

Layout, besides what the local run writes (``lab/leaves/<leaf>/``, ``lab/phases/``,
``export/``)::

    <run>/_ray/lab/<leaf>/cache.sqlite   the leaf's own response cache (one writer: its actor)
    <run>/_ray/lab/<leaf>/done.json      the shard's marker: the leaf's counts and accounting

Each actor runs one leaf at a time with the local recipe code (``leaves.run_leaf``) and
``per_actor_in_flight`` requests in flight, writing the leaf's outputs where the local run
writes them; the driver then writes the phase datasets and the mix with the local code, so the
records are the local executor's. A leaf whose ``done.json`` fingerprint matches is skipped (as
locally); a leaf that was interrupted is run again and replays every answer its cache holds.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synthloom.engine.ray_executor import RayOptions, ShardFailed, check_ray_address
from synthloom.engine.ray_pool import PoolShard, PoolWorker, run_pool
from synthloom.engine.rundir import RunDir
from synthloom.engine.storage import RunStorage, driver_mirror, workspace
from synthloom.errors import SynthloomError
from synthloom.llm.accounting import Accounting
from synthloom.llm.cache import ResponseCache
from synthloom.recipes.lab.config import PipelineConfig
from synthloom.recipes.lab.leaves import (
    STAGE,
    finish_run,
    finished_leaf,
    leaf_plan,
    make_teacher_client,
    run_leaf,
)
from synthloom.recipes.lab.recipes import Teacher
from synthloom.recipes.lab.select import chosen_taxonomy, document_options
from synthloom.taxonomy.model import Leaf, Taxonomy

__all__ = ["generate_ray", "lab_shard_dir"]


def lab_shard_dir(out: str | Path, leaf: Leaf) -> Path:
    """The working folder (cache and marker) of one leaf of a Ray ``generate`` run."""
    return Path(out) / "_ray" / STAGE / leaf.slug


async def _leaf_on_actor(
    folder: Path, leaf_dir: Path, leaf: Leaf, config: PipelineConfig, source: str
) -> dict[str, Any]:
    settings = config.teacher
    accounting = Accounting()
    cache = ResponseCache(folder / "cache.sqlite")
    client = make_teacher_client(settings, cache, accounting)
    try:
        teacher = Teacher(client, settings, config.seed)
        result = await run_leaf(leaf, config, teacher, leaf_dir, source)
    finally:
        await client.aclose()
        cache.close()
    return {**result, "accounting": accounting.to_dict()}


def _lab_parts(leaf: Leaf) -> tuple[str, ...]:
    return ("_ray", STAGE, leaf.slug)


def _leaf_parts(leaf: Leaf) -> tuple[str, ...]:
    return (STAGE, "leaves", leaf.slug)


class LabWorker(PoolWorker):
    """An actor: runs one leaf at a time into the run directory."""

    def __init__(
        self, out: str, config: PipelineConfig, source: str, cache_sync_s: float = 30.0
    ) -> None:
        self.storage = RunStorage(out)
        self.config = config
        self.source = source
        self.cache_sync_s = cache_sync_s

    def run(self, leaf: Leaf) -> dict[str, Any]:
        # On an object store both folders are local copies, uploaded when the leaf is done:
        # the leaf's outputs first, then its shard marker.
        sync = self.cache_sync_s
        with workspace(self.storage, _lab_parts(leaf), cache_sync_s=sync) as folder:
            with workspace(self.storage, _leaf_parts(leaf), cache_sync_s=sync) as leaf_dir:
                result = asyncio.run(
                    _leaf_on_actor(folder, leaf_dir, leaf, self.config, self.source)
                )
            if result["failures"] == 0:
                data = {**result, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
                marker = folder / "done.json"
                tmp = marker.with_name(f"done.json.{os.getpid()}.tmp")
                tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
                tmp.replace(marker)
        return result


def _is_shard_cache(rel: str) -> bool:
    return rel.startswith("_ray/") and rel.endswith(".sqlite")


def _actors_own(rel: str) -> bool:
    return rel.startswith(("_ray/", f"{STAGE}/leaves/"))


def generate_ray(
    taxonomy: str | Path | Taxonomy,
    config: PipelineConfig,
    out: str | Path,
    *,
    subtree: str | None = None,
    changed_since: str | None = None,
    pipeline_path: str | Path | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    skip_invalid: bool = False,
) -> dict[str, Any]:
    """``generate`` with the leaves on a Ray actor pool; the same entry as the local run plus
    ``executor`` ("ray"), ``ray`` (actors, per_actor_in_flight), ``shards`` (leaves selected),
    ``shards_run``, ``shards_skipped`` and ``shard_retries``."""
    ex = config.executor
    options = RayOptions(
        address=ex.ray_address, actors=ex.actors, per_actor_in_flight=ex.per_actor_in_flight
    )
    options.validate()
    check_ray_address(options)
    tax = chosen_taxonomy(
        taxonomy,
        config,
        subtree=subtree,
        changed_since=changed_since,
        skip_invalid=skip_invalid,
        documents=document_options(config, out=out, pipeline_path=pipeline_path),
    )
    leaves = tax.leaves
    storage = RunStorage(out)
    # On an object store the driver works on a local copy of the run (without the leaves'
    # caches), uploaded back at the end; the actors read and write the store themselves.
    with driver_mirror(storage, skip_pull=_is_shard_cache, skip_push=_actors_own) as mirror:
        entry = _drive(
            tax, leaves, skip_invalid, config, storage, mirror, options, pipeline_path, on_progress
        )
    entry["run_dir"] = storage.url()
    return entry


def _drive(
    tax: Taxonomy,
    leaves: list[Leaf],
    skip_invalid: bool,
    config: PipelineConfig,
    storage: RunStorage,
    out: Path,
    options: RayOptions,
    pipeline_path: str | Path | None,
    on_progress: Callable[[dict[str, Any]], None] | None,
) -> dict[str, Any]:
    """The driver of :func:`generate_ray` on the run folder ``out`` (local or a mirror)."""
    ex = config.executor
    source = str(pipeline_path or "pipeline")
    run = RunDir(out).open()
    started = time.monotonic()
    ray_info = {"actors": ex.actors, "per_actor_in_flight": ex.per_actor_in_flight}
    run.update_stage(
        STAGE,
        status="running",
        executor="ray",
        ray=ray_info,
        taxonomy=str(tax.root.resolve()),
        config=config.model_dump(mode="json"),
        leaves_selected=[leaf.path for leaf in leaves],
    )
    results: dict[str, dict[str, Any]] = {}
    shards: list[PoolShard] = []
    for index, leaf in enumerate(leaves):
        _, _, fingerprint = leaf_plan(leaf, config, source)
        previous = finished_leaf(run.path / STAGE / "leaves" / leaf.slug, fingerprint)
        if previous is not None:
            results[leaf.path] = {**previous, "skipped": True}
        else:
            shards.append(PoolShard(index, f"leaf {leaf.path} (shard {index})", (leaf,)))
    skipped = len(results)
    teacher = config.teacher.model_copy(update={"max_in_flight": ex.per_actor_in_flight})
    worker_config = config.model_copy(update={"teacher": teacher})
    accounting = Accounting()

    def on_done(shard: PoolShard, result: dict[str, Any]) -> None:
        nonlocal accounting
        if not storage.is_local:  # the leaf's outputs, for the phase datasets and the mix
            leaf = shard.args[0]
            storage.pull(_leaf_parts(leaf), run.path.joinpath(*_leaf_parts(leaf)))
        accounting = accounting.add(Accounting.from_dict(result.pop("accounting")))
        results[result["leaf"]] = result

    status = "failed"
    stats = {"run": 0, "retried": 0}
    error: str | None = None
    try:
        stats = run_pool(
            LabWorker,
            (storage.location, worker_config, source, options.cache_sync_s),
            shards,
            options,
            on_done=on_done,
            on_progress=on_progress,
        )
        missing = [leaf.path for leaf in leaves if leaf.path not in results]
        if missing:
            raise ShardFailed(f"leaves {missing[:10]} have no result; run again")
        status = "done"
    except SynthloomError as exc:
        error = str(exc)
        raise
    except BaseException:
        status = "interrupted"
        raise
    finally:
        if status != "done":
            fields: dict[str, Any] = {
                "status": status,
                "accounting": accounting.to_dict(),
                "shards_skipped": skipped,
                "shards_done": len(results),
            }
            if error is not None:
                fields["error"] = error
            run.update_stage(STAGE, **fields)
    ordered = [results[leaf.path] for leaf in leaves]
    return finish_run(
        run,
        leaves,
        config,
        ordered,
        accounting,
        started,
        pipeline_path,
        taxonomy=tax,
        skip_invalid=skip_invalid,
        executor="ray",
        ray=ray_info,
        shards=len(leaves),
        shards_done=len(leaves),
        shards_run=stats["run"],
        shards_skipped=skipped,
        shard_retries=stats["retried"],
    )
