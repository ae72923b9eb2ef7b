"""The recipes' ``executor:`` section: what one Ray actor of a LAB or Nemotron run is given."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from synthloom.errors import InputError
from synthloom.recipes import lab, nemotron
from synthloom.recipes.executor import (
    ExecutorSettings,
    ShardedExecutorSettings,
    apply_executor_flags,
    per_actor_config,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "load, pipeline",
    [
        pytest.param(lab.load_pipeline, ROOT / "examples" / "lab_pipeline.yaml", id="lab"),
        pytest.param(
            nemotron.load_pipeline, ROOT / "examples" / "nemotron_pipeline.yaml", id="nemotron"
        ),
    ],
)
def test_an_actor_keeps_per_actor_in_flight_and_everything_else(
    load: Callable[[Path], Any], pipeline: Path
) -> None:
    config = load(pipeline)
    executor = apply_executor_flags(config.executor, executor="ray", per_actor_in_flight=3)
    config = config.model_copy(update={"executor": executor})
    actor = per_actor_config(config)
    assert type(actor) is type(config) and actor.teacher.max_in_flight == 3
    assert config.teacher.max_in_flight != 3  # the driver's own config is left as it was
    rest = {"max_in_flight"}
    assert actor.teacher.model_dump(exclude=rest) == config.teacher.model_dump(exclude=rest)
    assert actor.model_dump(exclude={"teacher"}) == config.model_dump(exclude={"teacher"})


@pytest.mark.parametrize(
    ("settings", "shard_size"),
    [
        pytest.param(ExecutorSettings(name="ray", actors=3, per_actor_in_flight=5), 1000, id="lab"),
        pytest.param(
            ShardedExecutorSettings(name="ray", actors=3, per_actor_in_flight=5, shard_size=40),
            40,
            id="nemotron",
        ),
    ],
)
def test_the_pool_options_come_from_the_executor_section(
    settings: ExecutorSettings, shard_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # a local Ray: nothing to join yet
    options = settings.ray_options()
    assert (options.address, options.actors, options.per_actor_in_flight) == (None, 3, 5)
    # LAB's shards are its leaves: the pool's default shard size is left alone.
    assert options.shard_size == shard_size


def test_a_bad_pool_setting_is_one_line_naming_the_flag() -> None:
    settings = ExecutorSettings.model_construct(name="ray", actors=0, per_actor_in_flight=4)
    with pytest.raises(InputError, match="--actors") as caught:
        settings.ray_options()
    assert "\n" not in str(caught.value)
