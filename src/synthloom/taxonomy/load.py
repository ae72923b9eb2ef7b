"""Load and validate an InstructLab taxonomy tree (``qna.yaml`` schema version 3), unchanged.

``load_taxonomy`` walks the tree, checks every ``qna.yaml`` and returns the valid leaves with a
list of issues; each issue names the file, the line and the field. ``require_valid`` turns the
errors into one ConfigError. Checks: YAML syntax and duplicate keys, missing fields and wrong
types, fewer than five seed examples, duplicate seeds, grounded and freeform seeds mixed in one
skill, and, for knowledge, documents that cannot be read or patterns that match nothing.
Warnings: a leaf file named ``qna.yml``, unknown fields, a version other than 3, a knowledge
seed without three question / answer pairs.
"""

from __future__ import annotations

import re
from pathlib import Path

from synthloom.errors import ConfigError, InputError
from synthloom.taxonomy.documents import list_documents
from synthloom.taxonomy.model import (
    DocumentRef,
    Issue,
    KnowledgeSeed,
    Leaf,
    LeafKind,
    SeedExample,
    Taxonomy,
)
from synthloom.taxonomy.yamlio import LineDict, LineList, parse_yaml

__all__ = ["MIN_SEED_EXAMPLES", "load_leaf", "load_taxonomy", "require_valid"]

#: InstructLab asks for at least five seed examples per leaf.
MIN_SEED_EXAMPLES = 5
_SKILL_KEYS = {"version", "created_by", "task_description", "seed_examples", "attribution"}
_KNOWLEDGE_KEYS = {
    "version",
    "created_by",
    "domain",
    "document_outline",
    "document",
    "seed_examples",
    "task_description",
    "attribution",
}
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

    def text(self, obj: LineDict, key: str, where: str, *, required: bool = True) -> str | None:
        field = f"{where}.{key}" if where else key
        if key not in obj or obj[key] is None:
            if required:
                self.error(obj.line, field, "is missing; add it")
            return None
        value = obj[key]
        if not isinstance(value, str) or not value.strip():
            kind = "empty" if isinstance(value, str) else f"a {type(value).__name__}"
            self.error(obj.line_of(key), field, f"must be a non-empty string, got {kind}")
            return None
        return value.strip()


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text.strip().lower())


def _version(check: _Checker, doc: LineDict) -> int:
    value = doc.get("version")
    if value is None:
        check.error(doc.line, "version", "is missing; add 'version: 3'")
        return 0
    if not isinstance(value, int) or isinstance(value, bool):
        check.error(doc.line_of("version"), "version", f"must be an integer, got {value!r}")
        return 0
    if value != 3:
        check.warn(doc.line_of("version"), "version", f"is {value}; this loader reads version 3")
    return value


def _seed_list(check: _Checker, doc: LineDict) -> LineList | None:
    seeds = doc.get("seed_examples")
    if seeds is None:
        check.error(doc.line, "seed_examples", "is missing; add at least 5 seed examples")
        return None
    if not isinstance(seeds, LineList):
        check.error(doc.line_of("seed_examples"), "seed_examples", "must be a list")
        return None
    if len(seeds) < MIN_SEED_EXAMPLES:
        check.error(
            doc.line_of("seed_examples"),
            "seed_examples",
            f"has {len(seeds)} examples; add at least {MIN_SEED_EXAMPLES}",
        )
    return seeds


def _unknown_keys(check: _Checker, obj: LineDict, allowed: set[str], where: str) -> None:
    for key in obj:
        if key not in allowed:
            field = f"{where}.{key}" if where else key
            check.warn(obj.line_of(key), field, "is not a field of the qna.yaml schema; ignored")


def _skill(check: _Checker, doc: LineDict, rel: str) -> Leaf | None:
    version = _version(check, doc)
    created_by = check.text(doc, "created_by", "")
    task = check.text(doc, "task_description", "")
    _unknown_keys(check, doc, _SKILL_KEYS, "")
    seeds = _seed_list(check, doc)
    examples: list[SeedExample] = []
    seen: dict[str, int] = {}
    grounded_lines: list[int] = []
    freeform_lines: list[int] = []
    for i, item in enumerate(seeds or []):
        where = f"seed_examples[{i}]"
        line = seeds.line_of(i) if seeds is not None else None
        if not isinstance(item, LineDict):
            check.error(line, where, "must be a mapping with question and answer")
            continue
        _unknown_keys(check, item, {"question", "answer", "context", "attribution"}, where)
        question = check.text(item, "question", where)
        answer = check.text(item, "answer", where)
        context = check.text(item, "context", where, required=False)
        if "context" in item:
            grounded_lines.append(item.line)
        else:
            freeform_lines.append(item.line)
        if question is None or answer is None:
            continue
        key = _norm(question) + "\x00" + _norm(context or "")
        if key in seen:
            check.error(
                item.line_of("question"),
                f"{where}.question",
                f"duplicates the seed example at line {seen[key]}; make each seed distinct",
            )
            continue
        seen[key] = item.line_of("question")
        examples.append(SeedExample(question, answer, context, item.line))
    if grounded_lines and freeform_lines:
        minority = freeform_lines if len(freeform_lines) < len(grounded_lines) else grounded_lines
        check.error(
            minority[0],
            "seed_examples",
            "mixes seeds with and without 'context'; a skill is either grounded (every seed has "
            "a context) or freeform (none has)",
        )
    if version == 0 or created_by is None or task is None or seeds is None:
        return None
    if any(i.severity == "error" for i in check.issues):
        return None
    kind: LeafKind = "grounded_skill" if grounded_lines else "freeform_skill"
    return Leaf(rel, check.file, kind, version, created_by, task, tuple(examples))


def _document(check: _Checker, doc: LineDict) -> DocumentRef | None:
    raw = doc.get("document")
    if raw is None:
        check.error(doc.line, "document", "is missing; add repo, commit and patterns")
        return None
    if not isinstance(raw, LineDict):
        check.error(
            doc.line_of("document"), "document", "must be a mapping of repo, commit, patterns"
        )
        return None
    repo = check.text(raw, "repo", "document")
    commit = raw.get("commit")
    if commit is not None and not isinstance(commit, str):
        check.error(raw.line_of("commit"), "document.commit", "must be a string (a commit SHA)")
        return None
    patterns = raw.get("patterns")
    if not isinstance(patterns, LineList) or not patterns:
        check.error(
            raw.line_of("patterns"), "document.patterns", "must be a non-empty list of globs"
        )
        return None
    for j, pat in enumerate(patterns):
        if not isinstance(pat, str) or not pat.strip():
            check.error(
                patterns.line_of(j), f"document.patterns[{j}]", "must be a non-empty glob string"
            )
            return None
    if repo is None:
        return None
    if commit is None and repo.startswith(("http://", "https://", "git@", "ssh://", "git://")):
        check.error(raw.line, "document.commit", "is missing; a repository URL needs a commit")
        return None
    return DocumentRef(repo, commit, tuple(str(p) for p in patterns), raw.line)


def _knowledge(check: _Checker, doc: LineDict, rel: str, documents: bool) -> Leaf | None:
    version = _version(check, doc)
    created_by = check.text(doc, "created_by", "")
    domain = check.text(doc, "domain", "")
    outline = check.text(doc, "document_outline", "")
    task = check.text(doc, "task_description", "", required=False)
    _unknown_keys(check, doc, _KNOWLEDGE_KEYS, "")
    ref = _document(check, doc)
    seeds = _seed_list(check, doc)
    groups: list[KnowledgeSeed] = []
    flat: list[SeedExample] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(seeds or []):
        where = f"seed_examples[{i}]"
        line = seeds.line_of(i) if seeds is not None else None
        if not isinstance(item, LineDict):
            check.error(line, where, "must be a mapping with context and questions_and_answers")
            continue
        _unknown_keys(check, item, {"context", "questions_and_answers", "attribution"}, where)
        context = check.text(item, "context", where)
        qas = item.get("questions_and_answers")
        if not isinstance(qas, LineList) or not qas:
            check.error(
                item.line_of("questions_and_answers"),
                f"{where}.questions_and_answers",
                "must be a non-empty list of question / answer pairs",
            )
            continue
        if len(qas) != 3:
            check.warn(
                item.line_of("questions_and_answers"),
                f"{where}.questions_and_answers",
                f"has {len(qas)} pairs; InstructLab expects 3",
            )
        pairs: list[SeedExample] = []
        for j, qa in enumerate(qas):
            qwhere = f"{where}.questions_and_answers[{j}]"
            if not isinstance(qa, LineDict):
                check.error(qas.line_of(j), qwhere, "must be a mapping with question and answer")
                continue
            question = check.text(qa, "question", qwhere)
            answer = check.text(qa, "answer", qwhere)
            if question is None or answer is None or context is None:
                continue
            key = _norm(question)
            if key in seen:
                check.error(
                    qa.line_of("question"),
                    f"{qwhere}.question",
                    f"duplicates the question at line {seen[key]}; make each seed distinct",
                )
                continue
            seen[key] = qa.line_of("question")
            pairs.append(SeedExample(question, answer, context, qa.line))
        if context is not None:
            groups.append(KnowledgeSeed(context, tuple(pairs), item.line))
            flat.extend(pairs)
    if ref is not None and documents:
        try:
            if not list_documents(ref, check.file):
                check.error(
                    doc.line_of("document"),
                    "document.patterns",
                    f"{list(ref.patterns)} match no file in {ref.repo!r}; fix the patterns",
                )
        except InputError as exc:
            check.error(doc.line_of("document"), "document", f"{exc}; fix repo or commit")
    if any(i.severity == "error" for i in check.issues):
        return None
    assert created_by is not None and ref is not None
    return Leaf(
        rel,
        check.file,
        "knowledge",
        version,
        created_by,
        task or f"Answer questions about {domain}: {outline}",
        tuple(flat),
        knowledge_seeds=tuple(groups),
        domain=domain,
        document_outline=outline,
        document=ref,
    )


def load_leaf(
    file: str | Path, *, root: str | Path | None = None, check_documents: bool = True
) -> tuple[Leaf | None, list[Issue]]:
    """Load one ``qna.yaml``: the leaf (None when it has errors) and its issues."""
    file = Path(file)
    base = Path(root) if root is not None else file.parent
    rel = file.parent.relative_to(base).as_posix() if root is not None else file.parent.name
    if rel == ".":
        rel = ""
    shown = str(file)
    check = _Checker(file, shown)
    try:
        doc = parse_yaml(file.read_text(encoding="utf-8"), shown)
    except ConfigError as exc:
        check.error(exc.line, None, str(exc).split(": ", 1)[-1])
        return None, check.issues
    except (OSError, UnicodeDecodeError) as exc:
        check.error(None, None, f"cannot read the file ({exc})")
        return None, check.issues
    if not isinstance(doc, LineDict):
        check.error(None, None, "must be a YAML mapping (version, created_by, seed_examples, ...)")
        return None, check.issues
    is_knowledge = rel.split("/", 1)[0] == "knowledge" or "document" in doc
    leaf = _knowledge(check, doc, rel, check_documents) if is_knowledge else _skill(check, doc, rel)
    return leaf, check.issues


def load_taxonomy(root: str | Path, *, check_documents: bool = True) -> Taxonomy:
    """Every leaf under ``root`` (all ``qna.yaml`` files), with the issues found."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError("taxonomy root is not a folder; check the path", path=root)
    taxonomy = Taxonomy(root)
    for stray in sorted(root.rglob("qna.yml")):
        if ".git" in stray.parts:
            continue
        taxonomy.issues.append(
            Issue(
                "warning", str(stray), None, None, "is named qna.yml; rename it qna.yaml to use it"
            )
        )
    for file in sorted(root.rglob("qna.yaml")):
        if ".git" in file.relative_to(root).parts:
            continue
        leaf, issues = load_leaf(file, root=root, check_documents=check_documents)
        taxonomy.issues.extend(issues)
        if leaf is not None:
            taxonomy.leaves.append(leaf)
    if not taxonomy.leaves and not taxonomy.errors:
        raise ConfigError("holds no qna.yaml leaf; point at an InstructLab taxonomy", path=root)
    return taxonomy


def require_valid(taxonomy: Taxonomy) -> Taxonomy:
    """Raise ConfigError naming the first error (and how many more) when there are errors."""
    errors = taxonomy.errors
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more errors)" if len(errors) > 1 else ""
        raise ConfigError(
            f"{first.message}{more}",
            path=first.file,
            line=first.line,
            field=first.field,
        )
    return taxonomy
