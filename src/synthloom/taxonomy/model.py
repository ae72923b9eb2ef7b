"""The taxonomy's value types: a leaf, its seed examples and its document reference.

A leaf is one ``qna.yaml`` of an InstructLab taxonomy (schema version 1, 2 or 3; ``version``
says which). Skills are freeform
(seeds are question / answer) or grounded (every seed also has a ``context``); knowledge leaves
have seed contexts with several question / answer pairs each, and documents to learn from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = [
    "DocumentRef",
    "Issue",
    "KnowledgeSeed",
    "Leaf",
    "LeafKind",
    "SeedExample",
    "Taxonomy",
]

LeafKind = Literal["freeform_skill", "grounded_skill", "knowledge"]


@dataclass(frozen=True, slots=True)
class SeedExample:
    """One human example: a question and answer, and the context it is grounded in, if any."""

    question: str
    answer: str
    context: str | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class KnowledgeSeed:
    """A knowledge seed: a passage of the document and the question / answer pairs about it."""

    context: str
    pairs: tuple[SeedExample, ...]
    line: int = 0


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """Where a knowledge leaf's documents are: a git repository at a commit, or a folder."""

    repo: str
    commit: str | None
    patterns: tuple[str, ...]
    line: int = 0
    #: Where the documents were found (a repository or folder on this machine), once resolved.
    local: str | None = None
    is_git: bool = False


@dataclass(frozen=True, slots=True)
class Leaf:
    """One leaf of the taxonomy (one ``qna.yaml``)."""

    #: The leaf's folder relative to the taxonomy root, with ``/`` separators.
    path: str
    file: Path
    kind: LeafKind
    version: int
    created_by: str
    task_description: str
    #: Every seed question / answer (knowledge pairs carry their seed's context).
    seeds: tuple[SeedExample, ...]
    knowledge_seeds: tuple[KnowledgeSeed, ...] = ()
    domain: str | None = None
    document_outline: str | None = None
    document: DocumentRef | None = None

    @property
    def slug(self) -> str:
        """A file-system-safe name for the leaf's output folder."""
        return self.path.replace("/", "__") or "root"


@dataclass(frozen=True, slots=True)
class Issue:
    """A problem found in a taxonomy: an error stops generation, a warning does not."""

    severity: Literal["error", "warning"]
    file: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


@dataclass(slots=True)
class Taxonomy:
    """A loaded taxonomy: its root, its valid chosen leaves, and every issue found in them."""

    root: Path
    leaves: list[Leaf] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    #: Every leaf folder of the tree (relative to the root), read or not.
    found: list[str] = field(default_factory=list)
    #: The leaf folders chosen (subtree, changed since, globs) and therefore read and checked.
    chosen: list[str] = field(default_factory=list)

    @property
    def invalid(self) -> list[str]:
        """Files of chosen leaves that have errors, in order."""
        return sorted({i.file for i in self.errors})

    @property
    def invalid_paths(self) -> list[str]:
        """Leaf folders (relative to the root) of chosen leaves that have errors."""
        paths = {Path(f).parent.relative_to(self.root).as_posix() for f in self.invalid}
        return sorted("" if p == "." else p for p in paths)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]
