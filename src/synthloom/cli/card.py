"""``synthloom card``: write the Hugging Face dataset card of a run, an export or a data file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from synthloom.cli import app
from synthloom.cli.command import Command

# A Hub license id or an SPDX-like id: lower-case words, digits, dots, dashes, plus signs.
_LICENSE = re.compile(r"^[a-z0-9][a-z0-9.+-]*$")
# ISO 639-1 / 639-3 codes, optionally with a region (BCP 47: en, fra, pt-BR).
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def _license(value: str) -> str:
    if not _LICENSE.match(value):
        raise typer.BadParameter(
            f"'{value}' is not a license id; use the Hub's ids (apache-2.0, mit, cc-by-4.0, "
            "llama3.1, other, ...)"
        )
    return value


def _language(value: str) -> str:
    if not _LANGUAGE.match(value):
        raise typer.BadParameter(f"'{value}' is not a language code; use ISO 639 (en, fr, de)")
    return value


@app.command(cls=Command)
def card(
    source: Annotated[
        Path,
        typer.Argument(
            help="A run folder (complete, generate, nemotron), its export or data folder, a "
            "curate or mix folder, or a data file (.jsonl, .json, .parquet).",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="The card to write, e.g. README.md beside the data (its data_files are "
            "relative to it).",
        ),
    ],
    assay: Annotated[
        Path | None,
        typer.Option(
            "--assay",
            help="An assay folder (synthloom assay --out) whose numbers and gate go on the "
            "card; by default one that measured these files is looked for beside them.",
        ),
    ] = None,
    license_id: Annotated[
        str | None,
        typer.Option(
            "--license",
            parser=_license,
            metavar="ID",
            help="The data's license (a Hub license id); by default the card's earlier one, "
            "else a placeholder to fill.",
        ),
    ] = None,
    language: Annotated[
        list[str] | None,
        typer.Option(
            "--language",
            parser=_language,
            metavar="CODE",
            help="A language of the data (ISO 639 code); repeat for several.",
        ),
    ] = None,
) -> int:
    """Write the Hugging Face dataset card of SOURCE.

    A YAML header (configs, license, task categories, size category, tags) and how the data
    was made: models, settings, sources, steps, rejects and the assay."""
    from synthloom.card import write_card

    result = write_card(
        source, out, assay=assay, license_id=license_id, language=list(language or [])
    )
    configs = ", ".join(f"{c.name} ({c.rows})" for c in result.configs)
    made = " + ".join(result.recipes) or "no run record found"
    assayed = (
        "no assay"
        if result.assay is None
        else "assay: gate "
        + {None: "none", True: "passed", False: "NOT passed"}[result.assay.gate_passed]
    )
    typer.echo(f"wrote {out}: {result.rows} records in {configs}; {made}; {assayed}")
    if not result.license_set:
        typer.echo(
            f"synthloom card: note: the license is a placeholder: fill 'license:' in {out} "
            "or rerun with --license ID",
            err=True,
        )
    outside = [c.pattern for c in result.configs if c.pattern.startswith("../")]
    if outside:
        typer.echo(
            f"synthloom card: note: {', '.join(outside)} lie outside the card's folder: put the "
            "card beside the data (e.g. --out DATA_FOLDER/README.md) before uploading it",
            err=True,
        )
    return 0
