"""A knowledge leaf's documents: find them (git repository at a commit, or a local folder) and
read them as text.

``document.repo`` may be a URL or a local git repository (read at ``document.commit`` with
``git ls-tree`` / ``git show``, so the working tree is never touched), or a plain local folder
(``commit`` then is optional). Relative paths are relative to the leaf's ``qna.yaml``. URLs are
cloned once, without a checkout, into ``cache_dir``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from synthloom.errors import InputError
from synthloom.taxonomy.model import DocumentRef

__all__ = ["Document", "list_documents", "read_documents"]

_URL_PREFIXES = ("http://", "https://", "git@", "ssh://", "git://", "file://")


@dataclass(frozen=True, slots=True)
class Document:
    """One document's name (path inside the repository or folder) and raw bytes."""

    name: str
    data: bytes


def _git(args: list[str], cwd: Path | None = None) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=True, timeout=600)
    except FileNotFoundError as exc:
        raise InputError("git is not installed; install git to fetch documents") from exc
    except subprocess.CalledProcessError as exc:
        message = exc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"git {args[0]} failed: {message[-1] if message else exc}") from exc
    return done.stdout


def _has_commit(repo: Path, commit: str) -> bool:
    done = subprocess.run(
        ["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=repo, capture_output=True
    )
    return done.returncode == 0


def _source(ref: DocumentRef, leaf_file: Path, cache_dir: Path | None) -> tuple[str, Path]:
    """('git' | 'folder', local path) for a document reference."""
    if ref.repo.startswith(_URL_PREFIXES):
        base = cache_dir or (leaf_file.parent / ".synthloom-docs")
        target = base / hashlib.sha256(ref.repo.encode()).hexdigest()[:16]
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            # Clone next to the target and rename, so a clone cut short is never taken for one.
            partial = target.with_name(target.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            _git(["clone", "--quiet", "--no-checkout", ref.repo, str(partial)])
            partial.rename(target)
        elif ref.commit is not None and not _has_commit(target, ref.commit):
            # The clone predates the commit the leaf now names: bring it up to date.
            _git(["fetch", "--quiet", "origin"], cwd=target)
        return "git", target
    local = Path(ref.repo).expanduser()
    if not local.is_absolute():
        local = (leaf_file.parent / local).resolve()
    if not local.exists():
        raise InputError(f"document folder or repository {ref.repo!r} does not exist")
    if ref.commit is not None and (local / ".git").exists():
        return "git", local
    if not local.is_dir():
        raise InputError(f"document path {ref.repo!r} is not a folder")
    return "folder", local


def list_documents(
    ref: DocumentRef, leaf_file: Path, *, cache_dir: Path | None = None
) -> list[str]:
    """Names of the documents ``ref.patterns`` select, sorted; InputError when unreadable."""
    kind, where = _source(ref, leaf_file, cache_dir)
    if kind == "git":
        commit = ref.commit or "HEAD"
        listing = _git(["ls-tree", "-r", "--name-only", commit], cwd=where)
        names = listing.decode("utf-8", "replace").splitlines()
    else:
        names = sorted(p.relative_to(where).as_posix() for p in where.rglob("*") if p.is_file())
    chosen = sorted({n for n in names for pat in ref.patterns if fnmatch.fnmatch(n, pat)})
    return chosen


def read_documents(
    ref: DocumentRef, leaf_file: Path, *, cache_dir: Path | None = None
) -> list[Document]:
    """The documents ``ref`` selects, read in full. InputError when a pattern matches nothing."""
    kind, where = _source(ref, leaf_file, cache_dir)
    names = list_documents(ref, leaf_file, cache_dir=cache_dir)
    if not names:
        raise InputError(f"patterns {list(ref.patterns)} match no file in {ref.repo!r}")
    out = []
    for name in names:
        if kind == "git":
            data = _git(["show", f"{ref.commit or 'HEAD'}:{name}"], cwd=where)
        else:
            try:
                data = (where / name).read_bytes()
            except OSError as exc:
                raise InputError(f"cannot read document {name!r} ({exc})") from exc
        out.append(Document(name, data))
    return out
