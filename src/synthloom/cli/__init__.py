"""The ``synthloom`` command line.

Each command lives in its own module of this package and only parses arguments, calls a library
function a Python user could call the same way, and prints a summary. Errors that are the
user's to fix (``SynthloomError``) become one line on stderr and their exit code, never a
traceback.
"""

from __future__ import annotations

import sys

import typer

from synthloom import __version__
from synthloom.cli.command import Command, Group
from synthloom.errors import SynthloomError
from synthloom.redact import redact

__all__ = ["Command", "Group", "app", "main"]

app = typer.Typer(
    name="synthloom",
    help="Generate synthetic training data for LLMs and prove it fit to train on.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: see synthloom.cli.command
    cls=Group,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"synthloom {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """synthloom: generate → curate → assay → export."""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 gate not met, 2 bad input)."""
    try:
        result = app(args=argv, prog_name="synthloom", standalone_mode=False)
    except SynthloomError as exc:
        # The errors already hold no server-echoed secret; this is the net under that rule.
        print(f"synthloom: error: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except typer.Exit as exc:
        code = int(getattr(exc, "exit_code", getattr(exc, "code", 0)) or 0)
        if code == 130:  # typer turns Ctrl-C into Exit(130)
            print("synthloom: interrupted; run the same command again to resume", file=sys.stderr)
        return code
    except typer.Abort:
        print("synthloom: aborted", file=sys.stderr)
        return 130
    except typer.TyperException as exc:
        # A usage error (missing or unknown option, bad value): one line naming the command
        # and the option, exit 2. A bare command with no arguments shows its help instead.
        show = getattr(exc, "show", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and callable(show):
            show()
            return 2
        format_message = getattr(exc, "format_message", None)
        message = format_message() if callable(format_message) else str(exc)
        ctx = getattr(exc, "ctx", None)
        where = getattr(ctx, "command_path", None) or "synthloom"
        # typer validates through pydantic, which prefixes our parsers' messages.
        message = " ".join(message.replace("Value error, ", "").split())
        print(f"{where}: error: {message} (see '{where} --help')", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("synthloom: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    return int(result) if isinstance(result, int) else 0


# Command modules register themselves on `app` when imported.
from synthloom.cli import assay as _assay  # noqa: E402,F401
from synthloom.cli import card as _card  # noqa: E402,F401
from synthloom.cli import collapse as _collapse  # noqa: E402,F401
from synthloom.cli import complete as _complete  # noqa: E402,F401
from synthloom.cli import curate as _curate  # noqa: E402,F401
from synthloom.cli import generate as _generate  # noqa: E402,F401
from synthloom.cli import mix as _mix  # noqa: E402,F401
from synthloom.cli import nemotron as _nemotron  # noqa: E402,F401
from synthloom.cli import plan as _plan  # noqa: E402,F401
from synthloom.cli import synthesize as _synthesize  # noqa: E402,F401
from synthloom.cli import taxonomy as _taxonomy  # noqa: E402,F401
