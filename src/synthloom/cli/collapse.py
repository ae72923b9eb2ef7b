"""``synthloom collapse``: train models on their own output, generation after generation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from synthloom.cli import app
from synthloom.cli.command import Command
from synthloom.cli.options import (
    Number,
    Out,
    Quiet,
    Seed,
    number_option,
    positive_float,
    positive_int,
    split_list,
)

# Kept in step with synthloom.collapse.FAMILY_DEFAULTS (a test compares them); importing the
# lab here would load numpy and scikit-learn for every `synthloom --help`.
_DEFAULTS_HELP = "gaussian and gmm 30 × 10, ngram 30 × 1000, lstm 5 × 500"
_MAX_SEEDS = 1000


def _count(flag: str, short: str | None, help: str, parser: Number | None = None) -> Any:
    return number_option(parser or positive_int(), flag, help, *([short] if short else []))


@app.command(cls=Command)
def collapse(
    out: Out,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Real data: .txt, instruction records or a table (default: pydoc_data.topics).",
        ),
    ] = None,
    family: Annotated[
        str, typer.Option("--family", "-f", help="Model family: gaussian | gmm | ngram | lstm.")
    ] = "ngram",
    generations: Annotated[
        int | None,
        _count(
            "--generations",
            "-g",
            "Generations after the first.  [default: per family, generations × samples: "
            + _DEFAULTS_HELP
            + "]",
        ),
    ] = None,
    mode: Annotated[
        list[str] | None,
        typer.Option(
            "--mode",
            "-m",
            help="replace | mix:<fraction> | accumulate; repeat the flag (or give a comma "
            "list) for several; the first is compared with the others.  "
            "[default: replace, accumulate]",
        ),
    ] = None,
    samples: Annotated[
        int | None,
        _count("--samples", "-n", "Samples drawn per generation.  [default: per family]"),
    ] = None,
    seed: Seed = 0,
    seeds: Annotated[
        int | None,
        _count(
            "--seeds",
            None,
            "Whole runs, on seeds --seed, --seed + 1, ...; the report draws their mean and "
            "min–max band.  [default: 5; lstm 3]",
            Number(int, low=1, high=_MAX_SEEDS),
        ),
    ] = None,
    order: Annotated[
        int, _count("--order", None, "n of the n-gram model (and of the tail n-grams).")
    ] = 3,
    # Not the teacher's --temperature: the local model's, where 0 would divide by zero.
    temperature: Annotated[
        float,
        number_option(
            positive_float(), "--temperature", "Sampling temperature of the text models (> 0)."
        ),
    ] = 1.0,
    components: Annotated[int, _count("--components", None, "Mixture components (gmm).")] = 3,
    columns: Annotated[
        list[str] | None,
        typer.Option(
            "--column", metavar="COLUMN", help="Numeric table column; repeat for several."
        ),
    ] = None,
    text_column: Annotated[
        str | None, typer.Option("--text-column", metavar="COLUMN", help="Table column of text.")
    ] = None,
    quiet: Quiet = False,
) -> int:
    """Train on real data, then on its own samples, G times, for several seeds.

    For each seed and mode, a model is trained on the real data, then G times on samples of
    the previous generation; per-generation metrics (per seed, mean and min–max band) and a
    verdict go to metrics.json and a plotted report."""
    from synthloom.engine.storage import check_output_dir, refuse_url

    refuse_url(out)
    check_output_dir(out)
    from synthloom.collapse import CollapseOptions, run_collapse, write_report

    options = CollapseOptions(
        data=data,
        family=family,
        generations=generations,
        modes=tuple(split_list(mode or ["replace", "accumulate"])),
        samples=samples,
        seed=seed,
        seeds=seeds,
        order=order,
        temperature=temperature,
        components=components,
        columns=tuple(columns or []),
        text_column=text_column,
    )
    result = run_collapse(options)
    json_path, html_path = write_report(result, out)
    if not quiet:
        metric_names = list(result.metrics)
        config = result.config
        typer.echo(
            f"generation {config['generations']} of {family} on {result.data['source']}, "
            f"{config['samples']} samples a generation, mean over {len(result.seeds)} seed(s):"
        )
        typer.echo("  " + " ".join(f"{n:>14}" for n in ["mode", *metric_names]))
        first = result.curves[next(iter(result.curves))][0]
        rows = [("generation 0", first)]
        rows += [(name, curve[-1]) for name, curve in result.curves.items()]
        for label, row in rows:
            values = " ".join(f"{row[n]['mean']:>14.4g}" for n in metric_names)
            typer.echo(f"  {label:>14} {values}")
        for verdict in result.verdicts:
            typer.echo(verdict.text)
        typer.echo(f"wrote {json_path} and {html_path}")
    return 0
