"""``synthloom curate``: dedup, decontaminate and redact a dataset into an output folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import typer

from synthloom.cli import app
from synthloom.cli.options import fraction, positive_int


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


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


@app.command()
def curate(
    input_path: Path = typer.Argument(..., metavar="IN", help="Records (JSONL, JSON, Parquet)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    dedup: str = typer.Option(
        "exact,minhash", "--dedup", help="Comma list of exact, minhash, semantic ('' for none)."
    ),
    threshold: float = typer.Option(
        0.8,
        "--threshold",
        parser=fraction(),
        metavar="FLOAT",
        help="MinHash Jaccard threshold (0, 1].",
    ),
    num_perm: int = typer.Option(
        128, "--num-perm", parser=positive_int(), metavar="INTEGER", help="MinHash permutations."
    ),
    shingle: str = typer.Option("char", "--shingle", help="Shingles: char or word n-grams."),
    shingle_size: int = typer.Option(
        5,
        "--shingle-size",
        parser=positive_int(),
        metavar="INTEGER",
        help="Characters or words a shingle.",
    ),
    semantic_threshold: float = typer.Option(
        0.95,
        "--semantic-threshold",
        parser=fraction(),
        metavar="FLOAT",
        help="Cosine similarity for semantic duplicates.",
    ),
    embedder: str = typer.Option("auto", "--embedder", help="auto | minilm | tfidf."),
    decontaminate: list[Path] = typer.Option(
        [], "--decontaminate", help="Benchmark file (JSONL, Parquet, CSV); repeatable."
    ),
    bench_field: str = typer.Option(
        "text", "--bench-field", help="Benchmark text field(s), comma separated."
    ),
    bench_id: str | None = typer.Option(None, "--bench-id", help="Benchmark item id field."),
    decontam_ngram: int = typer.Option(
        13,
        "--ngram",
        parser=positive_int(),
        metavar="INTEGER",
        help="Decontamination n-gram (tokens).",
    ),
    contaminated: str = typer.Option("drop", "--contaminated", help="drop | flag."),
    pii: str | None = typer.Option(None, "--pii", help="redact | mask | hash | replace."),
    pii_types: str | None = typer.Option(None, "--pii-types", help="Comma list of PII types."),
    ner: str = typer.Option("auto", "--ner", help="Names/locations via Presidio: auto|on|off."),
    pii_salt_env: str = typer.Option(
        "SYNTHLOOM_PII_SALT",
        "--pii-salt-env",
        help="Environment variable holding the secret salt for --pii hash/replace.",
    ),
    roles: str | None = typer.Option(
        None, "--roles", help="Turns to curate: comma list of system, user, assistant, tool."
    ),
    case_sensitive: bool = typer.Option(False, "--case-sensitive", help="Exact dedup keeps case."),
    strip_punctuation: bool = typer.Option(
        False, "--strip-punctuation", help="Exact dedup ignores punctuation."
    ),
    score_key: str = typer.Option(
        "score", "--score-key", help="Meta key (dotted) whose highest value survives dedup."
    ),
    fmt: str = typer.Option("parquet", "--format", help="parquet | jsonl."),
    seed: int = typer.Option(0, "--seed", help="Seed for MinHash and k-means."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
    executor: str = typer.Option(
        "local", "--executor", help="local | ray (MinHash dedup as Ray tasks; same result)."
    ),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Ray cluster to join (default: RAY_ADDRESS, else local)."
    ),
    actors: int = typer.Option(
        2,
        "--actors",
        parser=positive_int(),
        metavar="INTEGER",
        help="Ray: parallel tasks per dedup step.",
    ),
) -> int:
    """Dedup (exact, MinHash, semantic), decontaminate and redact IN into OUT."""
    from synthloom.engine.storage import check_output_dir, refuse_url

    refuse_url(out)
    check_output_dir(out)
    from synthloom.curate import CurateOptions, curate_file

    options = CurateOptions(
        dedup=_split(dedup),
        roles=_split(roles) if roles is not None else None,
        case_sensitive=case_sensitive,
        strip_punctuation=strip_punctuation,
        score_key=score_key,
        threshold=threshold,
        num_perm=num_perm,
        shingle=shingle,  # type: ignore[arg-type]  # checked by the stage
        shingle_size=shingle_size,
        semantic_threshold=semantic_threshold,
        embedder=embedder,  # type: ignore[arg-type]
        decontaminate=list(decontaminate),
        bench_fields=_split(bench_field),
        bench_id_field=bench_id,
        decontam_ngram=decontam_ngram,
        contaminated=contaminated,  # type: ignore[arg-type]
        pii=pii,  # type: ignore[arg-type]
        pii_types=_split(pii_types) if pii_types is not None else None,
        ner=ner,  # type: ignore[arg-type]
        pii_salt_env=pii_salt_env,
        format=fmt,  # type: ignore[arg-type]
        seed=seed,
        executor=executor,  # type: ignore[arg-type]  # checked by build_stages
        ray_address=ray_address,
        actors=actors,
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
    if not quiet:
        print_curate_summary(result)
    return 0
