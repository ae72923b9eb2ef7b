"""``synthloom mix``: write the final training files (messages JSONL) from a mixing YAML."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from synthloom.cli import app
from synthloom.cli.command import Command
from synthloom.cli.options import Out


@app.command(cls=Command)
def mix(
    config: Annotated[Path, typer.Argument(help="Mixing YAML (outputs, sources, seed).")],
    out: Out,
    run: Annotated[
        Path | None,
        typer.Option("--run", help="Run directory for sources that name no 'run'."),
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid",
            help="Leave invalid seed leaves out (listed) instead of stopping.",
        ),
    ] = False,
) -> int:
    """Write messages-JSONL training files from a mixing YAML.

    Samples phase datasets, seed replay and real data into OUT/<output name>.jsonl."""
    from synthloom.card import mix_card
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
    mix_card(out, config, summary, run=run)  # README.md: the dataset card of the mix
    for line in summary["invalid_leaves"]:
        print(f"skipped invalid leaf: {line}", file=sys.stderr)
    for info in summary["outputs"].values():
        parts = ", ".join(f"{s['source']} {s['taken']}/{s['available']}" for s in info["sources"])
        typer.echo(f"{info['path']}: {info['records']} records ({parts})")
    return 0
