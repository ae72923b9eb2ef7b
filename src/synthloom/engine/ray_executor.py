"""``complete --executor ray``: the ``complete`` stage as a sharded job, cut by record index.

A job of :mod:`synthloom.engine.jobs` (the driver owns markers, fingerprints, run.json status,
retries of crashed workers, storage and progress); this module says what a shard is and does.

Layout on the run's storage (a local or shared-filesystem path, or an object store through
fsspec: see :mod:`synthloom.engine.storage`)::

    <run>/run.json                      the stage entry, with ``"executor": "ray"``
    <run>/<stage>/part-<shard>.parquet  the records of one shard, sorted by (prompt, sample)
    <run>/rejects/<stage>/part-<shard>.jsonl    a shard's rejects (synthloom.engine.rejects)
    <run>/failures/<stage>/part-<shard>.parquet its failures; each where the shard has any
                                        (beside the data folder, never in it)
    <run>/_ray/<stage>/shards.json      how the input was cut (records, shard size, shards)
    <run>/_ray/<stage>/shard-<k>/       one shard's own run: input.parquet, cache.sqlite,
                                        run.json, its Parquet parts, and done.json (the marker)

The driver cuts the input by record index (``shards.json``): JSONL/JSON with our reader,
Parquet (a file or a folder of parts, a path or a URL) with Ray Data's parallel reader; either
way each record is checked before any teacher call. :func:`read_stage_ray` reads a finished run
back as a Ray Dataset.

Why a cache file per shard: SQLite must not be shared between nodes over a network filesystem
(its locks are not reliable there), while one writer per file is safe anywhere. A shard is only
ever run by one actor at a time, so its cache has one writer, and a retried or resumed shard
finds every answer its earlier attempt stored. Each shard is run by the local engine itself
(:func:`synthloom.engine.complete.complete_dataset` with the shard's ``index_offset``), so the
records are the local executor's records, byte for byte, and resume inside a shard works the
same way.

On an object store (``--out s3://...``) a shard runs in a local scratch folder (the driver's
workspace): its cache is uploaded every ``cache_sync_s`` seconds while it runs and once more at
the end, then its published parts and, last, its marker. A crashed shard re-asks at most the
answers of its last ``cache_sync_s`` seconds; a finished shard's answers are all stored. A
shard whose marker counts failed requests (the server gave up on them) is run again by the next
invocation, like the local executor does.

Nothing here imports ray at module level: the local path never needs it.
"""

from __future__ import annotations

import asyncio
import functools
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from synthloom.atomic import write_text
from synthloom.engine.complete import CompleteConfig, complete_dataset, count_prompts
from synthloom.engine.jobs import Job, Markers, Shard, ShardWorkspace, fingerprint, run_job
from synthloom.engine.ray_pool import (
    PoolProgress,
    RayOptions,
    ShardFailed,
    check_ray_address,
    import_ray,
    init_ray,
    quiet_ray,
)
from synthloom.engine.rejects import REJECTS, Reject, read_rejects
from synthloom.engine.rundir import RunDir
from synthloom.engine.storage import MirroredRunDir, RunStorage, is_url
from synthloom.errors import DataFormatError, InputError
from synthloom.llm.accounting import Accounting
from synthloom.llm.cache import LEDGER_FIELDS
from synthloom.records import normalize_record, read_records, record_parts

__all__ = [
    "RayOptions",
    "ShardFailed",
    "check_ray_address",
    "complete_dataset_ray",
    "import_ray",
    "init_ray",
    "quiet_ray",
    "ray_shard_dir",
    "read_stage_ray",
    "run_complete_shard",
]


def ray_shard_dir(out: str | Path, stage: str, shard: int) -> Path:
    """The working folder of one shard of a Ray ``complete`` run (on a path storage)."""
    return Path(out).joinpath(*_shard_parts(stage, shard))


def _shard_parts(stage: str, shard: int, *rest: str) -> tuple[str, ...]:
    return ("_ray", stage, f"shard-{shard:05d}", *rest)


# ------------------------------------------------------------------------------------------
# Sharding the input (driver side)


def _shard_inputs(
    records: Iterator[dict[str, Any]], storage: RunStorage, stage: str, shard_size: int
) -> tuple[int, int]:
    """Cut the prompts into ``input.parquet`` files of ``shard_size`` records; (shards, records).

    Done once per run (``shards.json`` records it); every record is validated here, so a bad
    record fails the run before any teacher call, naming its shard and its line.
    """
    manifest = ("_ray", stage, "shards.json")
    known = storage.read_json(*manifest)
    if known is not None:
        return int(known["shards"]), int(known["records"])
    shard = 0
    buffer: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal shard
        storage.write_parquet(buffer, *_shard_parts(stage, shard, "input.parquet"))
        buffer.clear()
        shard += 1

    index = 0
    while True:
        try:
            record = next(records)
        except StopIteration:
            break
        except DataFormatError as exc:
            raise DataFormatError(
                f"shard {index // shard_size} (record {index}): {exc}", path=None
            ) from exc
        buffer.append(record)
        index += 1
        if len(buffer) == shard_size:
            flush()
    if buffer:
        flush()
    storage.write_json({"records": index, "shard_size": shard_size, "shards": shard}, *manifest)
    return shard, index


# ------------------------------------------------------------------------------------------
# One shard (runs inside an actor)


def _sorted_records(folder: Path) -> list[dict[str, Any]]:
    records = [r for part in sorted(folder.glob("part-*.parquet")) for r in read_records(part)]
    records.sort(
        key=lambda r: (r["meta"]["teacher"]["prompt_index"], r["meta"]["teacher"]["sample"])
    )
    return records


def _publish(records: list[dict[str, Any]], storage: RunStorage, *parts: str) -> None:
    """Write a shard's records to ``parts`` atomically (or remove it when there are none)."""
    if records:
        storage.write_parquet(records, *parts)
    else:
        storage.remove(*parts)


def _publish_rejects(shard_run: RunDir, space: ShardWorkspace, stage: str, key: int) -> None:
    """A shard's rejects as one part, in (prompt, sample) order, or none; a part an older
    version published for this shard (Parquet) goes."""
    rejects = sorted(
        read_rejects(shard_run.aside_dir(REJECTS, stage), stage=stage),
        key=lambda r: (r.detail["prompt_index"], r.detail["sample"]),
    )
    space.storage.remove(REJECTS, stage, f"part-{key:05d}.parquet")
    name = f"part-{key:05d}.jsonl"
    if not rejects:
        space.storage.remove(REJECTS, stage, name)
        return
    local = space.folder / f"published-{name}"
    write_text(local, "".join(reject.line() for reject in rejects))
    space.storage.put(local, REJECTS, stage, name)
    local.unlink()  # the shard's own rejects/ folder keeps them


def run_complete_shard(
    config: CompleteConfig, shard: Shard, space: ShardWorkspace
) -> dict[str, Any]:
    """Run one shard (``shard.args``: its first and past-the-last record index) with the local
    engine in its workspace and publish its records; returns its counts and accounting.

    On an object store only its cache and marker go back from the workspace: the shard's own
    run.json and parts stay local, as its published parts hold its records.
    """
    start, end = shard.args
    folder = space.folder
    entry = asyncio.run(
        complete_dataset(folder / "input.parquet", folder, config, index_offset=start)
    )
    shard_run = RunDir(folder)
    name = f"part-{shard.key:05d}.parquet"
    records = _sorted_records(shard_run.stage_dir(config.stage))
    _publish(records, space.storage, config.stage, name)
    _publish_rejects(shard_run, space, config.stage, shard.key)
    failures = _sorted_records(shard_run.aside_dir("failures", config.stage))
    _publish(failures, space.storage, "failures", config.stage, name)
    return {
        "start": start,
        "end": end,
        "records": len(records),
        "failures": len(failures),
        "accounting": entry.get("accounting", {}),
        "accounting_total": entry.get("accounting_total", {}),
        "ledger": entry.get("ledger", {}),
    }


# ------------------------------------------------------------------------------------------
# The job


def complete_dataset_ray(
    prompts: str | Path,
    out: str | Path,
    config: CompleteConfig,
    *,
    options: RayOptions | None = None,
    on_progress: PoolProgress | None = None,
) -> dict[str, Any]:
    """``complete_dataset`` on Ray: the same records, sharded by record index over actors.

    Returns the stage's run.json entry plus ``run_dir`` and ``output``: ``status`` (done),
    ``executor`` ("ray"), ``shards``, ``shards_done``, ``shards_run`` (this invocation),
    ``shards_skipped`` (finished earlier), ``shard_retries`` (shards re-run after a worker
    died), ``items_total`` (prompts x n), ``records``, ``failures`` (requests the server gave up
    on; asked again by the next run), ``accounting_total`` (summed over the shards' caches and
    invocations), ``ledger``, ``ray`` (actors, per_actor_in_flight, shard_size), ``elapsed_s``.

    ``on_progress`` gets, after each finished shard, ``{"shards", "skipped", "finished",
    "retried", "running", "last_actor", "actors" (the actor handles), "elapsed"}``.
    Re-running with the same arguments skips finished shards and replays stored answers from
    the shard caches. Raises ShardFailed when a shard fails in our code or keeps crashing its
    worker, DataFormatError (naming shard, record index and line) for a bad input record.
    """
    options = options or RayOptions()
    config.validate()
    options.validate()
    check_ray_address(options)
    storage = RunStorage(out)
    with tempfile.TemporaryDirectory(prefix="synthloom-ray-") as scratch:
        source = _parquet_source(str(prompts)) or _fetch_prompts(prompts, Path(scratch))
        if source.path is not None:
            count_prompts(source.path)  # a missing or unreadable file fails here, in one line
        if storage.is_local:
            run = RunDir(storage.local())
        else:  # a folder of its own: the prompts fetched beside it may have any name
            run = MirroredRunDir(storage, tempfile.mkdtemp(prefix="run-", dir=scratch))
        job = _CompleteJob(source, str(prompts), storage, config, options)
        try:
            entry = run_job(job.job(), run, storage, options, on_progress=on_progress)
        finally:
            if job.started_ray:
                import_ray().shutdown()
    entry["run_dir"] = storage.url()
    entry["output"] = storage.url(config.stage)
    return entry


class _CompleteJob:
    """The ``complete`` stage as a :class:`Job`: its plan cuts the prompts into shards."""

    def __init__(
        self,
        source: _Source,
        shown: str,
        storage: RunStorage,
        config: CompleteConfig,
        options: RayOptions,
    ) -> None:
        self.source = source
        self.shown = shown
        self.storage = storage
        self.config = config
        self.options = options
        self.shard_config = replace(config, max_in_flight=options.per_actor_in_flight)
        self.items = 0
        self.started_ray = False

    def job(self) -> Job:
        config, options = self.config, self.options
        ident = {
            "input": self.source.ident,
            "size": self.source.size,
            "config": self.shard_config.defining(),
            "shard_size": options.shard_size,
            "executor": "ray",
        }
        return Job(
            stage=config.stage,
            plan=self.plan,
            run_shard=functools.partial(run_complete_shard, self.shard_config),
            summary=self.summary,
            fields={
                "input": self.shown,
                "config": config.snapshot(),
                "ray": {
                    "actors": options.actors,
                    "per_actor_in_flight": options.per_actor_in_flight,
                    "shard_size": options.shard_size,
                },
            },
            fingerprint=fingerprint(ident),
            upload_workspace=False,
        )

    def plan(self) -> list[Shard]:
        size, stage = self.options.shard_size, self.config.stage
        cut = self.storage.read_json("_ray", stage, "shards.json") is not None
        if self.source.path is None and not cut:
            self.started_ray = init_ray(self.options)  # Ray Data reads the Parquet prompts
        records = _read_source(self.source, self.shown, size)
        n_shards, total = _shard_inputs(records, self.storage, stage, size)
        self.items = total * self.config.n
        shards = []
        for k in range(n_shards):
            start, end = k * size, min((k + 1) * size, total)
            label = f"shard {k} (records {start}-{end - 1} of {self.shown})"
            shards.append(Shard(k, label, _shard_parts(stage, k), (start, end)))
        return shards

    def summary(self, markers: Markers) -> dict[str, Any]:
        """Counts summed over the shard markers present (finished shards only)."""
        prices = (self.config.price_per_1k_prompt, self.config.price_per_1k_completion)
        total = Accounting()
        ledger = dict.fromkeys(LEDGER_FIELDS, 0)  # the finished shards' caches, summed
        for marker in markers.values():
            total = total.add(Accounting.from_dict(marker.get("accounting_total", {})))
            for name in LEDGER_FIELDS:
                ledger[name] += int(marker.get("ledger", {}).get(name, 0))
        return {
            "items_total": self.items,
            "records": sum(int(m["records"]) for m in markers.values()),
            "failures": sum(int(m["failures"]) for m in markers.values()),
            "accounting_total": total.to_dict(*prices),
            "ledger": ledger,
        }


# ------------------------------------------------------------------------------------------
# Reading the prompts (driver side) and the finished run


@dataclass(frozen=True)
class _Source:
    """The prompts as the driver reads them: ``ident`` and ``size`` for the run's fingerprint;
    ``path`` a local JSONL/JSON/Parquet file or folder read by our reader, or ``parquet`` the
    Parquet files (``fs`` a pyarrow filesystem) that Ray Data reads in parallel."""

    ident: str
    size: int
    path: Path | None = None
    parquet: tuple[str, ...] = ()
    fs: Any = None


_PARQUET = (".parquet", ".pq")


def _parquet_source(prompts: str) -> _Source | None:
    """PROMPTS as Parquet files (one file, or a folder of parts; a path or a URL), else None."""
    source = RunStorage(prompts, field="PROMPTS")
    if source.is_local:
        path = source.local()
        if path.is_dir():
            try:
                found = record_parts(path)
            except DataFormatError:
                return None
        elif path.is_file():
            found = [path]
        else:
            return None
        if not all(p.suffix.lower() in _PARQUET for p in found):
            return None
        files = tuple(str(p.resolve()) for p in found)
        size = sum(p.stat().st_size for p in found)
        return _Source(str(path.resolve()), size, parquet=files, fs=source.pyarrow_filesystem())
    if source.root.lower().endswith(_PARQUET):
        if not source.exists():
            raise InputError(f"{prompts}: no such file", field="PROMPTS")
        keys = [source.root]
    else:
        rels = [r for r in source.files() if "/" not in r and not r.startswith(".")]
        if not rels or not all(r.lower().endswith(_PARQUET) for r in rels):
            return None
        keys = [source.key(r) for r in rels]
    size = sum(int(source.fs.info(k)["size"]) for k in keys)
    return _Source(prompts, size, parquet=tuple(keys), fs=source.pyarrow_filesystem())


def _fetch_prompts(prompts: str | Path, scratch: Path) -> _Source:
    """Prompts our reader reads: a local path (downloaded first when given as a URL)."""
    if is_url(prompts):
        source = RunStorage(prompts, field="PROMPTS")
        if not source.exists():
            raise InputError(f"{prompts}: no such file", field="PROMPTS")
        target = scratch / str(prompts).rstrip("/").rsplit("/", 1)[-1]
        source.get((), target)
        return _Source(str(prompts), target.stat().st_size, path=target)
    path = Path(str(prompts).removeprefix("file://"))
    size = path.stat().st_size if path.is_file() else 0
    return _Source(str(path.resolve()), size, path=path)


def _read_source(source: _Source, shown: str, shard_size: int) -> Iterator[dict[str, Any]]:
    """The canonical records of the prompts, in order."""
    if source.path is not None:
        yield from read_records(source.path, prompt_only=True)
        return
    # Ray Data reads the Parquet files in parallel (on a cluster, on the workers) and hands
    # them over in order, a shard's worth at a time; each row is checked here as locally.
    ray = import_ray()
    options = ray.data.DataContext.get_current().execution_options
    kept = options.preserve_order
    options.preserve_order = True
    index = 0
    try:
        dataset = ray.data.read_parquet(list(source.parquet), filesystem=source.fs)
        batches = iter(dataset.iter_batches(batch_size=shard_size, batch_format="pyarrow"))
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                break
            except Exception as exc:  # Ray Data's own errors: name the input, in one line
                cause = getattr(exc, "cause", None) or exc
                raise DataFormatError(
                    f"cannot read as Parquet: {type(cause).__name__}: {cause}".splitlines()[0],
                    path=shown,
                ) from exc
            for row in batch.to_pylist():
                yield normalize_record(row, f"{shown} record {index}", prompt_only=True)
                index += 1
    finally:
        options.preserve_order = kept


def read_stage_ray(out: str | Path, stage: str = "complete", *, kind: str = "records") -> Any:
    """A finished Ray run's records as a ``ray.data.Dataset``, in record order.

    ``kind``: ``records`` (the stage's output), ``rejects`` or ``failures``. Records and
    failures are read by Ray Data's Parquet reader through the run's storage (a path or an
    fsspec URL), so a Ray pipeline can go on from the generated data without it passing through
    this process; their rows have the Parquet layout of :func:`synthloom.records.write_parquet`
    (``meta`` a JSON string). Rejects (the small side of a run) are read here with
    :func:`synthloom.engine.rejects.read_rejects`, whatever version wrote them, one row a
    reject (``id``, ``stage``, ``step``, ``reason``, ``detail``, ``item``, ``raw``).
    Raises InputError when the stage is not done (a missing shard would go unnoticed).
    """
    if kind not in ("records", "rejects", "failures"):
        raise InputError("must be records, rejects or failures", field="kind")
    storage = RunStorage(out)
    manifest = storage.read_json("_ray", stage, "shards.json")
    state = (storage.read_json("run.json") or {}).get("stages", {}).get(stage, {})
    if manifest is None or state.get("status") != "done":
        raise InputError(
            f"has no finished Ray '{stage}' run (status: {state.get('status', 'none')}); "
            "finish it first",
            path=storage.url(),
        )
    ray = import_ray()
    if kind == "rejects":
        return ray.data.from_items([r.as_dict() for r in _stage_rejects(storage, stage)])
    folder = (stage,) if kind == "records" else (kind, stage)
    parts = [
        storage.key(*folder, f"part-{k:05d}.parquet")
        for k in range(int(manifest["shards"]))
        if storage.exists(*folder, f"part-{k:05d}.parquet")
    ]
    if not parts:
        return ray.data.from_items([])
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    return ray.data.read_parquet(parts, filesystem=storage.pyarrow_filesystem())


def _stage_rejects(storage: RunStorage, stage: str) -> list[Reject]:
    """Every reject of a Ray run's stage, in shard order (fetched first from an object store)."""
    if storage.is_local:
        return list(read_rejects(storage.local(REJECTS, stage), stage=stage))
    with tempfile.TemporaryDirectory(prefix="synthloom-rejects-") as scratch:
        storage.pull((REJECTS, stage), Path(scratch))
        return list(read_rejects(Path(scratch), stage=stage))
