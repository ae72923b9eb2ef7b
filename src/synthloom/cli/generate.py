"""``synthloom generate``: run the LAB recipes over a taxonomy into a run directory."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from synthloom.cli import app
from synthloom.cli.options import positive_int


@app.command()
def generate(
    taxonomy: Path = typer.Argument(..., help="InstructLab taxonomy root (qna.yaml tree)."),
    pipeline: Path = typer.Option(..., "--pipeline", "-p", help="Pipeline YAML."),
    out: str = typer.Option(
        ...,
        "--out",
        "-o",
        help="Run directory (re-run to resume); on --executor ray also an object store "
        "through fsspec, such as s3://bucket/runs/x.",
    ),
    base_url: str | None = typer.Option(None, "--base-url", help="Override teacher.base_url."),
    model: str | None = typer.Option(None, "--model", help="Override teacher.model."),
    subtree: str | None = typer.Option(None, "--subtree", help="Only leaves under this path."),
    changed_since: str | None = typer.Option(
        None, "--changed-since", help="Only leaves changed since this git ref."
    ),
    executor: str | None = typer.Option(
        None, "--executor", help="local | ray (leaves on an actor pool); default: executor.name."
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
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="List invalid chosen leaves and generate the valid ones."
    ),
    documents_dir: Path | None = typer.Option(
        None,
        "--documents-dir",
        help="Folder of local clones of document repositories, named after each URL's last "
        "part (default: documents_dir of the pipeline).",
    ),
) -> int:
    """Generate, judge and mix training data for every chosen leaf of TAXONOMY into OUT.

    Exit 0 when every chosen leaf kept samples, 1 when a request failed or a leaf kept none."""
    from synthloom.cli.leaves import report_issues
    from synthloom.engine.storage import check_output_dir
    from synthloom.recipes.executor import apply_executor_flags
    from synthloom.recipes.lab import generate_sync, load_pipeline
    from synthloom.recipes.lab.select import chosen_taxonomy, document_options

    check_output_dir(out)
    config = load_pipeline(pipeline)
    changes = {k: v for k, v in (("base_url", base_url), ("model", model)) if v is not None}
    if changes:
        config = config.model_copy(update={"teacher": config.teacher.model_copy(update=changes)})
    ex = apply_executor_flags(
        config.executor,
        executor=executor,
        ray_address=ray_address,
        actors=actors,
        per_actor_in_flight=per_actor_in_flight,
    )
    if ex is not config.executor:
        config = config.model_copy(update={"executor": ex})
    documents = document_options(
        config, out=out, pipeline_path=pipeline, documents_dir=documents_dir
    )
    # Chosen and checked here, so that every issue is printed before any request is sent.
    tax = chosen_taxonomy(
        taxonomy,
        config,
        subtree=subtree,
        changed_since=changed_since,
        skip_invalid=True,
        documents=documents,
    )
    report_issues(tax, skip_invalid=skip_invalid)
    entry = generate_sync(
        tax,
        config,
        out,
        pipeline_path=pipeline,
        skip_invalid=skip_invalid,
        documents_dir=documents_dir,
    )
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
