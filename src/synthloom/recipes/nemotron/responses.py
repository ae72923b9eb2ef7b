"""The Nemotron response stage, shared by both executors: k answers per prompt, their reward
scores, the best-of-k SFT choice and the preference pair, and the writers of those datasets.

:func:`synthloom.recipes.nemotron.pipeline.run_pipeline` (local) and
:mod:`synthloom.recipes.nemotron.ray_run` (shards of prompts on Ray actors) both answer a prompt
with :func:`answer_prompt` and file its group with :func:`handle_group`, so the outputs are the
same whichever executor made them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from synthloom.engine.executor import bounded_map
from synthloom.llm.accounting import Accounting
from synthloom.llm.backends import Backend
from synthloom.llm.cache import ResponseCache
from synthloom.llm.client import TeacherClient
from synthloom.llm.settings import make_teacher_client
from synthloom.llm.types import Request, SamplingParams
from synthloom.recipes.nemotron.config import STAGE, PipelineConfig
from synthloom.recipes.nemotron.constraints import check_all
from synthloom.records import ParquetShardWriter, make_record
from synthloom.reward.base import RewardModel, RewardWeights
from synthloom.reward.judge import JudgeReward
from synthloom.reward.nim import NIMReward, NIMRewardBackend
from synthloom.reward.select import Thresholds, best_of_k

__all__ = [
    "STAGE",
    "Counts",
    "Filing",
    "ProgressCallback",
    "Responder",
    "Writers",
    "answer_prompt",
    "handle_group",
    "make_reward_model",
    "preference_pair",
    "prompt_of",
    "reward_weights",
    "sampling_params",
]

#: Called with a snapshot dict (``prompts``, ``prompts_done``, ``responses``, ``pairs``, ...).
ProgressCallback = Callable[[dict[str, Any]], None]


def make_reward_model(
    config: PipelineConfig,
    *,
    cache: ResponseCache | None,
    teacher_backend: Backend | None = None,
    accounting: Accounting | None = None,
) -> RewardModel:
    """The reward backend the config names (it shares the run's cache).

    A reward endpoint or a judge is reached like the teacher (its timeouts and retries, through
    ``make_teacher_client``) at ``reward.base_url`` (the teacher's when unset); the teacher's
    ``rpm`` / ``tpm`` limit the teacher's own requests, not the reward model's.
    """
    section = config.reward
    reached = config.teacher.model_copy(
        update={
            "base_url": section.base_url or config.teacher.base_url,
            "api_key_env": section.api_key_env or config.teacher.api_key_env,
            "rpm": None,
            "tpm": None,
        }
    )
    if section.backend == "nim":
        assert section.model is not None
        nim = NIMRewardBackend(
            reached.base_url,
            api_key_env=section.api_key_env or "NVIDIA_API_KEY",
            timeout=reached.timeout,
            connect_timeout=reached.connect_timeout,
        )
        return NIMReward(make_teacher_client(reached, cache, accounting, nim), model=section.model)
    if section.backend == "judge":
        # A judge on the teacher's own server shares the teacher's connections.
        shared = teacher_backend if section.base_url is None else None
        return JudgeReward(
            make_teacher_client(reached, cache, accounting, shared),
            model=section.model or config.teacher.model,
            max_parse_attempts=config.teacher.max_parse_attempts,
        )
    from synthloom.reward.local import LocalClassifierReward

    assert section.path is not None
    return LocalClassifierReward(config.resolve(section.path), batch_size=section.batch_size)


def prompt_of(record: dict[str, Any]) -> list[dict[str, str]]:
    return [dict(m) for m in record["messages"]]


class Writers:
    def __init__(self, out: Path, shard_rows: int) -> None:
        for name in ("responses", "sft", "pairs"):
            folder = out / name
            folder.mkdir(parents=True, exist_ok=True)
            # Outputs are rebuilt from the cache on every run; stale shards would duplicate.
            for old in folder.glob("part-*.parquet*"):
                old.unlink()
        self.responses = ParquetShardWriter(out / "responses", rows_per_shard=shard_rows)
        self.sft = ParquetShardWriter(out / "sft", rows_per_shard=shard_rows)
        self.pairs = ParquetShardWriter(out / "pairs", rows_per_shard=shard_rows, preference=True)
        export = out / "export"
        export.mkdir(exist_ok=True)
        self.sft_path = export / "sft.jsonl"
        self.dpo_path = export / "dpo.jsonl"
        self._sft_tmp = self.sft_path.with_suffix(".jsonl.tmp").open("w", encoding="utf-8")
        self._dpo_tmp = self.dpo_path.with_suffix(".jsonl.tmp").open("w", encoding="utf-8")

    def sft_line(self, messages: list[dict[str, str]]) -> None:
        self._sft_tmp.write(json.dumps({"messages": messages}, ensure_ascii=False) + "\n")

    def dpo_line(self, prompt: list[dict[str, str]], chosen: str, rejected: str) -> None:
        # TRL's conversational preference format: the shared prompt turns, then one assistant
        # turn each for chosen and rejected.
        row = {
            "prompt": prompt,
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}],
        }
        self._dpo_tmp.write(json.dumps(row, ensure_ascii=False) + "\n")

    def close(self, *, complete: bool) -> None:
        for writer in (self.responses, self.sft, self.pairs):
            writer.close()
        self._sft_tmp.close()
        self._dpo_tmp.close()
        for tmp, final in (
            (self.sft_path.with_suffix(".jsonl.tmp"), self.sft_path),
            (self.dpo_path.with_suffix(".jsonl.tmp"), self.dpo_path),
        ):
            if complete:
                tmp.replace(final)
            else:
                tmp.unlink(missing_ok=True)


class Counts:
    def __init__(self) -> None:
        self.prompts = 0
        self.prompts_done = 0
        self.responses = 0
        self.response_failures = 0
        self.scored = 0
        self.reward_failures = 0
        self.filtered = 0
        self.constraint_failures = 0
        self.sft = 0
        self.pairs = 0
        self.pair_skips: dict[str, int] = {}
        #: Prompts (and turns) dropped while the prompts were made, by step.
        self.prompt_rejects: dict[str, int] = {}
        self.seconds_waiting = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "seconds_waiting"}


def sampling_params(config: PipelineConfig) -> list[SamplingParams]:
    """The sampling parameters of the k responses to each prompt."""
    return [config.responses.seeded(sample) for sample in range(config.responses.k)]


async def answer_prompt(
    record: dict[str, Any],
    teacher: TeacherClient,
    reward: RewardModel,
    config: PipelineConfig,
    params: list[SamplingParams],
) -> dict[str, Any]:
    """One prompt's k responses and their reward scores (the group ``handle_group`` writes)."""
    prompt = prompt_of(record)
    k = len(params)
    results = await asyncio.gather(
        *(
            teacher.run(
                Request(model=config.teacher.model, messages=prompt, params=params[s], sample=s),
                max_parse_attempts=config.teacher.max_parse_attempts,
            )
            for s in range(k)
        )
    )
    answers = [
        (s, r.completion.text)
        for s, r in enumerate(results)
        if r.ok and r.completion is not None and r.completion.text.strip()
    ]
    scores = await reward.score(
        [[*prompt, {"role": "assistant", "content": a}] for _, a in answers]
    )
    return {
        "record": record,
        "prompt": prompt,
        "answers": answers,
        "scores": scores,
        "failed": k - len(answers),
        # requests the server gave up on (a rerun asks them again)
        "request_failures": sum(1 for r in results if r.status == "failed"),
    }


class Responder:
    """Answers and scores prompts for one run (or one shard): ``max_in_flight // k`` prompts
    at a time, as each has its k requests in flight, timing how long they wait."""

    def __init__(self, config: PipelineConfig, teacher: TeacherClient, reward: RewardModel) -> None:
        self.config, self.teacher, self.reward = config, teacher, reward
        self.params = sampling_params(config)
        self.in_flight = max(1, config.teacher.max_in_flight // config.responses.k)
        self.seconds_waiting = 0.0

    async def groups(
        self, records: list[dict[str, Any]]
    ) -> AsyncIterator[tuple[int, dict[str, Any]]]:
        """``(index, group)`` for every record, in the order they are answered."""

        async def one(item: tuple[int, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
            asked = time.monotonic()
            group = await answer_prompt(
                item[1], self.teacher, self.reward, self.config, self.params
            )
            self.seconds_waiting += time.monotonic() - asked
            return item[0], group

        async for done in bounded_map(list(enumerate(records)), one, max_in_flight=self.in_flight):
            yield done


def reward_weights(config: PipelineConfig) -> RewardWeights:
    """The weights that make the five attributes one scalar (``reward.weights``)."""
    return RewardWeights.from_value(config.reward.weights, field="reward.weights")


class Filing:
    """Files each prompt's group into the run's datasets (``responses/``, ``sft/``, ``pairs/``,
    ``export/``) with :func:`handle_group`: the run's weights, thresholds, writers and counts."""

    def __init__(self, config: PipelineConfig, out: Path, counts: Counts) -> None:
        self.config, self.counts = config, counts
        self.weights = reward_weights(config)
        filters = config.filter
        self.thresholds = Thresholds(
            min_scalar=filters.min_scalar,
            min_attributes=filters.min_attributes,
            max_attributes=filters.max_attributes,
        )
        self.writers = Writers(out, config.shard_rows)

    def file(self, group: dict[str, Any]) -> None:
        handle_group(group, self.writers, self.weights, self.thresholds, self.config, self.counts)
        self.counts.prompts_done += 1

    def close(self, *, complete: bool) -> None:
        """Close the writers; the export files appear only when ``complete``."""
        self.writers.close(complete=complete)


def handle_group(
    group: dict[str, Any],
    writers: Writers,
    weights: RewardWeights,
    thresholds: Thresholds,
    config: PipelineConfig,
    counts: Counts,
) -> None:
    """Write one prompt's scored responses, its best-of-k SFT record and its preference pair."""
    record, prompt = group["record"], group["prompt"]
    counts.responses += len(group["answers"])
    counts.response_failures += group["failed"]
    constraints = record["meta"].get("constraints")
    scored: list[tuple[int, str, dict[str, float], dict[str, Any] | None]] = []
    for (sample, answer), result in zip(group["answers"], group["scores"], strict=True):
        if not result.ok:
            counts.reward_failures += 1
            continue
        reward = result.as_meta(weights)
        check = check_all(constraints, answer) if constraints else None
        meta = {**record["meta"], "prompt_id": record["id"], "sample": sample, "reward": reward}
        if check is not None:
            meta["constraints_check"] = check
        messages = [*prompt, {"role": "assistant", "content": answer}]
        writers.responses.write(make_record(messages, meta))
        counts.scored += 1
        scored.append((sample, answer, reward, check))
    eligible = []
    for item in scored:
        if thresholds.failure(item[2]) is not None:
            counts.filtered += 1
        elif config.filter.require_constraints and item[3] is not None and not item[3]["passed"]:
            counts.constraint_failures += 1
        else:
            eligible.append(item)
    best = best_of_k([item[2]["scalar"] for item in eligible])
    if best is not None:
        sample, answer, reward, _ = eligible[best]
        messages = [*prompt, {"role": "assistant", "content": answer}]
        meta = {
            **record["meta"],
            "prompt_id": record["id"],
            "sample": sample,
            "reward": reward,
            "candidates": len(scored),
        }
        writers.sft.write(make_record(messages, meta))
        writers.sft_line(messages)
        counts.sft += 1
    if config.preference.enabled:
        chosen = eligible[best] if best is not None else None
        pair = preference_pair(chosen, scored, config.preference.min_margin)
        if isinstance(pair, str):
            counts.pair_skips[pair] = counts.pair_skips.get(pair, 0) + 1
        else:
            assert chosen is not None
            rejected, basis = pair
            meta = {
                **record["meta"],
                "prompt_id": record["id"],
                "margin": round(chosen[2]["scalar"] - rejected[2]["scalar"], 6),
                "basis": basis,
                "chosen_reward": chosen[2],
                "rejected_reward": rejected[2],
            }
            if rejected[3] is not None:
                meta["rejected_constraints_check"] = rejected[3]
            writers.pairs.write(
                make_record(
                    prompt,
                    meta,
                    chosen=[{"role": "assistant", "content": chosen[1]}],
                    rejected=[{"role": "assistant", "content": rejected[1]}],
                )
            )
            writers.dpo_line(prompt, chosen[1], rejected[1])
            counts.pairs += 1


_Scored = tuple[int, str, dict[str, float], dict[str, Any] | None]


def preference_pair(
    chosen: _Scored | None, scored: list[_Scored], min_margin: float
) -> tuple[_Scored, str] | str:
    """The rejected response for ``chosen`` and the pair's basis, or why there is no pair.

    The chosen response is the best-of-k SFT answer, so it passed the filter (and its
    constraints when they are required). Where another response breaks its prompt's
    constraints, the lowest-scored such one is rejected ("constraints": a verifiable
    preference, whatever the reward margin); otherwise the lowest-scored response, if the
    reward margin reaches ``min_margin`` ("reward").
    """
    if len(scored) < 2:
        return "too_few"
    if chosen is None:
        return "no_eligible"
    others = [item for item in scored if item[0] != chosen[0]]
    chosen_obeys = chosen[3] is None or chosen[3]["passed"]
    breaking = [item for item in others if item[3] is not None and not item[3]["passed"]]
    if chosen_obeys and breaking:
        return min(breaking, key=lambda item: item[2]["scalar"]), "constraints"
    rejected = min(others, key=lambda item: item[2]["scalar"])
    margin = chosen[2]["scalar"] - rejected[2]["scalar"]
    if margin <= 0.0:
        return "tie"
    if margin < min_margin:
        return "margin"
    return rejected, "reward"
