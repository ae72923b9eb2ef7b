"""``synthloom nemotron``: run a Nemotron pipeline YAML into a run directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from synthloom.cli import app
from synthloom.cli.command import Command
from synthloom.cli.options import ExecutorFlags, Quiet, RunOut, executor_options


@app.command(cls=Command)
@executor_options("actors", "per_actor_in_flight", "shard_size")
def nemotron(
    pipeline: Annotated[
        Path, typer.Argument(help="Pipeline YAML (teacher, families, reward, ...).")
    ],
    out: RunOut,
    quiet: Quiet = False,
    flags: ExecutorFlags = ExecutorFlags(),
) -> None:
    """Run a Nemotron pipeline YAML into a run directory.

    Prompts -> k responses -> reward scores -> best-of-k SFT data and DPO preference pairs
    in OUT/export; on --executor ray the responses and rewards run in shards on actors. A
    summary goes to stderr and one JSON line to stdout."""
    from synthloom.card import export_card
    from synthloom.engine.storage import check_output_dir
    from synthloom.recipes.nemotron import load_pipeline, run_pipeline_sync

    check_output_dir(out)
    config = load_pipeline(pipeline)
    ex = flags.over(config.executor)
    if ex is not config.executor:
        config = config.model_copy(update={"executor": ex})
    from synthloom.engine.ray_executor import quiet_ray

    quiet_ray(quiet)
    entry = run_pipeline_sync(config, out)
    export_card(Path(out) / "export")  # README.md: the dataset card of the export
    counts = entry.get("counts", {})
    if not quiet:
        typer.echo(
            f"prompts {counts.get('prompts', 0)} · responses {counts.get('scored', 0)} scored · "
            f"sft {counts.get('sft', 0)} · pairs {counts.get('pairs', 0)} -> {out}/export",
            err=True,
        )
    summary = {"run_dir": str(out), "status": entry.get("status"), "counts": counts}
    if entry.get("executor") == "ray" and "shards_run" in entry:
        summary["ray"] = {
            k: entry[k] for k in ("shards", "shards_run", "shards_skipped", "shard_retries")
        }
    typer.echo(json.dumps(summary))
