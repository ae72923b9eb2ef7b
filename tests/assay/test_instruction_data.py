"""Records read in batches into the assay's compact form give what the records themselves give."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from synthloom.assay.diversity import text_measures
from synthloom.assay.features import record_features
from synthloom.assay.inputs import load_inputs
from synthloom.assay.instruction_data import InstructionData, TextColumn, read_instruction_data
from synthloom.assay.privacy import exact_copies, record_key
from synthloom.errors import DataFormatError
from synthloom.messages import message_text
from synthloom.records import read_records, write_records
from synthloom.text import record_text
from tests.assay.realistic import instruction_records


def messy_records() -> list[dict[str, Any]]:
    """Realistic chat records plus what real files hold: tool calls with empty content, meta
    fields that are numbers in some records and text (or absent, or booleans) in others,
    non-ASCII text, an empty answer."""
    records = instruction_records(60, seed=3)
    records[4]["messages"].insert(
        1,
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"q": "Zürich Öffnungszeiten"}'},
                }
            ],
        },
    )
    records[4]["messages"].insert(2, {"role": "tool", "content": "Mo–Fr 08:00–18:00"})
    records[7]["meta"]["score"] = "n/a"  # a number column with a word in it
    records[9]["meta"] = {}
    records[11]["meta"]["reviewed"] = True
    records[12]["meta"]["reviewed"] = False
    records[20]["messages"][-1]["content"] = ""
    records[30]["messages"][0]["content"] = "Ça coûte combien à Montréal ? 🙂 naïve café"
    records[41]["meta"]["nested"] = {"depth": 2, "tags": ["x", "y"]}
    return records


@pytest.fixture
def messy_file(tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    path = tmp_path / "chats.jsonl"
    write_records(messy_records(), path)
    return path, list(read_records(path))


@pytest.mark.parametrize(
    "batch",
    [pytest.param(1, id="one"), pytest.param(7, id="seven"), pytest.param(10_000, id="whole")],
)
def test_batched_read_gives_the_records_texts_turns_keys_and_features(
    messy_file: tuple[Path, list[dict[str, Any]]], batch: int
) -> None:
    path, records = messy_file
    data = read_instruction_data(path, batch_records=batch, keep_content=True)
    assert len(data) == len(records)
    assert list(data.texts) == [record_text(r) for r in records]
    assert list(data.ids) == [r["id"] for r in records]
    turns = [message_text(m) for r in records for m in r["messages"]]
    assert list(data.messages) == turns
    assert [data.messages[k] for k in range(len(turns))] == turns
    for start, stop in ((0, len(turns)), (3, 17), (5, 6), (9, 9), (-4, None)):
        assert data.messages[start:stop] == turns[start:stop]
    where = [
        f"record {i + 1} (id {r['id']}), message {j + 1} ({m['role']})"
        for i, r in enumerate(records)
        for j, m in enumerate(r["messages"])
    ]
    assert [data.message_locations[k] for k in range(len(where))] == where
    assert data.message_locations[-3:] == where[-3:] and data.message_locations[::7] == where[::7]
    names = [f"record {i + 1} (id {r['id']})" for i, r in enumerate(records)]
    assert data.names[-1] == names[-1] and data.names[2:9] == names[2:9]
    with pytest.raises(IndexError):
        data.names[len(names)]
    digests = [hashlib.blake2b(record_key(r).encode(), digest_size=16).digest() for r in records]
    assert data.keys.tolist() == [d.rstrip(b"\0") for d in digests]
    assert data.content is not None and len(data.content) == len(records)
    shared = ["meta.topic", "meta.score", "meta.reviewed", "meta.nested.depth"]
    pd.testing.assert_frame_equal(
        data.finished_features(shared), record_features(records, meta_columns=shared)
    )
    pd.testing.assert_frame_equal(
        data.finished_features(data.meta_columns), record_features(records)
    )
    # "score" is text in one record: no record-level score then.
    assert data.meta_scores() is None


def test_scores_come_from_the_first_field_every_record_holds_as_a_number(tmp_path: Path) -> None:
    records = instruction_records(30, seed=1)
    for i, rec in enumerate(records):
        rec["meta"]["reward"] = i / 10  # every record; "score" too, and it comes first
    records[3]["meta"].pop("score")
    path = tmp_path / "r.jsonl"
    write_records(records, path)
    data = read_instruction_data(path, batch_records=4)
    assert data.meta_scores() == [i / 10 for i in range(30)]


def test_an_empty_file_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n")
    with pytest.raises(DataFormatError, match="empty"):
        read_instruction_data(path)


def test_text_column_indexes_slices_and_takes_across_chunks() -> None:
    column = TextColumn()
    column.append(["a", "bé", ""])
    column.append([])
    column.append(["🙂 d", "e"])
    assert len(column) == 5 and list(column) == ["a", "bé", "", "🙂 d", "e"]
    assert column[3] == "🙂 d" and column[-1] == "e" and column[1:4] == ["bé", "", "🙂 d"]
    every = ["a", "bé", "", "🙂 d", "e"]
    for start in range(-6, 7):
        for stop in range(-6, 7):
            for step in (None, 1, 2, -1):
                assert column[start:stop:step] == every[start:stop:step], (start, stop, step)
    assert column.take(np.array([4, 0, 3])) == ["e", "a", "🙂 d"]
    # Repeats, any order, several chunks and none: as item by item.
    rng = np.random.default_rng(3)
    for size in (0, 1, 7, 40):
        wanted = rng.integers(0, len(column), size)
        assert column.take(wanted) == [every[i] for i in wanted]
    with pytest.raises(IndexError):
        column[5]
    assert column.nbytes > 0 and TextColumn.of(["x"])[0] == "x"


@pytest.mark.parametrize(
    "as_bytes", [pytest.param(False, id="strings"), pytest.param(True, id="digests")]
)
def test_exact_copies_name_the_first_reference_record_of_a_copied_key(as_bytes: bool) -> None:
    ref = ["k3", "k1", "k2", "k1", "k9"]
    syn = ["k1", "zz", "k9", "k1", "k4", "k3"]
    if as_bytes:
        ref_keys: Any = np.asarray(
            [hashlib.blake2b(k.encode(), digest_size=16).digest() for k in ref], dtype="S16"
        )
        syn_keys: Any = np.asarray(
            [hashlib.blake2b(k.encode(), digest_size=16).digest() for k in syn], dtype="S16"
        )
    else:
        ref_keys, syn_keys = ref, syn
    found = exact_copies(ref_keys, syn_keys)
    assert found["count"] == 4 and found["share"] == 4 / 6
    assert found["examples"] == [0, 2, 3, 5]
    assert [(c["synthetic_index"], c["reference_index"]) for c in found["copies"]] == [
        (0, 1),
        (2, 4),
        (3, 1),
        (5, 0),
    ]
    assert exact_copies([], syn_keys)["count"] == 0
    assert exact_copies(ref_keys, [])["share"] == 0.0


def test_parquet_row_groups_read_the_same_as_jsonl(tmp_path: Path) -> None:
    records = messy_records()
    jsonl, parquet = tmp_path / "a.jsonl", tmp_path / "a.parquet"
    write_records(records, jsonl)
    write_records(records, parquet)
    a = read_instruction_data(jsonl, batch_records=5)
    b = read_instruction_data(parquet, batch_records=5)
    assert list(a.texts) == list(b.texts) and a.keys.tolist() == b.keys.tolist()
    # Parquet keeps meta as JSON with sorted keys: the same fields, maybe in another order.
    assert sorted(a.meta_columns) == sorted(b.meta_columns)
    assert a.meta_scores() == b.meta_scores()


def test_two_sides_read_in_two_processes_equal_the_sides_read_in_one(tmp_path: Path) -> None:
    syn_path, ref_path = tmp_path / "syn.jsonl", tmp_path / "ref.parquet"
    write_records(messy_records(), syn_path)
    write_records(instruction_records(80, seed=9), ref_path)
    *together, worker = load_inputs(syn_path, ref_path, keep_content=True, processes=2)
    *apart, none = load_inputs(syn_path, ref_path, keep_content=True, processes=1)
    assert worker is not None and none is None
    # The worker measured the reference's texts as this process would have.
    assert worker.measures() == text_measures(list(apart[1].texts))  # type: ignore[union-attr]
    worker.close()
    assert not multiprocessing.active_children()
    for a, b in zip(together, apart, strict=True):
        assert isinstance(a, InstructionData) and isinstance(b, InstructionData)
        assert list(a.texts) == list(b.texts) and a.keys.tolist() == b.keys.tolist()
        pd.testing.assert_frame_equal(a.features, b.features)
        assert (a.content is None) == (b.content is None)
    assert isinstance(together[0], InstructionData) and together[0].content is not None


@pytest.mark.parametrize(
    "broken", [pytest.param("syn", id="synthetic"), pytest.param("ref", id="reference")]
)
def test_a_broken_side_read_in_another_process_names_its_file_and_line(
    tmp_path: Path, broken: str
) -> None:
    paths = {"syn": tmp_path / "syn.jsonl", "ref": tmp_path / "ref.jsonl"}
    for path in paths.values():
        write_records(instruction_records(20, seed=2), path)
    lines = paths[broken].read_text().splitlines()
    lines[6] = lines[6][:40]  # a line cut short, as an interrupted copy leaves it
    paths[broken].write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=rf"{paths[broken].name}:7: invalid JSON"):
        load_inputs(paths["syn"], paths["ref"], processes=2)


def test_an_assay_with_the_reference_in_a_second_process_gives_the_same_numbers(
    tmp_path: Path,
) -> None:
    from synthloom.assay.run import AssayOptions, run_assay

    syn_path, ref_path = tmp_path / "syn.jsonl", tmp_path / "ref.jsonl"
    write_records(messy_records(), syn_path)
    write_records(instruction_records(120, seed=5), ref_path)
    options = AssayOptions(embedder="tfidf", ner="off", write_report=False)
    one = run_assay(syn_path, ref_path, tmp_path / "one", options).metrics
    options.processes = 2
    two = run_assay(syn_path, ref_path, tmp_path / "two", options).metrics
    assert not multiprocessing.active_children()  # the worker is closed
    for metrics in (one, two):
        metrics.pop("seconds"), metrics.pop("created")
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)
    assert two["diversity"]["reference"]["near_duplicate_rate"] is not None


@pytest.mark.parametrize("processes", [pytest.param(0, id="zero"), pytest.param(3, id="three")])
def test_processes_other_than_one_or_two_are_refused_before_anything_is_read(
    tmp_path: Path, processes: int
) -> None:
    from synthloom.assay.run import AssayOptions, run_assay
    from synthloom.errors import InputError

    with pytest.raises(InputError, match=r"--processes.*must be 1 or 2"):
        run_assay(
            tmp_path / "missing.jsonl",
            tmp_path / "also-missing.jsonl",
            tmp_path / "out",
            AssayOptions(processes=processes),
        )
    assert not (tmp_path / "out").exists()
