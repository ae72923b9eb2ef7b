"""YAML that remembers where each value came from.

``load_yaml`` returns plain dicts and lists (subclasses) whose ``line_of(key)`` gives the
1-based line of a key or item, so validation errors can say ``qna.yaml:12, field 'answer'``.
Duplicate mapping keys are refused: YAML silently keeps the last one, which hides mistakes.
Pydantic errors over such a document are translated by ``locate`` into file, line and field.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from synthloom.errors import ConfigError, yaml_syntax_error

__all__ = ["LineDict", "LineList", "field_name", "line_at", "load_yaml", "parse_yaml"]


class LineDict(dict[str, Any]):
    """A mapping from YAML with the line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    """A sequence from YAML with the line of itself and of each item."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


class _Loader(yaml.SafeLoader):
    #: When a list, repeated keys are recorded here (key, line) and the last value kept.
    duplicates: list[tuple[str, int]] | None = None


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        if key in out and loader.duplicates is not None:
            loader.duplicates.append((key, key_node.start_mark.line + 1))
        elif key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def parse_yaml(
    text: str, path: str | Path, *, duplicates: list[tuple[str, int]] | None = None
) -> Any:
    """Parse YAML text; syntax errors become ConfigError with the file and line.

    A repeated mapping key is refused, unless ``duplicates`` is a list: then each repeat is
    recorded there as (key, line) and the last value kept, as plain YAML readers do."""
    loader = _Loader(text)  # a SafeLoader subclass: no arbitrary objects
    loader.duplicates = duplicates
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise yaml_syntax_error(exc, path, "invalid YAML: {problem}; fix the syntax") from exc
    finally:
        loader.dispose()


def load_yaml(path: str | Path) -> Any:
    """Read and parse a YAML file (ConfigError naming the file when it cannot be read)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError("file not found; check the path", path=path) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the file ({exc})", path=path) from exc
    return parse_yaml(text, path)


def line_at(document: Any, loc: Sequence[int | str]) -> int | None:
    """The line of the deepest value along ``loc`` (a pydantic error location) that is known."""
    line: int | None = getattr(document, "line", None)
    node = document
    for part in loc:
        if isinstance(node, LineDict) and isinstance(part, str):
            line = node.line_of(part)
            node = node.get(part)
        elif isinstance(node, LineList) and isinstance(part, int):
            line = node.line_of(part)
            node = node[part] if 0 <= part < len(node) else None
        else:
            break
    return line


def field_name(loc: Sequence[int | str]) -> str:
    """``("teacher", "model")`` -> ``teacher.model``; ``("seeds", 2, "q")`` -> ``seeds[2].q``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
