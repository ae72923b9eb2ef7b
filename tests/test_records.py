from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from synthloom.errors import DataFormatError
from synthloom.records import (
    ParquetShardWriter,
    day_numbers,
    detect_kind,
    expected_records,
    load_dataset,
    make_record,
    normalize_record,
    read_records,
    read_table,
    text_columns,
    write_jsonl,
    write_parquet,
)


def _jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(
            {
                "messages": [
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": "yo"},
                ]
            },
            [("user", "hi"), ("assistant", "yo")],
            id="openai",
        ),
        pytest.param(
            {
                "conversations": [
                    {"from": "system", "value": "s"},
                    {"from": "human", "value": "hi"},
                    {"from": "gpt", "value": "yo"},
                ]
            },
            [("system", "s"), ("user", "hi"), ("assistant", "yo")],
            id="sharegpt",
        ),
        pytest.param(
            {"instruction": "Translate", "input": "chat", "output": "cat"},
            [("user", "Translate\n\nchat"), ("assistant", "cat")],
            id="alpaca",
        ),
        pytest.param(
            {"instruction": "Say hi", "input": "", "output": "hi"},
            [("user", "Say hi"), ("assistant", "hi")],
            id="alpaca-no-input",
        ),
        pytest.param(
            {"prompt": "p", "response": "r"}, [("user", "p"), ("assistant", "r")], id="pair"
        ),
        pytest.param(
            {"question": "q", "answer": "a"}, [("user", "q"), ("assistant", "a")], id="qa"
        ),
    ],
)
def test_normalize_shapes(obj: dict[str, object], expected: list[tuple[str, str]]) -> None:
    rec = normalize_record(obj)
    assert [(m["role"], m["content"]) for m in rec["messages"]] == expected
    assert isinstance(rec["id"], str) and len(rec["id"]) == 24
    assert rec["meta"] == {}


def test_ids_are_content_hashes() -> None:
    a = make_record([{"role": "user", "content": "x"}])
    b = make_record([{"role": "user", "content": "x"}])
    c = make_record([{"role": "user", "content": "y"}])
    assert a["id"] == b["id"] != c["id"]


def test_preference_record_keeps_chosen_and_rejected() -> None:
    rec = normalize_record({"prompt": "p", "chosen": "good", "rejected": "bad"})
    assert rec["messages"] == [{"role": "user", "content": "p"}]
    assert rec["chosen"][0]["content"] == "good"
    assert rec["rejected"][0]["content"] == "bad"


def test_jsonl_and_parquet_round_trip(tmp_path: Path) -> None:
    records = [
        make_record(
            [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}],
            {"i": i, "tags": ["x"] if i % 2 else []},
        )
        for i in range(50)
    ]
    write_jsonl(records, tmp_path / "r.jsonl")
    write_parquet(records, tmp_path / "r.parquet")
    assert list(read_records(tmp_path / "r.jsonl")) == records
    assert list(read_records(tmp_path / "r.parquet")) == records
    assert not list(tmp_path.glob("*.tmp"))


def test_shard_writer_streams_numbered_shards(tmp_path: Path) -> None:
    with ParquetShardWriter(tmp_path / "out", rows_per_shard=7) as writer:
        for i in range(20):
            writer.write(make_record([{"role": "user", "content": str(i)}]))
    shards = sorted((tmp_path / "out").glob("part-*.parquet"))
    assert [pq.read_metadata(s).num_rows for s in shards] == [7, 7, 6]
    # a second writer in the same folder continues the numbering instead of overwriting
    with ParquetShardWriter(tmp_path / "out", rows_per_shard=7) as writer:
        writer.write(make_record([{"role": "user", "content": "late"}]))
    assert len(list((tmp_path / "out").glob("part-*.parquet"))) == 4


def _records_then_failure(count: int) -> Iterator[dict[str, Any]]:
    """A record stream that breaks after ``count`` records (a reader hitting a bad line)."""
    for i in range(count):
        yield make_record([{"role": "user", "content": f"new {i}"}])
    raise DataFormatError("line 4: not valid JSON", path="upstream.jsonl")


@pytest.mark.parametrize(
    "write",
    [pytest.param(write_jsonl, id="jsonl"), pytest.param(write_parquet, id="parquet")],
)
def test_a_write_that_fails_midway_leaves_the_earlier_file_whole(
    tmp_path: Path, write: Callable[..., int]
) -> None:
    suffix = ".jsonl" if write is write_jsonl else ".parquet"
    path = tmp_path / f"out{suffix}"
    old = [make_record([{"role": "user", "content": f"old {i}"}]) for i in range(5)]
    assert write(old, path) == 5
    with pytest.raises(DataFormatError, match="line 4"):
        write(_records_then_failure(3), path)
    kept = [r["messages"][0]["content"] for r in read_records(path)]
    assert kept == [f"old {i}" for i in range(5)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file left
    assert write(old[:2], path) == 2
    assert len(list(read_records(path))) == 2


def test_a_folder_of_parts_reads_as_one_dataset_in_name_order(tmp_path: Path) -> None:
    folder = tmp_path / "complete"
    with ParquetShardWriter(folder, rows_per_shard=4) as writer:
        for i in range(10):
            writer.write(make_record([{"role": "user", "content": f"q{i}"}]))
    (folder / "rejects").mkdir()  # sub-folders and hidden files are not data
    write_jsonl(
        [make_record([{"role": "user", "content": "rejected"}])], folder / "rejects" / "x.jsonl"
    )
    (folder / ".part-00009.parquet.tmp").write_bytes(b"half written")
    texts = [r["messages"][0]["content"] for r in read_records(folder)]
    assert texts == [f"q{i}" for i in range(10)]
    assert detect_kind(folder) == "instruction"
    assert len(load_dataset(folder).records or []) == 10
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataFormatError, match=r"without \.jsonl or \.parquet files"):
        list(read_records(empty))


def test_loading_counts_the_records_as_they_are_read(tmp_path: Path) -> None:
    told: list[tuple[int, int]] = []

    def count(done: int, total: int) -> None:
        told.append((done, total))

    # A hand-written file: a BOM, a blank line between records, no newline at the end.
    rows = [{"messages": [{"role": "user", "content": f"question {i}?"}]} for i in range(5)]
    lines = [json.dumps(r) for r in rows]
    jsonl = tmp_path / "hand.jsonl"
    jsonl.write_bytes(("\ufeff" + "\n".join(lines[:2]) + "\n\n" + "\n".join(lines[2:])).encode())
    assert expected_records(jsonl) == 6  # the blank line is counted until it is read
    assert len(load_dataset(jsonl, on_count=count).records or []) == 5
    assert told[0] == (0, 6) and told[-2] == (5, 6) and told[-1] == (5, 5)
    # Parquet parts: the footers give the exact number, so the last count is the total.
    folder = tmp_path / "parts"
    with ParquetShardWriter(folder, rows_per_shard=4) as writer:
        for row in rows * 2:
            writer.write(make_record(row["messages"]))
    assert expected_records(folder) == 10
    told.clear()
    load_dataset(folder, on_count=count)
    assert told == [(d, 10) for d in range(11)]
    # A JSON array is parsed at once: nothing to count; neither is a table.
    array = tmp_path / "all.json"
    array.write_text(json.dumps(rows), encoding="utf-8")
    told.clear()
    assert expected_records(array) is None
    assert len(load_dataset(array, on_count=count).records or []) == 5
    table = tmp_path / "t.csv"
    table.write_text("a,b\n1,2\n", encoding="utf-8")
    load_dataset(table, on_count=count)
    assert told == []


def test_detect_kind(tmp_path: Path) -> None:
    chat = _jsonl(tmp_path / "c.jsonl", [{"prompt": "p", "response": "r"}])
    flat = _jsonl(tmp_path / "t.jsonl", [{"a": 1, "b": "x"}])
    csv = tmp_path / "t.csv"
    csv.write_text("a,b\n1,x\n", encoding="utf-8")
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "t.parquet")
    write_parquet([make_record([{"role": "user", "content": "x"}])], tmp_path / "c.parquet")
    assert detect_kind(chat) == "instruction"
    assert detect_kind(flat) == "table"
    assert detect_kind(csv) == "table"
    assert detect_kind(tmp_path / "t.parquet") == "table"
    assert detect_kind(tmp_path / "c.parquet") == "instruction"


def test_read_table_csv_semicolon_and_tsv(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x;y\n1;2\n3;4\n", encoding="utf-8")
    (tmp_path / "b.tsv").write_text("x\ty\n1\t2\n", encoding="utf-8")
    assert list(read_table(tmp_path / "a.csv").columns) == ["x", "y"]
    assert read_table(tmp_path / "b.tsv")["y"].tolist() == [2]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        pytest.param(
            b'{"prompt": "p", "response": "r"}\n{oops\n', ":2: invalid JSON", id="bad-json"
        ),
        pytest.param(
            b'{"prompt": "p", "response": "r"}\n{"prompt": "\xff\xfe"}\n',
            ":2: not UTF-8",
            id="not-utf8",
        ),
        pytest.param(b'{"text": "no shape"}\n', "not an instruction record", id="no-shape"),
        pytest.param(
            b'{"messages": [{"role": "robot", "content": "x"}]}\n',
            "field 'messages[0].role'",
            id="bad-role",
        ),
        pytest.param(
            b'{"messages": [{"role": "user", "content": 5}]}\n',
            "field 'messages[0].content'",
            id="bad-content",
        ),
        pytest.param(
            b'{"conversations": [{"from": "alien", "value": "x"}]}\n',
            "conversations[0].from",
            id="sharegpt-speaker",
        ),
        pytest.param(
            b'{"prompt": "p", "response": "r", "meta": 3}\n', "field 'meta'", id="bad-meta"
        ),
    ],
)
def test_bad_records_name_file_line_and_field(tmp_path: Path, content: bytes, needle: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(DataFormatError) as err:
        list(read_records(path))
    assert needle in str(err.value)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="file not found"):
        load_dataset(tmp_path / "nope.jsonl")
    odd = tmp_path / "data.xlsx"
    odd.write_bytes(b"PK")
    with pytest.raises(DataFormatError, match="unknown format"):
        load_dataset(odd)


def test_empty_datasets_are_errors(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_text("\n\n", encoding="utf-8")
    (tmp_path / "e.csv").write_text("", encoding="utf-8")
    (tmp_path / "h.csv").write_text("a,b\n", encoding="utf-8")
    for name in ("e.jsonl", "e.csv", "h.csv"):
        with pytest.raises(DataFormatError, match="empty"):
            load_dataset(tmp_path / name)


def test_non_utf8_csv_names_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("a,b\n1,ok\n2,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataFormatError, match=r"latin\.csv:3: not UTF-8"):
        read_table(path)


def test_a_lone_surrogate_is_refused_with_line_and_field(tmp_path: Path) -> None:
    # json.dumps writes a lone surrogate as the escape \ud83d, as other tools do after cutting
    # a string between the two halves of an emoji.
    rows = [
        {
            "messages": [
                {"role": "user", "content": "Smile \U0001f600"},
                {"role": "assistant", "content": "ok"},
            ]
        },
        {
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "cut \ud83d"},
            ]
        },
    ]
    jsonl = _jsonl(tmp_path / "chat.jsonl", rows)
    with pytest.raises(DataFormatError) as caught:
        list(read_records(jsonl))
    message = str(caught.value)
    assert message.startswith(f"{jsonl}:2, field 'messages[1].content': holds a lone surrogate")
    assert "\\ud83d" in message and "\n" not in message
    array = tmp_path / "chat.json"
    array.write_text(json.dumps({"data": rows}), encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"field 'messages\[1\]\.content': record 1: holds"):
        list(read_records(array))


def test_escaped_pairs_and_escapes_that_are_no_surrogate_read_as_text(tmp_path: Path) -> None:
    jsonl = tmp_path / "ok.jsonl"
    jsonl.write_text(
        '{"prompt": "emoji \\ud83d\\ude00 and \\uD83D\\uDE01", "response": "path C:\\\\udir"}\n',
        encoding="utf-8",
    )
    [record] = list(read_records(jsonl))
    assert record["messages"][0]["content"] == "emoji \U0001f600 and \U0001f601"
    assert record["messages"][1]["content"] == "path C:\\udir"


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(DataFormatError, match="not a readable Parquet file"):
        load_dataset(path)


def test_text_columns_of_a_csv_as_pandas_reads_it(tmp_path: Path) -> None:
    # pandas 3 reads text as its `str` dtype, pandas 2 as `object`: both are text.
    path = tmp_path / "t.csv"
    path.write_text("id,note,score,mixed\n1,first note,0.5,a\n2,second,0.7,3\n3,,0.1,b\n")
    table = read_table(path)
    assert text_columns(table) == ["note", "mixed"]
    assert text_columns(pd.DataFrame({"n": [1, 2], "o": pd.Series(["x", 1], dtype=object)})) == [
        "o"
    ]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_day_numbers_do_not_depend_on_the_stored_unit(unit: str) -> None:
    stamps = pd.Series(
        pd.to_datetime(["1970-01-02", "2021-03-01 12:00", None], format="mixed").as_unit(unit)
    )
    days = day_numbers(stamps)
    assert days.iloc[:2].tolist() == [1.0, 18687.5]
    assert pd.isna(days.iloc[2])


def test_day_numbers_of_text_and_zoned_times() -> None:
    text = pd.Series(["2021-03-01", "2021-03-01T12:00:00+02:00", "not a time", None])
    days = day_numbers(text)
    assert days.iloc[0] == 18687.0
    assert days.iloc[1] == pytest.approx(18687.0 + 10 / 24)
    assert days.iloc[2:].isna().all()


def test_a_table_with_lists_or_objects_in_its_cells_is_one_clear_error(tmp_path: Path) -> None:
    # TRL-style prompt-only rows hold chat turns in a column: not a table the assay can measure.
    rows = [
        {"prompt": "plain text", "score": 1},
        {"prompt": [{"role": "user", "content": "Where is Lima?"}], "score": 2},
    ]
    path = _jsonl(tmp_path / "prompts.jsonl", rows)
    with pytest.raises(DataFormatError, match=r"prompts\.jsonl:2, field 'prompt': column 'prompt'"):
        read_table(path)
    parquet = tmp_path / "t.parquet"
    pd.DataFrame({"tags": [["a", "b"], ["c"]], "n": [1, 2]}).to_parquet(parquet)
    with pytest.raises(DataFormatError, match="column 'tags' holds a list"):
        read_table(parquet)
    # Flat rows still read as before.
    assert read_table(_jsonl(tmp_path / "flat.jsonl", [{"a": 1, "b": "x"}])).shape == (1, 2)
