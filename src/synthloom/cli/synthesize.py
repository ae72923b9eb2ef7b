"""``synthloom synthesize``: learn a real table and sample a synthetic one, DP with --epsilon."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from synthloom.cli import app
from synthloom.cli.command import Command
from synthloom.cli.options import (
    Choice,
    Kinds,
    Ner,
    Out,
    Quiet,
    Sensitive,
    non_negative_int,
    number_option,
    positive_float,
    positive_int,
    unit_interval,
)


def _number(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "-"


@app.command(cls=Command)
def synthesize(
    real: Annotated[
        Path, typer.Argument(help="The real table (CSV, TSV, Parquet, JSONL of flat objects).")
    ],
    out: Out,
    rows: Annotated[
        int | None,
        number_option(
            positive_int(),
            "--rows",
            "Synthetic rows to sample (default: as many as the real table has).",
            "-n",
        ),
    ] = None,
    method: Annotated[
        str | None,
        typer.Option(
            "--method",
            parser=Choice("copula", "dp-copula"),
            metavar="METHOD",
            help="copula (no privacy guarantee) or dp-copula (differentially private). "
            "Default: dp-copula when --epsilon is given, else copula.",
        ),
    ] = None,
    epsilon: Annotated[
        float | None,
        number_option(
            positive_float(),
            "--epsilon",
            "Privacy budget ε (> 0; smaller is more private, 1 is a common choice).",
        ),
    ] = None,
    delta: Annotated[
        float | None,
        number_option(
            unit_interval(),
            "--delta",
            "δ of (ε, δ)-DP, below 1 / rows (default 1e-9; 0: pure ε-DP, Laplace noise "
            "everywhere).",
        ),
    ] = None,
    bounds: Annotated[
        Path | None,
        typer.Option(
            "--bounds",
            help="YAML/JSON of public bounds: column -> [low, high] or {categories: [...]}. "
            "Bounds not given are read from the data, which DP does not cover.",
        ),
    ] = None,
    kinds: Kinds = None,
    sensitive: Sensitive = None,
    seed: Annotated[
        int | None,
        number_option(
            non_negative_int(),
            "--seed",
            "Seed: the same seed and input give the same table. Default: a fresh one "
            "(recorded in run.json, except for a DP run, whose noise must stay secret).",
        ),
    ] = None,
    no_assay: Annotated[
        bool, typer.Option("--no-assay", help="Skip the assay of the result against REAL.")
    ] = False,
    ner: Ner = "auto",
    quiet: Quiet = False,
) -> int:
    """Learn REAL and write a synthetic table, run.json and its assay into --out.

    A Gaussian copula; with --epsilon a differentially private one whose budget split is in
    run.json. The assay of the result (fidelity, exact copies, DCR, membership inference)
    goes to OUT/assay unless --no-assay."""
    from synthloom.engine.storage import check_output_dir, refuse_url

    refuse_url(out)
    check_output_dir(out)
    from synthloom.assay.summary import print_summary
    from synthloom.synthesize import SynthesizeOptions
    from synthloom.synthesize import synthesize as run_synthesis

    result = run_synthesis(
        real,
        out,
        SynthesizeOptions(
            rows=rows,
            method=method,
            epsilon=epsilon,
            delta=delta,
            seed=seed,
            kinds=kinds,
            bounds=bounds,
            sensitive=list(sensitive or []),
            assay=not no_assay,
            ner=ner,
        ),
    )
    if not quiet:
        run = result.run
        budget = f", ε={run['epsilon']:g}, δ={run['delta']:g}" if run["epsilon"] else ""
        typer.echo(
            f"synthesize: {run['synthetic']['rows']} rows ({run['method']}{budget}) -> "
            f"{result.synthetic}; run.json beside it"
        )
        if result.assay is not None:
            print_summary(result.assay)
            privacy = run["assay"]["privacy"]
            dcr = privacy["dcr"] or {}
            typer.echo(
                f"privacy: {privacy['exact_copies']} exact copies of real rows; distance to the "
                f"closest real row (median) {_number(dcr.get('synthetic_median'))} against "
                f"{_number(dcr.get('holdout_median'))} for held-out real rows; membership "
                f"inference AUC {_number(privacy['membership_inference_auc'])} (0.5: none)"
            )
    return 0
