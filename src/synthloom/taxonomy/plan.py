"""Choosing which leaves to work on: all of them, a subtree, those changed since a git ref, or
those matching leaf-path globs. ``choose_paths`` works on leaf folders before any leaf is read,
so leaves outside the selection are never checked (``load_taxonomy`` calls it).

What each chosen leaf will cost (samples, model calls, tokens) depends on the recipe settings
and is computed by ``synthloom.recipes.lab.plan_leaves``.
"""

from __future__ import annotations

import fnmatch
import subprocess
from collections.abc import Sequence
from pathlib import Path

from synthloom.errors import InputError
from synthloom.taxonomy.model import Leaf, Taxonomy

__all__ = ["changed_paths", "choose_paths", "select_leaves"]


def changed_paths(root: str | Path, ref: str) -> set[str]:
    """Files under ``root`` (relative to it) that differ from git ``ref``, untracked included."""
    root = Path(root).resolve()

    def git(*args: str) -> list[str]:
        try:
            done = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, check=True, text=True, timeout=120
            )
        except FileNotFoundError as exc:
            raise InputError("git is not installed; --changed-since needs git") from exc
        except subprocess.CalledProcessError as exc:
            tail = exc.stderr.strip().splitlines()
            raise InputError(
                f"git failed: {tail[-1] if tail else exc}; is the taxonomy a git repository "
                f"with ref {ref!r}?",
                path=root,
            ) from exc
        return [line for line in done.stdout.splitlines() if line]

    # --relative gives paths relative to root even when root is inside a larger repository.
    changed = git("diff", "--name-only", "--relative", "--end-of-options", ref, "--", ".")
    untracked = git("ls-files", "--others", "--exclude-standard", "--", ".")
    return set(changed) | set(untracked)


def _under(path: str, subtree: str) -> bool:
    prefix = subtree.strip("/")
    return not prefix or path == prefix or path.startswith(prefix + "/")


def choose_paths(
    root: str | Path,
    paths: Sequence[str],
    *,
    subtree: str | None = None,
    changed_since: str | None = None,
    globs: Sequence[str] | None = None,
) -> list[str]:
    """The leaf folders among ``paths`` under ``subtree``, changed since ``changed_since`` (any
    file in the folder) and matching one of ``globs``; all of them when every filter is None."""
    chosen = list(paths)
    if subtree:
        chosen = [p for p in chosen if _under(p, subtree)]
        if not chosen:
            known = sorted({p.split("/", 1)[0] for p in paths})
            raise InputError(
                f"no leaf under {subtree!r}; top-level folders are {', '.join(known)}",
                field="--subtree",
            )
    if globs is not None:
        chosen = [p for p in chosen if any(fnmatch.fnmatch(p, g) for g in globs)]
    if changed_since:
        dirs = {Path(f).parent.as_posix() for f in changed_paths(root, changed_since)}
        chosen = [p for p in chosen if (p or ".") in dirs]
    return chosen


def select_leaves(
    taxonomy: Taxonomy, *, subtree: str | None = None, changed_since: str | None = None
) -> list[Leaf]:
    """The loaded leaves under ``subtree`` that changed since ``changed_since``; all leaves when
    both are None. (Choosing before loading, ``load_taxonomy(root, subtree=...)``, is cheaper
    and does not fail on broken leaves outside the selection.)"""
    paths = choose_paths(
        taxonomy.root,
        [lf.path for lf in taxonomy.leaves],
        subtree=subtree,
        changed_since=changed_since,
    )
    keep = set(paths)
    return [lf for lf in taxonomy.leaves if lf.path in keep]
