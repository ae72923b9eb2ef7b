"""Writing a collapse run: ``metrics.json`` and a self-contained ``report.html``.

The HTML page opens with the run's verdict, then embeds one matplotlib plot per metric (per
mode, the mean over the seeds as a line and the seeds' min–max band as a shaded area) as a
base64 PNG, so it opens anywhere without a network or extra files. The page is rendered by
jinja2 with autoescaping, so a file name or mode name can never inject markup.
"""

from __future__ import annotations

import base64
import io
import json
import math
import shutil
from pathlib import Path
from typing import Any

from synthloom.atomic import clean_leftovers, publish_dir, staging_dir, write_text
from synthloom.collapse.loop import CollapseResult
from synthloom.collapse.summary import BAND
from synthloom.errors import InputError

__all__ = ["format_cell", "plot_png", "render_html", "write_report"]

_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>synthloom collapse: {{ config.family }} on {{ data.source }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(26rem, 1fr)); gap: 1rem; }
figure { margin: 0; } figcaption { font-size: 0.85rem; color: #555; }
code { background: #f4f4f4; padding: 0 0.2rem; }
</style>
</head>
<body>
<h1>Model collapse lab</h1>
<p>Family <code>{{ config.family }}</code>, {{ config.generations }} generations after the one
trained on real data, {{ config.samples }} samples per generation,
{{ seeds|length }} seed{{ "s" if seeds|length > 1 }} ({{ seeds|join(", ") }}), each a whole run
with its own held-out split, data <code>{{ data.source }}</code>.
{% if seeds|length > 1 %}Lines are the mean over the seeds; shaded areas and the figures in
brackets span the lowest to the highest seed ({{ band }}).{% endif %}</p>
<h2>Verdict</h2>
<ul>
{% for verdict in verdicts %}<li>{{ verdict.text }}</li>
{% endfor %}
</ul>
<table>
<tr><th>data</th><th>value</th></tr>
{% for key, value in data.items() if key != "source" %}
<tr><td>{{ key }}</td><td>{{ value }}</td></tr>
{% endfor %}
</table>
<h2>Last generation (mean{% if seeds|length > 1 %} and min–max over the seeds{% endif %})</h2>
<table>
<tr><th>mode</th>{% for name in metric_names %}<th>{{ name }}</th>{% endfor %}</tr>
{% for mode, row in last.items() %}
<tr><td>{{ mode }}</td>
{% for name in metric_names %}<td>{{ cell(row[name]) }}</td>{% endfor %}</tr>
{% endfor %}
<tr><td>generation 0</td>
{% for name in metric_names %}<td>{{ cell(first[name]) }}</td>{% endfor %}</tr>
</table>
<h2>Curves</h2>
<div class="plots">
{% for plot in plots %}
<figure>
{% if plot.png %}
<img alt="{{ plot.label }}" src="data:image/png;base64,{{ plot.png }}" width="100%">
{% else %}<p>plot failed: {{ plot.error }}</p>{% endif %}
<figcaption>{{ plot.label }} ({{ plot.goal }})</figcaption>
</figure>
{% endfor %}
</div>
</body>
</html>
"""


def plot_png(result: CollapseResult, metric: str) -> str:
    """One metric's plot as a base64 PNG: per mode, the mean over the seeds as a line and, with
    several seeds, their min–max band shaded in the line's colour."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    info = result.metrics[metric]
    # A Figure without pyplot keeps no global state and needs no display.
    fig = Figure(figsize=(6.0, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for mode, rows in result.curves.items():
        generations = [row["generation"] for row in rows]
        (line,) = ax.plot(
            generations,
            [row[metric]["mean"] for row in rows],
            marker="o" if len(rows) <= 40 else None,
            markersize=3,
            label=mode,
        )
        if len(result.runs) > 1:
            low, high = result.band(mode, metric)
            ax.fill_between(generations, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    if info.real_value is not None:
        ax.axhline(info.real_value, color="grey", linestyle=":", linewidth=1, label="real data")
    ax.set_xlabel("generation")
    ax.set_title(info.label, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def format_cell(summary: dict[str, Any]) -> str:
    """A summarised metric as "mean (low–high)", or the mean alone when the band is one value."""
    mean, low, high = (f"{summary[k]:.4g}" for k in ("mean", "low", "high"))
    return mean if low == high else f"{mean} ({low}–{high})"


def _finite(value: Any) -> Any:
    """The document with non-finite floats as null, so metrics.json stays strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def render_html(result: CollapseResult) -> str:
    """The report page as a string."""
    import jinja2

    plots: list[dict[str, Any]] = []
    for metric, info in result.metrics.items():
        entry: dict[str, Any] = {"label": info.label, "goal": info.goal, "png": None, "error": None}
        try:
            entry["png"] = plot_png(result, metric)
        except (ValueError, RuntimeError, OverflowError) as exc:
            # One odd curve (all NaN, infinite) must not cost the whole report.
            entry["error"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        plots.append(entry)
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(_TEMPLATE)
    first_mode = next(iter(result.curves))
    return template.render(
        config=result.config,
        data=result.data,
        seeds=result.seeds,
        band=BAND,
        verdicts=result.verdicts,
        metric_names=list(result.metrics),
        last={mode: rows[-1] for mode, rows in result.curves.items()},
        first=result.curves[first_mode][0],
        cell=format_cell,
        plots=plots,
    )


def write_report(result: CollapseResult, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``metrics.json`` and ``report.html`` into ``out_dir``; return their paths.

    Both are swapped in together (:func:`synthloom.atomic.publish_dir`): a kill leaves the
    earlier pair or the new one, never one of each.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder; give a folder for --out", path=out)
    results = ("metrics.json", "report.html")
    clean_leftovers(out, results)
    metrics = json.dumps(_finite(result.to_dict()), indent=2, allow_nan=False) + "\n"
    html = render_html(result)
    staging = staging_dir(out)
    try:
        write_text(staging / "metrics.json", metrics)
        write_text(staging / "report.html", html)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    publish_dir(staging, out, results)
    return out / "metrics.json", out / "report.html"
