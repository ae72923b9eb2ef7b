"""The recipes' ``executor:`` section: what one Ray actor of a LAB or Nemotron run is given."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from synthloom.recipes import lab, nemotron
from synthloom.recipes.executor import apply_executor_flags, per_actor_config

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
