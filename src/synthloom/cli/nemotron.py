"""``synthloom nemotron``: run a Nemotron pipeline YAML into a run directory."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from synthloom.cli import app


@app.command()
def nemotron(
    pipeline: Path = typer.Argument(..., help="Pipeline YAML (teacher, families, reward, ...)."),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Run directory (run the same command again to resume)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the JSON summary."),
) -> None:
    """Prompts -> k responses -> reward scores -> best-of-k SFT and DPO preference pairs."""
    from synthloom.recipes.nemotron import load_pipeline, run_pipeline_sync

    config = load_pipeline(pipeline)
    entry = run_pipeline_sync(config, out)
    counts = entry.get("counts", {})
    if not quiet:
        typer.echo(
            f"prompts {counts.get('prompts', 0)} · responses {counts.get('scored', 0)} scored · "
            f"sft {counts.get('sft', 0)} · pairs {counts.get('pairs', 0)} -> {out}/export",
            err=True,
        )
    typer.echo(json.dumps({"run_dir": str(out), "status": entry.get("status"), "counts": counts}))
