"""Choosing which leaves to work on: all of them, a subtree, or those changed since a git ref.

What each chosen leaf will cost (samples, model calls, tokens) depends on the recipe settings
and is computed by ``synthloom.recipes.lab.plan_leaves``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from synthloom.errors import InputError
from synthloom.taxonomy.model import Leaf, Taxonomy

__all__ = ["changed_paths", "select_leaves"]


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
    changed = git("diff", "--name-only", "--relative", ref, "--", ".")
    untracked = git("ls-files", "--others", "--exclude-standard", "--", ".")
    return set(changed) | set(untracked)


def select_leaves(
    taxonomy: Taxonomy, *, subtree: str | None = None, changed_since: str | None = None
) -> list[Leaf]:
    """The leaves under ``subtree`` (a folder path relative to the root) that changed since
    ``changed_since`` (any file in the leaf's folder); all leaves when both are None."""
    leaves = list(taxonomy.leaves)
    if subtree:
        prefix = subtree.strip("/")
        leaves = [lf for lf in leaves if lf.path == prefix or lf.path.startswith(prefix + "/")]
        if not leaves:
            known = sorted({lf.path.split("/", 1)[0] for lf in taxonomy.leaves})
            raise InputError(
                f"no leaf under {subtree!r}; top-level folders are {', '.join(known)}",
                field="--subtree",
            )
    if changed_since:
        files = changed_paths(taxonomy.root, changed_since)
        dirs = {str(Path(f).parent.as_posix()) for f in files}
        leaves = [lf for lf in leaves if lf.path in dirs]
    return leaves
