"""``synthloom assay``: measure a synthetic dataset against real data."""

from __future__ import annotations

from pathlib import Path

import typer

from synthloom.cli import app


@app.command()
def assay(
    synthetic: Path = typer.Argument(
        ..., help="The synthetic dataset (JSONL, JSON, Parquet, CSV)."
    ),
    reference: Path = typer.Option(
        ..., "--reference", "-r", help="The real dataset to compare with."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for report.html and metrics.json."),
    private: list[Path] = typer.Option(
        [], "--private", help="Documents or records the synthetic data must not copy (repeatable)."
    ),
    gate: Path | None = typer.Option(
        None, "--gate", help="YAML of thresholds on metrics.json paths."
    ),
    sensitive: list[str] = typer.Option(
        [], "--sensitive", help="Table columns whose categories must be represented (repeatable)."
    ),
    embedder: str = typer.Option(
        "auto", "--embedder", help="auto | minilm | tfidf: the sentence-embedding model to use."
    ),
    ner: str = typer.Option(
        "auto",
        "--ner",
        help="auto | on | off: find person names and locations with an NER model (pii extra).",
    ),
    lexicon: Path | None = typer.Option(
        None, "--lexicon", help="A demographic lexicon YAML to use instead of synthloom's."
    ),
    kinds: Path | None = typer.Option(
        None,
        "--kinds",
        help="YAML/JSON mapping column -> kind (numerical, datetime, categorical, boolean, id) "
        "to override the kinds detected from the reference.",
    ),
    fidelity_binning: str = typer.Option(
        "real",
        "--fidelity-binning",
        help="real | report: bin numeric columns of mixed pairs on the reference's edges "
        "(default), or each side on its own edges to reproduce SDMetrics 0.32's QualityReport.",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for every sampled step."),
    executor: str = typer.Option(
        "local",
        "--executor",
        help="local | ray: instruction-data features and MiniLM embeddings as Ray tasks.",
    ),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Ray cluster to join (default: RAY_ADDRESS, else local)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only errors and the gate."),
) -> int:
    """Measure SYNTHETIC against REFERENCE: fidelity, diversity, privacy, bias, tails, gate."""
    from synthloom.engine.storage import check_output_dir, refuse_url

    refuse_url(out)
    check_output_dir(out)
    from synthloom.assay import AssayOptions, run_assay
    from synthloom.assay.summary import print_summary
    from synthloom.engine.ray_executor import quiet_ray

    quiet_ray(quiet)
    result = run_assay(
        synthetic,
        reference,
        out,
        AssayOptions(
            private=list(private),
            gate=gate,
            sensitive=list(sensitive),
            embedder=embedder,
            executor=executor,
            ray_address=ray_address,
            ner=ner,
            lexicon=lexicon,
            kinds=kinds,
            fidelity_binning=fidelity_binning,
            seed=seed,
        ),
    )
    if not quiet:
        print_summary(result)
    return result.exit_code
