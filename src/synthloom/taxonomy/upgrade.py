"""``synthloom taxonomy upgrade``: move version 1 and 2 leaves to schema version 3.

A skill leaf whose content already meets version 3's rules only needs ``version: 3``: that
line is written (the rest of the file, comments and block scalars included, is kept byte for
byte), after checking the new text against InstructLab's version 3 schema. Anything else is not
mechanical and is left unchanged, with what a person must still do: seeds to add, an empty
task description to write, repeated seeds to vary; for knowledge leaves of versions 1 and 2
(which InstructLab no longer reads) the outline and the grouping of question / answer pairs
under passages of the documents.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from synthloom.errors import ConfigError
from synthloom.taxonomy.load import leaf_files
from synthloom.taxonomy.schema import (
    KNOWLEDGE_SCHEMA,
    SKILL_SCHEMA,
    leaf_version,
    schema_problems,
)
from synthloom.taxonomy.yamlio import LineDict, parse_yaml

__all__ = ["LeafUpgrade", "upgrade_leaf", "upgrade_taxonomy"]

TARGET = 3
_VERSION_LINE = re.compile(r"^version:[^\n]*$", re.MULTILINE)

Outcome = Literal["current", "upgraded", "needs_person", "unreadable"]


@dataclass(slots=True)
class LeafUpgrade:
    """What upgrading one leaf does (``upgraded``) or needs (``needs``)."""

    file: Path
    path: str
    version: int
    outcome: Outcome
    needs: list[str] = field(default_factory=list)
    written: bool = False


def _with_version(text: str) -> str:
    if _VERSION_LINE.search(text):
        return _VERSION_LINE.sub(f"version: {TARGET}", text, count=1)
    return f"version: {TARGET}\n{text}"


def _knowledge_needs(doc: LineDict) -> list[str]:
    needs: list[str] = []
    if not isinstance(doc.get("document_outline"), str) or not doc["document_outline"].strip():
        needs.append("add document_outline: a brief summary of the documents")
    seeds = doc.get("seed_examples")
    pairs = len(seeds) if isinstance(seeds, list) else 0
    grouped = isinstance(seeds, list) and all(
        isinstance(s, dict) and "questions_and_answers" in s for s in seeds
    )
    if not grouped:
        needs.append(
            f"regroup the {pairs} question / answer pairs under at least 5 seed_examples, each a "
            f"'context' (a passage of the documents) with 3 questions_and_answers"
        )
    if "task_description" in doc:
        needs.append(
            "remove task_description (not a version 3 knowledge field; its text may help write "
            "document_outline)"
        )
    return needs


def _problem_text(field_name: str | None, message: str) -> str:
    return f"{field_name}: {message}" if field_name else message


def upgrade_leaf(file: Path, rel: str, *, write: bool) -> LeafUpgrade:
    """Upgrade one ``qna.yaml`` (only with ``write``) or say what it needs."""
    try:
        text = file.read_text(encoding="utf-8")
        doc = parse_yaml(text, str(file), duplicates=[])
    except (OSError, UnicodeDecodeError, ConfigError) as exc:
        return LeafUpgrade(file, rel, 0, "unreadable", [str(exc).split(": ", 1)[-1]])
    if not isinstance(doc, LineDict):
        return LeafUpgrade(file, rel, 0, "unreadable", ["is not a YAML mapping"])
    version, problem = leaf_version(doc)
    if problem is not None:
        return LeafUpgrade(file, rel, 0, "unreadable", [_problem_text("version", problem.message)])
    top = rel.split("/", 1)[0]
    knowledge = top == KNOWLEDGE_SCHEMA or (top != SKILL_SCHEMA and "document" in doc)
    schema = KNOWLEDGE_SCHEMA if knowledge else SKILL_SCHEMA
    if version == TARGET:
        found = schema_problems(doc, TARGET, schema)
        needs = [_problem_text(p.field, p.message) for p in found]
        return LeafUpgrade(file, rel, version, "needs_person" if needs else "current", needs)
    if knowledge:
        return LeafUpgrade(file, rel, version, "needs_person", _knowledge_needs(doc))
    new_text = _with_version(text)
    new_doc = parse_yaml(new_text, str(file), duplicates=[])
    found = schema_problems(new_doc, TARGET, schema)
    if found:
        needs = [_problem_text(p.field, p.message) for p in found]
        return LeafUpgrade(file, rel, version, "needs_person", needs)
    result = LeafUpgrade(file, rel, version, "upgraded")
    if write:
        tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
        tmp.write_text(new_text, encoding="utf-8")
        tmp.replace(file)
        result.written = True
    return result


def upgrade_taxonomy(root: str | Path, *, write: bool = False) -> list[LeafUpgrade]:
    """Every leaf of the tree, upgraded where mechanical (files change only with ``write``)."""
    files, _ = leaf_files(root)
    if not files:
        raise ConfigError("holds no qna.yaml leaf; point at an InstructLab taxonomy", path=root)
    return [upgrade_leaf(file, rel, write=write) for rel, file in files.items()]
