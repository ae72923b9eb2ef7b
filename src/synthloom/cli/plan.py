"""``synthloom plan``: check a taxonomy and show what generating it would cost, calling no model."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from synthloom.cli import app


@app.command()
def plan(
    taxonomy: Path = typer.Argument(..., help="InstructLab taxonomy root (qna.yaml tree)."),
    pipeline: Path | None = typer.Option(
        None, "--pipeline", "-p", help="Pipeline YAML (counts, sampling); defaults if omitted."
    ),
    subtree: str | None = typer.Option(None, "--subtree", help="Only leaves under this path."),
    changed_since: str | None = typer.Option(
        None, "--changed-since", help="Only leaves changed since this git ref."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
) -> int:
    """List leaves with kind, seeds, planned samples, model calls and estimated tokens."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from synthloom.errors import ConfigError
    from synthloom.recipes.lab import PipelineConfig, leaf_chunks, load_pipeline, plan_leaf
    from synthloom.recipes.lab.config import TeacherSettings, settings_for
    from synthloom.taxonomy import load_taxonomy, require_valid, select_leaves

    config = (
        load_pipeline(pipeline)
        if pipeline is not None
        else PipelineConfig(teacher=TeacherSettings(model="unset"))
    )
    source = str(pipeline or "pipeline")
    tax = load_taxonomy(taxonomy)
    # Every issue once, one line each (never wrapped), then one summary line for the errors.
    console = Console(stderr=True, soft_wrap=True, highlight=False)
    for issue in tax.issues:
        colour = "red" if issue.severity == "error" else "yellow"
        console.print(f"[{colour}]{issue.severity}:[/] {escape(str(issue))}")
    errors = tax.errors
    if len(errors) > 1:
        raise ConfigError(
            f"{len(errors)} errors in the taxonomy (listed above); fix them and plan again",
            path=taxonomy,
        )
    if errors:
        raise ConfigError(
            "1 error in the taxonomy (listed above); fix it and plan again", path=taxonomy
        )
    require_valid(tax)
    rows = []
    for leaf in select_leaves(tax, subtree=subtree, changed_since=changed_since):
        chunks = None
        if leaf.kind == "knowledge":
            chunks, _ = leaf_chunks(leaf, settings_for(config, leaf, source=source).chunk_tokens)
        rows.append(plan_leaf(leaf, config, chunks=chunks, source=source))
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return 0
    table = Table(title=f"plan: {taxonomy}")
    for name in ("leaf", "kind", "seeds", "samples", "calls", "prompt tok", "max compl tok"):
        table.add_column(name, justify="left" if name in ("leaf", "kind") else "right")
    for row in rows:
        table.add_row(
            row["leaf"],
            row["kind"],
            str(row["seeds"]),
            str(row["planned_samples"]),
            str(row["model_calls"]),
            f"{row['estimated_prompt_tokens']:,}",
            f"{row['max_completion_tokens']:,}",
        )
    Console(width=200).print(table)
    totals = {k: sum(r[k] for r in rows) for k in ("planned_samples", "model_calls")}
    typer.echo(
        f"{len(rows)} leaves, {totals['planned_samples']} samples at most, "
        f"{totals['model_calls']} model calls at most"
    )
    return 0
