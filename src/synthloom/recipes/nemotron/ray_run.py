"""The Nemotron pipeline on Ray: prompts on the driver, responses + rewards sharded on actors.

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
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from synthloom.engine.executor import bounded_map
from synthloom.engine.ray_executor import RayOptions, check_ray_address
from synthloom.engine.ray_pool import PoolShard, PoolWorker, run_pool
from synthloom.engine.rundir import RunDir
from synthloom.engine.storage import RunStorage, driver_mirror, workspace
from synthloom.errors import SynthloomError
from synthloom.llm.accounting import Accounting
from synthloom.llm.cache import ResponseCache
from synthloom.llm.client import TeacherClient
from synthloom.llm.settings import make_teacher_client
from synthloom.recipes.nemotron.config import PipelineConfig
from synthloom.recipes.nemotron.prompts import PromptGenerator
from synthloom.recipes.nemotron.responses import (
    STAGE,
    Counts,
    ProgressCallback,
    Writers,
    answer_prompt,
    handle_group,
    make_reward_model,
    sampling_params,
)
from synthloom.records import write_jsonl, write_parquet
from synthloom.reward.base import RewardResult, RewardWeights
from synthloom.reward.select import Thresholds

__all__ = ["nemotron_shard_dir", "run_pipeline_ray"]


def nemotron_shard_dir(out: str | Path, shard: int) -> Path:
    """The working folder of one shard of a Ray ``nemotron`` run (on a path storage)."""
    return Path(out).joinpath(*_shard_parts(shard))


def _shard_parts(shard: int) -> tuple[str, ...]:
    return ("_ray", STAGE, f"shard-{shard:05d}")


def _is_shard_cache_name(rel: str) -> bool:
    return rel.endswith(".sqlite")


def _is_shard_cache(rel: str) -> bool:
    return rel.startswith("_ray/") and rel.endswith(".sqlite")


def _teacher(config: PipelineConfig, cache: ResponseCache, accounting: Accounting) -> TeacherClient:
    return make_teacher_client(config.teacher, cache, accounting)


def _fingerprint(config: PipelineConfig, records: list[dict[str, Any]]) -> str:
    """What a shard's groups depend on: its prompts, the teacher, the responses and reward."""
    ident = {
        "prompts": [r["id"] for r in records],
        "teacher": config.teacher.model_dump(mode="json", exclude={"max_in_flight"}),
        "responses": config.responses.model_dump(mode="json"),
        "reward": config.reward.model_dump(mode="json"),
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:32]


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


async def _shard_on_actor(
    folder: Path, shard: int, records: list[dict[str, Any]], config: PipelineConfig
) -> dict[str, Any]:
    cache = ResponseCache(folder / "cache.sqlite")
    teacher_acc, reward_acc = Accounting(), Accounting()
    teacher = _teacher(config, cache, teacher_acc)
    reward = make_reward_model(config, cache=cache, accounting=reward_acc)
    params = sampling_params(config)
    groups: list[dict[str, Any] | None] = [None] * len(records)
    waiting = 0.0

    async def one(item: tuple[int, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        nonlocal waiting
        asked = time.monotonic()
        group = await answer_prompt(item[1], teacher, reward, config, params)
        waiting += time.monotonic() - asked
        return item[0], group

    in_flight = max(1, config.teacher.max_in_flight // config.responses.k)
    try:
        async for index, group in bounded_map(
            list(enumerate(records)), one, max_in_flight=in_flight
        ):
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
    _write_atomic(folder / "groups.jsonl", "".join(lines))
    return {
        "shard": shard,
        "prompts": len(records),
        "failures": failures,
        "reward_backend": reward.describe(),
        "teacher_accounting": teacher_acc.to_dict(),
        "reward_accounting": reward_acc.to_dict(),
        "seconds_waiting": round(waiting, 3),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


class NemotronWorker(PoolWorker):
    """An actor: answers and scores one shard of prompts at a time."""

    def __init__(self, out: str, config: PipelineConfig, cache_sync_s: float = 30.0) -> None:
        self.storage = RunStorage(out)
        self.config = config
        self.cache_sync_s = cache_sync_s

    def run(self, shard: int, records: list[dict[str, Any]], fingerprint: str) -> dict[str, Any]:
        # On an object store the shard runs in a local folder that is uploaded when done.
        parts = _shard_parts(shard)
        with workspace(self.storage, parts, cache_sync_s=self.cache_sync_s) as folder:
            marker = asyncio.run(_shard_on_actor(folder, shard, records, self.config))
            marker["fingerprint"] = fingerprint
            _write_atomic(folder / "done.json", json.dumps(marker, indent=2, sort_keys=True) + "\n")
        return marker


def _read_marker(out: Path, shard: int) -> dict[str, Any] | None:
    path = nemotron_shard_dir(out, shard) / "done.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


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

    ``on_progress`` gets, after each finished shard, the pool's snapshot (``shards``,
    ``finished``, ``retried``, ``running``, ``last_actor``, ``actors``, ``elapsed``) plus
    ``prompts``."""
    ex = config.executor
    options = RayOptions(
        address=ex.ray_address,
        actors=ex.actors,
        per_actor_in_flight=ex.per_actor_in_flight,
        shard_size=ex.shard_size,
    )
    options.validate()
    check_ray_address(options)
    storage = RunStorage(out)
    # On an object store the driver works on a local copy of the run (without the shards'
    # caches), uploaded back at the end; the actors read and write the store themselves.
    with driver_mirror(
        storage, skip_pull=_is_shard_cache, skip_push=lambda rel: rel.startswith("_ray/")
    ) as mirror:
        entry = await _drive(config, storage, mirror, options, on_progress)
    entry["run_dir"] = storage.url()
    return entry


async def _drive(
    config: PipelineConfig,
    storage: RunStorage,
    out: Path,
    options: RayOptions,
    on_progress: ProgressCallback | None,
) -> dict[str, Any]:
    """The driver of :func:`run_pipeline_ray` on the run folder ``out`` (local or a mirror)."""
    ex = config.executor
    started = time.monotonic()
    run = RunDir(out).open()
    teacher_acc = Accounting()
    reward_acc = Accounting()
    weights = RewardWeights.from_value(config.reward.weights, field="reward.weights")
    thresholds = Thresholds(
        min_scalar=config.filter.min_scalar,
        min_attributes=config.filter.min_attributes,
        max_attributes=config.filter.max_attributes,
    )
    counts = Counts()
    ray_info = {
        "actors": ex.actors,
        "per_actor_in_flight": ex.per_actor_in_flight,
        "shard_size": ex.shard_size,
    }
    run.update_stage(
        STAGE,
        status="running",
        executor="ray",
        ray=ray_info,
        config=config.model_dump(mode="json"),
        reward_backend=_describe_reward(config),
        weights=weights.as_dict(),
    )
    status = "failed"
    error: str | None = None
    writers: Writers | None = None
    prompt_seconds = 0.0
    stats = {"run": 0, "retried": 0}
    skipped = 0
    n_shards = 0
    try:
        cache = ResponseCache(run.cache_path)
        teacher = _teacher(config, cache, teacher_acc)
        try:
            generator = PromptGenerator(config, teacher)
            prompt_started = time.monotonic()
            prompts = await generator.generate()
            prompt_seconds = time.monotonic() - prompt_started
        finally:
            await teacher.aclose()
            cache.close()
        counts.prompts = len(prompts)
        write_parquet(prompts, out / "prompts" / "prompts.parquet")
        write_jsonl(generator.rejects, out / "prompts" / "rejects.jsonl")

        size = ex.shard_size
        bounds = [
            (k, k * size, min((k + 1) * size, len(prompts)))
            for k in range(0, -(-len(prompts) // size))
        ]
        n_shards = len(bounds)
        shards: list[PoolShard] = []
        for shard, start, end in bounds:
            fingerprint = _fingerprint(config, prompts[start:end])
            marker = _read_marker(out, shard)
            if (
                marker is not None
                and marker.get("fingerprint") == fingerprint
                and int(marker.get("failures", 0)) == 0
            ):
                skipped += 1
                continue
            label = f"shard {shard} (prompts {start}-{end - 1})"
            shards.append(PoolShard(shard, label, (shard, prompts[start:end], fingerprint)))

        def on_done(shard: PoolShard, marker: dict[str, Any]) -> None:
            nonlocal teacher_acc, reward_acc
            if not storage.is_local:  # the shard's groups and marker, for the steps below
                folder = out / Path(*_shard_parts(shard.key))
                storage.pull(_shard_parts(shard.key), folder, skip=_is_shard_cache_name)
            teacher_acc = teacher_acc.add(Accounting.from_dict(marker["teacher_accounting"]))
            reward_acc = reward_acc.add(Accounting.from_dict(marker["reward_accounting"]))
            counts.seconds_waiting += float(marker["seconds_waiting"])

        def progress(snapshot: dict[str, Any]) -> None:
            if on_progress is not None:
                on_progress({**snapshot, "prompts": counts.prompts})

        teacher_section = config.teacher.model_copy(
            update={"max_in_flight": ex.per_actor_in_flight}
        )
        worker_config = config.model_copy(update={"teacher": teacher_section})
        stats = run_pool(
            NemotronWorker,
            (storage.location, worker_config, options.cache_sync_s),
            shards,
            options,
            on_done=on_done,
            on_progress=progress,
        )
        writers = Writers(out, config.shard_rows)
        for shard, start, end in bounds:
            for group in _groups(out, shard, prompts[start:end]):
                handle_group(group, writers, weights, thresholds, config, counts)
                counts.prompts_done += 1
        status = "done"
    except SynthloomError as exc:
        error = str(exc)
        raise
    except BaseException:
        status = "interrupted"
        raise
    finally:
        if writers is not None:
            writers.close(complete=status == "done")
        fields: dict[str, Any] = {
            "status": status,
            "counts": counts.as_dict(),
            "teacher_accounting": teacher_acc.to_dict(),
            "reward_accounting": reward_acc.to_dict(),
            "elapsed_s": round(time.monotonic() - started, 3),
            "shards": n_shards,
            "shards_run": stats["run"],
            "shards_skipped": skipped,
            "shard_retries": stats["retried"],
        }
        if error is not None:
            fields["error"] = error
        entry = run.update_stage(STAGE, **fields)
    entry["prompt_seconds"] = round(prompt_seconds, 3)
    entry["response_seconds_waiting"] = round(counts.seconds_waiting, 3)
    return entry
