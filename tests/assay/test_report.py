"""Tests of synthloom.assay.report: what report.html shows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from synthloom.assay import AssayOptions, run_assay
from synthloom.assay.report import column_distributions_figure, pii_mask, tail_coverage_figure


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


REFERRERS = ["self", "GP", "walk-in", "dr.hansen@clinic-north.no", "emergency"]
LONG_NAMES = [
    "systolic_blood_pressure_mmhg",
    "diastolic_blood_pressure_mmhg",
    "resting_heart_rate_bpm",
    "body_mass_index_kg_per_m2",
]


MEMO = (
    "Referrals from dr.hansen@clinic-north.no go to ward 4 first; the night nurse checks the "
    "drip and the paper chart before the family visits at ten."
)


def _clinic_table(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Visits of a clinic as a front desk exports them: numbers, a referrer, a sex column."""
    age = rng.normal(52, 16, n).clip(18, 95).round()
    systolic = (105 + 0.6 * age + rng.normal(0, 9, n)).round()
    return pd.DataFrame(
        {
            "visit_id": [f"V{100000 + i}" for i in range(n)],
            "age": age,
            LONG_NAMES[0]: systolic,
            LONG_NAMES[1]: (0.55 * systolic + rng.normal(0, 5, n)).round(),
            LONG_NAMES[2]: rng.normal(72, 9, n).round(),
            LONG_NAMES[3]: (rng.normal(26.5, 4, n) + 0.02 * age).round(1),
            "referred_by": rng.choice(REFERRERS, n, p=[0.4, 0.3, 0.15, 0.1, 0.05]),
            "sex": rng.choice(["female", "male"], n),
        }
    )


def _clinic_assay(tmp_path: Path, synthetic: pd.DataFrame, reference: pd.DataFrame) -> str:
    memo = tmp_path / "clinic_memo.txt"
    memo.write_text(MEMO + "\n", "utf-8")
    reference.to_csv(tmp_path / "real.csv", index=False)
    synthetic.to_csv(tmp_path / "syn.csv", index=False)
    run_assay(
        tmp_path / "syn.csv",
        tmp_path / "real.csv",
        tmp_path / "out",
        AssayOptions(ner="off", sensitive=["sex"], private=[memo]),
    )
    return (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_the_table_report_shows_its_cards_copies_and_sources(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    reference = _clinic_table(rng, 400)
    synthetic = _clinic_table(rng, 300)
    # Rows 11, 21 and 31 copy reference rows 3, 4 and 5 (with fresh visit ids).
    for row, source in ((10, 2), (20, 3), (30, 4)):
        synthetic.iloc[row, 1:] = reference.iloc[source, 1:]
    # A referrer field into which a generator pasted the private memo.
    synthetic.loc[5, "referred_by"] = "walk-in; " + MEMO[40:]
    html = _clinic_assay(tmp_path, synthetic, reference)
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text(encoding="utf-8"))
    tvd = metrics["bias"]["max_tvd"]
    assert tvd == metrics["bias"]["sensitive"]["sex"]["tvd"]
    card = re.search(r'<div class="v">([^<]*)</div><div class="k">largest representation TVD', html)
    assert card is not None and card.group(1) == f"{tvd:.4f}"
    copies = metrics["privacy"]["exact_copies"]
    assert [c["synthetic"] for c in copies["copies"]] == ["row 11", "row 21", "row 31"]
    assert [c["reference"] for c in copies["copies"]] == ["row 3", "row 4", "row 5"]
    privacy = html[html.index('<section id="privacy">') : html.index('<section id="bias">')]
    for c in copies["copies"]:
        assert f'<td class="mono">{c["synthetic"]}</td><td class="mono">{c["reference"]}</td>' in (
            privacy
        )
    # The private source is named by its file, in the metrics, the table and the findings.
    verbatim = metrics["privacy"]["verbatim"]
    assert verbatim["records_sharing_span"] >= 1
    assert {e["private"] for e in verbatim["examples"]} == {str(tmp_path / "clinic_memo.txt")}
    assert f'<td class="mono">{tmp_path / "clinic_memo.txt"}</td>' in privacy
    verdict = [f for f in metrics["findings"] if f["check"] == "privacy.verbatim"]
    assert str(tmp_path / "clinic_memo.txt") in verdict[0]["message"]


def test_personal_data_in_top_values_is_masked_as_in_the_privacy_section(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(6)
    html = _clinic_assay(tmp_path, _clinic_table(rng, 300), _clinic_table(rng, 300))
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["privacy"]["pii"]["by_type"]["EMAIL"] >= 1
    assert (
        "dr.hansen@clinic-north.no" in metrics["fidelity"]["summary"]["referred_by"]["real"]["top"]
    )
    fidelity = html[html.index('<section id="fidelity">') : html.index('<section id="diversity">')]
    assert "dr.hansen" not in fidelity and "clinic-north" not in fidelity
    side_by_side = fidelity[fidelity.index("<h3>Side by side</h3>") :]
    row = re.search(r'<td class="mono">referred_by</td>.*?</tr>', side_by_side, re.S)
    assert row is not None and '<span class="mono">[EMAIL]</span>' in row.group(0)
    assert '<span class="mono">walk-in</span>' in row.group(0)  # other values stay readable
    # The bars of the distribution plot are labelled through the same mask.
    reference = pd.read_csv(tmp_path / "real.csv")
    fig = column_distributions_figure(
        reference,
        pd.read_csv(tmp_path / "syn.csv"),
        {"referred_by": "categorical"},
        pii_mask(metrics),
    )
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert "[EMAIL]" in labels and "walk-in" in labels
    assert not any("hansen" in label for label in labels)


def test_correlations_are_tables_with_short_labels_and_full_names_on_hover(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(7)
    html = _clinic_assay(tmp_path, _clinic_table(rng, 300), _clinic_table(rng, 300))
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text(encoding="utf-8"))
    corr = metrics["fidelity"]["correlation"]
    assert set(LONG_NAMES) <= set(corr["columns"])
    tables = re.findall(r'<table class="heat">.*?</table>', html, re.S)
    assert len(tables) == 3  # reference, synthetic, difference
    n = len(corr["columns"])
    for table in tables:
        headers = re.findall(r'<th class="col" title="([^"]+)"><span>([^<]+)</span></th>', table)
        assert [full for full, _ in headers] == corr["columns"]
        # Cut to a length the cells are sized for, the full name kept for hover.
        assert all(len(short) <= 16 for _, short in headers)
        assert any(short != full for full, short in headers)
        assert len(re.findall(r"<td style=", table)) == n * n
    i = corr["columns"].index(LONG_NAMES[0])
    j = corr["columns"].index(LONG_NAMES[1])
    cell = f"{LONG_NAMES[0]} × {LONG_NAMES[1]}: {corr['real'][i][j]:.2f}"
    assert f'title="{cell}"' in tables[0]


def test_a_tail_with_zero_coverage_has_a_visible_marker() -> None:
    tails = {
        "numeric": {
            "columns": {
                "income": {"coverage": 0.0, "lower_coverage": 1.0, "upper_coverage": 0.0},
                "age": {"coverage": 0.8, "lower_coverage": 0.8, "upper_coverage": 1.0},
            }
        }
    }
    fig = tail_coverage_figure(tails)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["lower tail income", "upper tail income", "lower tail age", "upper tail age"]
    texts = {round(t.get_position()[0]): t.get_text() for t in ax.texts}
    assert texts == {0: "1.00", 1: "0", 2: "0.80", 3: "1.00"}
    # The zero bar is drawn as a thick red line on the axis, not as an empty slot.
    markers = [line for line in ax.lines if list(line.get_ydata()) == [0.0, 0.0]]
    assert len(markers) == 1 and list(markers[0].get_xdata()) == [0.6, 1.4]
    assert markers[0].get_linewidth() >= 2
