"""A short terminal summary of an assay (the CLI prints it; the library never prints)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from synthloom.assay.findings import metric_at
from synthloom.assay.options import AssayResult
from synthloom.assay.report import report_findings

__all__ = ["print_summary", "summary_rows"]


_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


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
        value = metric_at(metrics, path)
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
    findings = report_findings(result.metrics)
    console.print(f"[bold]findings[/bold]: {escape(findings.headline())}")
    for finding in findings.items:
        style = _SEVERITY_STYLE[finding.severity]
        console.print(
            f"  [{style}]{finding.severity}[/{style}] {escape(finding.message)}"
            f" [dim]({escape(finding.where)})[/dim]"
        )
    console.print(escape(f"report: {result.out / 'report.html'}"))
    console.print(escape(f"metrics: {result.out / 'metrics.json'}"))
    if result.gate_results is not None:
        if result.gate_failures:
            console.print("[bold red]gate not met[/bold red]:")
            for failure in result.gate_failures:
                console.print(f"  - {escape(failure)}")
        else:
            console.print("[bold green]gate met[/bold green]")
