"""``synthloom nemotron``: run a Nemotron pipeline YAML into a run directory."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from synthloom.cli import app
from synthloom.cli.options import positive_int


@app.command()
def nemotron(
    pipeline: Path = typer.Argument(..., help="Pipeline YAML (teacher, families, reward, ...)."),
    out: str = typer.Option(
        ...,
        "--out",
        "-o",
        help="Run directory (re-run to resume); on --executor ray also an object store "
        "through fsspec, such as s3://bucket/runs/x.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the JSON summary."),
    executor: str | None = typer.Option(
        None,
        "--executor",
        help="local | ray (responses + rewards in shards on actors); default: executor.name.",
    ),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Ray cluster to join (default: RAY_ADDRESS, else local)."
    ),
    actors: int | None = typer.Option(
        None,
        "--actors",
        parser=positive_int(),
        metavar="INTEGER",
        help="Ray: teacher-client actors.",
    ),
    per_actor_in_flight: int | None = typer.Option(
        None,
        "--per-actor-in-flight",
        parser=positive_int(),
        metavar="INTEGER",
        help="Ray: requests in flight per actor.",
    ),
    shard_size: int | None = typer.Option(
        None,
        "--shard-size",
        parser=positive_int(),
        metavar="INTEGER",
        help="Ray: prompts per shard (the unit of retry and resume).",
    ),
) -> None:
    """Prompts -> k responses -> reward scores -> best-of-k SFT and DPO preference pairs."""
    from synthloom.engine.storage import check_output_dir
    from synthloom.recipes.executor import apply_executor_flags
    from synthloom.recipes.nemotron import load_pipeline, run_pipeline_sync

    check_output_dir(out)
    config = load_pipeline(pipeline)
    ex = apply_executor_flags(
        config.executor,
        executor=executor,
        ray_address=ray_address,
        actors=actors,
        per_actor_in_flight=per_actor_in_flight,
        shard_size=shard_size,
    )
    if ex is not config.executor:
        config = config.model_copy(update={"executor": ex})
    from synthloom.engine.ray_executor import quiet_ray

    quiet_ray(quiet)
    entry = run_pipeline_sync(config, out)
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
