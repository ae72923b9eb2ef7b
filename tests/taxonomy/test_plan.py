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
