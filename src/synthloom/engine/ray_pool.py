"""Ray itself for every Ray path: joining or starting Ray, and the actor pool that runs shards.

:func:`init_ray` and :func:`check_ray_address` connect (a refused or unreachable cluster is
one line of ours); :func:`run_pool` is the one scheduling loop of every sharded job on Ray
(:mod:`synthloom.engine.jobs` decides what a shard is and what is done with it). Its rules:
``actors`` workers each run one shard at a time; a shard whose worker died is run again on the
restarted actor up to ``max_shard_retries`` times; an exception raised by our code in a shard
fails the run at once with :class:`ShardFailed` naming the shard; when the pool stops (done,
failed or interrupted) the actors are killed and their processes waited for, so no worker still
writes a shard's cache after we return.

Nothing here imports ray at module level: the local path never needs it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from synthloom.errors import InputError, MissingDependencyError, SynthloomError

__all__ = [
    "PoolShard",
    "PoolWorker",
    "RayOptions",
    "ShardFailed",
    "check_ray_address",
    "crash_types",
    "import_ray",
    "init_ray",
    "quiet_ray",
    "run_pool",
    "stop_actors",
]

# A restarting actor answers ActorUnavailableError; wait up to this many times 0.1 s for it.
_KILL_WAIT_S = 30.0
_MAX_UNAVAILABLE_WAITS = 1200


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


def crash_types(ray: Any) -> tuple[type[BaseException], ...]:
    """The exceptions that mean a worker died (retry the shard), not that our code failed."""
    exc = ray.exceptions
    names = ("RayActorError", "WorkerCrashedError", "NodeDiedError")
    return tuple(getattr(exc, n) for n in names if hasattr(exc, n))


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


@dataclass(frozen=True)
class PoolShard:
    """One unit of work: ``key`` for the caller, ``label`` for messages, ``args`` for ``run``."""

    key: int
    label: str
    args: tuple[Any, ...]


class PoolWorker:
    """Base of the actor classes: ``run(*args)`` does one shard; ``pid`` names the process."""

    def run(self, *args: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def pid(self) -> tuple[str, int]:
        """(node id, process id) of this worker."""
        import ray

        return ray.get_runtime_context().get_node_id(), os.getpid()


#: A snapshot after each finished shard: ``shards``, ``finished``, ``retried``, ``running``,
#: ``last_actor``, ``actors`` (the actor handles), ``elapsed``.
PoolProgress = Callable[[dict[str, Any]], None]


def run_pool(
    worker: type[PoolWorker],
    init_args: tuple[Any, ...],
    shards: list[PoolShard],
    options: RayOptions,
    *,
    on_done: Callable[[PoolShard, Any], None],
    on_progress: PoolProgress | None = None,
) -> dict[str, int]:
    """Run every shard on a pool of ``worker`` actors; returns ``{"run", "retried"}``.

    ``on_done(shard, result)`` is called on the driver as each shard finishes, in finishing
    order; ``on_progress`` after it (raising in either stops the run).
    """
    options.validate()
    if not shards:
        return {"run": 0, "retried": 0}
    ray = import_ray()
    started = time.monotonic()
    started_ray = init_ray(options)
    remote_cls = ray.remote(max_restarts=options.max_shard_retries + 1, max_task_retries=0)(worker)
    n_actors = min(options.actors, len(shards))
    actors = [remote_cls.remote(*init_args) for _ in range(n_actors)]
    crashes = crash_types(ray)
    unavailable = getattr(ray.exceptions, "ActorUnavailableError", ())
    todo: deque[PoolShard] = deque(shards)
    running: dict[Any, tuple[PoolShard, int]] = {}
    pid_refs: dict[int, Any] = {}
    waits: dict[int, int] = {}
    attempts: dict[int, int] = {}
    retried: set[int] = set()
    finished = 0

    def submit(actor_index: int) -> None:
        if todo:
            shard = todo.popleft()
            # Calls on an actor run in order: this answers just before the shard starts, so it
            # names the process that runs it (a new one after a crash restart).
            pid_refs[actor_index] = actors[actor_index].pid.remote()
            running[actors[actor_index].run.remote(*shard.args)] = (shard, actor_index)

    try:
        for i in range(n_actors):
            submit(i)
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            shard, actor_index = running.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except unavailable:
                # The actor is restarting after a crash: not a new failure; ask again shortly.
                waits[shard.key] = waits.get(shard.key, 0) + 1
                if waits[shard.key] > _MAX_UNAVAILABLE_WAITS:
                    raise ShardFailed(
                        f"{shard.label}: its worker stayed unavailable; see the Ray logs"
                    ) from None
                time.sleep(0.1)
                retried.add(shard.key)
                todo.appendleft(shard)
            except crashes as exc:
                attempts[shard.key] = attempts.get(shard.key, 0) + 1
                if attempts[shard.key] > options.max_shard_retries:
                    raise ShardFailed(
                        f"{shard.label}: its worker died {attempts[shard.key]} times "
                        f"({type(exc).__name__}); see the Ray logs"
                    ) from exc
                retried.add(shard.key)
                todo.appendleft(shard)
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause if isinstance(exc.cause, BaseException) else exc
                raise ShardFailed(
                    f"{shard.label} failed: {type(cause).__name__}: {cause}".splitlines()[0]
                ) from exc
            else:
                finished += 1
                on_done(shard, result)
            submit(actor_index)
            if on_progress is not None:
                on_progress(
                    {
                        "shards": len(shards),
                        "finished": finished,
                        "retried": len(retried),
                        "running": len(running),
                        "last_actor": actor_index,
                        "actors": actors,
                        "elapsed": time.monotonic() - started,
                    }
                )
    finally:
        stop_actors(ray, actors, list(pid_refs.values()), bool(running), started_ray)
    return {"run": finished, "retried": len(retried)}
