"""``synthloom generate``: run the LAB recipes over a taxonomy into a run directory."""

from __future__ import annotations

import json
import sys
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
from synthloom.cli.options import (
    BaseUrlOverride,
    ExecutorFlags,
    ModelOverride,
    RunOut,
    executor_options,
)


@app.command(cls=Command)
@executor_options("actors", "per_actor_in_flight")
def generate(
    taxonomy: TaxonomyRoot,
    pipeline: Annotated[Path, typer.Option("--pipeline", "-p", help="Pipeline YAML.")],
    out: RunOut,
    base_url: BaseUrlOverride = None,
    model: ModelOverride = None,
    subtree: Subtree = None,
    changed_since: ChangedSince = None,
    flags: ExecutorFlags = ExecutorFlags(),
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid", help="List invalid chosen leaves and generate the valid ones."
        ),
    ] = False,
    documents_dir: DocumentsDir = None,
) -> int:
    """Generate, judge and mix data for the leaves of TAXONOMY (LAB).

    Every chosen leaf of TAXONOMY into OUT, on the local executor or an actor pool (leaves
    as shards). Exit 0 when every chosen leaf kept samples, 1 when a request failed or a
    leaf kept none."""
    from synthloom.card import export_card
    from synthloom.engine.storage import check_output_dir
    from synthloom.recipes.lab import generate_sync, load_pipeline

    check_output_dir(out)
    config = load_pipeline(pipeline)
    changes = {k: v for k, v in (("base_url", base_url), ("model", model)) if v is not None}
    if changes:
        config = config.model_copy(update={"teacher": config.teacher.model_copy(update=changes)})
    ex = flags.over(config.executor)
    if ex is not config.executor:
        config = config.model_copy(update={"executor": ex})
    # Chosen and checked here, so that every issue is printed before any request is sent.
    choice = LeafChoice(subtree, changed_since, documents_dir, skip_invalid)
    tax = choice.taxonomy(taxonomy, config, pipeline=pipeline, out=out)
    entry = generate_sync(
        tax,
        config,
        out,
        pipeline_path=pipeline,
        skip_invalid=skip_invalid,
        documents_dir=documents_dir,
    )
    export_card(Path(out) / "export")  # README.md: the dataset card of the export
    acc = entry["accounting"]
    samples = sum(v["samples"] for v in entry["leaves"].values())
    rejects = sum(v["rejects"] for v in entry["leaves"].values())
    on_ray = (
        f" on ray ({entry['shards_run']} leaves run, {entry['shards_skipped']} already done, "
        f"{entry['shard_retries']} retried)"
        if entry.get("executor") == "ray" and "shards_run" in entry
        else ""
    )
    typer.echo(
        f"{entry['status']}{on_ray}: {len(entry['leaves'])} leaves, {samples} samples kept, "
        f"{rejects} rejected; {acc['requests']} requests, {acc['cache_hits']} from cache; "
        f"phases {json.dumps(entry['phases'])} -> {out}"
    )
    for empty in entry.get("empty_leaves") or []:
        print(
            f"synthloom: leaf {empty['leaf']} kept no sample ({empty['rejects']} rejected; most "
            f"often {empty['most_common_reject']}, {empty['count']} times)",
            file=sys.stderr,
        )
    return 0 if entry["status"] == "done" and not entry.get("empty_leaves") else 1
