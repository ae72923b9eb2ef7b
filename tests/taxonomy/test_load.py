"""Loading and validating taxonomies: a realistic tree, the example, and bad leaves."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from synthloom.errors import ConfigError
from synthloom.taxonomy import DocumentOptions, load_taxonomy, read_documents, require_valid
from tests.taxonomy.helpers import knowledge, skill, write

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "taxonomy"


def _tree(root: Path) -> Path:
    docs = root.parent / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    (docs / "guide.md").write_text("# Guide\n\nSome text.\n", encoding="utf-8")
    (docs / "notes.txt").write_text("not selected", encoding="utf-8")
    write(root / "compositional_skills/writing/freeform/poetry/haiku/qna.yaml", skill())
    write(root / "compositional_skills/writing/freeform/poetry/limerick/qna.yaml", skill())
    write(root / "compositional_skills/writing/freeform/email/qna.yaml", skill(7))
    write(
        root / "compositional_skills/extraction/grounded/tables/qna.yaml", skill(6, grounded=True)
    )
    write(root / "foundational_skills/reasoning/logic/qna.yaml", skill())
    write(root / "knowledge/tech/guides/qna.yaml", knowledge(str(docs), ["*.md"]))
    (root / "README.md").write_text("taxonomy", encoding="utf-8")
    return root


def test_realistic_multi_level_tree_loads_every_leaf_with_its_kind(tmp_path: Path) -> None:
    taxonomy = require_valid(load_taxonomy(_tree(tmp_path / "taxonomy")))
    kinds = {leaf.path: leaf.kind for leaf in taxonomy.leaves}
    assert kinds == {
        "compositional_skills/extraction/grounded/tables": "grounded_skill",
        "compositional_skills/writing/freeform/email": "freeform_skill",
        "compositional_skills/writing/freeform/poetry/haiku": "freeform_skill",
        "compositional_skills/writing/freeform/poetry/limerick": "freeform_skill",
        "foundational_skills/reasoning/logic": "freeform_skill",
        "knowledge/tech/guides": "knowledge",
    }
    email = next(lf for lf in taxonomy.leaves if lf.path.endswith("email"))
    assert len(email.seeds) == 7 and email.seeds[0].question == "Question 0 about topic?"
    guide = next(lf for lf in taxonomy.leaves if lf.kind == "knowledge")
    assert len(guide.knowledge_seeds) == 5 and len(guide.seeds) == 15
    assert all(s.context == guide.knowledge_seeds[0].context for s in guide.seeds[:3])
    assert taxonomy.issues == []
    docs = read_documents(guide.document, guide.file)  # type: ignore[arg-type]
    assert [d.name for d in docs] == ["guide.md"]


def test_example_taxonomy_is_valid_and_has_all_three_kinds() -> None:
    taxonomy = require_valid(load_taxonomy(EXAMPLE))
    assert sorted(lf.kind for lf in taxonomy.leaves) == [
        "freeform_skill",
        "grounded_skill",
        "knowledge",
    ]
    assert taxonomy.warnings == []


def test_documents_from_a_git_repository_at_a_commit(tmp_path: Path) -> None:
    repo = tmp_path / "docs-repo"
    repo.mkdir()

    def git(*args: str) -> str:
        env = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
        out = subprocess.run(["git", *env, *args], cwd=repo, check=True, capture_output=True)
        return out.stdout.decode().strip()

    git("init", "-q")
    (repo / "a.md").write_text("# First version\n", encoding="utf-8")
    git("add", "a.md")
    git("commit", "-qm", "one")
    first = git("rev-parse", "HEAD")
    (repo / "a.md").write_text("# Second version\n", encoding="utf-8")
    git("commit", "-qam", "two")
    root = tmp_path / "taxonomy"
    write(root / "knowledge/x/qna.yaml", knowledge(str(repo), ["*.md"], commit=first))
    leaf = require_valid(load_taxonomy(root)).leaves[0]
    docs = read_documents(leaf.document, leaf.file)  # type: ignore[arg-type]
    assert docs[0].data.decode() == "# First version\n"

    write(root / "knowledge/x/qna.yaml", knowledge(str(repo), ["*.md"], commit="0" * 40))
    errors = load_taxonomy(root).errors
    assert len(errors) == 1 and errors[0].field == "document"

    # The same repository by URL: cloned once into the cache folder, fetched again only when
    # the leaf names a commit the clone does not have yet.
    cache = tmp_path / "clones"
    url = repo.resolve().as_uri()
    write(root / "knowledge/x/qna.yaml", knowledge(url, ["*.md"], commit=first))
    leaf = require_valid(load_taxonomy(root, documents=DocumentOptions(cache_dir=cache))).leaves[0]
    docs = read_documents(leaf.document, leaf.file, DocumentOptions(cache_dir=cache))  # type: ignore[arg-type]
    assert docs[0].data.decode() == "# First version\n"
    (repo / "a.md").write_text("# Third version\n", encoding="utf-8")
    git("commit", "-qam", "three")
    third = git("rev-parse", "HEAD")
    write(root / "knowledge/x/qna.yaml", knowledge(url, ["*.md"], commit=third))
    leaf = require_valid(load_taxonomy(root, documents=DocumentOptions(cache_dir=cache))).leaves[0]
    docs = read_documents(leaf.document, leaf.file, DocumentOptions(cache_dir=cache))  # type: ignore[arg-type]
    assert docs[0].data.decode() == "# Third version\n"
    assert len([p for p in cache.iterdir()]) == 1  # one clone, no partial left behind


def _bad_cases(tmp: Path) -> list[tuple[str, object, str, str | None, int | None]]:
    """(name, qna content, message fragment, field, line) for leaves that must fail."""
    missing_task = skill()
    del missing_task["task_description"]
    few = skill(4)
    wrong_type = skill()
    wrong_type["seed_examples"][2]["answer"] = 42  # type: ignore[index]
    mixed = skill(6)
    mixed["seed_examples"][5]["context"] = "a context"  # type: ignore[index]
    bad_version = skill()
    bad_version["version"] = "three"
    no_seeds = skill()
    del no_seeds["seed_examples"]
    seed_not_mapping = skill()
    seed_not_mapping["seed_examples"][1] = "just a string"  # type: ignore[index]
    docs = tmp / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "a.md").write_text("# A\n", encoding="utf-8")
    no_match = knowledge(str(docs), ["*.pdf"])
    missing_docs = knowledge(str(tmp / "nowhere"), ["*.md"])
    no_qas = knowledge(str(docs), ["*.md"])
    no_qas["seed_examples"][2]["questions_and_answers"] = []  # type: ignore[index]
    option_commit = knowledge("https://example.com/docs.git", ["*.md"], commit="--upload-pack=x")
    # lines below are the 1-based lines yaml.safe_dump gives these documents
    return [
        ("missing task", missing_task, "is missing; add it", "task_description", 1),
        ("few seeds", few, "has 4 seed examples; version 3 needs at least 5", "seed_examples", 4),
        ("wrong type", wrong_type, "must be a string, got a int", None, 10),
        ("mixed", mixed, "mixes seeds with and without 'context'", "seed_examples", 15),
        ("bad version", bad_version, "must be one of 1, 2, 3", "version", 1),
        ("no seeds", no_seeds, "is missing; add it", "seed_examples", 1),
        ("seed string", seed_not_mapping, "must be a mapping, got a str", "seed_examples[1]", 7),
        ("no match", no_match, "match no file", "document.patterns", None),
        ("missing docs", missing_docs, "does not exist", "document", None),
        ("no pairs", no_qas, "has 0 question / answer pairs", None, None),
        ("option commit", option_commit, "does not look like a git revision", None, None),
    ]


def test_each_bad_leaf_gets_one_clear_error_naming_file_line_and_field(tmp_path: Path) -> None:
    cases = _bad_cases(tmp_path)
    assert len(cases) >= 10
    for i, (name, content, message, field, line) in enumerate(cases):
        top = "knowledge" if "document" in content else "compositional_skills"  # type: ignore[operator]
        root = tmp_path / f"case{i}"
        path = write(root / top / "leaf" / "qna.yaml", content)
        taxonomy = load_taxonomy(root)
        assert taxonomy.leaves == [], name
        errors = taxonomy.errors
        assert len(errors) == 1, (name, [str(e) for e in errors])
        error = errors[0]
        assert message in error.message, (name, str(error))
        assert error.file == str(path), name
        if field is not None:
            assert error.field == field, (name, error.field)
        if line is not None:
            assert error.line == line, (name, str(error))
        with pytest.raises(ConfigError) as info:
            require_valid(taxonomy)
        assert str(path) in str(info.value) and message in str(info.value)


def test_yaml_syntax_error_and_duplicate_key_name_the_line(tmp_path: Path) -> None:
    root = tmp_path / "t"
    leaf = root / "compositional_skills" / "a" / "qna.yaml"
    leaf.parent.mkdir(parents=True)
    leaf.write_text("version: 3\ncreated_by: x\ncreated_by: y\n", encoding="utf-8")
    error = load_taxonomy(root).errors[0]
    assert error.line == 3 and error.field == "created_by" and "repeated" in error.message
    leaf.write_text("version: 3\nseed_examples: [\n  - a\n", encoding="utf-8")
    (error,) = load_taxonomy(root).errors
    assert error.line is not None and "invalid YAML" in error.message


def test_qna_yml_is_a_warning_and_an_unknown_field_an_error(tmp_path: Path) -> None:
    root = tmp_path / "t"
    write(root / "compositional_skills/ok/qna.yaml", skill())
    write(root / "compositional_skills/colour/qna.yaml", {**skill(), "colour": "blue"})
    write(root / "compositional_skills/typo/qna.yml", skill())
    taxonomy = load_taxonomy(root)
    assert [lf.path for lf in taxonomy.leaves] == ["compositional_skills/ok"]
    (warning,) = taxonomy.warnings
    assert "rename it qna.yaml" in warning.message
    (error,) = taxonomy.errors
    assert error.field == "colour" and "is not a field of version 3" in error.message


def test_an_empty_root_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no qna\.yaml"):
        load_taxonomy(tmp_path)
    with pytest.raises(ConfigError, match="not a folder"):
        load_taxonomy(tmp_path / "missing")
