"""metrics.json and a self-contained, escaped report.html."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
from markupsafe import escape as html_escape

from synthloom.collapse import CollapseOptions, run_collapse, write_report


def test_report_files_are_complete_self_contained_and_escaped(tmp_path: Path) -> None:
    data = tmp_path / "<script>evil.csv"
    values = np.random.default_rng(0).normal(size=(120, 2))
    data.write_text("a,b\n" + "".join(f"{x},{y}\n" for x, y in values), encoding="utf-8")
    result = run_collapse(
        CollapseOptions(
            data=data,
            family="gaussian",
            generations=2,
            samples=30,
            modes=("replace", "accumulate"),
            eval_samples=200,
            seeds=3,
        )
    )
    json_path, html_path = write_report(result, tmp_path / "out")

    doc = json.loads(json_path.read_text(encoding="utf-8"))
    assert doc["schema"] == "synthloom.collapse/2"
    assert doc["seeds"] == [0, 1, 2] and doc["config"]["seeds"] == 3
    assert doc["band"] == "min-max over seeds"
    assert set(doc["curves"]) == {"replace", "accumulate"}
    assert len(doc["curves"]["replace"]) == 3
    assert set(doc["metrics"]) <= set(doc["curves"]["replace"][0])
    last = doc["curves"]["replace"][-1]["variance_ratio"]
    assert len(last["per_seed"]) == 3 and last["low"] <= last["mean"] <= last["high"]
    assert doc["metrics"]["variance_ratio"]["real_value"] == 1.0
    assert [v["metric"] for v in doc["verdict"]] == ["variance_ratio", "thinner_tail"]
    assert all(v["text"].startswith("replace kept ") for v in doc["verdict"])

    html = html_path.read_text(encoding="utf-8")
    assert "<script>evil" not in html and "&lt;script&gt;evil.csv" in html
    for verdict in doc["verdict"]:
        assert str(html_escape(verdict["text"])) in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == len(doc["metrics"])
    assert all(base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n" for img in images)
