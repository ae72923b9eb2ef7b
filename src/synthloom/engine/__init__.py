"""Run machinery: the run directory, the bounded asyncio executor, and the ``complete`` stage.

Recipes build on ``run_requests`` (a stream of ``synthloom.llm.Request`` in, ``Result`` out as
each completes) and on ``RunDir`` for run.json and the cache; ``complete_dataset`` is the
simplest recipe, response distillation, and the model for the others.
"""

from __future__ import annotations

from synthloom.engine.complete import (
    CompleteConfig,
    ProgressCallback,
    complete_dataset,
    complete_dataset_sync,
    count_prompts,
    dry_run,
    make_backend,
)
from synthloom.engine.executor import bounded_map, run_requests, run_requests_sync
from synthloom.engine.rundir import RunDir

__all__ = [
    "CompleteConfig",
    "ProgressCallback",
    "RunDir",
    "bounded_map",
    "complete_dataset",
    "complete_dataset_sync",
    "count_prompts",
    "dry_run",
    "make_backend",
    "run_requests",
    "run_requests_sync",
]
