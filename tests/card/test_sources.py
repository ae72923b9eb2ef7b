"""What a card reads from large data files, read without loading them: Parquet row counts from
the footer, JSON arrays counted one element at a time, reject reasons a batch at a time."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthloom.card import sources
from synthloom.card.sources import count_json_items, count_parquet_reasons, count_rows


def _records(count: int) -> list[dict[str, Any]]:
    """Chat records as exports hold them: brackets, commas, quotes and escapes in the text,
    non-ASCII, nested meta, a missing optional field now and then."""
    out: list[dict[str, Any]] = []
    for i in range(count):
        record: dict[str, Any] = {
            "id": f"rec-{i:05d}",
            "messages": [
                {
                    "role": "user",
                    "content": f'Parse "[{i}, {i + 1}]" as a list, then add {{"k": 1}}?',
                },
                {
                    "role": "assistant",
                    "content": "Use json.loads:\n```python\nvalues = json.loads('[1, 2]')\n```\n"
                    "Résumé: it returns [1, 2] — a list, not a tuple. \\ done",
                },
            ],
        }
        if i % 3:
            record["meta"] = {"leaf": "skills/coding/json", "scores": [4.5, None, i], "ok": True}
        out.append(record)
    return out


@pytest.mark.parametrize(
    ("indent", "bom"),
    [
        pytest.param(None, False, id="compact"),
        pytest.param(2, False, id="pretty"),
        pytest.param(2, True, id="pretty-with-bom"),
    ],
)
@pytest.mark.parametrize("chunk", [1, 5, 97, 1 << 20], ids=lambda c: f"chunk-{c}")
def test_a_json_array_is_counted_element_by_element(
    tmp_path: Path, indent: int | None, bom: bool, chunk: int
) -> None:
    records = _records(23)
    text = json.dumps(records, indent=indent, ensure_ascii=False)
    path = tmp_path / "export.json"
    path.write_text(("\ufeff" if bom else "") + "\n  " + text + "\n", encoding="utf-8")
    assert count_json_items(path, chunk_chars=chunk) == len(records) == 23
    assert count_rows(path) == 23


@pytest.mark.parametrize(
    ("text", "count"),
    [
        pytest.param("[]", 0, id="empty-array"),
        pytest.param(" [ \n ] ", 0, id="empty-array-spaced"),
        pytest.param('{"messages": [{"role": "user", "content": "hi"}]}', 1, id="one-object"),
        pytest.param("[125]", 1, id="number-across-chunks"),
        pytest.param("[1.5e3, -0.25,1500.0]", 3, id="fractions-across-chunks"),
        pytest.param('[[1, [2]], "]", {"a": "[,"}]', 3, id="brackets-in-strings"),
    ],
)
def test_json_documents_other_than_long_arrays(tmp_path: Path, text: str, count: int) -> None:
    path = tmp_path / "data.json"
    path.write_text(text, encoding="utf-8")
    for chunk in (1, 2, 64):
        assert count_json_items(path, chunk_chars=chunk) == count


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[1, 2", id="unterminated"),
        pytest.param("[1 2]", id="missing-comma"),
        pytest.param("[1, ]", id="trailing-comma"),
        pytest.param("[1], [2]", id="extra-data"),
        pytest.param("", id="empty-file"),
        pytest.param('{"a": ', id="cut-object"),
    ],
)
def test_a_broken_json_file_is_a_value_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(text, encoding="utf-8")
    for chunk in (1, 3, 1 << 20):
        with pytest.raises(ValueError):
            count_json_items(path, chunk_chars=chunk)


def test_counting_a_large_json_export_never_holds_it(tmp_path: Path) -> None:
    path = tmp_path / "large.json"
    records = _records(8000)
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    size = path.stat().st_size
    assert size > 2_000_000
    tracemalloc.start()
    try:
        counted = count_json_items(path, chunk_chars=1 << 14)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert counted == 8000
    # Loading it whole would take more than the file's size in text alone.
    assert peak < size // 8, f"peak {peak} bytes for a {size}-byte file"


def test_parquet_rows_come_from_the_footer_alone(tmp_path: Path) -> None:
    path = tmp_path / "part-00000.parquet"
    table = pa.table({"id": [f"r{i}" for i in range(5000)], "text": ["x" * 40] * 5000})
    pq.write_table(table, path, compression="none")
    raw = bytearray(path.read_bytes())
    footer = int.from_bytes(raw[-8:-4], "little") + 8
    # Scramble the data pages (between the leading magic and the footer): only a reader that
    # never touches them still answers.
    for at in range(8, len(raw) - footer - 8, 7):
        raw[at] ^= 0x5A
    path.write_bytes(bytes(raw))
    with pytest.raises(OSError):
        pq.read_table(path)
    assert count_rows(path) == 5000


def test_reject_reasons_are_counted_over_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "REASON_BATCH", 4)
    reasons = ["score 1 < 3: off topic"] * 7 + ["unusable answer: not JSON"] * 4 + [None] * 2
    metas = [
        json.dumps({"teacher": {"reject": {"reason": r}}}) if r else json.dumps({"teacher": {}})
        for r in reasons
    ]
    folder = tmp_path / "rejects"
    folder.mkdir()
    pq.write_table(
        pa.table({"id": [str(i) for i in range(13)], "meta": metas}), folder / "a.parquet"
    )
    (folder / "b.parquet").write_bytes(b"PAR1 not really")
    counts = count_parquet_reasons(folder, "complete", ("teacher", "reject", "reason"))
    assert counts == {
        "complete: score N < N": 7,
        "complete: unusable answer: not JSON": 4,
        "complete: no reason recorded": 2,
        "complete: unreadable part b.parquet": 1,
    }
