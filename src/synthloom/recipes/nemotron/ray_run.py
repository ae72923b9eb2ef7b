"""The Nemotron pipeline on Ray: prompts on the driver, responses + rewards a sharded job.

A job of the sharded-job driver (:mod:`synthloom.engine.jobs`), which owns the markers,
fingerprints, run.json status, retries and storage; this module says what a shard is and does.

Prompt generation is small and stays on the driver (with the run's ``cache.sqlite``, as
locally). The costly stage, k responses and their reward scores per prompt, is cut into shards
of ``executor.shard_size`` prompts (by prompt index) and run on an actor pool::

    <run>/_ray/nemotron/shard-<k>/cache.sqlite   the shard's own cache (teacher and reward calls)
    <run>/_ray/nemotron/shard-<k>/groups.jsonl   per prompt: answers, reward scores, failures
    <run>/_ray/nemotron/shard-<k>/done.json      the shard's marker (fingerprint, accounting)

The driver then writes ``responses/``, ``sft/``, ``pairs/`` and ``export/`` from the groups, in
prompt order, with the local code (``handle_group``), so the records are the local executor's.
A rerun skips shards whose marker matches (same prompts and settings, no failed requests) and a
shard that was interrupted replays every answer its cache holds.
"""

from __future__ import annotations

import asyncio
import functools
import json
from pathlib import Path
from typing import Any

from synthloom.atomic import write_text
from synthloom.engine.jobs import Job, Markers, Shard, ShardWorkspace, fingerprint, run_job_async
from synthloom.engine.rundir import RunDir
from synthloom.engine.storage import RunStorage, driver_mirror
from synthloom.llm.accounting import Accounting
from synthloom.llm.cache import ResponseCache
from synthloom.llm.settings import make_teacher_client
from synthloom.recipes.executor import per_actor_config
from synthloom.recipes.nemotron import responses
from synthloom.recipes.nemotron.config import STAGE, PipelineConfig
from synthloom.recipes.nemotron.prompts import make_prompts
from synthloom.recipes.nemotron.responses import ProgressCallback
from synthloom.reward.base import RewardResult

__all__ = ["nemotron_shard_dir", "run_nemotron_shard", "run_pipeline_ray"]


def nemotron_shard_dir(out: str | Path, shard: int) -> Path:
    """The working folder of one shard of a Ray ``nemotron`` run (on a path storage)."""
    return Path(out).joinpath(*_shard_parts(shard))


def _shard_parts(shard: int) -> tuple[str, ...]:
    return ("_ray", STAGE, f"shard-{shard:05d}")


def _is_shard_cache_name(rel: str) -> bool:
    return rel.endswith(".sqlite")


def _is_shard_cache(rel: str) -> bool:
    return rel.startswith("_ray/") and rel.endswith(".sqlite")


async def _shard_on_actor(
    folder: Path, records: list[dict[str, Any]], config: PipelineConfig
) -> dict[str, Any]:
    cache = ResponseCache(folder / "cache.sqlite")
    teacher_acc, reward_acc = Accounting(), Accounting()
    teacher = make_teacher_client(config.teacher, cache, teacher_acc)
    reward = responses.make_reward_model(config, cache=cache, accounting=reward_acc)
    responder = responses.Responder(config, teacher, reward)
    groups: list[dict[str, Any] | None] = [None] * len(records)
    try:
        async for index, group in responder.groups(records):
            groups[index] = group
    finally:
        await teacher.aclose()
        await reward.aclose()
        cache.close()
    lines = []
    failures = 0
    for done in groups:
        assert done is not None
        scores: list[RewardResult] = done["scores"]
        failures += done["request_failures"] + sum(1 for r in scores if not r.ok)
        row = {
            "answers": done["answers"],
            "scores": [
                {
                    "attributes": None if r.attributes is None else dict(r.attributes),
                    "error": r.error,
                }
                for r in scores
            ],
            "failed": done["failed"],
        }
        lines.append(json.dumps(row, ensure_ascii=False) + "\n")
    write_text(folder / "groups.jsonl", "".join(lines))
    return {
        "prompts": len(records),
        "failures": failures,
        "reward_backend": reward.describe(),
        "teacher_accounting": teacher_acc.to_dict(),
        "reward_accounting": reward_acc.to_dict(),
        "seconds_waiting": round(responder.seconds_waiting, 3),
    }


def run_nemotron_shard(
    config: PipelineConfig, shard: Shard, space: ShardWorkspace
) -> dict[str, Any]:
    """Answer and score one shard of prompts (``shard.args``) in its workspace."""
    (records,) = shard.args
    return asyncio.run(_shard_on_actor(space.folder, records, config))


def _groups(out: Path, shard: int, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A finished shard's groups, rebuilt as ``handle_group`` takes them."""
    text = (nemotron_shard_dir(out, shard) / "groups.jsonl").read_text(encoding="utf-8")
    groups = []
    for record, line in zip(records, text.splitlines(), strict=True):
        row = json.loads(line)
        groups.append(
            {
                "record": record,
                "prompt": [dict(m) for m in record["messages"]],
                "answers": [(int(s), a) for s, a in row["answers"]],
                "scores": [
                    RewardResult(attributes=r["attributes"], error=r["error"])
                    for r in row["scores"]
                ],
                "failed": row["failed"],
            }
        )
    return groups


def _describe_reward(config: PipelineConfig) -> dict[str, str]:
    section = config.reward
    if section.backend == "local":
        return {"backend": "local", "path": str(config.resolve(section.path or ""))}
    return {"backend": section.backend, "model": section.model or config.teacher.model}


async def run_pipeline_ray(
    config: PipelineConfig,
    out: str | Path,
    *,
    on_progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """``run_pipeline`` with responses and rewards on a Ray actor pool; the same entry as the
    local run plus ``executor`` ("ray"), ``ray`` (actors, per_actor_in_flight, shard_size),
    ``shards``, ``shards_run``, ``shards_skipped`` and ``shard_retries``.

    ``on_progress`` gets, after each finished shard, the driver's snapshot (``shards``,
    ``skipped``, ``finished``, ``retried``, ``running``, ``last_actor``, ``actors``,
    ``elapsed``) plus ``prompts``."""
    options = config.executor.ray_options()
    storage = RunStorage(out)
    # On an object store the driver works on a local copy of the run (without the shards'
    # caches), uploaded back at the end; the actors read and write the store themselves.
    with driver_mirror(
        storage, skip_pull=_is_shard_cache, skip_push=lambda rel: rel.startswith("_ray/")
    ) as mirror:
        run = RunDir(mirror)
        job = _NemotronJob(config, storage, run)

        def progress(snapshot: dict[str, Any]) -> None:
            if on_progress is not None:
                on_progress({**snapshot, "prompts": job.counts.prompts})

        entry = await run_job_async(
            job.job(), run, storage, options, prepare=job.generate_prompts, on_progress=progress
        )
    entry["run_dir"] = storage.url()
    entry["prompt_seconds"] = round(job.prompt_seconds, 3)
    entry["response_seconds_waiting"] = round(job.counts.seconds_waiting, 3)
    return entry


class _NemotronJob:
    """The responses and rewards of the Nemotron pipeline as a :class:`Job`: the prompts are
    generated on the driver first; a shard per ``shard_size`` prompts; the groups are written
    out in prompt order with the local code once every shard is done."""

    def __init__(self, config: PipelineConfig, storage: RunStorage, run: RunDir) -> None:
        self.config = config
        self.storage = storage
        self.run = run
        self.counts = responses.Counts()
        self.teacher_acc = Accounting()
        self.reward_acc = Accounting()
        self.prompts: list[dict[str, Any]] = []
        self.prompt_seconds = 0.0

    def job(self) -> Job:
        ex = self.config.executor
        worker_config = per_actor_config(self.config)
        return Job(
            stage=STAGE,
            plan=self.plan,
            run_shard=functools.partial(run_nemotron_shard, worker_config),
            on_shard=self.on_shard,
            summary=self.summary,
            finish=self.finish,
            fields={
                "ray": {
                    "actors": ex.actors,
                    "per_actor_in_flight": ex.per_actor_in_flight,
                    "shard_size": ex.shard_size,
                },
                "config": self.config.model_dump(mode="json"),
                "reward_backend": _describe_reward(self.config),
                "weights": responses.reward_weights(self.config).as_dict(),
            },
        )

    async def generate_prompts(self) -> None:
        """The prompts, on the driver with the run's own cache (small next to the responses)."""
        cache = ResponseCache(self.run.cache_path)
        teacher = make_teacher_client(self.config.teacher, cache, self.teacher_acc)
        try:
            made = await make_prompts(self.config, teacher, self.run.path)
        finally:
            await teacher.aclose()
            cache.close()
        self.prompts, self.prompt_seconds = made.records, made.seconds
        self.counts.prompts = len(self.prompts)
        self.counts.prompt_rejects = made.rejects_by_step

    def plan(self) -> list[Shard]:
        size = self.config.executor.shard_size
        shards = []
        for k in range(-(-len(self.prompts) // size)):
            start, end = k * size, min((k + 1) * size, len(self.prompts))
            records = self.prompts[start:end]
            ident = {
                "prompts": [r["id"] for r in records],
                "teacher": self.config.teacher.model_dump(mode="json", exclude={"max_in_flight"}),
                "responses": self.config.responses.model_dump(mode="json"),
                "reward": self.config.reward.model_dump(mode="json"),
            }
            label = f"shard {k} (prompts {start}-{end - 1})"
            shards.append(Shard(k, label, _shard_parts(k), (records,), fingerprint(ident)))
        return shards

    def on_shard(self, shard: Shard, marker: dict[str, Any]) -> None:
        if not self.storage.is_local:  # the shard's groups and marker, for the finish
            folder = self.run.path.joinpath(*shard.parts)
            self.storage.pull(shard.parts, folder, skip=_is_shard_cache_name)
        self.teacher_acc = self.teacher_acc.add(Accounting.from_dict(marker["teacher_accounting"]))
        self.reward_acc = self.reward_acc.add(Accounting.from_dict(marker["reward_accounting"]))
        self.counts.seconds_waiting += float(marker["seconds_waiting"])

    def summary(self, markers: Markers) -> dict[str, Any]:
        return {
            "counts": self.counts.as_dict(),
            "teacher_accounting": self.teacher_acc.to_dict(),
            "reward_accounting": self.reward_acc.to_dict(),
        }

    def finish(self, markers: Markers) -> dict[str, Any]:
        filing = responses.Filing(self.config, self.run.path, self.counts)
        written = False
        try:
            size = self.config.executor.shard_size
            for k in markers:
                for group in _groups(self.run.path, k, self.prompts[k * size : (k + 1) * size]):
                    filing.file(group)
            written = True
        finally:
            filing.close(complete=written)
        return {}
