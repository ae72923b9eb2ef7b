"""``synthloom collapse`` end to end through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from synthloom.cli import main


def _csv(path: Path) -> Path:
    values = np.random.default_rng(0).normal(size=200)
    path.write_text("x\n" + "".join(f"{v}\n" for v in values), encoding="utf-8")
    return path


def test_collapse_writes_metrics_and_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "collapse",
            "--data",
            str(_csv(tmp_path / "r.csv")),
            "--family",
            "gaussian",
            "--generations",
            "2",
            "--mode",
            "replace,mix:0.1",
            "--mode",
            "accumulate",
            "--samples",
            "20",
            "--seed",
            "3",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    doc = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert doc["config"]["modes"] == ["replace", "mix:0.1", "accumulate"]
    assert doc["config"]["seed"] == 3
    assert (out / "report.html").stat().st_size > 1000
    printed = capsys.readouterr().out
    assert "accumulate" in printed and "report.html" in printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--family", "bert"], "unknown family 'bert'", id="family"),
        pytest.param(["--mode", "keep"], "unknown mode 'keep'", id="mode"),
        pytest.param(
            ["--samples", "0"], "'--samples' / '-n': '0' is not a whole number >= 1", id="samples"
        ),
        pytest.param(
            ["--generations", "-1"],
            "'--generations' / '-g': '-1' is not a whole number >= 1",
            id="gens",
        ),
        pytest.param(["--data", "EMPTY"], "empty corpus", id="empty"),
        pytest.param(["--data", "TINY", "--order", "4"], "too little text for n=4", id="tiny"),
        pytest.param(["--data", "MISSING"], "file not found", id="missing"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    (tmp_path / "empty.txt").write_text("\n", encoding="utf-8")
    (tmp_path / "tiny.txt").write_text("Too little. Text here. For a model.", encoding="utf-8")
    files = {
        "EMPTY": tmp_path / "empty.txt",
        "TINY": tmp_path / "tiny.txt",
        "MISSING": tmp_path / "missing.txt",
    }
    args = [str(files.get(a, a)) for a in args]
    code = main(["collapse", *args, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
