from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from synthloom.errors import InputError
from synthloom.llm import Completion, ResponseCache, Usage


def _done(text: str) -> Completion:
    return Completion(texts=(text,), finish_reasons=("stop",), usage=Usage(1, 2), model="m")


def test_put_is_visible_to_another_connection_at_once(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache.sqlite")
    cache.put("k1", _done("hello"))
    # A second process (here: connection) sees the answer without any explicit commit/close,
    # which is what survives kill -9.
    other = sqlite3.connect(tmp_path / "cache.sqlite")
    assert other.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 1
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()
    hit = cache.get("k1")
    assert hit is not None and hit.text == "hello" and hit.cached
    assert cache.get("nope") is None
    assert len(cache) == 1 and "k1" in cache and cache.keys() == {"k1"}
    cache.close()


def test_no_read_mode_stores_but_never_replays(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite", read=False)
    cache.put("k", _done("x"))
    assert cache.get("k") is None and "k" in cache
    cache.close()
    assert ResponseCache(tmp_path / "c.sqlite").get("k") is not None


def test_a_file_that_is_not_sqlite_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "cache.sqlite"
    bad.write_text("not a database" * 100)
    with pytest.raises(InputError, match="cache"):
        ResponseCache(bad)
