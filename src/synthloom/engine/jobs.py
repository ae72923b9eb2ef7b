"""The sharded-job driver: the one driver of every job cut into shards.

A recipe defines a :class:`Job`: a plan of shards, a ``run_shard(shard, workspace)`` function
that does one shard where a worker runs it, and a merge (what the driver does with each
finished shard, and once every shard is done). :func:`run_job` does the rest, the same way for
``complete``, LAB and Nemotron:

- **markers**: when ``run_shard`` returns, its result becomes the shard's marker,
  ``<shard folder>/done.json`` (with ``shard``, ``finished_at`` and the shard's fingerprint),
  written atomically inside the shard's workspace, so on an object store it is uploaded last,
  after everything the shard wrote;
- **fingerprints**: a job's fingerprint is kept in run.json and a run directory holding another
  is refused (resume with the same arguments or use a new folder); a shard's fingerprint is kept
  in its marker, and a shard whose marker has another, or counts failed requests, is run again;
- **status**: the stage's run.json entry is ``running`` while the job runs and ``done``,
  ``failed`` (with the one-line ``error``) or ``interrupted`` however it ends, with the shard
  counts (``shards``, ``shards_done``, ``shards_run``, ``shards_skipped``, ``shard_retries``),
  ``invocations`` and ``elapsed_s``;
- **retries** of crashed workers, and the one-line :class:`ShardFailed` naming the shard:
  the Ray actor pool (:func:`synthloom.engine.ray_pool.run_pool`);
- **storage**: a shard runs in a local folder standing for its folder in the run storage (a
  path, or an object store: :func:`synthloom.engine.storage.workspace`);
- **progress**: ``on_progress`` after each finished shard.

The shards run on a Ray actor pool, or, with ``in_process=True``, here, one after the other
(:func:`run_here`: the same markers, run.json and merge, without Ray).

Layout, for a shard whose ``parts`` are ``("_ray", stage, name)``::

    <run>/run.json                   the stage's entry (``"executor": "ray"``)
    <run>/_ray/<stage>/<name>/       the shard's folder: its cache, its own files, done.json
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthloom.atomic import write_text
from synthloom.engine.ray_pool import (
    PoolProgress,
    PoolShard,
    PoolWorker,
    RayOptions,
    ShardFailed,
    run_pool,
)
from synthloom.engine.rundir import RunDir
from synthloom.engine.storage import RunStorage, workspace
from synthloom.errors import InputError, SynthloomError

__all__ = [
    "Job",
    "Markers",
    "RunShard",
    "Shard",
    "ShardWorkspace",
    "fingerprint",
    "matching_marker",
    "run_here",
    "run_job",
    "run_job_async",
]

#: Each shard's marker (or its result from an earlier run), by shard key, in plan order.
Markers = dict[int, dict[str, Any]]


def fingerprint(data: Any) -> str:
    """A short stable hash of JSON-able ``data``: what a job or a shard depends on."""
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


@dataclass(frozen=True)
class Shard:
    """One unit of work: ``key`` (its index in the plan), ``label`` (names it in messages, such
    as ``shard 3 (records 30-39 of p.jsonl)``), ``parts`` (its folder in the run storage: its
    cache and marker), ``args`` (what ``run_shard`` needs besides the job's settings) and
    ``fingerprint`` (what its result depends on; None: nothing beyond the job's)."""

    key: int
    label: str
    parts: tuple[str, ...]
    args: tuple[Any, ...] = ()
    fingerprint: str | None = None


@dataclass(frozen=True)
class ShardWorkspace:
    """Where ``run_shard`` works: ``folder``, a local folder standing for the shard's folder in
    ``storage`` (uploaded as the job says when the shard ends well)."""

    storage: RunStorage
    folder: Path
    cache_sync_s: float

    def other(self, *parts: str) -> AbstractContextManager[Path]:
        """Another folder of the run storage as a local folder, uploaded when the block ends
        well (before the shard's marker)."""
        return workspace(self.storage, parts, cache_sync_s=self.cache_sync_s)


#: Runs one shard in its workspace and returns its result (a JSON object with ``failures``,
#: the requests the server gave up on). It is sent to the workers, so it must pickle: a
#: module-level function, or a ``functools.partial`` of one with the job's settings.
RunShard = Callable[[Shard, ShardWorkspace], dict[str, Any]]


def matching_marker(shard: Shard, marker: dict[str, Any] | None) -> dict[str, Any] | None:
    """The default rule for a shard done earlier: its marker, when it has the shard's
    fingerprint and no failed request; else None (the shard runs again)."""
    if marker is None or marker.get("fingerprint") != shard.fingerprint:
        return None
    return marker if int(marker.get("failures", 0)) == 0 else None


def _no_fields(markers: Markers) -> dict[str, Any]:
    return {}


def _nothing(shard: Shard, marker: dict[str, Any]) -> None:
    return None


@dataclass(frozen=True, kw_only=True)
class Job:
    """A sharded job.

    ``plan()`` gives the shards (called once the stage is marked running, so a failure there is
    recorded too). ``run_shard`` runs each one on a worker. The merge, on the driver:
    ``on_shard(shard, marker)`` as each shard this invocation runs finishes;
    ``finish(markers)`` once every shard is done (fields for run.json, such as ``status``
    ``"incomplete"``); ``summary(markers)`` with the markers so far however the run ends
    (counts and accounting for run.json). ``earlier(shard, marker)`` says whether a shard is
    done already (default :func:`matching_marker`). ``fields`` go into run.json at the start,
    ``fingerprint`` (the job's) once the plan stands. ``upload_workspace``: on an object
    store, upload every file the shard wrote in its folder (else only its cache and marker).
    """

    stage: str
    plan: Callable[[], list[Shard]]
    run_shard: RunShard
    on_shard: Callable[[Shard, dict[str, Any]], None] = _nothing
    finish: Callable[[Markers], dict[str, Any]] = _no_fields
    summary: Callable[[Markers], dict[str, Any]] = _no_fields
    earlier: Callable[[Shard, dict[str, Any] | None], dict[str, Any] | None] = matching_marker
    fields: Mapping[str, Any] = field(default_factory=dict)
    fingerprint: str | None = None
    upload_workspace: bool = True


def _upload_nothing(rel: str) -> bool:
    return False


class ShardActor(PoolWorker):
    """The worker of every job: runs a shard in its workspace and writes its marker there."""

    def __init__(
        self, location: str, run_shard: RunShard, cache_sync_s: float, upload: bool
    ) -> None:
        self.storage = RunStorage(location)
        self.run_shard = run_shard
        self.cache_sync_s = cache_sync_s
        self.push = None if upload else _upload_nothing

    def run(self, shard: Shard) -> dict[str, Any]:
        with workspace(
            self.storage, shard.parts, cache_sync_s=self.cache_sync_s, push=self.push
        ) as folder:
            result = self.run_shard(shard, ShardWorkspace(self.storage, folder, self.cache_sync_s))
            marker = {**result, "shard": shard.key, "finished_at": _now()}
            if shard.fingerprint is not None:
                marker["fingerprint"] = shard.fingerprint
            write_text(folder / "done.json", json.dumps(marker, indent=2, sort_keys=True) + "\n")
        return marker


def run_here(
    runner: PoolWorker,
    shards: list[PoolShard],
    *,
    on_done: Callable[[PoolShard, Any], None],
    on_progress: PoolProgress | None = None,
) -> dict[str, int]:
    """What :func:`synthloom.engine.ray_pool.run_pool` does, in this process: ``runner`` runs
    the shards one after the other; an exception in a shard fails the run the same way, in
    one line naming the shard (an interrupt is let through as it is)."""
    started = time.monotonic()
    for finished, shard in enumerate(shards, 1):
        try:
            result = runner.run(*shard.args)
        except Exception as exc:
            raise ShardFailed(
                f"{shard.label} failed: {type(exc).__name__}: {exc}".splitlines()[0]
            ) from exc
        on_done(shard, result)
        if on_progress is not None:
            on_progress(
                {
                    "shards": len(shards),
                    "finished": finished,
                    "retried": 0,
                    "running": 0,
                    "last_actor": 0,
                    "actors": [runner],
                    "elapsed": time.monotonic() - started,
                }
            )
    return {"run": len(shards), "retried": 0}


def run_job(
    job: Job,
    run: RunDir,
    storage: RunStorage,
    options: RayOptions,
    *,
    on_progress: PoolProgress | None = None,
    in_process: bool = False,
) -> dict[str, Any]:
    """Run ``job`` on a Ray actor pool, its run.json in ``run`` and its shards in ``storage``;
    returns the stage's run.json entry. ``in_process``: run the shards here, one after the
    other, without Ray (the same markers, run.json and merge; ``"executor": "local"``).

    ``on_progress`` gets, after each finished shard, ``{"shards" (all of the plan),
    "skipped" (done earlier), "finished", "retried", "running", "last_actor", "actors" (the
    actor handles), "elapsed"}``; raising there stops the run (``interrupted``).
    """
    with _Bookkeeping(job, run, storage, options, in_process=in_process) as books:
        books.drive(on_progress)
    return books.entry


async def run_job_async(
    job: Job,
    run: RunDir,
    storage: RunStorage,
    options: RayOptions,
    *,
    prepare: Callable[[], Awaitable[None]],
    on_progress: PoolProgress | None = None,
) -> dict[str, Any]:
    """:func:`run_job` for a job whose plan needs an async step first (``prepare``, awaited once
    the stage is marked running, so its failure is recorded like any other). The pool itself
    blocks the event loop while it waits on Ray: nothing else runs on it meanwhile."""
    with _Bookkeeping(job, run, storage, options) as books:
        await prepare()
        books.drive(on_progress)
    return books.entry


class _Bookkeeping:
    """One invocation of a job: run.json's entry from ``running`` to how the run ended (the
    context), and the shards' markers as they come (:meth:`drive`)."""

    def __init__(
        self,
        job: Job,
        run: RunDir,
        storage: RunStorage,
        options: RayOptions,
        *,
        in_process: bool = False,
    ) -> None:
        options.validate()
        self.job, self.run, self.storage, self.options = job, run, storage, options
        self.in_process = in_process
        self.shards: list[Shard] = []
        self.markers: Markers = {}
        self.skipped = 0
        self.retried = 0
        self.finished: dict[str, Any] = {}
        self.entry: dict[str, Any] = {}
        self.started = time.monotonic()

    def __enter__(self) -> _Bookkeeping:
        job, run = self.job, self.run
        existing = run.stage(job.stage) if run.run_json.exists() else None
        if job.fingerprint is not None and (existing or {}).get("fingerprint") not in (
            None,
            job.fingerprint,
        ):
            raise InputError(
                f"already holds a '{job.stage}' run with other inputs or settings (or another "
                "executor or shard size); use the same arguments to resume, or a new --out",
                path=self.storage.url(),
            )
        run.open()
        self.started = time.monotonic()
        run.update_stage(
            job.stage,
            **job.fields,
            status="running",
            executor="local" if self.in_process else "ray",
            invocations=int((existing or {}).get("invocations", 0)) + 1,
        )
        return self

    def drive(self, on_progress: PoolProgress | None) -> None:
        """Plan, skip the shards done earlier, run the others on the pool, merge."""
        job, storage = self.job, self.storage
        self.shards = job.plan()
        planned: dict[str, Any] = {"shards": len(self.shards)}
        if job.fingerprint is not None:
            planned["fingerprint"] = job.fingerprint
        self.run.update_stage(job.stage, **planned)
        todo: list[PoolShard] = []
        for shard in self.shards:
            before = job.earlier(shard, storage.read_json(*shard.parts, "done.json"))
            if before is not None:
                self.markers[shard.key] = before
            else:
                todo.append(PoolShard(shard.key, shard.label, (shard,)))
        self.skipped = len(self.markers)

        def on_done(pooled: PoolShard, marker: dict[str, Any]) -> None:
            self.markers[pooled.key] = marker
            job.on_shard(pooled.args[0], marker)

        def progress(snapshot: dict[str, Any]) -> None:
            self.retried = int(snapshot["retried"])
            if on_progress is not None:
                on_progress({**snapshot, "shards": len(self.shards), "skipped": self.skipped})

        sync_s = self.options.cache_sync_s
        actor_args = (storage.location, job.run_shard, sync_s, job.upload_workspace)
        if self.in_process:
            stats = run_here(ShardActor(*actor_args), todo, on_done=on_done, on_progress=progress)
        else:
            stats = run_pool(
                ShardActor, actor_args, todo, self.options, on_done=on_done, on_progress=progress
            )
        self.retried = stats["retried"]
        missing = [shard.label for shard in self.shards if shard.key not in self.markers]
        if missing:
            raise ShardFailed(f"{'; '.join(missing[:10])}: no completion marker; run again")
        self.finished = job.finish(self.ordered())

    def collect_stragglers(self) -> None:
        """Take in the markers of shards that finished while the run was stopping (their
        results never reached the pool), so run.json counts every shard that is done."""
        for shard in self.shards:
            if shard.key not in self.markers:
                marker = self.storage.read_json(*shard.parts, "done.json")
                if marker is not None and marker.get("fingerprint") == shard.fingerprint:
                    self.markers[shard.key] = marker

    def ordered(self) -> Markers:
        return {s.key: self.markers[s.key] for s in self.shards if s.key in self.markers}

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if kind is None:
            status = "done"
        elif isinstance(exc, SynthloomError):
            status = "failed"
        else:
            status = "interrupted"
        if kind is not None:
            with contextlib.suppress(SynthloomError):  # a storage gone bad: count what we have
                self.collect_stragglers()
        done = self.ordered()
        fields: dict[str, Any] = {
            "status": status,
            "shards": len(self.shards),
            "shards_done": len(done),
            "shards_run": len(done) - self.skipped,
            "shards_skipped": self.skipped,
            "shard_retries": self.retried,
            **self.job.summary(done),
            "elapsed_s": round(time.monotonic() - self.started, 3),
            **self.finished,
        }
        if status == "failed":
            fields["error"] = str(exc)
        if fields["status"] == "done":  # not when ``finish`` said otherwise ("incomplete")
            fields["finished_at"] = _now()
        self.entry = self.run.update_stage(self.job.stage, **fields)
