"""The ``executor:`` section of the recipe pipeline YAMLs (``generate`` and ``nemotron``).

    executor:
      name: ray                 # local (default) | ray; ``executor: ray`` is short for this
      ray_address: null         # a cluster to join; default RAY_ADDRESS, else a local Ray
      actors: 2                 # teacher-client actors
      per_actor_in_flight: 16   # requests in flight per actor
      shard_size: 100           # nemotron only: prompts per shard

The command-line flags (``--executor``, ``--ray-address``, ``--actors``,
``--per-actor-in-flight``, ``--shard-size``) override these keys when given.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from synthloom.engine.ray_pool import RayOptions, check_ray_address
from synthloom.errors import InputError

__all__ = [
    "ExecutorSettings",
    "ShardedExecutorSettings",
    "apply_executor_flags",
    "per_actor_config",
]


class ExecutorSettings(BaseModel):
    """Where a recipe runs: ``local`` (one process, the default) or ``ray`` (an actor pool)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    actors: int = Field(default=2, ge=1)
    per_actor_in_flight: int = Field(default=16, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    def ray_options(self) -> RayOptions:
        """The options of the Ray actor pool this section describes, checked (a bad
        ``ray_address`` is a one-line InputError before anything starts)."""
        options = RayOptions(
            address=self.ray_address,
            actors=self.actors,
            per_actor_in_flight=self.per_actor_in_flight,
            **self.sharding(),
        )
        options.validate()
        check_ray_address(options)
        return options

    def sharding(self) -> dict[str, int]:
        """How the items are cut into shards (nothing here: one shard a unit, as LAB's leaves)."""
        return {}


class ShardedExecutorSettings(ExecutorSettings):
    """The executor of a recipe cut into shards of ``shard_size`` items."""

    shard_size: int = Field(default=100, ge=1)

    def sharding(self) -> dict[str, int]:
        return {"shard_size": self.shard_size}


def apply_executor_flags(
    settings: ExecutorSettings,
    *,
    executor: str | None = None,
    ray_address: str | None = None,
    actors: int | None = None,
    per_actor_in_flight: int | None = None,
    shard_size: int | None = None,
) -> Any:
    """``settings`` with the command-line flags that were given; one-line InputError if bad."""
    flags = {
        "--executor": ("name", executor),
        "--ray-address": ("ray_address", ray_address),
        "--actors": ("actors", actors),
        "--per-actor-in-flight": ("per_actor_in_flight", per_actor_in_flight),
        "--shard-size": ("shard_size", shard_size),
    }
    if executor is not None and executor not in ("local", "ray"):
        raise InputError("must be local or ray", field="--executor")
    for flag, (_, value) in flags.items():
        if flag not in ("--executor", "--ray-address") and value is not None and int(value) < 1:
            raise InputError("must be >= 1", field=flag)
    changes = {key: value for key, value in flags.values() if value is not None}
    return settings.model_copy(update=changes) if changes else settings


class _Pipeline(Protocol):
    """A recipe's pipeline configuration: a teacher section and an executor section."""

    @property
    def teacher(self) -> BaseModel: ...

    @property
    def executor(self) -> ExecutorSettings: ...

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Any: ...


_P = TypeVar("_P", bound=_Pipeline)


def per_actor_config(config: _P) -> _P:
    """``config`` as one Ray actor runs it: its teacher keeps ``per_actor_in_flight`` requests
    in flight (the total is ``actors`` times that)."""
    teacher = config.teacher.model_copy(
        update={"max_in_flight": config.executor.per_actor_in_flight}
    )
    copied: _P = config.model_copy(update={"teacher": teacher})
    return copied
