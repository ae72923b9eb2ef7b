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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from synthloom.records import day_numbers

__all__ = ["add_plot", "render_report", "template_environment"]

_TEMPLATES = Path(__file__).parent / "templates"
_REAL = "#4c72b0"
_SYN = "#dd8452"
_MAX_COLUMN_PLOTS = 24


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


def _column_distributions(
    reference: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, str]
) -> Any:
    columns = [c for c, k in kinds.items() if k != "id"][:_MAX_COLUMN_PLOTS]
    if not columns:
        return None
    ncols = 3
    nrows = math.ceil(len(columns) / ncols)
    fig = _figure(4.2 * ncols, 2.6 * nrows)
    for i, col in enumerate(columns):
        ax = fig.add_subplot(nrows, ncols, i + 1)
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
            rc = (
                real.astype("object")
                .where(real.notna(), "(missing)")
                .astype(str)
                .value_counts(normalize=True)
            )
            sc = (
                syn.astype("object")
                .where(syn.notna(), "(missing)")
                .astype(str)
                .value_counts(normalize=True)
            )
            cats = list(rc.index[:8]) + [c for c in sc.index[:8] if c not in rc.index[:8]][:4]
            x = np.arange(len(cats))
            ax.bar(x - 0.2, [rc.get(c, 0.0) for c in cats], 0.4, color=_REAL, label="reference")
            ax.bar(x + 0.2, [sc.get(c, 0.0) for c in cats], 0.4, color=_SYN, label="synthetic")
            ax.set_xticks(x, [_short(c, 12) for c in cats], rotation=35, ha="right", fontsize=7)
        ax.set_title(_short(col, 40), fontsize=9)
        ax.tick_params(labelsize=7)
        if i == 0:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _correlation_heatmaps(corr: Mapping[str, Any]) -> Any:
    columns = corr.get("columns") or []
    if len(columns) < 2:
        return None
    fig = _figure(4.0 * 3, 3.6)
    titles = (
        ("real", "reference"),
        ("synthetic", "synthetic"),
        ("difference", "synthetic − reference"),
    )
    for i, (key, title) in enumerate(titles):
        ax = fig.add_subplot(1, 3, i + 1)
        data = np.array(
            [[np.nan if v is None else v for v in row] for row in corr[key]], dtype=float
        )
        im = ax.imshow(data, vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set_title(title, fontsize=9)
        ticks = [_short(c, 14) for c in columns]
        ax.set_xticks(range(len(columns)), ticks, rotation=60, ha="right", fontsize=6)
        ax.set_yticks(range(len(columns)), ticks, fontsize=6)
    fig.colorbar(im, ax=fig.axes, shrink=0.8)
    return fig


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
    x = np.arange(len(labels))
    ax.bar(x - 0.2, [v or 0.0 for v in reference], 0.4, color=_REAL, label="reference")
    ax.bar(x + 0.2, [v or 0.0 for v in synthetic], 0.4, color=_SYN, label="synthetic")
    ax.set_xticks(x, [_short(lbl, 18) for lbl in labels], rotation=30, ha="right", fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return fig


def _representation(axes: Mapping[str, Any]) -> Any:
    names = [a for a, v in axes.items() if v.get("reference_share") or v.get("synthetic_share")]
    if not names:
        return None
    ncols = 2
    nrows = math.ceil(len(names) / ncols)
    fig = _figure(5.5 * ncols, 2.8 * nrows)
    for i, axis in enumerate(names):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        data = axes[axis]
        groups = sorted(
            set(data.get("reference_share") or {}) | set(data.get("synthetic_share") or {})
        )
        x = np.arange(len(groups))
        ax.bar(
            x - 0.2,
            [(data.get("reference_share") or {}).get(g, 0) for g in groups],
            0.4,
            color=_REAL,
            label="reference",
        )
        ax.bar(
            x + 0.2,
            [(data.get("synthetic_share") or {}).get(g, 0) for g in groups],
            0.4,
            color=_SYN,
            label="synthetic",
        )
        ax.set_xticks(x, [_short(g, 14) for g in groups], rotation=35, ha="right", fontsize=7)
        ax.set_title(axis.replace("_", " "), fontsize=9)
        if i == 0:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _tail_bars(tails: Mapping[str, Any]) -> Any:
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
    fig = _figure(max(4.5, 0.45 * len(labels) + 2), 3.2)
    ax = fig.add_subplot(1, 1, 1)
    colors = ["#c44e52" if v < 0.5 else "#55a868" for v in values]
    ax.bar(range(len(labels)), values, color=colors)
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_ylim(0, 1.05)
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
    if tables is not None:
        _plot(
            plots,
            plot_errors,
            "distributions",
            lambda: _column_distributions(tables[0], tables[1], kinds),
        )
    fidelity = metrics.get("fidelity") or {}
    if fidelity.get("correlation"):
        _plot(
            plots,
            plot_errors,
            "correlation",
            lambda: _correlation_heatmaps(fidelity["correlation"]),
        )
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
    _plot(plots, plot_errors, "tails", lambda: _tail_bars(metrics.get("tails") or {}))

    env = template_environment()
    env.tests["number"] = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
    template = env.get_template("report.html.j2")
    return template.render(m=metrics, plots=plots, plot_errors=plot_errors)


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
