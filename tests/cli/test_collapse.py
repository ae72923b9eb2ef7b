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
            "--seeds",
            "2",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    doc = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert doc["config"]["modes"] == ["replace", "mix:0.1", "accumulate"]
    assert doc["config"]["seed"] == 3
    assert doc["seeds"] == [3, 4]
    assert (out / "report.html").stat().st_size > 1000
    printed = capsys.readouterr().out
    assert "accumulate" in printed and "report.html" in printed
    assert "mean over 2 seed(s)" in printed
    for verdict in doc["verdict"]:
        assert verdict["text"] in printed


def test_collapse_defaults_to_several_seeds_and_both_modes(tmp_path: Path) -> None:
    from synthloom.collapse import FAMILY_DEFAULTS

    out = tmp_path / "out"
    data = str(_csv(tmp_path / "r.csv"))
    argv = ["collapse", "--data", data, "-f", "gaussian", "-g", "2", "-n", "20", "-q"]
    assert main([*argv, "--out", str(out)]) == 0
    doc = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert doc["config"]["modes"] == ["replace", "accumulate"]
    assert len(doc["seeds"]) == doc["config"]["seeds"] == FAMILY_DEFAULTS["gaussian"].seeds


def test_help_names_the_family_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    from synthloom.collapse import FAMILY_DEFAULTS

    assert main(["collapse", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for family, defaults in FAMILY_DEFAULTS.items():
        assert f"{defaults.generations} × {defaults.samples}" in text, family
    seeds = {d.seeds for d in FAMILY_DEFAULTS.values()}
    assert all(str(s) in text for s in seeds)


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
        *[
            pytest.param(
                ["--seeds", value],
                f"'--seeds': '{value}' is not a whole number >= 1 and <= 1000",
                id=f"seeds={value}",
            )
            for value in ("0", "-3", "2.5", "five", "1001", "")
        ],
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
