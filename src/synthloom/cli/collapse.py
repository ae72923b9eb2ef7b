"""``synthloom collapse``: train models on their own output, generation after generation."""

from __future__ import annotations

from pathlib import Path

import typer

from synthloom.cli import app
from synthloom.cli.options import non_negative_int, positive_float, positive_int


@app.command()
def collapse(
    out: Path = typer.Option(..., "--out", "-o", help="Folder for metrics.json and report.html."),
    data: Path | None = typer.Option(
        None,
        "--data",
        help="Real data: .txt, instruction records or a table (default: pydoc_data.topics).",
    ),
    family: str = typer.Option("ngram", "--family", "-f", help="gaussian | gmm | ngram | lstm"),
    generations: int = typer.Option(
        10,
        "--generations",
        "-g",
        parser=positive_int(),
        metavar="INTEGER",
        help="Generations after the first.",
    ),
    mode: list[str] = typer.Option(
        ["replace"],
        "--mode",
        "-m",
        help="replace | mix:<fraction> | accumulate (repeat, or separate with commas).",
    ),
    samples: int = typer.Option(
        1000,
        "--samples",
        "-n",
        parser=positive_int(),
        metavar="INTEGER",
        help="Samples drawn per generation.",
    ),
    seed: int = typer.Option(
        0,
        "--seed",
        parser=non_negative_int(),
        metavar="INTEGER",
        help="Seed for every random step.",
    ),
    order: int = typer.Option(
        3,
        "--order",
        parser=positive_int(),
        metavar="INTEGER",
        help="n of the n-gram model (and of the tail n-grams).",
    ),
    temperature: float = typer.Option(
        1.0,
        "--temperature",
        parser=positive_float(),
        metavar="FLOAT",
        help="Sampling temperature (text).",
    ),
    components: int = typer.Option(
        3,
        "--components",
        parser=positive_int(),
        metavar="INTEGER",
        help="Mixture components (gmm).",
    ),
    columns: list[str] = typer.Option([], "--column", help="Numeric table column (repeatable)."),
    text_column: str | None = typer.Option(None, "--text-column", help="Table column of text."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing on success."),
) -> int:
    """Train on REAL, then on samples, G times; plot per-generation metrics for each mode."""
    from synthloom.engine.storage import check_output_dir, refuse_url

    refuse_url(out)
    check_output_dir(out)
    from synthloom.collapse import CollapseOptions, run_collapse, write_report

    modes = tuple(part for item in mode for part in item.split(",") if part.strip())
    options = CollapseOptions(
        data=data,
        family=family,
        generations=generations,
        modes=modes,
        samples=samples,
        seed=seed,
        order=order,
        temperature=temperature,
        components=components,
        columns=tuple(columns),
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
