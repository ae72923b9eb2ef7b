"""The response cache: ``cache.sqlite`` in the run directory, one row per stored answer.

Every answer is committed the moment it arrives, in WAL mode, so that a run killed at any
instant loses no answer it had received; re-running then replays stored answers instead of
asking the teacher again. ``synchronous=NORMAL`` survives a killed process (only a power cut can
lose the last transactions), which is the trade-off every WAL application makes for speed.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from synthloom.errors import InputError
from synthloom.llm.types import Completion

__all__ = ["ResponseCache"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID
"""


class ResponseCache:
    """A key -> Completion store over SQLite. ``read=False`` stores answers but never replays."""

    def __init__(self, path: str | Path, *, read: bool = True) -> None:
        self.path = Path(path)
        self.read = read
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise InputError(
                f"not a usable synthloom cache ({exc}); delete it or use another --out", path=path
            ) from exc

    def get(self, key: str) -> Completion | None:
        if not self.read:
            return None
        row = self._db.execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        return None if row is None else Completion.from_json(row[0])

    def __contains__(self, key: str) -> bool:
        row = self._db.execute("SELECT 1 FROM responses WHERE key = ?", (key,)).fetchone()
        return row is not None

    def put(self, key: str, completion: Completion) -> None:
        """Store and commit at once (autocommit mode: each statement is its own transaction)."""
        self._db.execute(
            "INSERT OR REPLACE INTO responses (key, value) VALUES (?, ?)",
            (key, completion.to_json()),
        )

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def keys(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT key FROM responses")}

    def close(self) -> None:
        self._db.close()
