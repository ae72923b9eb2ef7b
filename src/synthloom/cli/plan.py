"""``synthloom plan``: check a taxonomy and show what generating it would cost, calling no model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from synthloom.cli import app
from synthloom.cli.command import Command
from synthloom.cli.leaves import (
    ChangedSince,
    DocumentsDir,
    LeafChoice,
    Subtree,
    TaxonomyRoot,
)


@app.command(cls=Command)
def plan(
    taxonomy: TaxonomyRoot,
    pipeline: Annotated[
        Path | None,
        typer.Option(
            "--pipeline", "-p", help="Pipeline YAML (counts, sampling); defaults if omitted."
        ),
    ] = None,
    subtree: Subtree = None,
    changed_since: ChangedSince = None,
    skip_invalid: Annotated[
        bool,
        typer.Option("--skip-invalid", help="List invalid chosen leaves and plan the valid ones."),
    ] = False,
    documents_dir: DocumentsDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> int:
    """Show what generating TAXONOMY would cost, calling no model.

    Lists the chosen leaves with kind, schema version, seeds, planned samples, model calls
    and tokens."""
    from rich.console import Console
    from rich.table import Table

    from synthloom.recipes.lab import PipelineConfig, leaf_chunks, load_pipeline, plan_leaf
    from synthloom.recipes.lab.config import TeacherSettings, settings_for

    config = (
        load_pipeline(pipeline)
        if pipeline is not None
        else PipelineConfig(teacher=TeacherSettings(model="unset"))
    )
    source = str(pipeline or "pipeline")
    # No run directory: clones of document URLs go to the user cache, never into the taxonomy.
    choice = LeafChoice(subtree, changed_since, documents_dir, skip_invalid)
    tax = choice.taxonomy(taxonomy, config, pipeline=pipeline, out=None)
    rows = []
    for leaf in tax.leaves:
        chunks = None
        if leaf.kind == "knowledge":
            chunks, _ = leaf_chunks(leaf, settings_for(config, leaf, source=source).chunk_tokens)
        rows.append(plan_leaf(leaf, config, chunks=chunks, source=source))
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return 0
    table = Table(title=f"plan: {taxonomy}")
    columns = ("leaf", "kind", "v", "seeds", "samples", "calls", "prompt tok", "max compl tok")
    for name in columns:
        table.add_column(name, justify="left" if name in ("leaf", "kind") else "right")
    for row in rows:
        table.add_row(
            row["leaf"],
            row["kind"],
            str(row["version"]),
            str(row["seeds"]),
            str(row["planned_samples"]),
            str(row["model_calls"]),
            f"{row['estimated_prompt_tokens']:,}",
            f"{row['max_completion_tokens']:,}",
        )
    Console(width=200).print(table)
    totals = {k: sum(r[k] for r in rows) for k in ("planned_samples", "model_calls")}
    skipped = f" ({len(tax.invalid)} invalid skipped)" if tax.invalid else ""
    typer.echo(
        f"{len(rows)} leaves{skipped}, {totals['planned_samples']} samples at most, "
        f"{totals['model_calls']} model calls at most"
    )
    return 0
