"""``synthloom curate``: dedup, decontaminate and redact a dataset into an output folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from synthloom.cli import app
from synthloom.cli.command import Command
from synthloom.cli.options import (
    Embedder,
    ExecutorFlags,
    Ner,
    Out,
    Quiet,
    Seed,
    executor_options,
    fraction,
    number_option,
    positive_int,
    split_list,
)


def print_curate_summary(result: Any) -> None:
    """The per-stage table (the same rows as run.json's ``stages``)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"curate: {result.records_in} in, {result.records_out} out")
    for column in ("stage", "in", "kept", "dropped", "changed", "seconds"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for s in result.stages:
        table.add_row(
            s.stage,
            str(s.records_in),
            str(s.kept),
            str(s.dropped),
            str(s.changed),
            f"{s.seconds:.2f}",
        )
    console = Console()
    console.print(table)
    console.print(f"wrote {result.data_path} (rejects.jsonl, changes.jsonl, run.json beside it)")


def _names(flag: str, help: str, metavar: str, default: str = "") -> Any:
    """A list of names, by repeating the flag or as a comma list (as these took before)."""
    shown = f" (default: {default})" if default else ""
    return typer.Option(
        flag, metavar=metavar, help=f"{help}; repeat the flag or give a comma list{shown}."
    )


@app.command(cls=Command)
@executor_options("actors")
def curate(
    input_path: Annotated[
        Path, typer.Argument(metavar="IN", help="Records (JSONL, JSON, Parquet).")
    ],
    out: Out,
    dedup: Annotated[
        list[str] | None,
        _names(
            "--dedup",
            "Dedup steps: exact, minhash, semantic ('' for none)",
            "STEP",
            "exact,minhash",
        ),
    ] = None,
    threshold: Annotated[
        float, number_option(fraction(), "--threshold", "MinHash Jaccard threshold (0, 1].")
    ] = 0.8,
    num_perm: Annotated[
        int, number_option(positive_int(), "--num-perm", "MinHash permutations.")
    ] = 128,
    shingle: Annotated[
        str, typer.Option("--shingle", help="Shingles: char or word n-grams.")
    ] = "char",
    shingle_size: Annotated[
        int, number_option(positive_int(), "--shingle-size", "Characters or words a shingle.")
    ] = 5,
    semantic_threshold: Annotated[
        float,
        number_option(
            fraction(), "--semantic-threshold", "Cosine similarity for semantic duplicates."
        ),
    ] = 0.95,
    embedder: Embedder = "auto",
    decontaminate: Annotated[
        list[Path] | None,
        typer.Option(
            "--decontaminate",
            help="Benchmark file (JSONL, Parquet, CSV); repeat the flag for several.",
        ),
    ] = None,
    bench_field: Annotated[
        list[str] | None,
        _names("--bench-field", "Benchmark text fields", "FIELD", "text"),
    ] = None,
    bench_id: Annotated[
        str | None, typer.Option("--bench-id", metavar="FIELD", help="Benchmark item id field.")
    ] = None,
    decontam_ngram: Annotated[
        int, number_option(positive_int(), "--ngram", "Decontamination n-gram (tokens).")
    ] = 13,
    contaminated: Annotated[
        str, typer.Option("--contaminated", help="drop | flag: what to do with a hit.")
    ] = "drop",
    pii: Annotated[
        str | None,
        typer.Option("--pii", help="redact | mask | hash | replace: what to do with PII."),
    ] = None,
    pii_types: Annotated[
        list[str] | None, _names("--pii-types", "PII types to look for", "TYPE", "all")
    ] = None,
    ner: Ner = "auto",
    pii_salt_env: Annotated[
        str,
        typer.Option(
            "--pii-salt-env",
            metavar="NAME",
            help="Environment variable holding the secret salt for --pii hash/replace.",
        ),
    ] = "SYNTHLOOM_PII_SALT",
    roles: Annotated[
        list[str] | None,
        _names("--roles", "Turns to curate: system, user, assistant, tool", "ROLE", "all"),
    ] = None,
    case_sensitive: Annotated[
        bool, typer.Option("--case-sensitive", help="Exact dedup keeps case.")
    ] = False,
    strip_punctuation: Annotated[
        bool, typer.Option("--strip-punctuation", help="Exact dedup ignores punctuation.")
    ] = False,
    score_key: Annotated[
        str,
        typer.Option("--score-key", help="Meta key (dotted) whose highest value survives dedup."),
    ] = "score",
    fmt: Annotated[str, typer.Option("--format", help="parquet | jsonl.")] = "parquet",
    seed: Seed = 0,
    quiet: Quiet = False,
    flags: ExecutorFlags = ExecutorFlags(),
) -> int:
    """Dedup, decontaminate and redact IN into OUT.

    Dedup is exact, MinHash and semantic; on --executor ray the MinHash step runs as Ray
    tasks (the same result)."""
    from synthloom.card import export_card
    from synthloom.engine.storage import check_output_dir, refuse_url

    refuse_url(out)
    check_output_dir(out)
    from synthloom.curate import CurateOptions, curate_file
    from synthloom.recipes.executor import ExecutorSettings

    where = flags.over(ExecutorSettings())

    options = CurateOptions(
        dedup=split_list(dedup) if dedup is not None else ["exact", "minhash"],
        roles=split_list(roles) if roles is not None else None,
        case_sensitive=case_sensitive,
        strip_punctuation=strip_punctuation,
        score_key=score_key,
        threshold=threshold,
        num_perm=num_perm,
        shingle=shingle,  # type: ignore[arg-type]  # checked by the stage
        shingle_size=shingle_size,
        semantic_threshold=semantic_threshold,
        embedder=embedder,  # type: ignore[arg-type]
        decontaminate=list(decontaminate or []),
        bench_fields=split_list(bench_field or ["text"]),
        bench_id_field=bench_id,
        decontam_ngram=decontam_ngram,
        contaminated=contaminated,  # type: ignore[arg-type]
        pii=pii,  # type: ignore[arg-type]
        pii_types=split_list(pii_types) if pii_types is not None else None,
        ner=ner,  # type: ignore[arg-type]
        pii_salt_env=pii_salt_env,
        format=fmt,  # type: ignore[arg-type]
        seed=seed,
        executor=where.name,
        ray_address=where.ray_address,
        actors=where.actors,
    )
    if pii in ("hash", "replace") and not os.environ.get(pii_salt_env):
        print(
            f"synthloom curate: note: ${pii_salt_env} is not set, so --pii {pii} is unsalted: "
            "anyone can recover a hashed phone or card number by trying every number",
            file=sys.stderr,
        )
    from synthloom.engine.ray_executor import quiet_ray

    quiet_ray(quiet)
    result = curate_file(input_path, out, options)
    export_card(out)  # README.md: the dataset card of the curated data
    if not quiet:
        print_curate_summary(result)
    return 0
