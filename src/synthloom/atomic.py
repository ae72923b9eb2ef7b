"""Atomic writes: a file or a whole result folder is replaced in one step, never half.

A command that writes a result folder (``assay``, ``curate``) builds the new result in a staging
folder beside the old one (:func:`staging_dir`) and swaps it in with :func:`publish_dir`. On
Linux the swap is one ``renameat2(RENAME_EXCHANGE)`` call: at every instant the folder holds the
complete old result or the complete new one, and a ``kill -9`` at any point leaves one of them.
Elsewhere (or on a filesystem without the exchange) the old folder is renamed aside first; a
kill between the two renames leaves no folder at the result's path, and the next run puts the
old one back (:func:`clean_leftovers`) before it starts.

Entries of the old folder that are not results (a cache, a user's own files) are moved into the
new one after the swap, so publishing never deletes what it did not write; a kill in that
moment leaves them in a leftover folder from which :func:`clean_leftovers` moves them back.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

__all__ = [
    "clean_leftovers",
    "publish_dir",
    "staging_dir",
    "write_bytes",
    "write_text",
    "write_with",
]

T = TypeVar("T")

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def write_with(path: Path, writer: Callable[[Path], T]) -> T:
    """Write ``path`` in one step: ``writer`` writes a temporary file beside it (same folder,
    so the rename cannot cross filesystems), which one rename puts in place once ``writer``
    returns. Readers see the old file or the whole new one, never a half-written one; if
    ``writer`` fails, the temporary file is removed and ``path`` is left as it was. Returns what
    ``writer`` returns (a streaming writer's count, say)."""
    # Hidden and suffixed, so a folder's readers (``*.parquet``, ``*.jsonl``) never pick it up.
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        result = writer(tmp)
        os.replace(tmp, path)
        return result
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``path`` through a temporary file beside it and one rename."""
    write_with(path, lambda tmp: tmp.write_bytes(data))


def write_text(path: Path, text: str) -> None:
    """:func:`write_bytes` of UTF-8 text."""
    write_bytes(path, text.encode("utf-8"))


def _prefixes(target: Path) -> tuple[str, str]:
    return f".{target.name}.tmp-", f".{target.name}.old-"


def staging_dir(target: Path) -> Path:
    """A new empty folder beside ``target`` (same filesystem) to build its next version in."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=_prefixes(target)[0], dir=target.parent))


def _libc_exchange(source: Path, target: Path) -> bool:
    """Swap two paths atomically with renameat2; False where the system cannot."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int
    result = renameat2(
        _AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), _RENAME_EXCHANGE
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # the filesystem or kernel has no exchange: fall back
    raise OSError(code, os.strerror(code), str(target))


def _move_missing(source: Path, target: Path, results: Iterable[str]) -> None:
    """Move into ``target`` each entry of ``source`` that target lacks and that is no result."""
    skip = set(results)
    for entry in source.iterdir():
        if entry.name not in skip and not (target / entry.name).exists():
            os.replace(entry, target / entry.name)


def publish_dir(staging: Path, target: Path, results: Iterable[str]) -> None:
    """Make ``staging`` the folder ``target`` in one step; ``results`` names what the command
    writes (the old folder's other entries are carried over into the new one)."""
    results = tuple(results)
    if not target.exists():
        os.replace(staging, target)
        return
    if _libc_exchange(staging, target):
        old = staging  # the exchange left the old folder at the staging path
    else:
        old = target.with_name(f"{_prefixes(target)[1]}{os.getpid()}")
        os.replace(target, old)
        os.replace(staging, target)
    _move_missing(old, target, results)
    shutil.rmtree(old, ignore_errors=True)


def clean_leftovers(target: Path, results: Iterable[str]) -> None:
    """Tidy what a killed :func:`publish_dir` left beside ``target``.

    An old folder renamed aside with no folder at ``target`` is put back; otherwise the entries
    of leftover folders that are not results go back into ``target`` and the rest is removed.
    """
    results = tuple(results)
    if not target.parent.is_dir():
        return
    new_prefix, old_prefix = _prefixes(target)
    leftovers = sorted(
        (p for p in target.parent.iterdir() if p.name.startswith((new_prefix, old_prefix))),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for leftover in leftovers:
        if not leftover.is_dir():
            continue
        if not target.exists() and leftover.name.startswith(old_prefix):
            os.replace(leftover, target)
            continue
        if target.is_dir():
            with contextlib.suppress(OSError):
                _move_missing(leftover, target, results)
        shutil.rmtree(leftover, ignore_errors=True)
