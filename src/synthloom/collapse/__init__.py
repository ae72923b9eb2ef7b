"""The collapse lab: what recursive training on generated data does, and what prevents it.

A model is trained on real data (generation 0), sampled, retrained on its samples, and so on;
after every generation the lab measures how far the model has drifted from the real data. A run
repeats this for several seeds; ``summary`` gives each metric's mean and min–max band over them
and a verdict line per headline metric. Modes
``replace``, ``mix:<fraction>`` and ``accumulate`` run side by side (see ``loop``). Families:
``gaussian`` and ``gmm`` for numbers (``numeric``), ``ngram`` (Kneser-Ney, ``ngram``) and an
optional ``lstm`` (PyTorch, ``neural``) for text. ``metrics`` defines every number reported and
how the tail metrics relate to the assay's tail coverage; ``report`` writes ``metrics.json`` and
``report.html``.

    result = run_collapse(CollapseOptions(family="ngram", modes=("replace", "accumulate")))
    print(result.verdicts[0].text)
    write_report(result, "runs/collapse")
"""

from __future__ import annotations

from synthloom.collapse.data import LoadedData, RealData, load_real_data, read_real_data
from synthloom.collapse.loop import (
    FAMILIES,
    FAMILY_DEFAULTS,
    CollapseOptions,
    CollapseResult,
    FamilyDefaults,
    Mode,
    Plan,
    parse_mode,
    run_collapse,
)
from synthloom.collapse.metrics import METRICS, MetricInfo
from synthloom.collapse.report import render_html, write_report
from synthloom.collapse.summary import BAND, Verdict

__all__ = [
    "BAND",
    "FAMILIES",
    "FAMILY_DEFAULTS",
    "METRICS",
    "CollapseOptions",
    "CollapseResult",
    "FamilyDefaults",
    "LoadedData",
    "MetricInfo",
    "Mode",
    "Plan",
    "RealData",
    "Verdict",
    "load_real_data",
    "parse_mode",
    "read_real_data",
    "render_html",
    "run_collapse",
    "write_report",
]
