"""Usage mistakes on every command: one line naming the command and the option, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from synthloom.cli import main

COMMANDS = ["assay", "complete", "curate", "collapse", "plan", "generate", "mix", "nemotron"]


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unknown_option_is_one_line_and_exit_2(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([command, "--no-such-option"])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"synthloom {command}: error: ")
    assert "--no-such-option" in lines[0] and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["curate", "in.jsonl"], "--out"),
        (["complete", "p.jsonl", "--model", "m", "--out", "o"], "--base-url"),
        (["assay", "s.csv", "--out", "o"], "--reference"),
        (["plan"], "taxonomy"),
        (["complete", "p", "--base-url", "u", "--model", "m", "-o", "o", "--n", "two"], "--n"),
    ],
)
def test_a_missing_or_bad_option_is_named(
    argv: list[str], names: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and names in err


def test_the_installed_entry_point_behaves_the_same() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "synthloom", "curate", "in.jsonl"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "synthloom curate: error: Missing option '--out' / '-o'. (see 'synthloom curate --help')"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["curate", "examples/chat/synthetic.jsonl", "--out", "s3://bucket/cur"],
        [
            "assay",
            "examples/chat/synthetic.jsonl",
            "--reference",
            "examples/chat/reference.jsonl",
            "--out",
            "gs://bucket/assay",
        ],
        ["nemotron", "examples/nemotron_pipeline.yaml", "--out", "s3://bucket/nem"],
        ["complete", "p.jsonl", "--base-url", "u", "--model", "m", "--out", "s3://bucket/c"],
    ],
)
def test_an_object_store_out_where_only_paths_work_is_refused(
    argv: list[str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(tmp_path)
    argv = [str(root / a) if a.startswith("examples/") else a for a in argv]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    url = argv[-1]
    assert url in err and "--executor ray" in err
    assert list(tmp_path.iterdir()) == []  # no "s3:" folder was made
