"""A short terminal summary of an assay (the CLI prints it; the library never prints)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from synthloom.assay.options import AssayResult

__all__ = ["print_summary", "summary_rows"]


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _get(metrics: dict[str, Any], dotted: str) -> Any:
    node: Any = metrics
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def summary_rows(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """The headline numbers: (metrics.json path, formatted value)."""
    paths = [
        "fidelity.overall",
        "fidelity.column_shapes",
        "fidelity.column_pair_trends",
        "fidelity.embedding.frechet_distance",
        "fidelity.embedding.precision",
        "fidelity.embedding.recall",
        "fidelity.embedding.classifier_auc",
        "diversity.synthetic.distinct_2",
        "diversity.synthetic.self_bleu",
        "diversity.synthetic.vendi_score",
        "privacy.pii.total",
        "privacy.exact_copies.count",
        "privacy.verbatim.records_sharing_span",
        "privacy.membership_inference_auc",
        "bias.max_tvd",
        "tails.ngrams.coverage",
        "tails.clusters.coverage",
        "tails.numeric.mean_coverage",
        "preference.synthetic.length.chosen_longer_share",
        "preference.synthetic.margins.low_share",
        "preference.synthetic.similarity.near_identical",
        "preference.synthetic.answers.pairs_with_refusal",
        "preference.synthetic.prompts.duplicated",
        "preference.synthetic.flag_count",
        "preference.reference.length.chosen_longer_share",
        "preference.reference.flag_count",
    ]
    rows = []
    for path in paths:
        value = _get(metrics, path)
        if value is not None:
            rows.append((path, _fmt(value)))
    return rows


def print_summary(result: AssayResult, console: Console | None = None) -> None:
    console = console or Console(stderr=False, highlight=False)
    table = Table(title="synthloom assay", show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for path, value in summary_rows(result.metrics):
        table.add_row(escape(path), escape(value))
    console.print(table)
    preference = result.metrics.get("preference") or {}
    for side in ("synthetic", "reference"):
        for flag in (preference.get(side) or {}).get("flags") or []:
            console.print(
                f"[yellow]{side}: {escape(flag['name'])}:[/yellow] {escape(flag['message'])}"
            )
    errors = result.metrics.get("errors") or {}
    for item, message in errors.items():
        console.print(f"[yellow]not computed[/yellow] {escape(item)}: {escape(message)}")
    console.print(escape(f"report: {result.out / 'report.html'}"))
    console.print(escape(f"metrics: {result.out / 'metrics.json'}"))
    if result.gate_results is not None:
        if result.gate_failures:
            console.print("[bold red]gate not met[/bold red]:")
            for failure in result.gate_failures:
                console.print(f"  - {escape(failure)}")
        else:
            console.print("[bold green]gate met[/bold green]")
