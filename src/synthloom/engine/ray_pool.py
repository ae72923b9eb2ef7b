"""A small actor pool for the recipes that run on Ray (``generate`` and ``nemotron``).

The ``complete`` executor (:mod:`synthloom.engine.ray_executor`) shards records; the recipes
shard other units (a taxonomy leaf, a range of prompts), but need the same rules, which live
here: ``actors`` workers each run one shard at a time; a shard whose worker died is run again on
the restarted actor up to ``max_shard_retries`` times; an exception raised by our code in a shard
fails the run at once with :class:`ShardFailed` naming the shard; when the driver stops (done,
failed or interrupted) the actors are killed and their processes waited for, so no worker still
writes a shard's cache after we return.

The caller decides what a shard is, which shards are already done (their markers), and what to
do with each finished shard's result (``on_done``). Nothing here imports ray at module level.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from synthloom.engine.ray_executor import (
    RayOptions,
    ShardFailed,
    crash_types,
    import_ray,
    init_ray,
    stop_actors,
)

__all__ = ["PoolShard", "PoolWorker", "run_pool"]

_KILL_WAIT_S = 30.0
_MAX_UNAVAILABLE_WAITS = 1200


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


def run_pool(
    worker: type[PoolWorker],
    init_args: tuple[Any, ...],
    shards: list[PoolShard],
    options: RayOptions,
    *,
    on_done: Callable[[PoolShard, Any], None],
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, int]:
    """Run every shard on a pool of ``worker`` actors; returns ``{"run", "retried"}``.

    ``on_done(shard, result)`` is called on the driver as each shard finishes, in finishing
    order. ``on_progress`` gets ``{"shards", "finished", "retried", "running", "last_actor",
    "actors", "elapsed"}`` after each finished shard (raising there stops the run).
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
            # Calls on an actor run in order: this answers just before the shard starts.
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
                # The actor is restarting after a crash: ask again shortly.
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
