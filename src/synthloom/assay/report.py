"""The assay's HTML report: one self-contained file.

Plots are drawn with matplotlib and embedded as base64 PNG data (their metadata stripped), so
the page loads nothing from anywhere; every piece of dataset text goes through Jinja's
autoescaping. A plot that cannot be drawn is replaced by its error message.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from synthloom.assay.findings import Finding, Findings, find_problems
from synthloom.pii import PiiScanner, redact
from synthloom.records import day_numbers

__all__ = [
    "HeatCell",
    "Heatmap",
    "add_plot",
    "column_distributions_figure",
    "correlation_heatmaps",
    "masked_top_values",
    "pii_mask",
    "render_report",
    "report_findings",
    "tail_coverage_figure",
    "template_environment",
]

_TEMPLATES = Path(__file__).parent / "templates"
_REAL = "#4c72b0"
_SYN = "#dd8452"
_MAX_COLUMN_PLOTS = 24
#: Characters of a column name shown in a correlation table's header (the rest on hover).
_HEAT_LABEL = 16


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(width, height), dpi=90)
    return fig


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def add_plot(
    plots: dict[str, str], errors: dict[str, str], name: str, fn: Callable[[], Any]
) -> None:
    """Draw ``fn()`` into ``plots[name]`` as PNG data, or its error into ``errors[name]``."""
    try:
        fig = fn()
    except Exception as exc:  # a plot must never fail the report
        errors[name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        return
    if fig is not None:
        plots[name] = _png(fig)


_plot = add_plot


def _short(label: Any, width: int = 28) -> str:
    text = str(label)
    return text if len(text) <= width else text[: width - 1] + "…"


def _grid(count: int, ncols: int, width: float, height: float) -> tuple[Any, list[Any]]:
    """A figure with ``count`` panels, ``ncols`` a row, each ``width`` x ``height`` inches."""
    nrows = math.ceil(count / ncols)
    fig = _figure(width * ncols, height * nrows)
    return fig, [fig.add_subplot(nrows, ncols, i + 1) for i in range(count)]


def _category_shares(values: pd.Series) -> pd.Series:
    """Each value's share, missing values as a category of their own."""
    text = values.astype("object").where(values.notna(), "(missing)").astype(str)
    return text.value_counts(normalize=True)


def _bar_pairs(
    ax: Any, labels: list[Any], reference: list[float], synthetic: list[float], width: int
) -> None:
    """Reference and synthetic bars side by side, one pair a label (cut to ``width``)."""
    x = np.arange(len(labels))
    ax.bar(x - 0.2, reference, 0.4, color=_REAL, label="reference")
    ax.bar(x + 0.2, synthetic, 0.4, color=_SYN, label="synthetic")
    ax.set_xticks(x, [_short(lbl, width) for lbl in labels], rotation=35, ha="right", fontsize=7)


def column_distributions_figure(
    reference: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, str],
    mask: Callable[[list[str]], list[str]],
) -> Any:
    """Histograms (numbers, dates) and bars (categories, labels through ``mask``), a panel a
    column (None when there is none)."""
    columns = [c for c, k in kinds.items() if k != "id"][:_MAX_COLUMN_PLOTS]
    if not columns:
        return None
    fig, grid = _grid(len(columns), 3, 4.2, 2.6)
    for col, ax in zip(columns, grid, strict=True):
        kind = kinds[col]
        real, syn = reference[col], synthetic[col]
        if kind in ("numerical", "datetime"):
            if kind == "datetime":
                r, s = day_numbers(real).dropna(), day_numbers(syn).dropna()
            else:
                r = pd.to_numeric(real, errors="coerce").dropna()
                s = pd.to_numeric(syn, errors="coerce").dropna()
            if len(r) == 0:
                ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
            else:
                lo, hi = float(np.nanmin(r)), float(np.nanmax(r))
                if len(s):
                    lo, hi = min(lo, float(s.min())), max(hi, float(s.max()))
                bins = np.linspace(lo, hi if hi > lo else lo + 1, 31)
                ax.hist(r, bins=bins, density=True, alpha=0.55, color=_REAL, label="reference")
                if len(s):
                    ax.hist(s, bins=bins, density=True, alpha=0.55, color=_SYN, label="synthetic")
        else:
            rc, sc = _category_shares(real), _category_shares(syn)
            cats = list(rc.index[:8]) + [c for c in sc.index[:8] if c not in rc.index[:8]][:4]
            ref_bars, syn_bars = [rc.get(c, 0.0) for c in cats], [sc.get(c, 0.0) for c in cats]
            _bar_pairs(ax, mask([str(c) for c in cats]), ref_bars, syn_bars, 12)
        ax.set_title(_short(col, 40), fontsize=9)
        ax.tick_params(labelsize=7)
        if ax is grid[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class HeatCell:
    """One cell of a correlation table: its text and colours."""

    text: str
    background: str
    color: str
    title: str


@dataclass(frozen=True)
class Heatmap:
    """A correlation matrix drawn as an HTML table: short labels, full names as tooltips."""

    title: str
    labels: list[tuple[str, str]]  # (shown, full name)
    rows: list[list[HeatCell]]


def _cell_colors(value: float | None) -> tuple[str, str]:
    if value is None or not math.isfinite(value):
        return "#eeeeee", "#777777"
    import matplotlib

    red, green, blue, _ = matplotlib.colormaps["RdBu_r"]((max(-1.0, min(1.0, value)) + 1) / 2)
    background = f"#{int(red * 255):02x}{int(green * 255):02x}{int(blue * 255):02x}"
    # Dark text on light cells, white on saturated ones.
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return background, "#111111" if luminance > 0.5 else "#ffffff"


def correlation_heatmaps(corr: Mapping[str, Any]) -> list[Heatmap]:
    """The reference, synthetic and difference matrices as tables for the report.

    HTML rather than a picture: a picture of 20 columns' names overlaps or shrinks them
    unreadable; a table sizes its cells to the (cut) labels and shows the full name on hover.
    """
    columns = [str(c) for c in corr.get("columns") or []]
    if len(columns) < 2:
        return []
    labels = [(_short(c, _HEAT_LABEL), c) for c in columns]
    maps = []
    for key, title in (
        ("real", "reference"),
        ("synthetic", "synthetic"),
        ("difference", "synthetic − reference"),
    ):
        rows = []
        for row_name, row in zip(columns, corr.get(key) or [], strict=False):
            cells = []
            for col_name, value in zip(columns, row, strict=False):
                number = None if value is None else float(value)
                background, color = _cell_colors(number)
                # Two decimals, and no "-0.00": the table is read by colour and sign.
                shown = "–" if number is None or not math.isfinite(number) else f"{number:.2f}"
                shown = "0.00" if shown == "-0.00" else shown
                cells.append(
                    HeatCell(shown, background, color, f"{row_name} × {col_name}: {shown}")
                )
            rows.append(cells)
        maps.append(Heatmap(title, labels, rows))
    return maps


def _embedding_map(reference: np.ndarray, synthetic: np.ndarray, seed: int = 0) -> Any:
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    cap = 3000
    r = (
        reference[rng.choice(len(reference), cap, replace=False)]
        if len(reference) > cap
        else reference
    )
    s = (
        synthetic[rng.choice(len(synthetic), cap, replace=False)]
        if len(synthetic) > cap
        else synthetic
    )
    both = np.vstack([r, s])
    if both.shape[0] < 3:
        return None
    xy = PCA(n_components=2, random_state=seed).fit_transform(both)
    fig = _figure(5.5, 4.5)
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(xy[: len(r), 0], xy[: len(r), 1], s=6, alpha=0.5, color=_REAL, label="reference")
    ax.scatter(xy[len(r) :, 0], xy[len(r) :, 1], s=6, alpha=0.5, color=_SYN, label="synthetic")
    ax.set_title("embedding map (PCA of sentence embeddings)", fontsize=9)
    ax.legend(fontsize=8)
    return fig


def _paired_bars(
    labels: list[str], reference: list[float | None], synthetic: list[float | None], title: str
) -> Any:
    if not labels:
        return None
    fig = _figure(max(4.5, 0.6 * len(labels) + 2), 3.2)
    ax = fig.add_subplot(1, 1, 1)
    _bar_pairs(ax, labels, [v or 0.0 for v in reference], [v or 0.0 for v in synthetic], 18)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return fig


def _representation(axes: Mapping[str, Any]) -> Any:
    names = [a for a, v in axes.items() if v.get("reference_share") or v.get("synthetic_share")]
    if not names:
        return None
    fig, grid = _grid(len(names), 2, 5.5, 2.8)
    for axis, ax in zip(names, grid, strict=True):
        data = axes[axis]
        ref = data.get("reference_share") or {}
        syn = data.get("synthetic_share") or {}
        groups = sorted(set(ref) | set(syn))
        _bar_pairs(ax, groups, [ref.get(g, 0) for g in groups], [syn.get(g, 0) for g in groups], 14)
        ax.set_title(axis.replace("_", " "), fontsize=9)
        if ax is grid[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def tail_coverage_figure(tails: Mapping[str, Any]) -> Any:
    """The bar chart of tail coverage (None when there is nothing to draw)."""
    labels: list[str] = []
    values: list[float] = []

    def add(label: str, value: Any) -> None:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            labels.append(label)
            values.append(float(value))

    add("rare n-grams", (tails.get("ngrams") or {}).get("coverage"))
    add("common n-grams", (tails.get("ngrams") or {}).get("common_coverage"))
    add("rare clusters", (tails.get("clusters") or {}).get("coverage"))
    numeric = tails.get("numeric") or {}
    for col, item in (numeric.get("columns") or {}).items():
        if isinstance(item, Mapping):
            # Both sides, so a lost upper tail is visible next to a full lower one.
            add(f"lower tail {col}", item.get("lower_coverage"))
            add(f"upper tail {col}", item.get("upper_coverage"))
    categories = tails.get("categories") or {}
    for col, item in (categories.get("columns") or {}).items():
        if isinstance(item, Mapping):
            add(f"rare cat. {col}", item.get("coverage"))
    if not labels:
        return None
    fig = _figure(max(4.5, 0.45 * len(labels) + 2), 3.4)
    ax = fig.add_subplot(1, 1, 1)
    colors = ["#c44e52" if v < 0.5 else "#55a868" for v in values]
    ax.bar(range(len(labels)), values, color=colors)
    for x, value in enumerate(values):
        # Every bar gets its number; a bar of height 0 is invisible without a marker of its own.
        if value == 0:
            ax.plot([x - 0.4, x + 0.4], [0.0, 0.0], color="#c44e52", lw=3, solid_capstyle="butt")
        ax.text(
            x,
            value + 0.02,
            "0" if value == 0 else f"{value:.2f}",
            ha="center",
            va="bottom",
            fontsize=7,
            color="#a4262c" if value == 0 else "#333333",
            fontweight="bold" if value == 0 else "normal",
        )
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_ylim(0, 1.15)
    ax.set_xticks(
        range(len(labels)), [_short(lbl, 22) for lbl in labels], rotation=35, ha="right", fontsize=7
    )
    ax.set_title(
        "tail coverage (1 = the synthetic data keeps the reference's rare content)", fontsize=9
    )
    return fig


def _diversity_plot(diversity: Mapping[str, Any]) -> Any:
    syn = diversity.get("synthetic") or {}
    ref = diversity.get("reference") or {}
    keys = [
        k
        for k in (
            "distinct_1",
            "distinct_2",
            "distinct_3",
            "compression_ratio",
            "self_bleu",
            "near_duplicate_rate",
        )
        if isinstance(syn.get(k), (int, float)) or isinstance(ref.get(k), (int, float))
    ]
    return _paired_bars(
        keys,
        [ref.get(k) for k in keys],
        [syn.get(k) for k in keys],
        "diversity (synthetic vs reference)",
    )


def render_report(metrics: Mapping[str, Any], extras: Mapping[str, Any] | None = None) -> str:
    """Render the report page for a metrics dict (plus the raw data the plots need)."""
    extras = extras or {}
    plots: dict[str, str] = {}
    plot_errors: dict[str, str] = {}
    tables = extras.get("tables")
    kinds = extras.get("kinds") or {}
    mask = pii_mask(metrics)
    if tables is not None:
        _plot(
            plots,
            plot_errors,
            "distributions",
            lambda: column_distributions_figure(tables[0], tables[1], kinds, mask),
        )
    fidelity = metrics.get("fidelity") or {}
    embeddings = extras.get("embeddings")
    if embeddings is not None:
        _plot(
            plots,
            plot_errors,
            "embedding_map",
            lambda: _embedding_map(embeddings[0], embeddings[1]),
        )
    diversity = metrics.get("diversity") or {}
    _plot(plots, plot_errors, "diversity", lambda: _diversity_plot(diversity))
    bias = metrics.get("bias") or {}
    if bias.get("axes"):
        _plot(plots, plot_errors, "representation", lambda: _representation(bias["axes"]))
    sensitive = bias.get("sensitive") or {}
    if sensitive:
        _plot(plots, plot_errors, "sensitive", lambda: _representation(sensitive))
    _plot(plots, plot_errors, "tails", lambda: tail_coverage_figure(metrics.get("tails") or {}))

    env = template_environment()
    env.tests["number"] = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
    template = env.get_template("report.html.j2")
    return template.render(
        m=metrics,
        plots=plots,
        plot_errors=plot_errors,
        findings=report_findings(metrics),
        heatmaps=correlation_heatmaps(fidelity.get("correlation") or {}),
        top_values=masked_top_values(fidelity.get("summary") or {}, mask),
    )


def pii_mask(metrics: Mapping[str, Any]) -> Callable[[list[str]], list[str]]:
    """A function that replaces the personal data in texts by its type (``[EMAIL]``).

    The privacy section's scanner (names and places only where the assay used the NER model),
    so a value masked there is not shown in clear in a table or a plot's labels.
    """
    ner = bool(((metrics.get("privacy") or {}).get("pii") or {}).get("ner"))
    scanner = PiiScanner(ner="auto" if ner else "off")

    def mask(texts: list[str]) -> list[str]:
        found = scanner.scan_many(texts)
        return [
            redact(text, matches, "redact") if matches else text
            for text, matches in zip(texts, found, strict=True)
        ]

    return mask


def masked_top_values(
    summary: Mapping[str, Any], mask: Callable[[list[str]], list[str]]
) -> dict[str, dict[str, list[tuple[str, float]]]]:
    """The top values of each column and side (``summary[column][side]["top"]``), masked."""
    cells = [
        (column, side, str(value), share)
        for column, sides in summary.items()
        for side in ("real", "synthetic")
        for value, share in (((sides or {}).get(side) or {}).get("top") or {}).items()
    ]
    out: dict[str, dict[str, list[tuple[str, float]]]] = {}
    shown = mask([value for _, _, value, _ in cells])
    for (column, side, _, share), text in zip(cells, shown, strict=True):
        out.setdefault(column, {}).setdefault(side, []).append((text, share))
    return out


def report_findings(metrics: Mapping[str, Any]) -> Findings:
    """The findings metrics.json holds (or, for metrics written before findings existed,
    those its numbers give now)."""
    stored = metrics.get("findings")
    counts = metrics.get("finding_counts") or {}
    if isinstance(stored, list) and isinstance(counts.get("checks"), int):
        return Findings([Finding(**item) for item in stored], counts["checks"])
    return find_problems(metrics)


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.3e}"
        return f"{value:.{digits}f}"
    return str(value)


def _pct(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "–"
    return f"{100 * value:.1f}%"


def template_environment() -> Environment:
    """The Jinja environment of the report pages: the assay's templates, HTML autoescaping,
    and the ``num`` and ``pct`` number formats."""
    env = Environment(
        loader=FileSystemLoader(str(_TEMPLATES)),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _num
    env.filters["pct"] = _pct
    return env
