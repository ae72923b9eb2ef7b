"""The response cache: ``cache.sqlite`` in the run directory, one row per stored answer.

Answers are committed as they arrive by a writer thread that owns its own connection: the
event loop hands each answer over and goes on, and when several answers wait at once they share
one transaction (group commit). A commit costs about 0.1 ms, which done on the event loop for
every answer was the largest single cost of a fast teacher run. WAL mode lets the loop read
while the writer writes; an answer handed over but not yet committed is served from memory, so
a run always reads its own writes.

A run killed at any instant loses at most the answers handed over in the last moment and not yet
committed (normally none, at most one group): those were never stored, so a re-run asks for
them again and nothing stored is ever asked twice. ``synchronous=NORMAL`` survives a killed
process (only a power cut can lose the last transactions), the trade-off every WAL application
makes for speed.

The cache is also the run's ledger: the ``ledger`` table counts the answers bought from the
server and their tokens, updated in the same transaction that stores each answer, so it is
exact after a ``kill -9`` (run.json, saved every few seconds, may lag behind it). Sends are
counted there too, committed with the next group of answers (those of the last moment before a
kill may be missing). :func:`read_ledger` reads it from a run's ``cache.sqlite``.
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
from pathlib import Path

from synthloom.errors import BackendError, InputError
from synthloom.llm.types import Completion

__all__ = ["LEDGER_FIELDS", "ResponseCache", "read_ledger"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID
"""
_INSERT = "INSERT OR REPLACE INTO responses (key, value) VALUES (?, ?)"
#: What the ledger counts: answers bought and stored, their tokens, and sends (retries too).
LEDGER_FIELDS = ("answers", "prompt_tokens", "completion_tokens", "requests")
_LEDGER = "CREATE TABLE IF NOT EXISTS ledger (name TEXT PRIMARY KEY, value INTEGER NOT NULL)"
_ADD = "UPDATE ledger SET value = value + ? WHERE name = ?"


def _open_ledger(db: sqlite3.Connection) -> None:
    """Create the ledger; a cache written before it existed starts from the answers it holds."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'ledger'").fetchone() is not None:
        return
    row = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(json_extract(value, '$.usage[0]')), 0), "
        "COALESCE(SUM(json_extract(value, '$.usage[1]')), 0) FROM responses"
    ).fetchone()
    db.execute("BEGIN IMMEDIATE")
    db.execute(_LEDGER)
    start = {"answers": row[0], "prompt_tokens": row[1], "completion_tokens": row[2]}
    db.executemany(
        "INSERT OR IGNORE INTO ledger (name, value) VALUES (?, ?)",
        [(name, int(start.get(name, row[0]))) for name in LEDGER_FIELDS],
    )
    db.execute("COMMIT")


def read_ledger(path: str | Path) -> dict[str, int]:
    """The ledger of a run's ``cache.sqlite`` (all zero when there is none yet)."""
    path = Path(path)
    if not path.exists():
        return dict.fromkeys(LEDGER_FIELDS, 0)
    cache = ResponseCache(path)
    try:
        return cache.ledger()
    finally:
        cache.close()


# The most answers one transaction takes, so a long backlog is still committed in steps.
_GROUP = 512
# A two-probe Bloom filter of every stored key: a key it has never seen is a certain miss and
# costs no query. 2**24 bits (2 MiB) keep false positives near 1.4% at a million keys.
_BLOOM_BITS = 1 << 24


def _probes(key: str) -> tuple[int, int]:
    """Two bit positions of a key. Keys are hex digests; other keys are hashed first."""
    try:
        a, b = int(key[:8], 16), int(key[8:16], 16)
    except ValueError:
        import hashlib

        digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
        a, b = int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:], "little")
    return a % _BLOOM_BITS, b % _BLOOM_BITS


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
            _open_ledger(self._db)
        except sqlite3.DatabaseError as exc:
            raise InputError(
                f"not a usable synthloom cache ({exc}); delete it or use another --out", path=path
            ) from exc
        self._bloom = bytearray(_BLOOM_BITS // 8)
        for (key,) in self._db.execute("SELECT key FROM responses"):
            self._remember(key)
        # Answers handed to the writer and not yet committed, served to readers from here.
        self._pending: dict[str, str] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[str, str, int, int] | None] = queue.Queue()
        self._requests = 0  # sends noted and not yet committed to the ledger
        self._writer: threading.Thread | None = None
        self._error: BaseException | None = None
        self._closed = False

    # ------------------------------------------------------------------------------ reading

    def _remember(self, key: str) -> None:
        for bit in _probes(key):
            self._bloom[bit >> 3] |= 1 << (bit & 7)

    def _maybe_stored(self, key: str) -> bool:
        return all(self._bloom[bit >> 3] & (1 << (bit & 7)) for bit in _probes(key))

    def get(self, key: str) -> Completion | None:
        if not self.read:
            return None
        if not self._maybe_stored(key):
            return None
        with self._lock:
            value = self._pending.get(key)
        if value is None:
            row = self._db.execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
            value = None if row is None else row[0]
        return None if value is None else Completion.from_json(value)

    def __contains__(self, key: str) -> bool:
        if not self._maybe_stored(key):
            return False
        with self._lock:
            if key in self._pending:
                return True
        row = self._db.execute("SELECT 1 FROM responses WHERE key = ?", (key,)).fetchone()
        return row is not None

    def __len__(self) -> int:
        self.flush()
        return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def keys(self) -> set[str]:
        self.flush()
        return {row[0] for row in self._db.execute("SELECT key FROM responses")}

    # ------------------------------------------------------------------------------ writing

    def note_request(self) -> None:
        """Count one send to the server (committed to the ledger with the next answers)."""
        with self._lock:
            self._requests += 1

    def ledger(self) -> dict[str, int]:
        """What this run folder has bought: answers stored, their tokens, sends."""
        self.flush()
        with self._lock:
            unsent = self._requests
        counts = dict(self._db.execute("SELECT name, value FROM ledger").fetchall())
        counts["requests"] = counts.get("requests", 0) + unsent
        return {name: int(counts.get(name, 0)) for name in LEDGER_FIELDS}

    def put(self, key: str, completion: Completion) -> None:
        """Hand an answer to the writer, which commits it (with any others waiting) at once."""
        self._raise_writer_error()
        if self._closed:
            raise BackendError(f"the response cache {self.path} is closed")
        value = completion.to_json()
        with self._lock:
            self._pending[key] = value
        self._remember(key)
        if self._writer is None:
            self._writer = threading.Thread(
                target=self._write_loop, name="synthloom-cache-writer", daemon=True
            )
            self._writer.start()
        usage = completion.usage
        self._queue.put((key, value, usage.prompt_tokens, usage.completion_tokens))

    def flush(self) -> None:
        """Wait until every answer handed over so far is committed."""
        if self._writer is not None:
            self._queue.join()
        self._raise_writer_error()

    def close(self) -> None:
        """Commit what is waiting, stop the writer and close the database."""
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None
        with self._lock:
            sends, self._requests = self._requests, 0
        if sends and self._error is None:  # sends that no answer followed
            with contextlib.suppress(sqlite3.Error):
                self._db.execute(_ADD, (sends, "requests"))
        self._db.close()
        self._raise_writer_error()

    def _raise_writer_error(self) -> None:
        if self._error is not None:
            raise BackendError(
                f"cannot write the response cache {self.path}: {self._error}; "
                "check the disk has room and the run directory is writable"
            ) from self._error

    def _write_loop(self) -> None:
        db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(self.path, isolation_level=None)
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=10000")
        except sqlite3.Error as exc:
            self._error = exc
        stop = False
        while not stop:
            item = self._queue.get()
            group = [] if item is None else [item]
            stop = item is None
            taken = 1
            while not stop and len(group) < _GROUP:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                taken += 1
                if item is None:
                    stop = True
                else:
                    group.append(item)
            with self._lock:
                sends, self._requests = self._requests, 0
            try:
                if (group or sends) and db is not None and self._error is None:
                    # The answers and the ledger's counts of them commit together.
                    db.execute("BEGIN")
                    db.executemany(_INSERT, [(key, value) for key, value, _, _ in group])
                    db.executemany(
                        _ADD,
                        [
                            (len(group), "answers"),
                            (sum(item[2] for item in group), "prompt_tokens"),
                            (sum(item[3] for item in group), "completion_tokens"),
                            (sends, "requests"),
                        ],
                    )
                    db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._error = exc
            finally:
                with self._lock:
                    for key, value, _, _ in group:
                        # A newer answer for the same key may have arrived meanwhile.
                        if self._pending.get(key) is value:
                            del self._pending[key]
                for _ in range(taken):
                    self._queue.task_done()
        if db is not None:
            db.close()
