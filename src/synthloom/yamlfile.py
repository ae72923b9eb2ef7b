"""Reading a small YAML (or JSON) settings file given on the command line, errors included.

A missing or unreadable file, or one that is not YAML, is one :class:`ConfigError` line that
names the file (and the line YAML stumbled on) and the option that gave it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from synthloom.errors import ConfigError, yaml_syntax_error

__all__ = ["load_yaml_file"]


def load_yaml_file(path: Path, *, what: str, option: str, hint: str) -> Any:
    """The parsed contents of ``path``, a ``what`` (``"kinds file"``) given to ``option``.

    ``hint`` says how the file is written, for the message of a file that is not YAML.
    """
    if not path.is_file():
        raise ConfigError(f"{what} not found; check the path given to {option}", path=path)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the {what} ({exc})", path=path) from exc
    except yaml.YAMLError as exc:
        raise yaml_syntax_error(
            exc, path, "is not valid YAML or JSON ({problem}); " + hint.replace("{", "{{")
        ) from exc
