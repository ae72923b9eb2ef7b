"""InstructLab's published ``qna.yaml`` schemas (the ``instructlab-schema`` package), applied
to a leaf with our file:line:field messages.

InstructLab reads a leaf without ``version`` as version 1 and validates it against the JSON
schema of that version and of its kind (``knowledge`` under ``knowledge/``, else
``compositional_skills``). A schema marked ``deprecated`` (knowledge versions 1 and 2) refuses
the leaf with the schema's own description, the reason InstructLab prints. Rules therefore come
from InstructLab's files, not from a copy of them: version 1 skills need one seed and accept an
empty ``task_description``, versions 2 and 3 need five distinct seeds, and so on.

    leaf_version(doc) -> (version, problem)        schema_problems(doc, version, kind)
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from instructlab.schema import schema_base, schema_versions
from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from synthloom.taxonomy.yamlio import LineDict, LineList, field_name, line_at

__all__ = ["SchemaProblem", "leaf_version", "published_versions", "schema_problems"]

#: The schema names InstructLab gives the two leaf kinds.
SKILL_SCHEMA = "compositional_skills"
KNOWLEDGE_SCHEMA = "knowledge"


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """One way a leaf breaks its schema: where (line, field) and what to do."""

    line: int | None
    field: str | None
    message: str


@cache
def published_versions() -> tuple[int, ...]:
    """The schema versions the installed ``instructlab-schema`` publishes (1, 2, 3 in 0.4)."""
    return tuple(int(v.name[1:]) for v in schema_versions())


@cache
def _schema(version: int, name: str) -> dict[str, Any]:
    text = schema_base().joinpath(f"v{version}", f"{name}.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _registry(version: int) -> Any:
    # The schemas refer to their neighbours (``./version.json``) by relative name.
    def retrieve(uri: str) -> Any:
        name = uri.rsplit("/", 1)[-1].removesuffix(".json")
        return Resource.from_contents(_schema(version, name), default_specification=DRAFT202012)

    return Registry(retrieve=retrieve)  # type: ignore[call-arg]


def leaf_version(doc: LineDict) -> tuple[int, SchemaProblem | None]:
    """The leaf's schema version (1 when absent, as InstructLab reads it) or a problem."""
    if "version" not in doc or doc["version"] is None:
        return 1, None
    value = doc["version"]
    known = published_versions()
    listed = ", ".join(str(v) for v in known)
    line = doc.line_of("version")
    if not isinstance(value, int) or isinstance(value, bool):
        return 0, SchemaProblem(line, "version", f"must be one of {listed}, got {value!r}")
    if value not in known:
        return 0, SchemaProblem(
            line,
            "version",
            f"is {value}; InstructLab publishes schema versions {listed}; use one of them",
        )
    return value, None


_TYPES = {
    "string": "a string",
    "array": "a list",
    "object": "a mapping",
    "integer": "an integer",
}


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def _first_duplicate(items: Sequence[Any]) -> int:
    for i, item in enumerate(items):
        if any(item == earlier for earlier in items[:i]):
            return i
    return 0


def _items_name(path: Sequence[int | str]) -> str:
    last = path[-1] if path else ""
    return {
        "seed_examples": "seed examples",
        "questions_and_answers": "question / answer pairs",
        "patterns": "patterns",
    }.get(str(last), "items")


def _problems(error: Any, doc: LineDict, version: int, schema: str) -> Iterator[SchemaProblem]:
    path = list(error.absolute_path)
    instance = error.instance
    line = line_at(doc, path)
    field = field_name(path) or None
    kind = error.validator
    if kind == "required":
        missing = str(error.message).split("'")[1] if "'" in str(error.message) else "?"
        where = field_name([*path, missing])
        yield SchemaProblem(line, where, "is missing; add it")
    elif kind == "unevaluatedProperties" and isinstance(instance, dict):
        allowed = set(error.schema.get("properties", {}))
        if not path:
            allowed.add("version")  # defined in the neighbouring version.json
        for key in instance:
            if key not in allowed:
                key_line = instance.line_of(key) if isinstance(instance, LineDict) else line
                yield SchemaProblem(
                    key_line,
                    field_name([*path, key]),
                    f"is not a field of version {version} {schema} leaves (InstructLab "
                    f"refuses it); remove or rename it",
                )
    elif kind == "type":
        wanted = _TYPES.get(str(error.validator_value), str(error.validator_value))
        yield SchemaProblem(line, field, f"must be {wanted}, got {_kind_of(instance)}")
    elif kind == "minLength":
        yield SchemaProblem(line, field, "is empty; write it out")
    elif kind == "minItems":
        count = len(instance) if isinstance(instance, list) else 0
        need = error.validator_value
        yield SchemaProblem(
            line,
            field,
            f"has {count} {_items_name(path)}; version {version} needs at least {need}, "
            f"add {need - count} more",
        )
    elif kind == "uniqueItems" and isinstance(instance, list):
        index = _first_duplicate(instance)
        at = instance.line_of(index) if isinstance(instance, LineList) else line
        yield SchemaProblem(
            at,
            field_name([*path, index]),
            "repeats an earlier item exactly; make each one distinct",
        )
    else:
        yield SchemaProblem(line, field, f"{str(error.message)[-200:]}; fix it")


def schema_problems(doc: LineDict, version: int, schema: str) -> list[SchemaProblem]:
    """Every way ``doc`` breaks InstructLab's schema ``schema`` of ``version``, in file order.

    A deprecated schema gives one problem carrying InstructLab's own reason."""
    contents = _schema(version, schema)
    if contents.get("deprecated"):
        reason = contents.get("description") or f"{schema} version {version} is deprecated"
        return [
            SchemaProblem(
                doc.line_of("version"),
                "version",
                f"{reason.rstrip('.')} (InstructLab's rule); rewrite the leaf as version 3 "
                f"('synthloom taxonomy upgrade' lists what it needs)",
            )
        ]
    validator = validator_for(contents)(contents, registry=_registry(version))
    found = [p for e in validator.iter_errors(doc) for p in _problems(e, doc, version, schema)]
    found.sort(key=lambda p: (p.line or 0, p.field or ""))
    return found
