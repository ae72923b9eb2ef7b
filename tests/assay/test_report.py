"""Tests of synthloom.assay.report: what report.html shows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from synthloom.assay import AssayOptions, run_assay


def test_report_shows_both_tails_of_a_column(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    income = rng.lognormal(10.5, 0.5, size=600).round(-2)
    reference = pd.DataFrame({"income": income, "region": rng.choice(["north", "south"], 600)})
    low, high = np.quantile(income, [0.05, 0.95])
    # Synthetic incomes never reach the upper tail and overshoot the lower one.
    kept = income[(income > low) & (income < high)][:500]
    poor = rng.uniform(low * 0.6, low * 0.98, size=100).round(-2)
    synthetic = pd.DataFrame(
        {"income": np.concatenate([kept, poor]), "region": rng.choice(["north", "south"], 600)}
    )
    reference.to_csv(tmp_path / "real.csv", index=False)
    synthetic.to_csv(tmp_path / "syn.csv", index=False)
    out = tmp_path / "out"
    run_assay(tmp_path / "syn.csv", tmp_path / "real.csv", out, AssayOptions(ner="off"))
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text(encoding="utf-8"))
    item = metrics["tails"]["numeric"]["columns"]["income"]
    assert item["coverage"] == 0.0 and item["lower_coverage"] == 1.0
    assert metrics["tails"]["numeric"]["lost"] == ["income (upper)"]
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    tails = html[html.index('<section id="tails">') :]
    row = re.search(r"<tr[^>]*><td class=\"mono\">income</td>(.*?)</tr>", tails, re.S)
    assert row is not None
    cells = re.findall(r"<td class=\"n\">(.*?)</td>", row.group(1))
    assert cells[:3] == ["0.0000", "1.0000", "0.0000"]  # coverage, lower, upper
    assert "→ 0.0%" in cells[4]  # the upper share, reference to synthetic
