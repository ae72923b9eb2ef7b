"""The Nemotron pipeline: prompts -> k responses -> reward scores -> SFT and preference data.

    prompts/     prompt records (Parquet)
    rejects/nemotron/  what making them dropped (unreadable lists, failed turns), one reject a
                 line (synthloom.engine.rejects)
    responses/   every scored response: prompt turns + answer, ``meta.reward`` and ``meta.sample``
    sft/         best-of-k response per prompt among those passing the thresholds
    pairs/       preference records (messages = prompt, chosen, rejected) with their margin
    export/      sft.jsonl (messages) and dpo.jsonl (TRL's prompt / chosen / rejected)

Responses and scores are handled one prompt at a time: its k answers are requested together,
scored together, and the prompt's SFT choice and pair are written as soon as they are known, so
memory stays flat however many prompts there are. Every model call (teacher, reward endpoint,
judge) goes through the run's SQLite cache: a rerun, or a run resumed after a kill, asks the
servers nothing they already answered.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from synthloom.engine.executor import blocking
from synthloom.engine.rundir import RunDir
from synthloom.engine.storage import refuse_url
from synthloom.errors import InputError
from synthloom.llm.accounting import Accounting
from synthloom.llm.backends import Backend
from synthloom.llm.cache import ResponseCache
from synthloom.llm.settings import make_teacher_client
from synthloom.recipes.nemotron.config import STAGE, PipelineConfig
from synthloom.recipes.nemotron.prompts import check_inputs, make_prompts
from synthloom.recipes.nemotron.ray_run import run_pipeline_ray
from synthloom.recipes.nemotron.responses import (
    Counts,
    Filing,
    ProgressCallback,
    Responder,
    make_reward_model,
    reward_weights,
)
from synthloom.reward.base import RewardModel

__all__ = ["STAGE", "make_reward_model", "run_pipeline", "run_pipeline_sync"]


async def run_pipeline(
    config: PipelineConfig,
    out: str | Path,
    *,
    teacher_backend: Backend | None = None,
    reward_model: RewardModel | None = None,
    on_progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Run the whole pipeline into the run directory ``out``; returns the run.json entry.

    ``teacher_backend`` / ``reward_model`` override the ones the config names (for Python users
    with their own). Rerunning resumes: every answered call comes from the cache.

    With ``config.executor.name == "ray"`` the responses and rewards run on a Ray actor pool,
    in shards of ``executor.shard_size`` prompts (see :mod:`synthloom.recipes.nemotron.ray_run`):
    the same outputs, and ``on_progress`` is called after each finished shard.
    """
    check_inputs(config)  # every file the pipeline names, before anything is asked
    if config.executor.name == "ray":
        if teacher_backend is not None or reward_model is not None:
            raise InputError(
                "teacher_backend / reward_model objects only work with the local executor; on "
                "Ray the actors build the backends the pipeline names",
                field="executor.name",
            )
        return await run_pipeline_ray(config, out, on_progress=on_progress)
    refuse_url(out, local_executor=True)
    started = time.monotonic()
    run = RunDir(out).open()
    out = run.path
    cache = ResponseCache(run.cache_path)
    teacher_acc = Accounting()
    reward_acc = Accounting()
    teacher = make_teacher_client(config.teacher, cache, teacher_acc, teacher_backend)
    reward = reward_model or make_reward_model(
        config, cache=cache, teacher_backend=teacher_backend, accounting=reward_acc
    )
    counts = Counts()
    run.update_stage(
        STAGE,
        status="running",
        config=config.model_dump(mode="json"),
        reward_backend=reward.describe(),
        weights=reward_weights(config).as_dict(),
    )
    status = "failed"
    filing: Filing | None = None
    responder = Responder(config, teacher, reward)
    try:
        prompts = await make_prompts(config, teacher, out)
        counts.prompts = len(prompts.records)
        counts.prompt_rejects = prompts.rejects_by_step
        filing = Filing(config, out, counts)
        last = time.monotonic()
        # Each group is filed as soon as it is scored (in answer order): memory stays flat.
        async for _, group in responder.groups(prompts.records):
            filing.file(group)
            now = time.monotonic()
            if on_progress is not None and now - last > 0.25:
                on_progress(counts.as_dict())
                last = now
        status = "done"
    except (asyncio.CancelledError, KeyboardInterrupt):
        status = "interrupted"
        raise
    finally:
        if filing is not None:
            filing.close(complete=status == "done")
        counts.seconds_waiting = responder.seconds_waiting
        await teacher.aclose()
        await reward.aclose()
        cache.close()
        elapsed = time.monotonic() - started
        entry = run.update_stage(
            STAGE,
            status=status,
            counts=counts.as_dict(),
            teacher_accounting=teacher_acc.to_dict(),
            reward_accounting=reward_acc.to_dict(),
            elapsed_s=round(elapsed, 3),
        )
    if on_progress is not None:
        on_progress(counts.as_dict())
    entry["run_dir"] = str(out)
    entry["prompt_seconds"] = round(prompts.seconds, 3)
    entry["response_seconds_waiting"] = round(counts.seconds_waiting, 3)
    return entry


run_pipeline_sync = blocking(run_pipeline, "run_pipeline_sync")
