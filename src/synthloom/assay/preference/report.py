"""The report page of a preference assay: one self-contained HTML file, as the main report.

Plots are drawn on matplotlib ``Figure`` objects (no pyplot state, so nothing leaks between
plots) and embedded as PNG data by the main report's :func:`~synthloom.assay.report.add_plot`;
a plot that cannot be drawn is replaced by its error message.
Synthetic and reference (when given) share every axis, so their shapes compare at a glance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from synthloom.assay.preference.markers import FORMAT_MARKERS
from synthloom.assay.report import add_plot, template_environment

__all__ = ["render_preference_report"]

_COLOURS = {"reference": "#4c72b0", "synthetic": "#dd8452"}


def _sides(data: Mapping[str, Mapping[str, Any]], key: str) -> list[tuple[str, np.ndarray]]:
    """(side, values) for each side that has values under ``key``, reference first."""
    found = []
    for side in ("reference", "synthetic"):
        values = np.asarray((data.get(side) or {}).get(key, []), dtype=np.float64)
        values = values[np.isfinite(values)]
        if values.size:
            found.append((side, values))
    return found


def _histograms(
    data: Mapping[str, Mapping[str, Any]], key: str, title: str, xlabel: str
) -> Figure | None:
    sides = _sides(data, key)
    if not sides:
        return None
    low = min(float(v.min()) for _, v in sides)
    high = max(float(v.max()) for _, v in sides)
    edges = np.linspace(low, high if high > low else low + 1.0, 31)
    figure = Figure(figsize=(5.5, 3.0), dpi=90)
    ax = figure.add_subplot(1, 1, 1)
    for side, values in sides:
        # Shares, not counts: the two sides may differ in size.
        weights = np.full(values.size, 1.0 / values.size)
        ax.hist(
            values,
            bins=edges.tolist(),
            weights=weights,
            alpha=0.55,
            label=side,
            color=_COLOURS[side],
        )
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel("share of pairs", fontsize=8)
    ax.legend(fontsize=7)
    return figure


def _length_bins(preference: Mapping[str, Any]) -> Figure | None:
    figure = Figure(figsize=(5.5, 3.0), dpi=90)
    ax = figure.add_subplot(1, 1, 1)
    drawn = False
    for offset, side in ((-0.18, "reference"), (0.18, "synthetic")):
        bins = ((preference.get(side) or {}).get("length") or {}).get("bins") or []
        if not bins:
            continue
        x = np.arange(len(bins)) + offset
        share = np.asarray([b["share"] if b["share"] is not None else np.nan for b in bins])
        low = np.asarray([b["ci_low"] if b["ci_low"] is not None else np.nan for b in bins])
        high = np.asarray([b["ci_high"] if b["ci_high"] is not None else np.nan for b in bins])
        ax.bar(x, np.nan_to_num(share), 0.36, color=_COLOURS[side], label=side)
        ax.errorbar(
            x,
            share,
            yerr=[np.nan_to_num(share - low), np.nan_to_num(high - share)],
            fmt="none",
            ecolor="#333",
            capsize=3,
        )
        labels = [
            f"×{b['low']:g}–{b['high']:g}" if b["high"] is not None else f"≥ ×{b['low']:g}"
            for b in bins
        ]
        ax.set_xticks(np.arange(len(bins)), labels, fontsize=7)
        drawn = True
    if not drawn:
        return None
    ax.axhline(0.5, color="#777", linestyle="--", linewidth=1)
    ax.set_ylim(0, 1)
    ax.set_title("length-controlled view: the longer answer is the chosen one", fontsize=9)
    ax.set_xlabel("longer answer's length / shorter answer's", fontsize=8)
    ax.set_ylabel("share of pairs (95% interval)", fontsize=8)
    ax.legend(fontsize=7)
    return figure


def _markers(preference: Mapping[str, Any]) -> Figure | None:
    sides = [
        s for s in ("reference", "synthetic") if (preference.get(s) or {}).get("format_markers")
    ]
    if not sides:
        return None
    names = list(FORMAT_MARKERS)
    figure = Figure(figsize=(5.2 * len(sides), 3.0), dpi=90)
    for i, side in enumerate(sides):
        numbers = preference[side]["format_markers"]
        ax = figure.add_subplot(1, len(sides), i + 1)
        x = np.arange(len(names))
        ax.bar(
            x - 0.2,
            [numbers[n]["chosen_share"] for n in names],
            0.4,
            label="chosen",
            color="#55a868",
        )
        ax.bar(
            x + 0.2,
            [numbers[n]["rejected_share"] for n in names],
            0.4,
            label="rejected",
            color="#c44e52",
        )
        ax.set_xticks(x, [n.replace("_", " ") for n in names], rotation=30, ha="right", fontsize=7)
        ax.set_title(f"format markers ({side})", fontsize=9)
        ax.set_ylabel("share of answers", fontsize=8)
        ax.legend(fontsize=7)
    return figure


def render_preference_report(
    metrics: Mapping[str, Any], extras: Mapping[str, Any] | None = None
) -> str:
    """Render the page of a preference assay from its metrics (and the arrays it plots)."""
    extras = extras or {}
    preference = metrics.get("preference") or {}
    arrays: Mapping[str, Mapping[str, Any]] = extras.get("preference_plots") or {}
    plots: dict[str, str] = {}
    plot_errors: dict[str, str] = {}
    drawers: dict[str, Callable[[], Figure | None]] = {
        "length_ratio": lambda: _histograms(
            arrays, "log2_ratio", "length ratio of each pair", "log2(chosen / rejected length)"
        ),
        "length_bins": lambda: _length_bins(preference),
        "margins": lambda: _histograms(
            arrays, "margins", "reward margins", "chosen score − rejected score"
        ),
        "similarity": lambda: _histograms(
            arrays,
            "jaccard",
            "how alike chosen and rejected are",
            "character 5-gram Jaccard similarity",
        ),
        "markers": lambda: _markers(preference),
        "per_prompt": lambda: _histograms(
            arrays, "per_prompt", "pairs per prompt", "pairs sharing one prompt"
        ),
    }
    for name, draw in drawers.items():
        add_plot(plots, plot_errors, name, draw)
    env = template_environment()
    sides = [s for s in ("synthetic", "reference") if preference.get(s)]
    return env.get_template("preference.html.j2").render(
        m=metrics, p=preference, sides=sides, plots=plots, plot_errors=plot_errors
    )
