"""``synthloom taxonomy upgrade``: rewrite version 1 and 2 leaves as version 3 where this is
mechanical, and say for every other leaf what a person must still do."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthloom.cli import app
from synthloom.cli.command import Command, Group

taxonomy_app = typer.Typer(
    help="Work on an InstructLab taxonomy itself.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    cls=Group,
)
app.add_typer(taxonomy_app, name="taxonomy")


@taxonomy_app.command(cls=Command)
def upgrade(
    tree: Annotated[Path, typer.Argument(help="InstructLab taxonomy root (qna.yaml tree).")],
    write: Annotated[
        bool,
        typer.Option("--write", help="Write the upgraded leaves (without it nothing changes)."),
    ] = False,
) -> int:
    """Upgrade leaves to schema version 3; list what each leaf still needs."""
    from synthloom.taxonomy.upgrade import upgrade_taxonomy

    results = upgrade_taxonomy(tree, write=write)
    counts = {"current": 0, "upgraded": 0, "needs_person": 0, "unreadable": 0}
    for result in results:
        counts[result.outcome] += 1
        if result.outcome == "current":
            continue
        if result.outcome == "upgraded":
            done = "written" if result.written else "run with --write to write it"
            typer.echo(f"{result.file}: version {result.version} -> 3 ({done})")
            continue
        label = "cannot be read" if result.outcome == "unreadable" else "needs"
        version = f"version {result.version} " if result.version else ""
        typer.echo(f"{result.file}: {version}{label}: " + "; ".join(result.needs))
    verb = "upgraded" if write else "can be upgraded"
    typer.echo(
        f"{len(results)} leaves: {counts['upgraded']} {verb}, {counts['needs_person']} need a "
        f"person, {counts['unreadable']} unreadable, {counts['current']} already version 3"
    )
    return 0
