"""The help style of every command: flags shown as flags, one metavar style, plain text.

Help is click's plain layout (``rich_markup_mode=None`` on the app): each option on its own
line with its help beside or under it, whole at 80 columns, where typer's boxed tables cut
long option names and squeeze the help into a narrow column.

typer 0.29 renders the value of each option from its Python type in angle brackets
(``--quiet <bool>``, ``--out <path>``, ``--private <list[Path]>``), flags and ``--help``
included, and a required argument in braces (``{synthetic}``). The classes below give every
parameter that names no metavar of its own the classic upper-case one instead: nothing for a
flag, ``PATH``, ``TEXT``, ``INTEGER`` or ``FLOAT`` for a value, the argument's name in capitals
(``SYNTHETIC``) for an argument, so that the usage line, the option list and the error
messages ("Missing argument 'SYNTHETIC'") all use the same words. An argument is listed by
its name alone (its help says what it takes), not ``PROMPTS <str>``.

Every command and group of the CLI is made with these classes (``@app.command(cls=Command)``,
``typer.Typer(cls=Group)``); tests/cli/test_help.py holds every command to it.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

__all__ = ["Command", "Group"]

_TYPE_METAVARS = {"Path": "PATH", "str": "TEXT", "int": "INTEGER", "float": "FLOAT"}


def _metavar(param: Any) -> str | None:
    """The metavar a parameter without one gets (None: leave it as it is)."""
    if isinstance(param, TyperArgument):
        return str(param.name).upper()
    if not isinstance(param, TyperOption):
        return None
    if param.is_flag or param.count:
        return ""  # a flag takes no value: show none
    name = param.bare_type()
    if name.startswith("list[") and name.endswith("]"):
        name = name[5:-1]  # a repeatable option shows the metavar of one value
    return _TYPE_METAVARS.get(name, "TEXT")


def _tidy(params: list[Any]) -> list[Any]:
    for param in params:
        if getattr(param, "metavar", None) is None:
            metavar = _metavar(param)
            if metavar is not None:
                param.metavar = metavar
    return params


def _usage_pieces(command: Any, ctx: Any) -> list[str]:
    """``[OPTIONS] SYNTHETIC`` (``[NAME]`` for an optional argument), not ``{synthetic}``."""
    pieces = [command.options_metavar] if command.options_metavar else []
    for param in command.get_params(ctx):
        if isinstance(param, TyperArgument):
            name = param.display_name_raw
            name = name if param.required else f"[{name}]"
            pieces.append(name + ("..." if param.nargs != 1 else ""))
        else:
            pieces.extend(param.get_usage_pieces(ctx))
    return pieces


def _format_options(command: Any, ctx: Any, formatter: Any) -> None:
    """The Arguments and Options sections (typer's, with arguments listed by name only)."""
    args, opts = [], []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        if isinstance(param, TyperArgument):
            args.append((param.display_name_raw, record[1]))
        else:
            opts.append(record)
    for title, rows in (("Arguments", args), ("Options", opts)):
        if rows:
            with formatter.section(title):
                formatter.write_dl(rows)


class Command(TyperCommand):
    """A command of the synthloom CLI (see the module docstring)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _tidy(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _usage_pieces(self, ctx)

    def format_options(self, ctx: Any, formatter: Any) -> None:
        _format_options(self, ctx, formatter)


class Group(TyperGroup):
    """A group of synthloom commands (see the module docstring)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _tidy(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [*_usage_pieces(self, ctx), self.subcommand_metavar]

    def format_options(self, ctx: Any, formatter: Any) -> None:
        _format_options(self, ctx, formatter)
        self.format_commands(ctx, formatter)
