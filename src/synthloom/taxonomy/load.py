"""Load and validate an InstructLab taxonomy tree exactly as its users publish it.

``load_taxonomy`` lists every ``qna.yaml``, chooses the leaves first (``subtree``,
``changed_since``, leaf-path globs) and reads and checks only the chosen ones: a broken leaf
elsewhere in the tree is never read. Each leaf is checked against InstructLab's published
schema of its version (see ``schema.py``: a missing ``version`` means 1); each issue names the
file, the line and the field. On top of the schema: a skill mixing seeds with and without
``context`` is an error (no recipe can use it), and for knowledge, documents that cannot be read
or patterns that match nothing. Warnings: a leaf file named ``qna.yml``, seeds that differ only
in case or spacing, keys repeated in a version 1 leaf (InstructLab keeps the last one).
``require_valid`` turns the errors into one ConfigError.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from synthloom.errors import ConfigError, InputError
from synthloom.taxonomy.documents import (
    DocumentOptions,
    is_revision,
    is_url,
    list_documents,
    resolve_documents,
)
from synthloom.taxonomy.model import (
    DocumentRef,
    Issue,
    KnowledgeSeed,
    Leaf,
    LeafKind,
    SeedExample,
    Taxonomy,
)
from synthloom.taxonomy.plan import choose_paths
from synthloom.taxonomy.schema import (
    KNOWLEDGE_SCHEMA,
    SKILL_SCHEMA,
    leaf_version,
    schema_problems,
)
from synthloom.taxonomy.yamlio import LineDict, parse_yaml

__all__ = ["MIN_SEED_EXAMPLES", "leaf_files", "load_leaf", "load_taxonomy", "require_valid"]

#: Seed examples InstructLab asks for from schema version 2 on (version 1 asks for one).
MIN_SEED_EXAMPLES = 5
_SPACE = re.compile(r"\s+")


class _Checker:
    """Collects issues for one file."""

    def __init__(self, file: Path, shown: str) -> None:
        self.file = file
        self.shown = shown
        self.issues: list[Issue] = []

    def error(self, line: int | None, field: str | None, message: str) -> None:
        self.issues.append(Issue("error", self.shown, line, field, message))

    def warn(self, line: int | None, field: str | None, message: str) -> None:
        self.issues.append(Issue("warning", self.shown, line, field, message))

    @property
    def failed(self) -> bool:
        return any(i.severity == "error" for i in self.issues)


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text.strip().lower())


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _near_duplicates(check: _Checker, seeds: list[SeedExample], where: list[str]) -> None:
    """Warn about seeds that repeat another up to case and spacing (exact repeats are errors
    from version 2 on, by the schema's uniqueItems; version 1 allows them)."""
    seen: dict[str, int] = {}
    for seed, field in zip(seeds, where, strict=True):
        key = _norm(seed.question) + "\x00" + _norm(seed.context or "")
        if key in seen:
            check.warn(
                seed.line,
                field,
                f"repeats the seed example at line {seen[key]} (up to case and spacing); "
                f"make each seed distinct",
            )
        else:
            seen[key] = seed.line


def _skill(check: _Checker, doc: LineDict, rel: str, version: int) -> Leaf:
    examples: list[SeedExample] = []
    fields: list[str] = []
    grounded: list[int] = []
    freeform: list[int] = []
    for i, item in enumerate(doc["seed_examples"]):
        context = _text(item.get("context")) or None
        (grounded if "context" in item else freeform).append(item.line)
        examples.append(
            SeedExample(_text(item["question"]), _text(item["answer"]), context, item.line)
        )
        fields.append(f"seed_examples[{i}].question")
    if grounded and freeform:
        minority = freeform if len(freeform) < len(grounded) else grounded
        check.error(
            minority[0],
            "seed_examples",
            "mixes seeds with and without 'context'; a skill is either grounded (every seed has "
            "a context) or freeform (none has)",
        )
    _near_duplicates(check, examples, fields)
    # Version 1 accepts an empty task description; the prompts then name the leaf instead.
    task = _text(doc["task_description"]) or f"the skill the examples of {rel or 'this leaf'} show"
    kind: LeafKind = "grounded_skill" if grounded else "freeform_skill"
    return Leaf(rel, check.file, kind, version, _text(doc["created_by"]), task, tuple(examples))


def _knowledge(
    check: _Checker, doc: LineDict, rel: str, version: int, documents: DocumentOptions | None
) -> Leaf:
    raw = doc["document"]
    commit = raw.get("commit")
    ref = DocumentRef(_text(raw["repo"]), _text(commit) or None, tuple(raw["patterns"]), raw.line)
    if ref.commit is not None and not is_revision(ref.commit):
        check.error(
            raw.line_of("commit"),
            "document.commit",
            f"{commit!r} does not look like a git revision; give the commit SHA",
        )
    groups: list[KnowledgeSeed] = []
    flat: list[SeedExample] = []
    fields: list[str] = []
    for i, item in enumerate(doc["seed_examples"]):
        context = _text(item["context"])
        pairs = []
        for j, qa in enumerate(item["questions_and_answers"]):
            pairs.append(SeedExample(_text(qa["question"]), _text(qa["answer"]), context, qa.line))
            fields.append(f"seed_examples[{i}].questions_and_answers[{j}].question")
        groups.append(KnowledgeSeed(context, tuple(pairs), item.line))
        flat.extend(pairs)
    _near_duplicates(check, flat, fields)
    if documents is not None and not check.failed:
        try:
            ref = resolve_documents(ref, check.file, documents)
            if not list_documents(ref, check.file, documents):
                check.error(
                    doc.line_of("document"),
                    "document.patterns",
                    f"{list(ref.patterns)} match no file in {ref.repo!r}; fix the patterns",
                )
        except InputError as exc:
            check.error(doc.line_of("document"), "document", str(exc))
    domain = _text(doc["domain"])
    outline = _text(doc["document_outline"])
    return Leaf(
        rel,
        check.file,
        "knowledge",
        version,
        _text(doc["created_by"]),
        f"Answer questions about {domain}: {outline}",
        tuple(flat),
        knowledge_seeds=tuple(groups),
        domain=domain,
        document_outline=outline,
        document=ref,
    )


def _local_folder(doc: LineDict) -> bool:
    raw = doc.get("document")
    repo = raw.get("repo") if isinstance(raw, dict) else None
    return isinstance(repo, str) and bool(repo.strip()) and not is_url(repo)


def _schema_name(rel: str, doc: LineDict) -> str:
    # As InstructLab: the top folder names the schema; elsewhere a 'document' makes knowledge.
    top = rel.split("/", 1)[0]
    if top in (SKILL_SCHEMA, KNOWLEDGE_SCHEMA):
        return top
    return KNOWLEDGE_SCHEMA if "document" in doc else SKILL_SCHEMA


def load_leaf(
    file: str | Path,
    *,
    root: str | Path | None = None,
    check_documents: bool = True,
    documents: DocumentOptions | None = None,
) -> tuple[Leaf | None, list[Issue]]:
    """Load one ``qna.yaml``: the leaf (None when it has errors) and its issues.

    With ``check_documents`` a knowledge leaf's documents are located (``documents`` says where
    clones of repository URLs are) and its patterns must select at least one file."""
    file = Path(file)
    base = Path(root) if root is not None else file.parent
    rel = file.parent.relative_to(base).as_posix() if root is not None else file.parent.name
    if rel == ".":
        rel = ""
    check = _Checker(file, str(file))
    repeated: list[tuple[str, int]] = []
    try:
        doc = parse_yaml(file.read_text(encoding="utf-8"), str(file), duplicates=repeated)
    except ConfigError as exc:
        check.error(exc.line, None, str(exc).split(": ", 1)[-1])
        return None, check.issues
    except (OSError, UnicodeDecodeError) as exc:
        check.error(None, None, f"cannot read the file ({exc})")
        return None, check.issues
    if doc is None:
        check.warn(None, None, "is empty; InstructLab skips it, and so does synthloom")
        return None, check.issues
    if not isinstance(doc, LineDict):
        check.error(None, None, "must be a YAML mapping (version, created_by, seed_examples, ...)")
        return None, check.issues
    version, problem = leaf_version(doc)
    if problem is not None:
        check.error(problem.line, problem.field, problem.message)
        return None, check.issues
    for key, line in repeated:
        if version == 1:  # InstructLab does not lint version 1 leaves: the last value counts
            check.warn(line, key, "is repeated; the last value is used")
        else:
            check.error(line, key, "is repeated (InstructLab refuses this); keep one")
    schema = _schema_name(rel, doc)
    for found in schema_problems(doc, version, schema):
        if found.field == "document.commit" and _local_folder(doc):
            continue  # synthloom's extension: a local folder is read as it is, without commit
        check.error(found.line, found.field, found.message)
    if check.failed:
        return None, check.issues
    options = (documents or DocumentOptions()) if check_documents else None
    if schema == KNOWLEDGE_SCHEMA:
        leaf = _knowledge(check, doc, rel, version, options)
    else:
        leaf = _skill(check, doc, rel, version)
    return (None if check.failed else leaf), check.issues


def leaf_files(root: str | Path) -> tuple[dict[str, Path], list[Issue]]:
    """Every leaf of the tree (folder relative to ``root`` -> its ``qna.yaml``), read without
    being parsed, and a warning for each ``qna.yml`` (a name InstructLab ignores)."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError("taxonomy root is not a folder; check the path", path=root)
    issues = [
        Issue("warning", str(stray), None, None, "is named qna.yml; rename it qna.yaml to use it")
        for stray in sorted(root.rglob("qna.yml"))
        if ".git" not in stray.relative_to(root).parts
    ]
    files: dict[str, Path] = {}
    for file in sorted(root.rglob("qna.yaml")):
        parts = file.relative_to(root).parts
        if ".git" in parts or not file.is_file():
            continue
        rel = file.parent.relative_to(root).as_posix()
        files["" if rel == "." else rel] = file
    return files, issues


def load_taxonomy(
    root: str | Path,
    *,
    check_documents: bool = True,
    documents: DocumentOptions | None = None,
    subtree: str | None = None,
    changed_since: str | None = None,
    leaves: Sequence[str] | None = None,
) -> Taxonomy:
    """The chosen leaves under ``root`` with the issues found in them; every leaf when no
    selection is given. ``leaves`` are globs over leaf paths (a leaf matching any is chosen)."""
    root = Path(root)
    files, issues = leaf_files(root)
    if not files:
        raise ConfigError("holds no qna.yaml leaf; point at an InstructLab taxonomy", path=root)
    chosen = choose_paths(
        root, list(files), subtree=subtree, changed_since=changed_since, globs=leaves
    )
    taxonomy = Taxonomy(root, issues=issues, found=list(files), chosen=chosen)
    for rel in chosen:
        leaf, found = load_leaf(
            files[rel], root=root, check_documents=check_documents, documents=documents
        )
        taxonomy.issues.extend(found)
        if leaf is not None:
            taxonomy.leaves.append(leaf)
    return taxonomy


def require_valid(taxonomy: Taxonomy) -> Taxonomy:
    """Raise ConfigError naming the first error (and how many more) when there are errors."""
    errors = taxonomy.errors
    if errors:
        first = errors[0]
        files = sorted({e.file for e in errors})
        more = (
            f" (and {len(errors) - 1} more errors in {len(files)} leaves: {', '.join(files)})"
            if len(errors) > 1
            else ""
        )
        raise ConfigError(
            f"{first.message}{more}; fix them, or pass --skip-invalid to go on without them",
            path=first.file,
            line=first.line,
            field=first.field,
        )
    return taxonomy
