"""The synthloom exception tree.

    SynthloomError                 base of everything we raise on purpose
    ├── InputError                 the user's input is wrong (file, line, field); CLI exit 2
    │   ├── DataFormatError        a dataset cannot be read or has the wrong shape
    │   └── ConfigError            a configuration / gate / pipeline file is wrong
    ├── GateFailed                 an assay's quality gate was not met; CLI exit 1
    └── BackendError               a model server or optional dependency failed us; CLI exit 2
        └── MissingDependencyError an optional extra is not installed

Every message is one line that names where the problem is and what to do about it.
Third-party errors are translated once, at the boundary, with ``raise ... from exc``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "BackendError",
    "ConfigError",
    "DataFormatError",
    "GateFailed",
    "InputError",
    "MissingDependencyError",
    "SynthloomError",
    "unknown_column",
    "yaml_syntax_error",
]


class SynthloomError(Exception):
    """Base class of every error synthloom raises on purpose."""

    exit_code: int = 2


class InputError(SynthloomError):
    """The user's input is wrong. The message names the file (and line or field)."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        where = []
        if self.path is not None:
            where.append(self.path if line is None else f"{self.path}:{line}")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class DataFormatError(InputError):
    """A dataset cannot be read, or does not have the shape the operation needs."""


class ConfigError(InputError):
    """A configuration, gate or pipeline file is wrong."""


def unknown_column(
    column: str,
    columns: list[str],
    *,
    path: str | Path | None,
    what: str | None = None,
    has: str = "the data",
) -> ConfigError:
    """The one-line error for a file (or option ``what``) naming a column that ``has`` lacks,
    listing the columns there are so the user can correct the name."""
    named = f"{what} names" if what else "names"
    return ConfigError(
        f"{named} column {column!r}, which {has} does not have; columns: " + ", ".join(columns),
        path=path,
        field=column,
    )


def yaml_syntax_error(
    exc: Exception, path: str | Path, message: str = "invalid YAML ({problem})"
) -> ConfigError:
    """The one-line error for a YAML file PyYAML could not parse: the file, the line of the
    problem when PyYAML marks one, and ``message`` with ``{problem}`` filled in (PyYAML's own
    words, or its context when it gives no problem)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    return ConfigError(
        message.format(problem=problem),
        path=path,
        line=mark.line + 1 if mark is not None else None,
    )


class GateFailed(SynthloomError):
    """The assay's quality gate was not met."""

    exit_code = 1

    def __init__(self, failures: list[str]) -> None:
        self.failures = failures
        super().__init__("quality gate not met: " + "; ".join(failures))


class BackendError(SynthloomError):
    """A model server, or a library we depend on, failed in a way the user must act on."""


class MissingDependencyError(BackendError):
    """An optional extra is needed for this feature."""

    def __init__(self, feature: str, extra: str, package: str) -> None:
        super().__init__(
            f"{feature} needs the optional package '{package}': pip install 'synthloom[{extra}]'"
        )
