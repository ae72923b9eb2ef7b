from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from synthloom.errors import BackendError, InputError
from synthloom.llm import Completion, ResponseCache, Usage


def _done(text: str) -> Completion:
    return Completion(texts=(text,), finish_reasons=("stop",), usage=Usage(1, 2), model="m")


def test_put_is_readable_at_once_and_committed_without_a_close(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache.sqlite")
    cache.put("k1", _done("hello"))
    hit = cache.get("k1")  # read-your-writes, committed or not
    assert hit is not None and hit.text == "hello" and hit.cached
    cache.flush()
    # A second process (here: connection) sees the answer without any close, which is what
    # survives kill -9.
    other = sqlite3.connect(tmp_path / "cache.sqlite")
    assert other.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 1
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()
    assert cache.get("nope") is None
    assert len(cache) == 1 and "k1" in cache and cache.keys() == {"k1"}
    cache.close()


def test_many_puts_are_committed_in_groups_and_replayed_by_a_new_cache(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache.sqlite")
    for i in range(3000):
        cache.put(f"{i:064x}", _done(f"answer {i}"))
    cache.put(f"{7:064x}", _done("newer answer 7"))  # the last answer for a key wins
    cache.close()
    again = ResponseCache(tmp_path / "cache.sqlite")
    assert len(again) == 3000
    hit = again.get(f"{7:064x}")
    assert hit is not None and hit.text == "newer answer 7"
    assert all(again.get(f"{i:064x}") is not None for i in range(0, 3000, 97))
    # Keys never stored are misses, including ones that are not hex digests.
    assert again.get(f"{3000:064x}") is None and "plain key" not in again
    again.close()
    with pytest.raises(BackendError, match="closed"):
        again.put("k", _done("late"))


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


def test_the_ledger_counts_every_answer_bought_and_starts_from_an_older_cache(
    tmp_path: Path,
) -> None:
    from contextlib import closing

    from synthloom.llm.cache import read_ledger

    path = tmp_path / "cache.sqlite"
    # A cache written before the ledger existed: its answers are what it holds.
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE responses (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        for i in range(3):
            old = Completion(texts=(f"old {i}",), finish_reasons=("stop",), usage=Usage(5, 7))
            db.execute("INSERT INTO responses VALUES (?, ?)", (f"k{i}", old.to_json()))
        db.commit()
    assert read_ledger(path) == {
        "answers": 3,
        "prompt_tokens": 15,
        "completion_tokens": 21,
        "requests": 3,
    }
    cache = ResponseCache(path)
    for _ in range(5):  # four answered sends, and one no answer followed (it failed)
        cache.note_request()
    for i in range(4):
        answer = Completion(texts=(f"new {i}",), finish_reasons=("stop",), usage=Usage(2, 3))
        cache.put(f"n{i}", answer)
    # The same request bought again (--no-cache) is a purchase too.
    cache.put("n0", Completion(texts=("again",), finish_reasons=("stop",), usage=Usage(2, 3)))
    cache.close()
    assert read_ledger(path) == {
        "answers": 8,
        "prompt_tokens": 15 + 5 * 2,
        "completion_tokens": 21 + 5 * 3,
        "requests": 3 + 5,
    }
    assert read_ledger(tmp_path / "none.sqlite")["answers"] == 0
