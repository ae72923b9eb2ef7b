"""``synthloom assay``: measure a synthetic dataset against real data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthloom.cli import app
from synthloom.cli.command import Command
from synthloom.cli.options import (
    Embedder,
    ExecutorFlags,
    Kinds,
    Ner,
    Number,
    Out,
    Quiet,
    Seed,
    Sensitive,
    executor_options,
    number_option,
    positive_int,
)
from synthloom.errors import InputError


@app.command(cls=Command)
@executor_options()
def assay(
    synthetic: Annotated[
        Path, typer.Argument(help="The synthetic dataset (JSONL, JSON, Parquet, CSV).")
    ],
    out: Out,
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference",
            "-r",
            help="The real dataset to compare with (optional for preference data: a human "
            "preference set whose numbers then stand side by side).",
        ),
    ] = None,
    private: Annotated[
        list[Path] | None,
        typer.Option(
            "--private",
            help="Documents or records the synthetic data must not copy; repeat the flag "
            "for several.",
        ),
    ] = None,
    gate: Annotated[
        Path | None, typer.Option("--gate", help="YAML of thresholds on metrics.json paths.")
    ] = None,
    sensitive: Sensitive = None,
    embedder: Embedder = "auto",
    ner: Ner = "auto",
    show_pii: Annotated[
        bool,
        typer.Option(
            "--show-pii",
            help="Also write every PII hit, unmasked, with its record and offsets, to "
            "OUT/pii_examples.jsonl (for the data owner; without it nothing unmasked is written).",
        ),
    ] = False,
    lexicon: Annotated[
        Path | None,
        typer.Option("--lexicon", help="A demographic lexicon YAML to use instead of synthloom's."),
    ] = None,
    kinds: Kinds = None,
    fidelity_binning: Annotated[
        str,
        typer.Option(
            "--fidelity-binning",
            help="real | report: bin numeric columns of mixed pairs on the reference's "
            "edges (default), or each side on its own edges to reproduce SDMetrics 0.32's "
            "QualityReport.",
        ),
    ] = "real",
    sample: Annotated[
        int | None,
        number_option(
            positive_int(),
            "--sample",
            "Records per side the costly instruction metrics (embeddings, Vendi, NER) are "
            "computed on, drawn with --seed, each with a bootstrap interval (default 5000; "
            "a smaller side is not sampled).",
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option("--full", help="Compute every metric on all records (no sampling)."),
    ] = False,
    seed: Seed = 0,
    processes: Annotated[
        int,
        number_option(
            Number(int, low=1, high=2),
            "--processes",
            "2: read the reference side of instruction data, and compute its exact text "
            "measures, in a second process while this one works (same numbers; the "
            "reference's texts are then held twice).",
        ),
    ] = 1,
    flags: ExecutorFlags = ExecutorFlags(),
    quiet: Quiet = False,
) -> int:
    """Measure SYNTHETIC against REFERENCE and check a gate.

    Preference pairs (TRL's prompt/chosen/rejected, a Nemotron run) are found by themselves and
    get the preference.* numbers: length bias, margins, near-identical pairs, refusals, format
    markers, prompt coverage.

    Fidelity, diversity, privacy, bias and tail coverage into report.html and metrics.json;
    on --executor ray the per-record features and MiniLM embeddings of instruction data, and
    the per-pair measures of preference data, run as Ray tasks. Exit 1 when a --gate
    threshold is not met."""
    from synthloom.engine.storage import check_output_dir, refuse_url

    if full and sample is not None:
        raise InputError(
            "--full computes on all records and --sample on a sample; give one of them",
            field="--full",
        )
    refuse_url(out)
    check_output_dir(out)
    from synthloom.assay import AssayOptions, run_assay
    from synthloom.assay.sampling import DEFAULT_SAMPLE_SIZE
    from synthloom.assay.summary import print_summary
    from synthloom.cli.progress import assay_progress
    from synthloom.engine.ray_executor import quiet_ray
    from synthloom.recipes.executor import ExecutorSettings

    where = flags.over(ExecutorSettings())

    quiet_ray(quiet)
    with assay_progress(quiet) as on_progress:
        result = run_assay(
            synthetic,
            reference,
            out,
            AssayOptions(
                private=list(private or []),
                gate=gate,
                sensitive=list(sensitive or []),
                embedder=embedder,
                executor=where.name,
                ray_address=where.ray_address,
                ner=ner,
                show_pii=show_pii,
                lexicon=lexicon,
                kinds=kinds,
                fidelity_binning=fidelity_binning,
                seed=seed,
                sample=None if full else (sample or DEFAULT_SAMPLE_SIZE),
                processes=processes,
                on_progress=on_progress,
            ),
        )
    if not quiet:
        print_summary(result)
    return result.exit_code
