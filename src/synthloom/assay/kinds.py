"""The assay's column kinds: decided once from the reference, overridable with ``--kinds FILE``.

A column's kind picks the metric that scores it (KSComplement for ``numerical``/``datetime``,
TVComplement for ``categorical``/``boolean``, none for ``id``), so it must not depend on the
synthetic side or on chance: the same reference always gives the same kinds, whatever
synthetic data it is compared with. Detection is :func:`synthloom.assay.fidelity.column_kinds`
on the reference alone; the per-record features of instruction data have fixed kinds
(:data:`synthloom.assay.features.FEATURE_KINDS`); a kinds file overrides both.

A kinds file is YAML (or JSON, which YAML reads) mapping column names to kinds::

    meta.leaf: categorical     # score it even though it looks id-like
    zip_code: id               # never score it
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import yaml

from synthloom.assay.fidelity import KINDS, column_kinds
from synthloom.errors import ConfigError

__all__ = ["decide_kinds", "load_kinds"]


def load_kinds(path: Path) -> dict[str, str]:
    """Read a kinds file: a mapping of column name -> one of :data:`KINDS`.

    Raises :class:`ConfigError` naming the file (and the column) for a missing or unreadable
    file, a file that is not a mapping, or an unknown kind. Column names are checked against
    the data later, by :func:`decide_kinds`.
    """
    if not path.is_file():
        raise ConfigError("kinds file not found; check the path given to --kinds", path=path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the kinds file ({exc})", path=path) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(
            "is not valid YAML or JSON; write one 'column: kind' per line",
            path=path,
            line=mark.line + 1 if mark is not None else None,
        ) from exc
    if not isinstance(data, Mapping) or not data:
        raise ConfigError(
            "must map column names to kinds, one 'column: kind' per line "
            f"(kinds: {', '.join(KINDS)})",
            path=path,
        )
    kinds: dict[str, str] = {}
    for column, kind in data.items():
        if not isinstance(kind, str) or kind not in KINDS:
            raise ConfigError(
                f"unknown kind {kind!r} for column {column!r}; use one of: {', '.join(KINDS)}",
                path=path,
                field=str(column),
            )
        kinds[str(column)] = kind
    return kinds


def decide_kinds(
    reference: pd.DataFrame,
    *,
    fixed: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
    source: Path | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """(kind per column, where each kind came from) for the reference's columns.

    ``fixed`` kinds (the instruction features') win over detection, ``overrides`` (a kinds file,
    read from ``source``) over both. The sources are ``"detected"``, ``"fixed"`` and
    ``"--kinds"``. An override naming a column the data lacks raises :class:`ConfigError`
    listing the columns.
    """
    names = [str(c) for c in reference.columns]
    for column in overrides or {}:
        if column not in names:
            raise ConfigError(
                f"--kinds names column {column!r}, which the data does not have; columns: "
                + ", ".join(names),
                path=source,
                field=column,
            )
    fixed = {k: v for k, v in (fixed or {}).items() if k in names}
    todo = [c for c in reference.columns if str(c) not in fixed and str(c) not in (overrides or {})]
    detected = column_kinds(reference[todo]) if todo else {}
    kinds: dict[str, str] = {}
    sources: dict[str, str] = {}
    for name in names:
        if overrides and name in overrides:
            kinds[name], sources[name] = overrides[name], "--kinds"
        elif name in fixed:
            kinds[name], sources[name] = fixed[name], "fixed"
        else:
            kinds[name], sources[name] = detected[name], "detected"
    return kinds, sources
