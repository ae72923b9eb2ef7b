"""Response distillation as a stage: answer every prompt of a dataset with the teacher.

``complete_dataset`` reads prompts as a stream (any shape ``synthloom.records`` reads; a record's
last user turn is the prompt, earlier turns are its context, later turns are dropped), asks the
teacher for ``n`` samples of each, and streams records with the assistant turn appended into
Parquet shards under ``<run>/<stage>/`` (OK records only). Answers the parse hook never accepted
go to ``<run>/rejects/<stage>/`` with their raw text; requests that could not be answered go to
``<run>/failures/<stage>/`` with the reason and are tried again by the next run.

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
import hashlib
import json
import math
import time
from array import array
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow.parquet as pq

from synthloom.engine.executor import run_requests
from synthloom.engine.rundir import RunDir
from synthloom.engine.storage import check_output_dir
from synthloom.errors import DataFormatError, InputError, SynthloomError
from synthloom.llm.accounting import Accounting
from synthloom.llm.backends import Backend, api_key_from_env
from synthloom.llm.cache import ResponseCache
from synthloom.llm.client import Result, estimate_tokens
from synthloom.llm.retry import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_REQUEST_TIME,
    DEFAULT_TIMEOUT,
)
from synthloom.llm.settings import TeacherSettings, make_teacher_client
from synthloom.llm.settings import make_backend as make_teacher_backend
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

#: Called about every ``progress_interval`` seconds with a snapshot (see ``_snapshot``).
ProgressCallback = Callable[[dict[str, Any]], None]


def _at_least(value: float | None, low: float) -> bool:
    """True for None or a finite number >= low (NaN and infinities are never a setting)."""
    return value is None or (math.isfinite(value) and value >= low)


def _positive_or_none(value: float | None) -> bool:
    return value is None or (math.isfinite(value) and value > 0)


@dataclass(frozen=True, kw_only=True)
class CompleteConfig:
    """Everything that defines a ``complete`` run. Only names of secrets are kept here.

    The teacher fields are those of ``synthloom.llm.settings.TeacherSettings`` under the names
    this class has always had (``requests_per_minute`` is ``rpm``, ``base_delay`` is
    ``retry_base_delay``, ``max_delay`` is ``retry_max_delay``); ``teacher_settings()`` gives
    them as one, and the run's client is built from it by the shared factory.
    ``max_in_flight`` is the most requests in flight of the run (on Ray each actor has
    ``per_actor_in_flight`` in its place).
    """

    model: str
    base_url: str
    n: int = 1
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] | None = None
    seed: int | None = None
    #: Ask for ``response_format={"type": "json_object"}`` and reject answers that are not JSON.
    json_mode: bool = False
    endpoint: Literal["chat", "completions"] = "chat"
    backend: Literal["http", "openai"] = "http"
    api_key_env: str | None = "OPENAI_API_KEY"
    max_in_flight: int = 64
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    #: Seconds to open a connection / of silence while waiting for one answer (read timeout).
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    timeout: float = DEFAULT_TIMEOUT
    #: Seconds one request may take across all its sends and backoff waits (None: no limit).
    max_request_time: float | None = DEFAULT_MAX_REQUEST_TIME
    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_parse_attempts: int = 3
    use_cache: bool = True
    shard_rows: int = 10_000
    flush_seconds: float = 30.0
    price_per_1k_prompt: float | None = None
    price_per_1k_completion: float | None = None
    stage: str = "complete"

    def validate(self) -> None:
        checks = [
            (self.n >= 1, "--n", "must be >= 1"),
            (self.max_in_flight >= 1, "--max-in-flight", "must be >= 1"),
            (self.max_attempts >= 1, "--max-attempts", "must be >= 1"),
            (self.max_parse_attempts >= 1, "--max-parse-attempts", "must be >= 1"),
            (self.shard_rows >= 1, "--shard-rows", "must be >= 1"),
            (0 < self.timeout < math.inf, "--timeout", "must be a number > 0"),
            (0 < self.connect_timeout < math.inf, "--connect-timeout", "must be a number > 0"),
            (
                self.max_request_time is None or 0 < self.max_request_time < math.inf,
                "--max-request-time",
                "must be a number > 0",
            ),
            (_positive_or_none(self.requests_per_minute), "--rpm", "must be > 0 (or unset)"),
            (_positive_or_none(self.tokens_per_minute), "--tpm", "must be > 0 (or unset)"),
            (_at_least(self.base_delay, 0), "--retry-base-delay", "must be a number >= 0"),
            (_at_least(self.max_delay, 0), "--retry-max-delay", "must be a number >= 0"),
            (_at_least(self.temperature, 0), "--temperature", "must be a number >= 0"),
            (_at_least(self.top_p, 0) and (self.top_p or 0) <= 1, "--top-p", "must be in [0, 1]"),
            (_at_least(self.price_per_1k_prompt, 0), "--price-per-1k-prompt", "must be >= 0"),
            (
                _at_least(self.price_per_1k_completion, 0),
                "--price-per-1k-completion",
                "must be >= 0",
            ),
            (bool(self.model), "--model", "must not be empty"),
            (self.endpoint in ("chat", "completions"), "--endpoint", "must be chat or completions"),
            (self.backend in ("http", "openai"), "--backend", "must be http or openai"),
        ]
        for ok, name, message in checks:
            if not ok:
                raise InputError(message, field=name)
        # A key that cannot be a header is refused here, before any work, on every executor;
        # reading it also has this process scrub it from what remote workers report.
        api_key_from_env(self.api_key_env)

    def teacher_settings(self) -> TeacherSettings:
        """The teacher part of this config, as every recipe names it."""
        return TeacherSettings(
            base_url=self.base_url,
            model=self.model,
            api_key_env=self.api_key_env,
            backend=self.backend,
            max_in_flight=self.max_in_flight,
            connect_timeout=self.connect_timeout,
            timeout=self.timeout,
            max_request_time=self.max_request_time,
            max_attempts=self.max_attempts,
            retry_base_delay=self.base_delay,
            retry_max_delay=self.max_delay,
            rpm=self.requests_per_minute,
            tpm=self.tokens_per_minute,
            max_parse_attempts=self.max_parse_attempts,
        )

    def sampling(self, sample: int = 0) -> SamplingParams:
        """Sampling parameters for one sample; a given seed is offset by the sample index so
        that the ``n`` samples of a prompt are different draws."""
        return SamplingParams(
            temperature=self.temperature,
            top_p=self.top_p,
            max_tokens=self.max_tokens,
            stop=self.stop,
            seed=None if self.seed is None else self.seed + sample,
            response_format={"type": "json_object"} if self.json_mode else None,
        )

    def snapshot(self) -> dict[str, Any]:
        data = asdict(self)
        data["stop"] = list(self.stop) if self.stop else None
        return data

    def defining(self) -> dict[str, Any]:
        """The settings that decide what the outputs are (a resumed run must match them)."""
        return {
            "model": self.model,
            "n": self.n,
            "endpoint": self.endpoint,
            "params": self.sampling().to_payload(),
            "seed": self.seed,
        }


def make_backend(config: CompleteConfig | TeacherSettings) -> Backend:
    """The backend a config names, reading the API key from its ``api_key_env``."""
    if isinstance(config, CompleteConfig):
        config = config.teacher_settings()
    return make_teacher_backend(config)


def count_prompts(path: str | Path) -> int:
    """How many records a prompts file holds, cheaply (no parsing of JSONL lines)."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError("file not found; check the path", path=path)
    if path.is_dir():
        raise DataFormatError("is a directory; give a data file", path=path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        with path.open("rb") as fh:
            return sum(1 for line in fh if line.strip())
    if suffix in (".parquet", ".pq"):
        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise DataFormatError(f"not a readable Parquet file ({exc})", path=path) from exc
    return sum(1 for _ in read_records(path, prompt_only=True))


@dataclass(frozen=True)
class PromptScan:
    """Every prompt of a file read and checked: how many, and a content digest of each."""

    count: int
    digests: array[int]

    def changes_from(self, previous: array[int]) -> tuple[int, int]:
        """(prompts here whose content the previous file did not hold, prompts it held no more)."""
        now = np.frombuffer(self.digests.tobytes(), dtype=np.uint64)
        before = np.frombuffer(previous.tobytes(), dtype=np.uint64)
        added = int(np.count_nonzero(~np.isin(now, before)))
        removed = int(np.count_nonzero(~np.isin(before, now)))
        return added, removed


def _digest(record: dict[str, Any]) -> int:
    raw = json.dumps([record["id"], record["messages"], record["meta"]], sort_keys=True)
    return int.from_bytes(hashlib.blake2b(raw.encode("utf-8"), digest_size=8).digest(), "little")


def scan_prompts(path: str | Path) -> PromptScan:
    """Read and check every record of ``path`` before anything is asked or written.

    Streams the file (8 bytes are kept a prompt), so a bad line anywhere fails the run in one
    line naming it before the first paid request.
    """
    count_prompts(path)  # a missing file, a folder or unreadable Parquet, in one line
    digests = array("Q")
    for record in read_records(path, prompt_only=True):
        digests.append(_digest(record))
    return PromptScan(len(digests), digests)


def _prompts_file(run: RunDir, stage: str) -> Path:
    return run.path / f"{stage}.prompts.u64"


def _read_digests(path: Path) -> array[int] | None:
    if not path.is_file():
        return None
    digests = array("Q")
    digests.frombytes(path.read_bytes())
    return digests


def _write_digests(path: Path, digests: array[int]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(digests.tobytes())
    tmp.replace(path)


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


def _fingerprint(scan: PromptScan, config: CompleteConfig) -> str:
    """What the outputs are made of: the prompts' contents and the settings that shape answers."""
    hasher = hashlib.sha256(json.dumps(config.defining(), sort_keys=True).encode("utf-8"))
    hasher.update(scan.digests.tobytes())
    return hasher.hexdigest()[:32]


def _settings_fingerprint(config: CompleteConfig) -> str:
    raw = json.dumps(config.defining(), sort_keys=True).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()[:32]


def _done_keys(directories: list[Path], n: int) -> array[int]:
    """Sorted work keys (prompt_index * n + sample) already in finished shards."""
    keys: list[int] = []
    for directory in directories:
        for shard in sorted(directory.glob("part-*.parquet")):
            for meta in pq.read_table(shard, columns=["meta"]).column("meta").to_pylist():
                teacher = json.loads(meta)["teacher"]
                keys.append(int(teacher["prompt_index"]) * n + int(teacher["sample"]))
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
        self.rejects: ParquetShardWriter | None = None
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
            teacher["reject"] = {
                "reason": result.error,
                "raw": result.raw,
                "attempts": result.attempts,
            }
            self.rejects.write(
                {
                    "id": record["id"],
                    "messages": meta["context"],
                    "meta": {**record["meta"], "teacher": teacher},
                    **_tools_of(record),
                }
            )
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
    fingerprint = _fingerprint(scan, config)
    existing = run.stage(config.stage) if run.run_json.exists() else None
    changes = _changes(run, config, scan, existing, fingerprint)
    run.open()
    stage = _Stage(prompts, run, config)
    stage.total_items = scan.count * config.n
    stage.dir.mkdir(parents=True, exist_ok=True)
    for sub in (stage.dir, stage.rejects_dir, stage.failures_dir):
        sub.mkdir(parents=True, exist_ok=True)
        _clean_partial(sub)
        if changes["outputs_reset"] is not None:
            for old in sub.glob("part-*.parquet"):
                old.unlink()
    # Failures of an earlier run are asked again now, so their old records go.
    for old in stage.failures_dir.glob("part-*.parquet"):
        old.unlink()
    _write_digests(_prompts_file(run, config.stage), scan.digests)
    done = _done_keys([stage.dir, stage.rejects_dir], config.n)
    stage.previous_records = sum(
        pq.ParquetFile(p).metadata.num_rows for p in stage.dir.glob("part-*.parquet")
    )
    previous = Accounting.from_dict((existing or {}).get("accounting_total", {}))
    invocations = int((existing or {}).get("invocations", 0)) + 1

    cache = ResponseCache(run.cache_path, read=config.use_cache)
    client = make_teacher_client(config.teacher_settings(), cache, stage.accounting, backend)
    stage.data = ParquetShardWriter(stage.dir, rows_per_shard=config.shard_rows)
    stage.rejects = ParquetShardWriter(stage.rejects_dir, rows_per_shard=config.shard_rows)
    stage.failures = ParquetShardWriter(stage.failures_dir, rows_per_shard=config.shard_rows)
    run.update_stage(
        config.stage,
        fingerprint=fingerprint,
        settings_fingerprint=_settings_fingerprint(config),
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


def _changes(
    run: RunDir,
    config: CompleteConfig,
    scan: PromptScan,
    existing: dict[str, Any] | None,
    fingerprint: str,
) -> dict[str, Any]:
    """What changed since the run folder's last invocation, and whether its outputs start afresh.

    Returns ``prompts_changed`` (prompts whose content is new), ``prompts_removed`` and
    ``outputs_reset`` (None, or why the stage's outputs are rebuilt from the cache).
    """
    fields: dict[str, Any] = {"prompts_changed": 0, "prompts_removed": 0, "outputs_reset": None}
    if existing is None or existing.get("fingerprint") in (None, fingerprint):
        return fields
    reasons = []
    if existing.get("settings_fingerprint") != _settings_fingerprint(config):
        reasons.append("settings changed")
    previous = _read_digests(_prompts_file(run, config.stage))
    if previous is None:
        reasons.append("prompts of an earlier version")
    else:
        added, removed = scan.changes_from(previous)
        fields.update(prompts_changed=added, prompts_removed=removed)
        if added or removed or len(previous) != scan.count:
            reasons.append(f"{added} prompts changed or added, {removed} removed")
        elif not reasons:
            reasons.append("prompts reordered")
    if not config.use_cache:
        raise InputError(
            f"holds a '{config.stage}' run with other prompts or settings "
            f"({'; '.join(reasons)}); without the cache every answer would be bought again: "
            "drop --no-cache to reuse the stored answers, or use a new --out",
            path=run.path,
        )
    fields["outputs_reset"] = "; ".join(reasons)
    return fields


def complete_dataset_sync(
    prompts: str | Path,
    out: str | Path,
    config: CompleteConfig,
    *,
    backend: Backend | None = None,
    on_progress: ProgressCallback | None = None,
    progress_interval: float = 0.25,
) -> dict[str, Any]:
    """Blocking ``complete_dataset``."""
    return asyncio.run(
        complete_dataset(
            prompts,
            out,
            config,
            backend=backend,
            on_progress=on_progress,
            progress_interval=progress_interval,
        )
    )


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
