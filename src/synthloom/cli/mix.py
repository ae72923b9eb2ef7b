"""``synthloom mix``: write the final training files (messages JSONL) from a mixing YAML."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from synthloom.cli import app


@app.command()
def mix(
    config: Path = typer.Argument(..., help="Mixing YAML (outputs, sources, seed)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for <output name>.jsonl files."),
    run: Path | None = typer.Option(
        None, "--run", help="Run directory for sources that name no 'run'."
    ),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Leave invalid seed leaves out (listed) instead of stopping."
    ),
) -> int:
    """Sample phase datasets, seed replay and real data into messages-JSONL training files."""
    from synthloom.engine.storage import check_output_dir, refuse_url

    refuse_url(out)
    check_output_dir(out)
    from synthloom.recipes.lab import load_mix
    from synthloom.recipes.lab import mix as write_mix

    summary = write_mix(
        load_mix(config),
        out,
        base_dir=config.parent,
        run=run,
        source_name=str(config),
        skip_invalid=skip_invalid,
    )
    for line in summary["invalid_leaves"]:
        print(f"skipped invalid leaf: {line}", file=sys.stderr)
    for info in summary["outputs"].values():
        parts = ", ".join(f"{s['source']} {s['taken']}/{s['available']}" for s in info["sources"])
        typer.echo(f"{info['path']}: {info['records']} records ({parts})")
    return 0
