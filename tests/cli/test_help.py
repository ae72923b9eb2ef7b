"""The help a newcomer reads: flags shown as flags, one metavar style, help on every option,
whole at 80 columns; the shared options read and check the same in every command."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from synthloom.cli import app, main
from synthloom.cli.progress import complete_progress

ROOT = Path(__file__).resolve().parents[2]


def _commands() -> list[tuple[str, ...]]:
    """Every command path of the CLI: (), ("assay",), ..., ("taxonomy", "upgrade")."""
    import typer

    group = typer.main.get_command(app)
    paths: list[tuple[str, ...]] = [()]
    ctx = group.make_context("synthloom", [], resilient_parsing=True)
    for name in group.list_commands(ctx):
        sub = group.get_command(ctx, name)
        paths.append((name,))
        if hasattr(sub, "list_commands"):
            sub_ctx = sub.make_context(name, [], parent=ctx, resilient_parsing=True)
            paths += [(name, leaf) for leaf in sub.list_commands(sub_ctx)]
    return paths


COMMANDS = _commands()


def _params(path: tuple[str, ...]) -> list[Any]:
    import typer

    command: Any = typer.main.get_command(app)
    ctx = command.make_context("synthloom", [], resilient_parsing=True)
    for name in path:
        command = command.get_command(ctx, name)
        ctx = command.make_context(name, [], parent=ctx, resilient_parsing=True)
    return list(command.get_params(ctx))


def _help(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main([*path, "--help"]) == 0
    return capsys.readouterr().out


def test_every_command_is_found() -> None:
    names = {" ".join(p) for p in COMMANDS}
    assert {"assay", "complete", "curate", "generate", "nemotron", "taxonomy upgrade"} <= names
    assert len(COMMANDS) >= 11


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "synthloom")
def test_help_reads_well_at_80_columns(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    text = _help(path, capsys)
    lines = text.splitlines()
    assert lines[0].startswith("Usage: synthloom")
    assert [line for line in lines if len(line) > 80] == []
    # typer's own type tags and braces: <bool>, <path>, <list[Path]>, {synthetic}
    assert re.search(r"<(bool|str|int|float|path|list\[\w+\])>", text) is None, text
    assert "{" not in lines[0] and "…" not in text, text
    # Flags take no value: "--quiet  Print ...", never "--quiet BOOLEAN".
    assert re.search(r"--help +Show this message and exit\.", text), text
    for param in _params(path):
        if getattr(param, "is_flag", False):
            flag = max(param.opts, key=len)
            row = next(line for line in lines if re.search(rf"(^ *|, ){re.escape(flag)}\b", line))
            after = row.split(flag, 1)[1]
            assert not re.match(r" [A-Z\[]", after), row


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "synthloom")
def test_every_parameter_has_help_and_one_metavar_style(path: tuple[str, ...]) -> None:
    for param in _params(path):
        name = max(param.opts, key=len)
        assert (param.help or "").strip(), f"{name} has no help"
        if getattr(param, "is_flag", False):
            assert param.metavar == "", name
        else:
            assert re.fullmatch(r"[A-Z][A-Z_]*|\[[a-z]+(\|[a-z]+)+\]", param.metavar), (
                name,
                param.metavar,
            )


# The options more than one command takes: one name, help text and metavar everywhere.
SHARED = ["--executor", "--ray-address", "--actors", "--per-actor-in-flight", "--shard-size"]
SHARED += ["--quiet", "--embedder", "--ner"]


@pytest.mark.parametrize("option", SHARED)
def test_a_shared_option_reads_the_same_in_every_command(option: str) -> None:
    seen: dict[tuple[str, ...], tuple[Any, ...]] = {}
    for path in COMMANDS:
        for param in _params(path):
            if option in param.opts:
                seen[path] = (tuple(param.opts), param.help, param.metavar)
    assert len(seen) >= 2, seen
    assert len(set(seen.values())) == 1, seen


def test_the_local_seed_is_the_same_option_in_every_command() -> None:
    seeds = {
        path: (p.help, p.metavar, p.default)
        for path in [("assay",), ("curate",), ("collapse",)]
        for p in _params(path)
        if "--seed" in p.opts
    }
    assert len(seeds) == 3 and len(set(seeds.values())) == 1, seeds


# Each command that takes --executor, with the rest of a valid command line.
EXECUTOR_COMMANDS = [
    ["complete", "p.jsonl", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "-o", "o"],
    ["assay", "s.csv", "-r", "r.csv", "-o", "o"],
    ["curate", "in.jsonl", "-o", "o"],
    ["generate", "tax", "-p", "p.yaml", "-o", "o"],
    ["nemotron", "p.yaml", "-o", "o"],
]


BAD_SHARED = [
    pytest.param(argv, flag, value, expected, id=f"{argv[0]}{flag}={value}")
    for argv in EXECUTOR_COMMANDS
    for flag, value, expected in [
        ("--executor", "rya", "'rya' is not one of local, ray"),
        ("--executor", "Ray", "'Ray' is not one of local, ray"),
        ("--actors", "0", "'0' is not a whole number >= 1"),
        ("--seed", "-1", "'-1' is not a whole number >= 0"),
    ]
    # generate and nemotron take their seeds from the pipeline; assay has no actors
    if not (flag == "--seed" and argv[0] in ("generate", "nemotron"))
    and not (flag == "--actors" and argv[0] == "assay")
]


@pytest.mark.parametrize(("argv", "flag", "value", "expected"), BAD_SHARED)
def test_a_bad_shared_option_is_the_same_usage_error_everywhere(
    argv: list[str],
    flag: str,
    value: str,
    expected: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    code = main([*argv, flag, value])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == (
        f"synthloom {argv[0]}: error: Invalid value for '{flag}': {expected} "
        f"(see 'synthloom {argv[0]} --help')"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(["plan"], "Missing argument 'TAXONOMY'", id="plan"),
        pytest.param(["curate", "-o", "x"], "Missing argument 'IN'", id="curate"),
        pytest.param(["assay", "-r", "r", "-o", "x"], "Missing argument 'SYNTHETIC'", id="assay"),
    ],
)
def test_a_missing_argument_is_named_as_the_usage_line_shows_it(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert expected in capsys.readouterr().err


def test_old_comma_lists_still_work_beside_repeated_flags(tmp_path: Path) -> None:
    rows = [
        '{"messages": [{"role": "user", "content": "How do I descale a kettle?"}, '
        '{"role": "assistant", "content": "Boil a mix of water and vinegar, then rinse."}]}',
        '{"messages": [{"role": "user", "content": "How do I descale a kettle?"}, '
        '{"role": "assistant", "content": "Boil a mix of water and vinegar, then rinse."}]}',
        '{"messages": [{"role": "user", "content": "Best way to store fresh basil?"}, '
        '{"role": "assistant", "content": "Stems in a glass of water, on the counter."}]}',
    ]
    source = tmp_path / "chat.jsonl"
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")

    def stages(*dedup: str) -> tuple[list[str], list[str], int]:
        out = tmp_path / f"c{len(list(tmp_path.iterdir()))}"
        assert main(["curate", str(source), "-o", str(out), "-q", *dedup]) == 0
        run = json.loads((out / "run.json").read_text(encoding="utf-8"))
        return run["options"]["dedup"], [s["stage"] for s in run["stages"]], run["records_out"]

    both = (["exact", "minhash"], ["exact", "minhash"], 2)
    assert stages("--dedup", "exact,minhash") == both
    assert stages("--dedup", "exact", "--dedup", "minhash") == both
    assert stages("--dedup", "exact, minhash") == both
    assert stages() == both  # the default
    assert stages("--dedup", "") == ([], [], 3)  # '' for none, as before


def test_the_progress_display_stays_whole_at_80_columns() -> None:
    sink = io.StringIO()
    console = Console(file=sink, width=80, force_terminal=True, color_system=None)
    with complete_progress(False, console=console) as on_progress:
        assert on_progress is not None
        on_progress(
            {
                "total": 1_200_000,
                "done": 345_678,
                "cached": 123_456,
                "failed": 1_234,
                "rejected": 567,
                "requests": 222_222,
                "tokens": 98_765_432,
                "elapsed": 1234.5,
            }
        )
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", sink.getvalue())
    lines = [line for line in text.replace("\r", "\n").splitlines() if line.strip()]
    assert lines and all(len(line) <= 80 for line in lines), lines
    joined = "\n".join(lines)
    for part in ("345678/1200000", "ETA", "cached 123456", "failed 1234", "rejected 567"):
        assert part in joined, joined
    assert "180 req/s" in joined and "80004 tok/s" in joined, joined


def test_quiet_shows_no_progress() -> None:
    with complete_progress(True) as on_progress:
        assert on_progress is None


def test_the_installed_help_names_flags_as_flags() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "synthloom", "assay", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "80", "PATH": "", "PYTHONPATH": str(ROOT / "src")},
    )
    assert proc.returncode == 0, proc.stderr
    assert "Usage: synthloom assay [OPTIONS] SYNTHETIC" in proc.stdout
    assert re.search(r"-q, --quiet +Print only errors", proc.stdout), proc.stdout
