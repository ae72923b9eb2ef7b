"""``generate`` on Ray: a job of the sharded-job driver (:mod:`synthloom.engine.jobs`), one
taxonomy leaf per shard.

Layout, besides what the local run writes (``lab/leaves/<leaf>/``, ``rejects/lab/<leaf>/``,
``lab/phases/``, ``export/``)::

    <run>/_ray/lab/<leaf>/cache.sqlite   the leaf's own response cache (one writer: its actor)
    <run>/_ray/lab/<leaf>/done.json      the shard's marker: the leaf's counts and accounting

Each actor runs one leaf at a time with the local recipe code (``leaves.run_leaf``) and
``per_actor_in_flight`` requests in flight, writing the leaf's outputs where the local run
writes them; the driver then writes the phase datasets and the mix with the local code, so the
records are the local executor's. A leaf whose own ``done.json`` (in ``lab/leaves/<leaf>/``)
has its fingerprint is skipped, as locally (a leaf with failed requests has none, so it runs
again); a leaf that was interrupted is run again and replays every answer its cache holds.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synthloom.engine.jobs import Job, Markers, Shard, ShardWorkspace, run_job
from synthloom.engine.rejects import REJECTS
from synthloom.engine.rundir import RunDir
from synthloom.engine.storage import RunStorage, driver_mirror
from synthloom.llm.accounting import Accounting
from synthloom.llm.cache import ResponseCache
from synthloom.recipes.executor import per_actor_config
from synthloom.recipes.lab import leaves
from synthloom.recipes.lab.config import PipelineConfig
from synthloom.recipes.lab.leaves import STAGE
from synthloom.recipes.lab.recipes import Teacher
from synthloom.taxonomy.model import Leaf, Taxonomy

__all__ = ["generate_ray", "lab_shard_dir", "run_lab_shard"]


def lab_shard_dir(out: str | Path, leaf: Leaf) -> Path:
    """The working folder (cache and marker) of one leaf of a Ray ``generate`` run."""
    return Path(out) / "_ray" / STAGE / leaf.slug


async def _leaf_on_actor(
    folder: Path,
    leaf_dir: Path,
    leaf_rejects: Path,
    leaf: Leaf,
    config: PipelineConfig,
    source: str,
) -> dict[str, Any]:
    settings = config.teacher
    accounting = Accounting()
    cache = ResponseCache(folder / "cache.sqlite")
    client = leaves.make_teacher_client(settings, cache, accounting)
    try:
        teacher = Teacher(client, settings, config.seed)
        result = await leaves.run_leaf(leaf, config, teacher, leaf_dir, leaf_rejects, source)
    finally:
        await client.aclose()
        cache.close()
    return {**result, "accounting": accounting.to_dict()}


def _lab_parts(leaf: Leaf) -> tuple[str, ...]:
    return ("_ray", STAGE, leaf.slug)


def _leaf_parts(leaf: Leaf) -> tuple[str, ...]:
    return (STAGE, "leaves", leaf.slug)


def _rejects_parts(leaf: Leaf) -> tuple[str, ...]:
    return (REJECTS, STAGE, leaf.slug)


#: Where a leaf's rejects were before 2026-12 (in its folder); a leaf that runs again drops it.
_OLDER_REJECTS = "rejects.jsonl"


def run_lab_shard(
    config: PipelineConfig, source: str, shard: Shard, space: ShardWorkspace
) -> dict[str, Any]:
    """Run one leaf (``shard.args``) with the local recipe code; its outputs go where the local
    run writes them (on an object store: uploaded when the leaf is done, before its marker)."""
    leaf = shard.args[0]
    with space.other(*_leaf_parts(leaf)) as leaf_dir, space.other(*_rejects_parts(leaf)) as rejects:
        result = asyncio.run(_leaf_on_actor(space.folder, leaf_dir, rejects, leaf, config, source))
    if not result["skipped"]:  # an upload adds files but removes none: the older layout's goes
        space.storage.remove(*_leaf_parts(leaf), _OLDER_REJECTS)
    return result


def _is_shard_cache(rel: str) -> bool:
    return rel.startswith("_ray/") and rel.endswith(".sqlite")


def _written_by_workers(rel: str) -> bool:
    return rel.startswith(("_ray/", f"{STAGE}/leaves/", f"{REJECTS}/{STAGE}/"))


def generate_ray(
    tax: Taxonomy,
    config: PipelineConfig,
    out: str | Path,
    *,
    pipeline_path: str | Path | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    skip_invalid: bool = False,
) -> dict[str, Any]:
    """``generate`` with the chosen leaves of ``tax`` (as
    :func:`synthloom.recipes.lab.select.chosen_taxonomy` gives them) on a Ray actor pool; the
    same entry as the local run plus ``executor`` ("ray"), ``ray`` (actors,
    per_actor_in_flight), ``shards`` (leaves selected), ``shards_run``, ``shards_skipped`` and
    ``shard_retries``."""
    options = config.executor.ray_options()
    storage = RunStorage(out)
    # On an object store the driver works on a local copy of the run (without the leaves'
    # caches), uploaded back at the end; the actors read and write the store themselves.
    with driver_mirror(storage, skip_pull=_is_shard_cache, skip_push=_written_by_workers) as mirror:
        run = RunDir(mirror)
        job = _LabJob(tax, config, storage, run, pipeline_path, skip_invalid)
        entry = run_job(job.job(), run, storage, options, on_progress=on_progress)
    entry["run_dir"] = storage.url()
    return entry


# What the driver adds to a leaf's result in its marker; not part of the leaf's entry.
_MARKER_ONLY = ("accounting", "shard", "finished_at")


class _LabJob:
    """``generate`` as a :class:`Job`: a shard per chosen leaf; the phases and the mix once
    every leaf is done, with the local code."""

    def __init__(
        self,
        tax: Taxonomy,
        config: PipelineConfig,
        storage: RunStorage,
        run: RunDir,
        pipeline_path: str | Path | None,
        skip_invalid: bool,
    ) -> None:
        self.tax = tax
        self.config = config
        self.storage = storage
        self.run = run
        self.pipeline_path = pipeline_path
        self.skip_invalid = skip_invalid
        self.source = str(pipeline_path or "pipeline")
        self.accounting = Accounting()
        self.started = time.monotonic()

    def job(self) -> Job:
        ex = self.config.executor
        worker_config = per_actor_config(self.config)
        return Job(
            stage=STAGE,
            plan=self.plan,
            run_shard=functools.partial(run_lab_shard, worker_config, self.source),
            earlier=self.earlier,
            on_shard=self.on_shard,
            summary=lambda markers: {"accounting": self.accounting.to_dict()},
            finish=self.finish,
            fields={
                "ray": {"actors": ex.actors, "per_actor_in_flight": ex.per_actor_in_flight},
                "taxonomy": str(self.tax.root.resolve()),
                "config": self.config.model_dump(mode="json"),
                "leaves_selected": [leaf.path for leaf in self.tax.leaves],
            },
        )

    def plan(self) -> list[Shard]:
        shards = []
        for index, leaf in enumerate(self.tax.leaves):
            _, _, leaf_fingerprint = leaves.leaf_plan(leaf, self.config, self.source)
            label = f"leaf {leaf.path} (shard {index})"
            shards.append(Shard(index, label, _lab_parts(leaf), (leaf,), leaf_fingerprint))
        return shards

    def earlier(self, shard: Shard, marker: dict[str, Any] | None) -> dict[str, Any] | None:
        # The leaf's own done.json decides, as locally: a leaf finished by the local executor,
        # or by a worker killed before it wrote the shard marker, is not asked again.
        leaf_dir = self.run.path.joinpath(*_leaf_parts(shard.args[0]))
        previous = leaves.finished_leaf(leaf_dir, shard.fingerprint or "")
        return None if previous is None else {**previous, "skipped": True}

    def on_shard(self, shard: Shard, marker: dict[str, Any]) -> None:
        if not self.storage.is_local:  # the leaf's outputs, for the phase datasets and the mix
            for parts in (_leaf_parts(shard.args[0]), _rejects_parts(shard.args[0])):
                self.storage.pull(parts, self.run.path.joinpath(*parts))
            if not marker["skipped"]:  # the copy the driver pulled at the start, if any
                leaf_dir = self.run.path.joinpath(*_leaf_parts(shard.args[0]))
                (leaf_dir / _OLDER_REJECTS).unlink(missing_ok=True)
        self.accounting = self.accounting.add(Accounting.from_dict(marker["accounting"]))

    def finish(self, markers: Markers) -> dict[str, Any]:
        results = [
            {k: v for k, v in marker.items() if k not in _MARKER_ONLY}
            for marker in markers.values()
        ]
        entry = leaves.finish_run(
            self.run,
            self.tax.leaves,
            self.config,
            results,
            self.accounting,
            self.started,
            self.pipeline_path,
            taxonomy=self.tax,
            skip_invalid=self.skip_invalid,
        )
        return {"status": entry["status"]}
