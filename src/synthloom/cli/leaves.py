"""Shared by ``plan``, ``generate`` and ``mix``: the options that choose taxonomy leaves, the
issues of the chosen leaves, one line each on stderr, and the decision to stop (exit 2) or go on
without invalid leaves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from synthloom.errors import ConfigError

if TYPE_CHECKING:  # the taxonomy package (jsonschema) loads when a command runs, not on --help
    from synthloom.recipes.lab.config import PipelineConfig
    from synthloom.taxonomy.model import Taxonomy

__all__ = [
    "ChangedSince",
    "DocumentsDir",
    "LeafChoice",
    "Subtree",
    "TaxonomyRoot",
    "report_issues",
]

TaxonomyRoot = Annotated[Path, typer.Argument(help="InstructLab taxonomy root (qna.yaml tree).")]
Subtree = Annotated[
    str | None,
    typer.Option("--subtree", metavar="PATH", help="Only leaves under this path."),
]
ChangedSince = Annotated[
    str | None,
    typer.Option("--changed-since", metavar="REF", help="Only leaves changed since this git ref."),
]
DocumentsDir = Annotated[
    Path | None,
    typer.Option(
        "--documents-dir",
        help="Folder of local clones of document repositories, named after each URL's last "
        "part (default: the pipeline's documents_dir); no network needed when present.",
    ),
]


def report_issues(taxonomy: Taxonomy, *, skip_invalid: bool) -> None:
    """Print every issue once (never wrapped); ConfigError naming the invalid leaves' files
    when there are errors and ``skip_invalid`` is off."""
    console = Console(stderr=True, soft_wrap=True, highlight=False)
    for issue in taxonomy.issues:
        colour = "red" if issue.severity == "error" else "yellow"
        console.print(f"[{colour}]{issue.severity}:[/] {escape(str(issue))}")
    files = taxonomy.invalid
    if not files:
        return
    leaves = "1 invalid leaf" if len(files) == 1 else f"{len(files)} invalid leaves"
    if skip_invalid:
        console.print(f"skipping {leaves} (listed above); going on with the valid ones")
        return
    raise ConfigError(
        f"{leaves} ({', '.join(files)}; errors listed above); fix them, or pass "
        f"--skip-invalid to go on without them",
        path=taxonomy.root,
    )


@dataclass(frozen=True)
class LeafChoice:
    """The options that choose leaves (``--subtree``, ``--changed-since``, ``--documents-dir``,
    ``--skip-invalid``), as ``plan`` and ``generate`` take them."""

    subtree: str | None
    changed_since: str | None
    documents_dir: Path | None
    skip_invalid: bool

    def taxonomy(
        self,
        root: Path,
        config: PipelineConfig,
        *,
        pipeline: Path | None,
        out: str | Path | None,
    ) -> Taxonomy:
        """The chosen leaves of ``root``, every issue printed before anything is asked
        (:func:`report_issues`). ``out``: the run folder (clones of document URLs go there;
        None: to the user cache)."""
        # Here, not at the top: the recipes load when a command runs, not on --help.
        from synthloom.recipes.lab.select import chosen_taxonomy, document_options

        documents = document_options(
            config, out=out, pipeline_path=pipeline, documents_dir=self.documents_dir
        )
        tax = chosen_taxonomy(
            root,
            config,
            subtree=self.subtree,
            changed_since=self.changed_since,
            skip_invalid=True,
            documents=documents,
        )
        report_issues(tax, skip_invalid=self.skip_invalid)
        return tax
