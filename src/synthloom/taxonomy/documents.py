"""A knowledge leaf's documents: find them (git repository at a commit, or a local folder) and
read them as text, never outside the repository or folder the leaf names.

``document.repo`` may be a URL, a local git repository (read at ``document.commit`` with
``git ls-tree`` / ``git cat-file``, so no working tree is touched, bare repositories included)
or a plain local folder (``commit`` then is optional). Relative paths are relative to the leaf's
``qna.yaml``. A URL is first looked up as ``<documents_dir>/<name>`` (the URL's last path part
without ``.git``): a clone or bare repository the user keeps for offline work. Only when that is
absent is the URL cloned, once and without a checkout, into ``cache_dir`` (the run directory's
cache, or the user cache directory): never beside a ``qna.yaml``.

Safety: only regular files are read. In a folder, a file whose real path (symlinks and ``..``
resolved) leaves the folder is refused; in a repository, symbolic-link entries are refused.
``commit`` must look like a git revision, and user values reach git only after
``--end-of-options`` (or ``--``), so none is ever read as an option.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from synthloom.errors import InputError
from synthloom.taxonomy.model import DocumentRef

__all__ = [
    "Document",
    "DocumentOptions",
    "is_revision",
    "is_url",
    "list_documents",
    "read_documents",
    "repo_name",
    "resolve_documents",
    "user_cache_dir",
]

# Never wait for a password on a terminal (a private or missing repository): fail and say so.
_GIT_ENV = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
_URL_PREFIXES = ("http://", "https://", "git@", "ssh://", "git://", "file://")
# A SHA (abbreviated or full) or a tag / branch name as git check-ref-format allows most of them;
# nothing that starts with '-' (an option) or holds '..', '@{', ':' or spaces (revision syntax).
_REVISION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/+-]{0,254}$")


@dataclass(frozen=True, slots=True)
class Document:
    """One document's name (path inside the repository or folder) and raw bytes."""

    name: str
    data: bytes


@dataclass(frozen=True, slots=True)
class DocumentOptions:
    """Where documents of repository URLs come from: a folder of local clones, and the cache
    folder for clones made from the network (the user cache directory when unset)."""

    documents_dir: Path | None = None
    cache_dir: Path | None = None


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/synthloom/documents`` (``~/.cache/...`` when the variable is unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "synthloom" / "documents"


def is_url(repo: str) -> bool:
    return repo.startswith(_URL_PREFIXES)


def is_revision(commit: str) -> bool:
    """Whether ``commit`` looks like a git revision (a SHA, tag or branch name)."""
    bad = ".." in commit or "//" in commit or commit.endswith((".", "/", ".lock"))
    return bool(_REVISION.match(commit)) and not bad


def repo_name(url: str) -> str:
    """The folder name a repository URL is looked up under in ``--documents-dir``."""
    tail = url.rstrip("/").replace(":", "/").rsplit("/", 1)[-1]
    return tail.removesuffix(".git")


def _git(args: list[str], cwd: Path | None = None) -> bytes:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, check=True, timeout=600, env=_GIT_ENV
        )
    except FileNotFoundError as exc:
        raise InputError("git is not installed; install git to read documents") from exc
    except subprocess.TimeoutExpired as exc:
        raise InputError(f"git {args[0]} took longer than 10 minutes; try again") from exc
    except subprocess.CalledProcessError as exc:
        message = exc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"git {args[0]} failed: {message[-1] if message else exc}") from exc
    return done.stdout


def _has_commit(repo: Path, commit: str) -> bool:
    try:
        done = subprocess.run(
            ["git", "cat-file", "-e", "--end-of-options", f"{commit}^{{commit}}"],
            cwd=repo,
            capture_output=True,
            timeout=120,
        )
    except FileNotFoundError as exc:
        raise InputError("git is not installed; install git to read documents") from exc
    except subprocess.TimeoutExpired as exc:
        raise InputError(f"git took longer than 2 minutes to look up {commit}") from exc
    return done.returncode == 0


def _is_repository(path: Path) -> bool:
    if (path / ".git").exists():
        return True
    # A bare repository: git's own files at the top.
    return (path / "HEAD").is_file() and (path / "objects").is_dir()


def _clone(url: str, cache_dir: Path) -> Path:
    target = cache_dir / hashlib.sha256(url.encode()).hexdigest()[:16]
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Clone next to the target and rename, so a clone cut short is never taken for one.
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        _git(["clone", "--quiet", "--no-checkout", "--", url, str(partial)])
    except InputError:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    partial.rename(target)
    return target


def _url_source(ref: DocumentRef, options: DocumentOptions) -> Path:
    name = repo_name(ref.repo)
    if options.documents_dir is not None:
        if name in ("", ".", "..") or "/" in name or "\\" in name:
            raise InputError(
                f"cannot name a folder of --documents-dir after repository URL {ref.repo!r}; "
                f"fix document.repo"
            )
        local = options.documents_dir / name
        if local.exists():
            if not _is_repository(local):
                raise InputError(
                    f"{local} (for {ref.repo}) is not a git clone or bare repository; "
                    f"put a clone of the repository there"
                )
            if ref.commit is not None and not _has_commit(local, ref.commit):
                raise InputError(
                    f"the local clone {local} has no commit {ref.commit}; fetch it "
                    f"(git -C {local} fetch) or fix document.commit"
                )
            return local
    where = options.documents_dir / name if options.documents_dir else None
    hint = (
        f"no clone at {where} either"
        if where is not None
        else f"to work offline put a clone at DIR/{name} and pass --documents-dir DIR "
        f"(documents_dir: in the pipeline)"
    )
    cache = options.cache_dir or user_cache_dir()
    try:
        target = _clone(ref.repo, cache)
        if ref.commit is not None and not _has_commit(target, ref.commit):
            # The clone predates the commit the leaf now names: bring it up to date.
            _git(["fetch", "--quiet", "origin"], cwd=target)
    except InputError as exc:
        raise InputError(f"cannot fetch {ref.repo} ({exc}); {hint}") from exc
    return target


def resolve_documents(
    ref: DocumentRef, leaf_file: Path, options: DocumentOptions | None = None
) -> DocumentRef:
    """``ref`` with ``local`` set to the repository or folder its documents are read from
    (cloning a URL that has no local copy). InputError when there is none."""
    if ref.local is not None:
        return ref
    if ref.commit is not None and not is_revision(ref.commit):
        raise InputError(
            f"commit {ref.commit!r} does not look like a git revision; give the commit SHA"
        )
    options = options or DocumentOptions()
    if is_url(ref.repo):
        return replace(ref, local=str(_url_source(ref, options)), is_git=True)
    local = Path(ref.repo).expanduser()
    if not local.is_absolute():
        local = leaf_file.parent / local
    local = local.resolve()
    if not local.exists():
        raise InputError(
            f"document folder or repository {ref.repo!r} does not exist; fix document.repo"
        )
    if ref.commit is not None and _is_repository(local):
        if not _has_commit(local, ref.commit):
            raise InputError(
                f"repository {ref.repo!r} has no commit {ref.commit}; fix document.commit"
            )
        return replace(ref, local=str(local), is_git=True)
    if not local.is_dir():
        raise InputError(f"document path {ref.repo!r} is not a folder; fix document.repo")
    return replace(ref, local=str(local), is_git=False)


def _matches(name: str, ref: DocumentRef) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in ref.patterns)


def _git_entries(ref: DocumentRef, where: Path) -> dict[str, str]:
    """Selected name -> blob id at the leaf's commit; symbolic links refused."""
    commit = ref.commit or "HEAD"
    listing = _git(["ls-tree", "-r", "-z", "--full-tree", "--end-of-options", commit], cwd=where)
    chosen: dict[str, str] = {}
    for entry in listing.decode("utf-8", "replace").split("\0"):
        if not entry:
            continue
        info, name = entry.split("\t", 1)
        mode, kind, blob = info.split()
        if kind != "blob" or not _matches(name, ref):
            continue  # submodules and other non-files are never documents
        if mode == "120000":
            raise InputError(
                f"document {name!r} is a symbolic link in {ref.repo!r}; only regular files are "
                f"read, replace the link by the file"
            )
        chosen[name] = blob
    return chosen


def _folder_files(ref: DocumentRef, where: Path) -> dict[str, Path]:
    """Selected name -> real path inside the folder; links out of it refused."""
    chosen: dict[str, Path] = {}
    for folder, _dirs, files in os.walk(where):
        for file in files:
            path = Path(folder) / file
            name = path.relative_to(where).as_posix()
            if not _matches(name, ref):
                continue
            real = path.resolve()
            if not real.is_relative_to(where):
                raise InputError(
                    f"document {name!r} in {ref.repo!r} leads outside the folder (to {real}); "
                    f"only files inside it are read, remove the link"
                )
            if real.is_file():
                chosen[name] = real
    return chosen


def _local_copy(
    ref: DocumentRef, leaf_file: Path, options: DocumentOptions | None
) -> tuple[DocumentRef, Path]:
    """``ref`` resolved, and the folder (or git clone) on this machine that holds its files."""
    ref = resolve_documents(ref, leaf_file, options)
    assert ref.local is not None  # resolve_documents always sets it
    return ref, Path(ref.local)


def list_documents(
    ref: DocumentRef, leaf_file: Path, options: DocumentOptions | None = None
) -> list[str]:
    """Names of the documents ``ref.patterns`` select, sorted; InputError when unreadable."""
    ref, where = _local_copy(ref, leaf_file, options)
    names = _git_entries(ref, where) if ref.is_git else _folder_files(ref, where)
    return sorted(names)


def read_documents(
    ref: DocumentRef, leaf_file: Path, options: DocumentOptions | None = None
) -> list[Document]:
    """The documents ``ref`` selects, read in full. InputError when a pattern matches nothing."""
    ref, where = _local_copy(ref, leaf_file, options)
    out = []
    if ref.is_git:
        for name, blob in sorted(_git_entries(ref, where).items()):
            out.append(Document(name, _git(["cat-file", "blob", blob], cwd=where)))
    else:
        for name, path in sorted(_folder_files(ref, where).items()):
            try:
                out.append(Document(name, path.read_bytes()))
            except OSError as exc:
                raise InputError(
                    f"cannot read document {name!r} ({exc}); check its permissions"
                ) from exc
    if not out:
        raise InputError(
            f"patterns {list(ref.patterns)} match no file in {ref.repo!r}; fix document.patterns"
        )
    return out
