"""The Ray executor: the ``complete`` stage sharded by record index over an actor pool.

Layout on the run's storage (a local or shared-filesystem path, or an object store through
fsspec: see :mod:`synthloom.engine.storage`)::

    <run>/run.json                      the stage entry, with ``"executor": "ray"``
    <run>/<stage>/part-<shard>.parquet  the records of one shard, sorted by (prompt, sample)
    <run>/rejects/<stage>/              the same for rejects and failures, per shard, where a
    <run>/failures/<stage>/             shard has any (beside the data folder, never in it)
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

On an object store (``--out s3://...``) SQLite cannot run in place, so an actor works in a local
scratch folder: it downloads the shard's input and cache, runs the shard, uploads a consistent
snapshot of the cache every ``cache_sync_s`` seconds while it runs and once more at the end,
then uploads the shard's parts and, last, its marker. A crashed shard re-asks at most the
answers of its last ``cache_sync_s`` seconds; a finished shard's answers are all stored.

Failure rules: a shard whose worker died (``RayActorError``) is run again, on the restarted
actor, up to ``max_shard_retries`` times; an exception raised by our code in a shard fails the
whole run at once with :class:`ShardFailed`, naming the shard and its record range; the run is
only reported done when every shard has its marker. A shard whose marker counts failed requests
(the server gave up on them) is run again by the next invocation, like the local executor does.

Nothing here imports ray at module level: the local path never needs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import socket
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from synthloom.engine.complete import CompleteConfig, complete_dataset, count_prompts
from synthloom.engine.rundir import RunDir
from synthloom.engine.storage import RunStorage, is_url, workspace
from synthloom.errors import DataFormatError, InputError, MissingDependencyError, SynthloomError
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
]

# A restarting actor answers ActorUnavailableError; wait up to this many times 0.1 s for it.
_KILL_WAIT_S = 30.0
_MAX_UNAVAILABLE_WAITS = 1200

#: Called on the driver after every finished shard with a snapshot (see ``_snapshot``).
ShardProgress = Callable[[dict[str, Any]], None]


class ShardFailed(SynthloomError):
    """A shard of a Ray run failed in a way a retry cannot fix (our code, or its input)."""


@dataclass(frozen=True, kw_only=True)
class RayOptions:
    """Where and how wide a Ray run is.

    ``address``: a cluster to join (``ray://host:10001`` or ``host:6379``); None uses
    ``RAY_ADDRESS`` when set, else starts a local Ray. Total requests in flight are
    ``actors * per_actor_in_flight``. ``shard_size``: records per shard (a shard is the unit
    of retry and resume; keep it well above ``per_actor_in_flight`` so an actor's in-flight
    window stays full for most of a shard). ``num_cpus`` only applies to a local Ray.
    ``cache_sync_s``: on an object store, how often a running shard uploads its cache.
    """

    address: str | None = None
    actors: int = 2
    per_actor_in_flight: int = 16
    shard_size: int = 1000
    max_shard_retries: int = 3
    num_cpus: int | None = None
    cache_sync_s: float = 30.0

    def validate(self) -> None:
        checks = [
            (self.actors >= 1, "--actors", "must be >= 1"),
            (self.per_actor_in_flight >= 1, "--per-actor-in-flight", "must be >= 1"),
            (self.shard_size >= 1, "--shard-size", "must be >= 1"),
            (self.max_shard_retries >= 0, "max_shard_retries", "must be >= 0"),
            (self.cache_sync_s > 0, "cache_sync_s", "must be > 0"),
        ]
        for ok, name, message in checks:
            if not ok:
                raise InputError(message, field=name)


def import_ray() -> Any:
    """The ``ray`` module, or MissingDependencyError naming the extra to install."""
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError("the Ray executor", "ray", "ray[data]") from exc
    return ray


_QUIET = False


def quiet_ray(quiet: bool = True) -> None:
    """Make :func:`init_ray` start Ray without its info lines (the CLI's ``--quiet``)."""
    global _QUIET
    _QUIET = quiet


def _probe(address: str) -> None:
    """Fail at once, in one line, when nothing listens at a ``host:port`` Ray address.

    Ray itself retries an unreachable cluster for about two minutes before it gives up.
    """
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return  # "auto", "local" or a form Ray resolves itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        raise InputError(
            f"cannot connect to Ray at {address} ({exc.strerror or exc}); start the cluster "
            "(ray start --head) or fix --ray-address / RAY_ADDRESS",
            field="--ray-address",
        ) from None


def check_ray_address(options: RayOptions) -> None:
    """Before writing anything: join the cluster to use, failing in one line when it is
    unreachable or refuses this process (the run then goes on with this connection)."""
    address = options.address or os.environ.get("RAY_ADDRESS") or None
    if address is not None:
        import_ray()
        _probe(address)  # also when this process already holds a Ray connection
        init_ray(options)


_AUTH_HELP = (
    "give this process the cluster's token as every node has it: RAY_AUTH_MODE=token and "
    "RAY_AUTH_TOKEN=<token> or RAY_AUTH_TOKEN_PATH=<file> (default ~/.ray/auth_token; "
    "'ray get-auth-token' on the head prints it)"
)
_AUTH_SIGNS = ("InvalidAuthToken", "Unauthenticated", "authentication token")


@contextlib.contextmanager
def _stderr_to(sink: IO[bytes]) -> Iterator[None]:
    """Send file descriptor 2 (where Ray's C++ core logs) to ``sink`` for a while."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        os.dup2(sink.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def init_ray(options: RayOptions) -> bool:
    """Connect to (or start) Ray unless this process already has; True if this call did.

    Joining a cluster, Ray's own lines are held back while it connects: a refusal is then one
    line of ours, and a cluster that refuses our authentication token is named as such (Ray
    itself only says it failed to connect, after about 20 s of retries).
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    address = options.address or os.environ.get("RAY_ADDRESS") or None
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if _QUIET:
        kwargs["logging_level"] = logging.ERROR
    if address is None:
        if options.num_cpus is not None:
            kwargs["num_cpus"] = options.num_cpus
        # A new local Ray, never a cluster some earlier `ray start` left in
        # /tmp/ray/ray_current_cluster; its processes must not inherit a captured stderr.
        ray.init(address="local", **kwargs)
        return True
    _probe(address)
    auth_error = getattr(ray.exceptions, "AuthenticationError", ())
    with tempfile.TemporaryFile() as said:
        failure: BaseException | None = None
        with _stderr_to(said):
            try:
                ray.init(address=address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                failure = exc
            except auth_error as exc:
                failure = exc
        said.seek(0)
        text = said.read().decode("utf-8", "replace")
    if failure is None:
        if not _QUIET:
            sys.stderr.write(text)
        return True
    if isinstance(failure, auth_error) or any(sign in text for sign in _AUTH_SIGNS):
        raise InputError(
            f"the Ray cluster at {address} refused this process's authentication token "
            f"(it uses token authentication); {_AUTH_HELP}",
            field="--ray-address",
        ) from failure
    raise InputError(
        f"cannot connect to Ray at {address} ({str(failure).splitlines()[0]}); check "
        "--ray-address / RAY_ADDRESS",
        field="--ray-address",
    ) from failure


def ray_shard_dir(out: str | Path, stage: str, shard: int) -> Path:
    """The working folder of one shard of a Ray ``complete`` run (on a path storage)."""
    return Path(out).joinpath(*_shard_parts(stage, shard))


def _shard_parts(stage: str, shard: int, *rest: str) -> tuple[str, ...]:
    return ("_ray", stage, f"shard-{shard:05d}", *rest)


# ------------------------------------------------------------------------------------------
# Sharding the input (driver side)


def _fingerprint(ident: str, size: int, config: CompleteConfig, shard_size: int) -> str:
    data = {
        "input": ident,
        "size": size,
        "config": config.defining(),
        "shard_size": shard_size,
        "executor": "ray",
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()[:32]


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


def run_shard(
    *,
    out: str,
    shard: int,
    start: int,
    end: int,
    config: CompleteConfig,
    cache_sync_s: float = 30.0,
) -> dict[str, Any]:
    """Run one shard with the local engine and publish its records; returns its marker.

    On an object store the shard runs in a local workspace (see
    :func:`synthloom.engine.storage.workspace`): only its cache and, last, its marker go back;
    the shard's own run.json and parts stay local, as its published part holds its records.
    """
    storage = RunStorage(out)
    parts = _shard_parts(config.stage, shard)
    with workspace(storage, parts, cache_sync_s=cache_sync_s, push=lambda rel: False) as folder:
        entry = asyncio.run(
            complete_dataset(folder / "input.parquet", folder, config, index_offset=start)
        )
        return _finish_shard(storage, folder, entry, shard, start, end, config)


def _finish_shard(
    storage: RunStorage,
    folder: Path,
    entry: dict[str, Any],
    shard: int,
    start: int,
    end: int,
    config: CompleteConfig,
) -> dict[str, Any]:
    """Publish a finished shard's parts, then (last) its marker; returns the marker."""
    shard_run = RunDir(folder)
    name = f"part-{shard:05d}.parquet"
    records = _sorted_records(shard_run.stage_dir(config.stage))
    _publish(records, storage, config.stage, name)
    rejects = _sorted_records(shard_run.aside_dir("rejects", config.stage))
    _publish(rejects, storage, "rejects", config.stage, name)
    failures = _sorted_records(shard_run.aside_dir("failures", config.stage))
    _publish(failures, storage, "failures", config.stage, name)
    done = {
        "shard": shard,
        "start": start,
        "end": end,
        "records": len(records),
        "failures": len(failures),
        "accounting": entry.get("accounting", {}),
        "accounting_total": entry.get("accounting_total", {}),
        "ledger": entry.get("ledger", {}),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    # In the shard's folder: the workspace uploads it last, after the cache.
    tmp = folder / f"done.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(done, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(folder / "done.json")
    return done


class TeacherWorker:
    """An actor: runs one shard at a time with ``per_actor_in_flight`` requests in flight."""

    def __init__(self, out: str, config: CompleteConfig, cache_sync_s: float = 30.0) -> None:
        self.out = out
        self.config = config
        self.cache_sync_s = cache_sync_s

    def run(self, shard: int, start: int, end: int) -> dict[str, Any]:
        return run_shard(
            out=self.out,
            shard=shard,
            start=start,
            end=end,
            config=self.config,
            cache_sync_s=self.cache_sync_s,
        )

    def pid(self) -> tuple[str, int]:
        """(node id, process id) of this worker."""
        import ray

        return ray.get_runtime_context().get_node_id(), os.getpid()


def stop_actors(
    ray: Any, actors: list[Any], pid_refs: list[Any], busy: bool, started_ray: bool
) -> None:
    """Kill the pool's actors (stopping their in-flight shards; what they stored stays cached),
    wait until their processes on this node are gone when any was ``busy``, and shut down a
    Ray this run started."""
    pids = _local_pids(ray, pid_refs, 1.0) if busy else []
    for actor in actors:
        ray.kill(actor, no_restart=True)
    _wait_for_exit(pids, _KILL_WAIT_S)
    if started_ray:
        ray.shutdown()


def _local_pids(ray: Any, pid_refs: list[Any], timeout: float) -> list[int]:
    """Process ids, on this node, of the workers that answered ``pid_refs`` within ``timeout``."""
    if not pid_refs:
        return []
    ready, _ = ray.wait(pid_refs, num_returns=len(pid_refs), timeout=timeout)
    here = ray.get_runtime_context().get_node_id()
    pids = []
    for ref in ready:
        try:
            node, pid = ray.get(ref)
        except Exception:  # the worker died before answering: nothing left to wait for
            continue
        if node == here:
            pids.append(int(pid))
    return pids


def _wait_for_exit(pids: list[int], timeout: float) -> None:
    """Wait until these processes have exited.

    ``ray.kill`` returns, and the actor is reported dead, before its process is gone; a worker
    still committing an answer to its shard's cache would race with a caller that reads the
    cache (or a second run) right after we return.
    """
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                continue
            except PermissionError:
                pass
            alive.append(pid)
        pids = alive
        if pids:
            time.sleep(0.02)


# ------------------------------------------------------------------------------------------
# The driver


def _read_marker(storage: RunStorage, stage: str, shard: int) -> dict[str, Any] | None:
    return storage.read_json(*_shard_parts(stage, shard, "done.json"))


def crash_types(ray: Any) -> tuple[type[BaseException], ...]:
    """The exceptions that mean a worker died (retry the shard), not that our code failed."""
    exc = ray.exceptions
    names = ("RayActorError", "WorkerCrashedError", "NodeDiedError")
    return tuple(getattr(exc, n) for n in names if hasattr(exc, n))


def complete_dataset_ray(
    prompts: str | Path,
    out: str | Path,
    config: CompleteConfig,
    *,
    options: RayOptions | None = None,
    on_progress: ShardProgress | None = None,
) -> dict[str, Any]:
    """``complete_dataset`` on Ray: the same records, sharded by record index over actors.

    Returns the stage's run.json entry plus ``run_dir`` and ``output``: ``status`` (done),
    ``executor`` ("ray"), ``shards``, ``shards_done``, ``shards_run`` (this invocation),
    ``shards_skipped`` (finished earlier), ``shard_retries`` (shards re-run after a worker
    died), ``items_total`` (prompts x n), ``records``, ``failures`` (requests the server gave up
    on; asked again by the next run), ``accounting_total`` (summed over the shards' caches and
    invocations), ``ray`` (actors, per_actor_in_flight, shard_size), ``elapsed_s``.

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
        if storage.is_local:
            run = RunDir(storage.local())
        else:
            mirror = Path(scratch) / "run"
            mirror.mkdir()
            storage.get(("run.json",), mirror / "run.json")
            run = _MirroredRunDir(mirror, storage)
        entry = _drive(source, str(prompts), storage, run, config, options, on_progress)
    entry["run_dir"] = storage.url()
    entry["output"] = storage.url(config.stage)
    return entry


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


class _MirroredRunDir(RunDir):
    """run.json kept in a local folder and uploaded to the object store at every write."""

    def __init__(self, path: Path, storage: RunStorage) -> None:
        super().__init__(path)
        self.storage = storage

    def write(self, data: dict[str, Any]) -> None:
        super().write(data)
        self.storage.put(self.run_json, "run.json")


def _drive(
    source: _Source,
    shown: str,
    storage: RunStorage,
    run: RunDir,
    config: CompleteConfig,
    options: RayOptions,
    on_progress: ShardProgress | None,
) -> dict[str, Any]:
    """The driver of :func:`complete_dataset_ray`, once the storage is open."""
    if source.path is not None:
        count_prompts(source.path)  # a missing or unreadable file fails here, in one line
    shard_config = replace(config, max_in_flight=options.per_actor_in_flight)
    fingerprint = _fingerprint(source.ident, source.size, shard_config, options.shard_size)
    existing = run.stage(config.stage) if run.run_json.exists() else None
    if existing is not None and existing.get("fingerprint") not in (None, fingerprint):
        raise InputError(
            f"already holds a '{config.stage}' run with other prompts or settings (or another "
            "executor or shard size); use the same arguments to resume, or a new --out",
            path=storage.url(),
        )
    ray = import_ray()
    run.open()
    started = time.monotonic()
    started_ray = False
    if source.path is None and storage.read_json("_ray", config.stage, "shards.json") is None:
        started_ray = init_ray(options)  # Ray Data reads the Parquet prompts
    try:
        records = _read_source(source, shown, options.shard_size)
        n_shards, total = _shard_inputs(records, storage, config.stage, options.shard_size)
    except BaseException:
        if started_ray:
            ray.shutdown()
        raise
    bounds = [
        (k, k * options.shard_size, min((k + 1) * options.shard_size, total))
        for k in range(n_shards)
    ]
    todo: deque[tuple[int, int, int]] = deque()
    skipped = 0
    for shard, start, end in bounds:
        marker = _read_marker(storage, config.stage, shard)
        if marker is not None and int(marker.get("failures", 0)) == 0:
            skipped += 1
        else:
            todo.append((shard, start, end))
    invocations = int((existing or {}).get("invocations", 0)) + 1
    run.update_stage(
        config.stage,
        fingerprint=fingerprint,
        executor="ray",
        input=shown,
        config=config.snapshot(),
        ray={
            "actors": options.actors,
            "per_actor_in_flight": options.per_actor_in_flight,
            "shard_size": options.shard_size,
        },
        shards=n_shards,
        status="running",
        invocations=invocations,
    )

    if todo:
        started_ray = init_ray(options) or started_ray
    elif started_ray:
        ray.shutdown()
        started_ray = False
    worker_cls = ray.remote(max_restarts=options.max_shard_retries + 1, max_task_retries=0)(
        TeacherWorker
    )
    n_actors = min(options.actors, len(todo))
    actors = [
        worker_cls.remote(storage.location, shard_config, options.cache_sync_s)
        for _ in range(n_actors)
    ]
    crashes = crash_types(ray)
    unavailable = getattr(ray.exceptions, "ActorUnavailableError", ())
    waits: dict[int, int] = {}
    running: dict[Any, tuple[int, int, int, int]] = {}
    attempts: dict[int, int] = {}
    retried: set[int] = set()
    finished = 0
    status = "failed"
    error: str | None = None

    pid_refs: dict[int, Any] = {}

    def submit(actor_index: int) -> None:
        if todo:
            shard, start, end = todo.popleft()
            # Calls on an actor run in order: this answers just before the shard starts, so it
            # names the process that runs it (a new one after a crash restart).
            pid_refs[actor_index] = actors[actor_index].pid.remote()
            ref = actors[actor_index].run.remote(shard, start, end)
            running[ref] = (shard, start, end, actor_index)

    try:
        for i in range(n_actors):
            submit(i)
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            ref = ready[0]
            shard, start, end, actor_index = running.pop(ref)
            try:
                ray.get(ref)
            except unavailable:
                # The actor is restarting after a crash: not a new failure; ask again shortly.
                waits[shard] = waits.get(shard, 0) + 1
                if waits[shard] > _MAX_UNAVAILABLE_WAITS:
                    raise ShardFailed(
                        f"shard {shard} (records {start}-{end - 1} of {shown}): its worker "
                        "stayed unavailable; see the Ray logs"
                    ) from None
                time.sleep(0.1)
                retried.add(shard)
                todo.appendleft((shard, start, end))
            except crashes as exc:
                attempts[shard] = attempts.get(shard, 0) + 1
                if attempts[shard] > options.max_shard_retries:
                    raise ShardFailed(
                        f"shard {shard} (records {start}-{end - 1} of {shown}): its worker "
                        f"died {attempts[shard]} times ({type(exc).__name__}); see the Ray logs"
                    ) from exc
                retried.add(shard)
                todo.appendleft((shard, start, end))
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause if isinstance(exc.cause, BaseException) else exc
                raise ShardFailed(
                    f"shard {shard} (records {start}-{end - 1} of {shown}) failed: "
                    f"{type(cause).__name__}: {cause}".splitlines()[0]
                ) from exc
            else:
                finished += 1
            submit(actor_index)
            if on_progress is not None:
                on_progress(
                    {
                        "shards": n_shards,
                        "skipped": skipped,
                        "finished": finished,
                        "retried": len(retried),
                        "running": len(running),
                        "last_actor": actor_index,
                        "actors": actors,
                        "elapsed": time.monotonic() - started,
                    }
                )
        missing = [k for k, _, _ in bounds if _read_marker(storage, config.stage, k) is None]
        if missing:
            raise ShardFailed(
                f"shards {missing[:10]} of {shown} have no completion marker; run again"
            )
        status = "done"
    except SynthloomError as exc:
        error = str(exc)
        raise
    except BaseException:
        status = "interrupted"
        raise
    finally:
        stop_actors(ray, actors, list(pid_refs.values()), bool(running), started_ray)
        fields = _totals(storage, config, bounds)
        fields.update(
            status=status,
            shards_skipped=skipped,
            shards_run=finished,
            shard_retries=len(retried),
            elapsed_s=round(time.monotonic() - started, 3),
        )
        if error is not None:
            fields["error"] = error
        if status == "done":
            fields["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        run.update_stage(config.stage, **fields)
    return dict(run.stage(config.stage) or {})


def _totals(
    storage: RunStorage, config: CompleteConfig, bounds: list[tuple[int, int, int]]
) -> dict[str, Any]:
    """Counts summed over the shard markers present (finished shards only)."""
    prices = (config.price_per_1k_prompt, config.price_per_1k_completion)
    total = Accounting()
    records = failures = done = 0
    ledger = dict.fromkeys(LEDGER_FIELDS, 0)  # the finished shards' caches, summed
    for shard, _, _ in bounds:
        marker = _read_marker(storage, config.stage, shard)
        if marker is None:
            continue
        done += 1
        records += int(marker["records"])
        failures += int(marker["failures"])
        total = total.add(Accounting.from_dict(marker.get("accounting_total", {})))
        for name in LEDGER_FIELDS:
            ledger[name] += int(marker.get("ledger", {}).get(name, 0))
    return {
        "items_total": sum(end - start for _, start, end in bounds) * config.n,
        "records": records,
        "failures": failures,
        "shards_done": done,
        "accounting_total": total.to_dict(*prices),
        "ledger": ledger,
    }


def read_stage_ray(out: str | Path, stage: str = "complete", *, kind: str = "records") -> Any:
    """A finished Ray run's records as a ``ray.data.Dataset``, in record order.

    ``kind``: ``records`` (the stage's output), ``rejects`` or ``failures``. The parts are read
    by Ray Data's Parquet reader through the run's storage (a path or an fsspec URL), so a Ray
    pipeline can go on from the generated data without it passing through this process. Rows
    have the Parquet layout of :func:`synthloom.records.write_parquet` (``meta`` a JSON string).
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
    folder = (stage,) if kind == "records" else (kind, stage)
    parts = [
        storage.key(*folder, f"part-{k:05d}.parquet")
        for k in range(int(manifest["shards"]))
        if storage.exists(*folder, f"part-{k:05d}.parquet")
    ]
    ray = import_ray()
    if not parts:
        return ray.data.from_items([])
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    return ray.data.read_parquet(parts, filesystem=storage.pyarrow_filesystem())
