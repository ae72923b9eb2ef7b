"""``--bounds FILE``: public ranges and category lists for a DP synthesis.

A DP copula needs each numeric column's range and each categorical column's categories before
it looks at the rows; read from the data they leak the extremes and the rare categories. A
bounds file states them from public knowledge instead (YAML, or JSON, which YAML reads)::

    age: [18, 100]                         # numeric: [low, high]
    income: {low: 0, high: 250000}         # the same, spelled out
    signup_date: ["2015-01-01", "2025-12-31"]
    plan: {categories: [free, pro, team]}  # categorical or boolean: every allowed value

Values outside a range are clipped into it; categories not listed count as missing. Columns the
file leaves out take their bounds from the data, and run.json says so column by column.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from synthloom.errors import ConfigError, unknown_column
from synthloom.synthesize.fit import ColumnBounds
from synthloom.synthesize.marginals import numeric_values
from synthloom.yamlfile import load_yaml_file

__all__ = ["load_bounds"]


def load_bounds(
    path: Path, real: pd.DataFrame, kinds: Mapping[str, str]
) -> dict[str, ColumnBounds]:
    """Read and check a bounds file against the real table's columns and their kinds.

    Raises :class:`ConfigError` naming the file and the column for anything wrong.
    """
    data = load_yaml_file(
        path, what="bounds file", option="--bounds", hint="write one 'column: [low, high]' per line"
    )
    if not isinstance(data, Mapping) or not data:
        raise ConfigError("must map column names to [low, high] or {categories: [...]}", path=path)
    names = [str(c) for c in real.columns]
    bounds: dict[str, ColumnBounds] = {}
    for column, spec in data.items():
        name = str(column)
        if name not in names:
            raise unknown_column(name, names, path=path, has="the real table")
        kind = kinds[name]
        if kind == "id":
            raise ConfigError(
                "is an identifier column (kind id), which is never learnt; remove it from the "
                "bounds file or set its kind with --kinds",
                path=path,
                field=name,
            )
        if kind in ("numerical", "datetime"):
            bounds[name] = _range(spec, kind, path, name)
        else:
            bounds[name] = _categories(spec, path, name)
    return bounds


def _range(spec: Any, kind: str, path: Path, name: str) -> ColumnBounds:
    if isinstance(spec, Mapping) and set(spec) == {"low", "high"}:
        pair = [spec["low"], spec["high"]]
    elif isinstance(spec, list) and len(spec) == 2:
        pair = list(spec)
    else:
        raise ConfigError(
            f"is a {kind} column: give its range as [low, high] or {{low: .., high: ..}}",
            path=path,
            field=name,
        )
    if kind == "datetime":
        values, _ = numeric_values(pd.Series([str(v) for v in pair]), "datetime")
        low, high = float(values[0]), float(values[1])
        what = "dates such as 2024-01-31"
    else:
        numbers = [v for v in pair if isinstance(v, int | float) and not isinstance(v, bool)]
        low, high = (float(numbers[0]), float(numbers[1])) if len(numbers) == 2 else (math.nan,) * 2
        what = "finite numbers"
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise ConfigError(f"range {pair} must be two {what} with low < high", path=path, field=name)
    return ColumnBounds(low=low, high=high)


def _categories(spec: Any, path: Path, name: str) -> ColumnBounds:
    values = spec.get("categories") if isinstance(spec, Mapping) else None
    if not isinstance(values, list) or not values:
        raise ConfigError(
            "is a categorical column: list its values as {categories: [a, b, ...]}",
            path=path,
            field=name,
        )
    if any(isinstance(v, list | dict) for v in values):
        raise ConfigError("categories must be single values", path=path, field=name)
    unique = list(dict.fromkeys(values))
    return ColumnBounds(categories=tuple(unique))
