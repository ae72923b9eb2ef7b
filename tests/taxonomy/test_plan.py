"""Choosing leaves: all, a subtree, or those changed since a git ref."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from synthloom.errors import InputError
from synthloom.taxonomy import load_taxonomy, select_leaves
from tests.taxonomy.helpers import skill, write


def _git(root: Path, *args: str) -> None:
    env = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", *env, *args], cwd=root, check=True, capture_output=True)


def test_subtree_and_changed_since(tmp_path: Path) -> None:
    root = tmp_path / "taxonomy"
    for path in ("compositional_skills/a/x", "compositional_skills/a/y", "compositional_skills/b"):
        write(root / path / "qna.yaml", skill(topic=path))
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "base")
    taxonomy = load_taxonomy(root)
    assert len(select_leaves(taxonomy)) == 3
    assert [lf.path for lf in select_leaves(taxonomy, subtree="compositional_skills/a/")] == [
        "compositional_skills/a/x",
        "compositional_skills/a/y",
    ]
    assert select_leaves(taxonomy, changed_since="HEAD") == []

    write(root / "compositional_skills/a/y/qna.yaml", skill(6, topic="changed"))
    write(root / "compositional_skills/c/qna.yaml", skill(topic="new"))  # untracked
    taxonomy = load_taxonomy(root)
    changed = [lf.path for lf in select_leaves(taxonomy, changed_since="HEAD")]
    assert changed == ["compositional_skills/a/y", "compositional_skills/c"]
    both = select_leaves(taxonomy, subtree="compositional_skills/a", changed_since="HEAD")
    assert [lf.path for lf in both] == ["compositional_skills/a/y"]


def test_bad_selection_names_the_option(tmp_path: Path) -> None:
    root = tmp_path / "taxonomy"
    write(root / "compositional_skills/a/qna.yaml", skill())
    taxonomy = load_taxonomy(root)
    with pytest.raises(InputError, match="--subtree"):
        select_leaves(taxonomy, subtree="knowledge")
    with pytest.raises(InputError, match="git repository"):
        select_leaves(taxonomy, changed_since="main")


def test_leaves_are_chosen_before_any_is_read(tmp_path: Path) -> None:
    root = tmp_path / "taxonomy"
    write(root / "compositional_skills/a/x/qna.yaml", skill(topic="x"))
    write(root / "compositional_skills/b/qna.yaml", skill(topic="b"))
    broken = root / "knowledge/broken/qna.yaml"
    broken.parent.mkdir(parents=True)
    broken.write_text("version: 3\nseed_examples: [\n  - unclosed\n", encoding="utf-8")
    unreadable = root / "compositional_skills/a/bad/qna.yaml"
    unreadable.parent.mkdir(parents=True)
    unreadable.write_bytes(b"\xff\xfe not utf-8")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "base")

    everything = load_taxonomy(root)
    assert sorted(everything.invalid) == [str(unreadable), str(broken)]
    assert len(everything.found) == 4

    subtree = load_taxonomy(root, subtree="compositional_skills/b")
    assert [lf.path for lf in subtree.leaves] == ["compositional_skills/b"]
    assert subtree.issues == [] and subtree.chosen == ["compositional_skills/b"]

    globbed = load_taxonomy(root, leaves=["compositional_skills/a/x", "compositional_skills/b"])
    assert len(globbed.leaves) == 2 and globbed.issues == []

    write(root / "compositional_skills/b/qna.yaml", skill(6, topic="changed"))
    changed = load_taxonomy(root, changed_since="HEAD")
    assert [lf.path for lf in changed.leaves] == ["compositional_skills/b"]
    assert changed.issues == []
    # a selection that names a broken leaf reads it, and only it
    (error,) = load_taxonomy(root, subtree="knowledge").errors
    assert error.file == str(broken) and "invalid YAML" in error.message


def test_changed_since_refuses_a_ref_that_looks_like_an_option(tmp_path: Path) -> None:
    root = tmp_path / "taxonomy"
    write(root / "compositional_skills/a/qna.yaml", skill())
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "base")
    with pytest.raises(InputError, match="git repository"):
        load_taxonomy(root, changed_since="--output=/tmp/owned")
    assert not Path("/tmp/owned").exists()
