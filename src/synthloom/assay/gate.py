"""The quality gate: thresholds on metrics.json paths.

A gate file is YAML, either a list of rules or a mapping from path to condition::

    # list form
    - fidelity.overall >= 0.8
    - privacy.pii.total == 0
    # mapping form
    fidelity.overall: ">= 0.8"
    privacy.pii.total: "== 0"

Operators: ``>=``, ``>``, ``<=``, ``<``, ``==``, ``!=``. A path is a dotted path into
metrics.json (see the README for the stable ones). A rule whose metric was not computed (null)
fails. A path that does not exist in metrics.json is a configuration error (exit 2).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from synthloom.errors import ConfigError, yaml_syntax_error

__all__ = ["GateRule", "check_rule_paths", "evaluate_gate", "load_gate", "lookup"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_RULE = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$")
_CONDITION = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$")
_SECTIONS = (
    "dataset",
    "fidelity",
    "diversity",
    "privacy",
    "bias",
    "tails",
    "preference",
    "finding_counts",
)


@dataclass(frozen=True)
class GateRule:
    path: str
    op: str
    value: float
    source: str  # "file:line", for messages

    def describe(self) -> str:
        return f"{self.path} {self.op} {self.value:g}"


def _number(text: str, where: str, line: int, path: Path) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(
            f"threshold {text!r} is not a number", path=path, line=line, field=where
        ) from None
    if not math.isfinite(value):
        raise ConfigError(
            f"threshold must be a finite number, not {text}", path=path, line=line, field=where
        )
    return value


def _check_path(metric_path: str, path: Path, line: int) -> None:
    head = metric_path.split(".", 1)[0]
    if head not in _SECTIONS:
        raise ConfigError(
            f"unknown metric path '{metric_path}': "
            f"it must start with one of {', '.join(_SECTIONS)}",
            path=path,
            line=line,
        )


def _rule(metric: str | None, node: yaml.Node, line: int, path: Path) -> GateRule:
    """One rule: ``PATH OP NUMBER`` in the list form (``metric`` None), ``OP NUMBER`` under its
    path in the mapping form."""
    what, example, pattern = (
        ("each rule", "'fidelity.overall >= 0.8'", _RULE)
        if metric is None
        else ("condition", "'>= 0.8'", _CONDITION)
    )
    if metric is not None:
        _check_path(metric, path, line)
    if not isinstance(node, yaml.ScalarNode):
        raise ConfigError(
            f"{what} must be a string like {example}", path=path, line=line, field=metric
        )
    match = pattern.match(str(node.value))
    if not match:
        form = "PATH OP NUMBER" if metric is None else "OP NUMBER"
        raise ConfigError(
            f"cannot read {what.removeprefix('each ')} {node.value!r}; write '{form}' with OP "
            "one of " + ", ".join(_OPS),
            path=path,
            line=line,
            field=metric,
        )
    if metric is None:
        metric, op, raw = match.groups()
        _check_path(metric, path, line)
    else:
        op, raw = match.groups()
    return GateRule(metric, op, _number(raw, metric, line, path), f"{path}:{line}")


def load_gate(path: str | Path) -> list[GateRule]:
    """Parse and check a gate file (syntax and known sections; existence is checked later)."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError("is a folder; give the gate's YAML file", path=path)
    if not path.is_file():
        raise ConfigError("gate file not found; check the path", path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("not UTF-8 text", path=path) from exc
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise yaml_syntax_error(exc, path) from exc
    if root is None:
        raise ConfigError(
            "the gate file is empty; list rules like 'fidelity.overall >= 0.8'", path=path
        )
    entries: list[tuple[str | None, yaml.Node, int]]
    if isinstance(root, yaml.SequenceNode):
        entries = [(None, node, node.start_mark.line + 1) for node in root.value]
    elif isinstance(root, yaml.MappingNode):
        entries = [(str(key.value), value, key.start_mark.line + 1) for key, value in root.value]
    else:
        raise ConfigError(
            "a gate file is a list of rules or a mapping of path to condition", path=path
        )
    rules = [_rule(metric, node, line, path) for metric, node, line in entries]
    if not rules:
        raise ConfigError("the gate file has no rules", path=path)
    return rules


_MISSING = object()


def check_rule_paths(rules: list[GateRule], schema: re.Pattern[str], kind: str) -> None:
    """ConfigError for the first rule whose path this assay cannot produce (before computing)."""
    for rule in rules:
        if not schema.match(rule.path):
            file, _, line = rule.source.rpartition(":")
            raise ConfigError(
                f"unknown metric path '{rule.path}': an assay of {kind} data has no such "
                "number (see the README's metrics.json paths; per-column paths name a column "
                "of the data)",
                path=file,
                line=int(line),
            )


def lookup(metrics: Mapping[str, Any], dotted: str) -> Any:
    """Follow a dotted path into nested dicts (list items by index); _MISSING if absent.

    Keys may hold dots themselves (``fidelity.columns.meta.topic.score``): the longest key
    that matches is taken first, then shorter ones.
    """
    return _follow(metrics, dotted.split("."))


def _follow(node: Any, parts: list[str]) -> Any:
    if not parts:
        return node
    if isinstance(node, Mapping):
        for end in range(len(parts), 0, -1):
            key = ".".join(parts[:end])
            if key in node:
                found = _follow(node[key], parts[end:])
                if found is not _MISSING:
                    return found
        return _MISSING
    head = parts[0]
    if isinstance(node, list) and head.isdigit() and int(head) < len(node):
        return _follow(node[int(head)], parts[1:])
    return _MISSING


def evaluate_gate(rules: list[GateRule], metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Check every rule; returns one result dict per rule. Unknown paths raise ConfigError."""
    results = []
    for rule in rules:
        value = lookup(metrics, rule.path)
        if value is _MISSING:
            file, _, line = rule.source.rpartition(":")
            raise ConfigError(
                f"unknown metric path '{rule.path}': metrics.json has no such value "
                "(see the README for the paths)",
                path=file,
                line=int(line),
            )
        if isinstance(value, bool) or not isinstance(value, (int, float, type(None))):
            file, _, line = rule.source.rpartition(":")
            raise ConfigError(
                f"metric path '{rule.path}' is not a number; name a numeric value",
                path=file,
                line=int(line),
            )
        if value is None or (isinstance(value, float) and math.isnan(value)):
            passed, shown = False, "not computed"
        else:
            passed, shown = bool(_OPS[rule.op](float(value), rule.value)), f"{float(value):.6g}"
        results.append(
            {
                "rule": rule.describe(),
                "path": rule.path,
                "value": value,
                "passed": passed,
                "shown": shown,
            }
        )
    return results
