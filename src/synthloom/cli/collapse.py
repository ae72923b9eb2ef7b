"""``synthloom collapse``: train models on their own output, generation after generation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from synthloom.cli import app
from synthloom.cli.command import Command
from synthloom.cli.options import (
    Out,
    Quiet,
    Seed,
    number_option,
    positive_float,
    positive_int,
    split_list,
)


def _count(flag: str, short: str | None, help: str) -> Any:
    return number_option(positive_int(), flag, help, *([short] if short else []))


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
    generations: Annotated[int, _count("--generations", "-g", "Generations after the first.")] = 10,
    mode: Annotated[
        list[str] | None,
        typer.Option(
            "--mode",
            "-m",
            help="replace | mix:<fraction> | accumulate; repeat the flag (or give a comma "
            "list) for several.  [default: replace]",
        ),
    ] = None,
    samples: Annotated[int, _count("--samples", "-n", "Samples drawn per generation.")] = 1000,
    seed: Seed = 0,
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
    """Train on real data, then on its own samples, G times.

    For each mode, a model is trained on the real data, then G times on samples of the
    previous generation; per-generation metrics go to metrics.json and a plotted report."""
    from synthloom.engine.storage import check_output_dir, refuse_url

    refuse_url(out)
    check_output_dir(out)
    from synthloom.collapse import CollapseOptions, run_collapse, write_report

    options = CollapseOptions(
        data=data,
        family=family,
        generations=generations,
        modes=tuple(split_list(mode or ["replace"])),
        samples=samples,
        seed=seed,
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
        typer.echo(f"generation {options.generations} of {family} on {result.data['source']}:")
        typer.echo("  " + " ".join(f"{n:>14}" for n in ["mode", *metric_names]))
        first = result.curves[next(iter(result.curves))][0]
        rows = [("generation 0", first)]
        rows += [(name, curve[-1]) for name, curve in result.curves.items()]
        for label, row in rows:
            values = " ".join(f"{row[n]:>14.4g}" for n in metric_names)
            typer.echo(f"  {label:>14} {values}")
        typer.echo(f"wrote {json_path} and {html_path}")
    return 0
