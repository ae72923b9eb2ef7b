"""Response distillation as a stage: answer every prompt of a dataset with the teacher.

``complete_dataset`` reads prompts as a stream (any shape ``synthloom.records`` reads; a record's
last user turn is the prompt, earlier turns are its context, later turns are dropped), asks the
teacher for ``n`` samples of each, and streams records with the assistant turn appended into
Parquet shards under ``<run>/<stage>/`` (OK records only). Answers the parse hook never accepted
are rejects (:mod:`synthloom.engine.rejects`: JSONL parts under ``<run>/rejects/<stage>/``, each
with its prompt record, the reason and the raw answer); requests that could not be answered go
to ``<run>/failures/<stage>/`` (Parquet prompt records, with the reason) and are tried again by
the next run.

Every prompt is read and checked before the first request, so a bad line costs nothing.

Resume: a work item is (prompt index, sample). Shards are renamed into place only when complete,
so the items in them are done; everything else is re-asked, and the cache answers each one the
server already answered. That is what makes a run killed at any instant finish with no record
lost, none duplicated, and no stored answer requested twice.

Resume across changes: the cache is keyed by the request itself (model, messages, sampling,
sample index), not by a prompt's position. When a rerun into the same folder brings edited,
fixed, added or removed prompts, or other settings that change the answers (model, sampling),
the stage's outputs are started afresh so they reflect the current prompt file and settings,
and every request identical to one asked before is answered from the cache: only the changed
prompts cost anything. The prompts' content digests (``<run>/<stage>.prompts.u64``, 8 bytes a
prompt) tell the run how many prompts changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from array import array
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from synthloom.engine.complete_config import CompleteConfig, ProgressCallback, make_backend
from synthloom.engine.executor import blocking, run_requests
from synthloom.engine.prompts import (
    PromptScan,
    count_prompts,
    prompt_changes,
    prompts_file,
    run_fingerprint,
    scan_prompts,
    settings_fingerprint,
    write_digests,
)
from synthloom.engine.rejects import RejectWriter, read_rejects
from synthloom.engine.rundir import RunDir
from synthloom.engine.storage import check_output_dir
from synthloom.errors import DataFormatError, SynthloomError
from synthloom.llm.accounting import Accounting
from synthloom.llm.backends import Backend
from synthloom.llm.cache import ResponseCache
from synthloom.llm.client import Result, estimate_tokens
from synthloom.llm.settings import make_teacher_client
from synthloom.llm.types import Completion, Request, SamplingParams
from synthloom.messages import message_text
from synthloom.records import ParquetShardWriter, read_records, record_id

__all__ = [
    "CompleteConfig",
    "ProgressCallback",
    "PromptScan",
    "complete_dataset",
    "complete_dataset_sync",
    "count_prompts",
    "dry_run",
    "make_backend",
    "scan_prompts",
]

# ------------------------------------------------------------------------------------------
# Prompts -> requests


def _split_prompt(record: dict[str, Any]) -> list[dict[str, str]] | None:
    """The conversation up to and including the last user turn (None if there is none)."""
    messages: list[dict[str, str]] = record["messages"]
    for i in range(len(messages) - 1, -1, -1):
        if messages[i]["role"] == "user":
            return messages[: i + 1]
    return None


def _tools_of(record: dict[str, Any]) -> dict[str, Any]:
    """The prompt's tool definitions, which its answers keep (they belong to the example)."""
    return {"tools": record["tools"]} if record.get("tools") else {}


def _as_completion_prompt(context: list[dict[str, str]]) -> str:
    # Legacy completions take one string: the turns, oldest first, separated by blank lines.
    return "\n\n".join(message_text(m) for m in context)


def _request(
    config: CompleteConfig,
    params: SamplingParams,
    context: list[dict[str, str]],
    sample: int,
    index: int,
    record: dict[str, Any],
) -> Request:
    meta = {"index": index, "record": record, "context": context}
    if config.endpoint == "completions":
        return Request(
            model=config.model,
            prompt=_as_completion_prompt(context),
            params=params,
            sample=sample,
            metadata=meta,
        )
    return Request(
        model=config.model, messages=context, params=params, sample=sample, metadata=meta
    )


def _json_parse(completion: Completion, request: Request) -> Any:
    return [json.loads(text) for text in completion.texts]


# ------------------------------------------------------------------------------------------
# Resume bookkeeping


def _done_keys(data: Path, rejects: Path, stage: str, n: int) -> array[int]:
    """Sorted work keys (prompt_index * n + sample) already in finished shards and parts."""
    keys: list[int] = []
    for shard in sorted(data.glob("part-*.parquet")):
        for meta in pq.read_table(shard, columns=["meta"]).column("meta").to_pylist():
            teacher = json.loads(meta)["teacher"]
            keys.append(int(teacher["prompt_index"]) * n + int(teacher["sample"]))
    for reject in read_rejects(rejects, stage=stage):
        keys.append(int(reject.detail["prompt_index"]) * n + int(reject.detail["sample"]))
    ordered = np.unique(np.asarray(keys, dtype=np.int64))
    out = array("q")
    out.frombytes(ordered.tobytes())
    return out


def _clean_partial(directory: Path) -> None:
    for tmp in directory.glob("*.tmp"):
        tmp.unlink()


# ------------------------------------------------------------------------------------------
# The stage


class _Stage:
    """One invocation of the stage: owns the writers, the counters and run.json updates."""

    def __init__(self, prompts: Path, run: RunDir, config: CompleteConfig) -> None:
        self.prompts = prompts
        self.run = run
        self.config = config
        self.dir = run.stage_dir(config.stage)
        self.rejects_dir = run.aside_dir("rejects", config.stage)
        self.failures_dir = run.aside_dir("failures", config.stage)
        self.accounting = Accounting()
        self.skipped = 0
        self.written = 0
        self.previous_records = 0
        self.total_items = 0
        self.started = time.monotonic()
        self.params = [config.sampling(s) for s in range(config.n)]
        self.params_payload = self.params[0].to_payload()
        self.data: ParquetShardWriter | None = None
        self.rejects: RejectWriter | None = None
        self.failures: ParquetShardWriter | None = None

    # -- work -----------------------------------------------------------------------------

    def requests(self, done: array[int], index_offset: int = 0) -> Iterator[Request]:
        n = self.config.n
        pointer = 0
        n_done = len(done)
        for index, record in enumerate(
            read_records(self.prompts, prompt_only=True), start=index_offset
        ):
            context = _split_prompt(record)
            for sample in range(n):
                key = index * n + sample
                while pointer < n_done and done[pointer] < key:
                    pointer += 1
                if pointer < n_done and done[pointer] == key:
                    self.skipped += 1
                    continue
                if context is None:
                    self._write_failure(record, index, sample, "the record has no user turn")
                    continue
                yield _request(self.config, self.params[sample], context, sample, index, record)

    def _teacher_meta(self, index: int, sample: int, source_id: str) -> dict[str, Any]:
        return {
            "model": self.config.model,
            "endpoint": self.config.endpoint,
            "params": self.params[sample].to_payload(),
            "prompt_index": index,
            "sample": sample,
            "source_id": source_id,
        }

    def _write_failure(self, record: dict[str, Any], index: int, sample: int, reason: str) -> None:
        assert self.failures is not None
        teacher = self._teacher_meta(index, sample, record["id"])
        teacher["failure"] = reason
        self.failures.write(
            {
                "id": record["id"],
                "messages": record["messages"],
                "meta": {**record["meta"], "teacher": teacher},
                **_tools_of(record),
            }
        )
        self.accounting.failures += 1

    def handle(self, result: Result[Any]) -> None:
        meta = result.request.metadata
        record: dict[str, Any] = meta["record"]
        index: int = meta["index"]
        sample = result.request.sample
        teacher = self._teacher_meta(index, sample, record["id"])
        if result.status == "ok":
            assert result.completion is not None and self.data is not None
            completion = result.completion
            messages = [*meta["context"], {"role": "assistant", "content": completion.text}]
            teacher["usage"] = {
                "prompt_tokens": completion.usage.prompt_tokens,
                "completion_tokens": completion.usage.completion_tokens,
            }
            teacher["finish_reason"] = completion.finish_reasons[0]
            self.data.write(
                {
                    "id": record_id(messages, [record["id"], sample]),
                    "messages": messages,
                    "meta": {**record["meta"], "teacher": teacher},
                    **_tools_of(record),
                }
            )
            self.written += 1
        elif result.status == "rejected":
            assert self.rejects is not None
            # The item is the prompt as it was asked: a record ``complete`` can answer again.
            prompt = {
                "id": record["id"],
                "messages": meta["context"],
                "meta": record["meta"],
                **_tools_of(record),
            }
            teacher["attempts"] = result.attempts
            reason = str(result.error)
            self.rejects.reject("answer", reason, prompt, result.raw, id=record["id"], **teacher)
        else:
            assert self.failures is not None
            teacher["failure"] = result.error
            self.failures.write(
                {
                    "id": record["id"],
                    "messages": meta["context"],
                    "meta": {**record["meta"], "teacher": teacher},
                    **_tools_of(record),
                }
            )

    # -- bookkeeping ----------------------------------------------------------------------

    def flush(self) -> None:
        for writer in (self.data, self.rejects, self.failures):
            if writer is not None:
                writer.flush()

    def snapshot(self) -> dict[str, Any]:
        acc = self.accounting
        return {
            "total": self.total_items,
            "skipped": self.skipped,
            "done": self.skipped + acc.ok + acc.failures + acc.rejects,
            "ok": acc.ok,
            "cached": acc.cache_hits,
            "failed": acc.failures,
            "rejected": acc.rejects,
            "requests": acc.requests,
            "tokens": acc.prompt_tokens + acc.completion_tokens,
            "elapsed": time.monotonic() - self.started,
        }

    def stage_fields(self, status: str, previous: Accounting) -> dict[str, Any]:
        config = self.config
        prices = (config.price_per_1k_prompt, config.price_per_1k_completion)
        return {
            "status": status,
            "items_total": self.total_items,
            "records": self.previous_records + self.written,
            "skipped": self.skipped,
            "accounting": self.accounting.to_dict(*prices),
            "accounting_total": previous.add(self.accounting).to_dict(*prices),
            "elapsed_s": round(time.monotonic() - self.started, 3),
        }


async def complete_dataset(
    prompts: str | Path,
    out: str | Path,
    config: CompleteConfig,
    *,
    backend: Backend | None = None,
    on_progress: ProgressCallback | None = None,
    progress_interval: float = 0.25,
    index_offset: int = 0,
) -> dict[str, Any]:
    """Answer every prompt in ``prompts`` with the teacher; write the run into ``out``.

    Returns the stage's run.json entry (see the README section on ``synthloom complete``).
    Re-running with the same arguments resumes; different arguments into the same ``out``
    raise InputError. ``backend`` overrides the one the config names. ``index_offset``: the
    index of the first prompt in a larger dataset (a shard of the Ray executor), so that
    ``prompt_index`` in the records is the record's index in the whole dataset.
    """
    config.validate()
    check_output_dir(out)
    # The backend checks the URL and finds the key: a mistake there writes nothing.
    backend = backend or make_backend(config)
    prompts = Path(prompts)
    scan = scan_prompts(prompts)  # a bad line fails here, before anything is asked
    if scan.count == 0:
        raise DataFormatError(
            "holds no prompts; give a JSONL, JSON or Parquet file of at least one record",
            path=prompts,
        )
    run = RunDir(out)
    fingerprint = run_fingerprint(scan, config)
    existing = run.stage(config.stage) if run.run_json.exists() else None
    changes = prompt_changes(run, config, scan, existing, fingerprint)
    run.open()
    stage = _Stage(prompts, run, config)
    stage.total_items = scan.count * config.n
    stage.dir.mkdir(parents=True, exist_ok=True)
    for sub in (stage.dir, stage.failures_dir):
        sub.mkdir(parents=True, exist_ok=True)
        _clean_partial(sub)
        if changes["outputs_reset"] is not None:
            for old in sub.glob("part-*.parquet"):
                old.unlink()
    stage.rejects = RejectWriter(
        stage.rejects_dir,
        config.stage,
        rows_per_part=config.shard_rows,
        fresh=changes["outputs_reset"] is not None,
    )
    # Failures of an earlier run are asked again now, so their old records go.
    for old in stage.failures_dir.glob("part-*.parquet"):
        old.unlink()
    write_digests(prompts_file(run, config.stage), scan.digests)
    done = _done_keys(stage.dir, stage.rejects_dir, config.stage, config.n)
    stage.previous_records = sum(
        pq.ParquetFile(p).metadata.num_rows for p in stage.dir.glob("part-*.parquet")
    )
    previous = Accounting.from_dict((existing or {}).get("accounting_total", {}))
    invocations = int((existing or {}).get("invocations", 0)) + 1

    cache = ResponseCache(run.cache_path, read=config.use_cache)
    client = make_teacher_client(config.teacher_settings(), cache, stage.accounting, backend)
    stage.data = ParquetShardWriter(stage.dir, rows_per_shard=config.shard_rows)
    stage.failures = ParquetShardWriter(stage.failures_dir, rows_per_shard=config.shard_rows)
    run.update_stage(
        config.stage,
        fingerprint=fingerprint,
        settings_fingerprint=settings_fingerprint(config),
        input=str(prompts),
        config=config.snapshot(),
        started_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        invocations=invocations,
        # Exact even when the last invocation was killed: the cache commits it with each answer.
        ledger=cache.ledger(),
        **changes,
        **stage.stage_fields("running", previous),
    )

    async def report() -> None:
        while True:
            await asyncio.sleep(progress_interval)
            if on_progress is not None:
                on_progress(stage.snapshot())

    reporter = asyncio.ensure_future(report())
    status = "failed"
    error: str | None = None
    try:
        last_flush = last_save = time.monotonic()
        async for result in run_requests(
            stage.requests(done, index_offset),
            client,
            max_in_flight=config.max_in_flight,
            parse=_json_parse if config.json_mode else None,
            max_parse_attempts=config.max_parse_attempts,
        ):
            stage.handle(result)
            now = time.monotonic()
            if now - last_flush >= config.flush_seconds:
                stage.flush()
                last_flush = now
            if now - last_save >= 5.0:
                run.update_stage(config.stage, **stage.stage_fields("running", previous))
                last_save = now
        status = "done"
    except SynthloomError as exc:
        error = str(exc)
        raise
    except (asyncio.CancelledError, KeyboardInterrupt):
        status = "interrupted"
        raise
    finally:
        reporter.cancel()
        await asyncio.gather(reporter, return_exceptions=True)
        await client.aclose()
        # Records received so far are real results: keep them even when the run stops.
        stage.flush()
        # A run that never got an answer leaves nothing a later run could take for results.
        never_started = (
            status == "failed"
            and stage.written == 0
            and stage.previous_records == 0
            and len(cache) == 0
        )
        ledger = None
        with contextlib.suppress(SynthloomError):  # a cache that cannot be written said so
            ledger = cache.ledger()
        cache.close()
        if not (never_started and run.remove_if_created()):
            fields = stage.stage_fields(status, previous)
            if ledger is not None:
                fields["ledger"] = ledger
            if error is not None:
                fields["error"] = error
            if status == "done":
                fields["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            run.update_stage(config.stage, **fields)
        if on_progress is not None:
            on_progress(stage.snapshot())
    entry = run.stage(config.stage) or {}
    entry["run_dir"] = str(run.path)
    entry["output"] = str(stage.dir)
    return entry


complete_dataset_sync = blocking(complete_dataset, "complete_dataset_sync")


def dry_run(prompts: str | Path, config: CompleteConfig, *, show: int = 3) -> dict[str, Any]:
    """Render every request without calling a model or writing a file.

    Returns ``prompts`` (records read), ``requests`` (prompts x n), ``skipped`` (records with no
    user turn), ``estimated_prompt_tokens`` (about 4 characters a token),
    ``max_completion_tokens`` (requests x max_tokens, None without --max-tokens),
    ``estimated_cost`` (None without prices) and ``examples`` (the first ``show`` request
    bodies, as they would be sent).
    """
    config.validate()
    prompts = Path(prompts)
    count_prompts(prompts)  # raises a clear error for a missing or unreadable file
    n_prompts = n_requests = skipped = prompt_tokens = 0
    examples: list[dict[str, Any]] = []
    params = [config.sampling(s) for s in range(config.n)]
    for index, record in enumerate(read_records(prompts, prompt_only=True)):
        n_prompts += 1
        context = _split_prompt(record)
        if context is None:
            skipped += 1
            continue
        for sample in range(config.n):
            request = _request(config, params[sample], context, sample, index, record)
            n_requests += 1
            prompt_tokens += estimate_tokens(replace(request, params=SamplingParams()))
            if len(examples) < show:
                examples.append(request.payload())
    max_completion = None if config.max_tokens is None else n_requests * config.max_tokens
    cost = None
    if config.price_per_1k_prompt is not None or config.price_per_1k_completion is not None:
        cost = (
            prompt_tokens * (config.price_per_1k_prompt or 0.0)
            + (max_completion or 0) * (config.price_per_1k_completion or 0.0)
        ) / 1000.0
    return {
        "prompts": n_prompts,
        "requests": n_requests,
        "skipped": skipped,
        "estimated_prompt_tokens": prompt_tokens,
        "max_completion_tokens": max_completion,
        "estimated_cost": cost,
        "examples": examples,
    }
