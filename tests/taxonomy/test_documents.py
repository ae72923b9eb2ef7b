"""Knowledge documents offline and safely: a local bare repository under --documents-dir read at
the leaf's pinned commit (no network), links out of a documents folder refused, a commit that
git would read as an option refused, and nothing written beside a qna.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthloom.errors import InputError
from synthloom.taxonomy import DocumentOptions, load_taxonomy, read_documents, require_valid
from synthloom.taxonomy.model import DocumentRef
from tests.taxonomy.helpers import docs_repository, git, knowledge, write


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def test_documents_dir_bare_repository_at_the_pinned_commit_without_network(
    tmp_path: Path,
) -> None:
    documents_dir = tmp_path / "clones"
    first, _ = docs_repository(tmp_path, documents_dir, "lighthouse-notes")
    root = tmp_path / "taxonomy"
    # An address no network would answer: only the local clone can satisfy it.
    url = "https://git.example.invalid/rmurphy/lighthouse-notes.git"
    write(root / "knowledge/history/qna.yaml", knowledge(url, ["history/*.md"], commit=first))
    before = _files(root)
    cache = tmp_path / "cache"
    options = DocumentOptions(documents_dir=documents_dir, cache_dir=cache)
    leaf = require_valid(load_taxonomy(root, documents=options)).leaves[0]
    assert leaf.document is not None and leaf.document.local == str(
        documents_dir / "lighthouse-notes"
    )
    (doc,) = read_documents(leaf.document, leaf.file)
    assert doc.name == "history/lighthouses.md" and b"Pharos" in doc.data
    assert _files(root) == before and not cache.exists()

    # A commit the clone lacks: the message says to fetch it.
    write(root / "knowledge/history/qna.yaml", knowledge(url, ["*.md"], commit="ab" * 20))
    (error,) = load_taxonomy(root, documents=options).errors
    assert "has no commit" in error.message and "fetch" in error.message


def test_an_absent_clone_names_the_url_and_the_option(tmp_path: Path) -> None:
    root = tmp_path / "taxonomy"
    url = (tmp_path / "nowhere" / "physics-notes.git").as_uri()
    path = write(root / "knowledge/physics/qna.yaml", knowledge(url, ["*.md"], commit="9a8b7c6"))
    before = _files(root)
    options = DocumentOptions(cache_dir=tmp_path / "cache")
    (error,) = load_taxonomy(root, documents=options).errors
    assert error.file == str(path) and error.field == "document"
    assert url in error.message and "--documents-dir" in error.message
    assert _files(root) == before  # no clone, partial or cache beside the qna.yaml
    assert list((tmp_path / "cache").iterdir()) == []


def test_links_out_of_a_documents_folder_are_refused(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text("# Guide\n", encoding="utf-8")
    secret = tmp_path / "secret.md"
    secret.write_text("password=hunter2\n", encoding="utf-8")
    (docs / "inside.md").symlink_to(docs / "guide.md")  # stays inside: allowed
    root = tmp_path / "taxonomy"
    write(root / "knowledge/x/qna.yaml", knowledge(str(docs), ["*.md"]))
    leaf = require_valid(load_taxonomy(root)).leaves[0]
    assert leaf.document is not None
    assert [d.name for d in read_documents(leaf.document, leaf.file)] == ["guide.md", "inside.md"]

    (docs / "notes.md").symlink_to(secret)
    (error,) = load_taxonomy(root).errors
    assert "leads outside the folder" in error.message and error.field == "document"
    ref = DocumentRef(str(docs), None, ("*.md",))
    with pytest.raises(InputError, match="outside the folder"):
        read_documents(ref, root / "knowledge/x/qna.yaml")
    # A pattern climbing out of the folder selects nothing there.
    ref = DocumentRef(str(docs), None, ("../secret.md",))
    with pytest.raises(InputError, match="match no file"):
        read_documents(ref, root / "knowledge/x/qna.yaml")


def test_symbolic_links_in_a_repository_and_option_like_commits_are_refused(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.md").write_text("# A\n", encoding="utf-8")
    (repo / "passwd.md").symlink_to("/etc/passwd")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "one")
    head = git(repo, "rev-parse", "HEAD")
    leaf_file = tmp_path / "taxonomy" / "knowledge" / "x" / "qna.yaml"
    with pytest.raises(InputError, match="symbolic link"):
        read_documents(DocumentRef(str(repo), head, ("*.md",)), leaf_file)
    assert [d.name for d in read_documents(DocumentRef(str(repo), head, ("a.md",)), leaf_file)] == [
        "a.md"
    ]
    for commit in ("--output=/tmp/x", "-p", "HEAD..main", "a b", "HEAD:a.md"):
        with pytest.raises(InputError, match="does not look like a git revision"):
            read_documents(DocumentRef(str(repo), commit, ("a.md",)), leaf_file)
    write(leaf_file, knowledge(str(repo), ["a.md"], commit="--upload-pack=touch /tmp/pwned"))
    (error,) = load_taxonomy(tmp_path / "taxonomy").errors
    assert error.field == "document.commit" and "git revision" in error.message
