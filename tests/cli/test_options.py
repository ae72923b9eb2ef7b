"""The shared option declarations of synthloom.cli.options, on a small command of their own."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from synthloom.cli.command import Command, Group
from synthloom.cli.options import ExecutorFlags, Out, Quiet, executor_options


def _app(seen: list[tuple[Path, ExecutorFlags, bool]]) -> typer.Typer:
    app = typer.Typer(cls=Group, rich_markup_mode=None, add_completion=False)

    @app.command(cls=Command)
    @executor_options("actors")
    def work(out: Out, flags: ExecutorFlags = ExecutorFlags(), quiet: Quiet = False) -> None:
        """Does nothing but remember what it was given."""
        seen.append((out, flags, quiet))

    @app.command(cls=Command)
    def other() -> None:
        """A second command, so that the group keeps its subcommand names."""

    return app


@pytest.mark.parametrize(
    ("args", "flags"),
    [
        pytest.param([], ExecutorFlags(), id="none-given"),
        pytest.param(
            ["--executor", "ray", "--ray-address", "head:6379", "--actors", "3"],
            ExecutorFlags("ray", "head:6379", 3),
            id="all-given",
        ),
        pytest.param(["--actors", "2"], ExecutorFlags(actors=2), id="one-given"),
    ],
)
def test_the_command_gets_the_executor_options_as_one_flags_object(
    args: list[str], flags: ExecutorFlags
) -> None:
    seen: list[tuple[Path, ExecutorFlags, bool]] = []
    _app(seen)(["work", "--out", "runs/x", *args, "-q"], standalone_mode=False)
    assert seen == [(Path("runs/x"), flags, True)]


def test_options_the_command_did_not_ask_for_are_not_offered() -> None:
    seen: list[tuple[Path, ExecutorFlags, bool]] = []
    with pytest.raises(typer.TyperException, match="No such option: --shard-size"):
        _app(seen)(["work", "--out", "x", "--shard-size", "5"], standalone_mode=False)
    with pytest.raises(typer.BadParameter, match="'cloud' is not one of local, ray"):
        _app(seen)(["work", "--out", "x", "--executor", "cloud"], standalone_mode=False)
    assert seen == []


def test_help_lists_the_executor_options_where_flags_stands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        _app([])(["work", "--help"])
    text = capsys.readouterr().out
    order = [text.index(flag) for flag in ("--out", "--executor", "--ray-address", "--actors")]
    assert order == sorted(order) and order[-1] < text.index("--quiet")
    assert "--per-actor-in-flight" not in text


def test_a_command_without_flags_or_an_unknown_option_is_refused() -> None:
    with pytest.raises(ValueError, match="no executor option \\['workers'\\]"):
        executor_options("workers")

    def bare(out: Out) -> None:
        """Takes no flags parameter."""

    with pytest.raises(TypeError, match="bare takes no 'flags: ExecutorFlags' parameter"):
        executor_options()(bare)
