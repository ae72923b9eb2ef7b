"""Decontamination against planted benchmark leaks, from JSONL, CSV and Parquet benchmarks."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from synthloom.curate import AuditWriter, Benchmark, Decontaminate, load_benchmark
from synthloom.curate.base import run_stages
from synthloom.errors import DataFormatError
from synthloom.records import make_record


def _rec(user: str, assistant: str = "fine") -> dict[str, Any]:
    return make_record(
        [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    )


def _items(rng: random.Random, count: int, length: int) -> list[str]:
    words = [f"w{i}" for i in range(3000)]
    return [" ".join(rng.choice(words) for _ in range(length)) for _ in range(count)]


def _run(
    stage: Decontaminate, records: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], AuditWriter]:
    writer = AuditWriter()
    kept, _ = run_stages(records, [stage], writer)
    return list(kept), writer


def test_planted_leaks_are_found_with_their_items() -> None:
    rng = random.Random(5)
    items = _items(rng, 50, 40)
    bench = Benchmark("evalset", [f"q{i}" for i in range(50)], items)
    clean = _items(random.Random(99), 30, 40)
    records = [_rec(t) for t in clean]
    leaks: dict[int, str] = {}
    for k, item in enumerate(items[:10]):
        tokens = item.split()
        window = " ".join(tokens[k : k + 13]).upper()  # case does not hide a leak
        text = f"Here is a question: {window} -- answer it."
        # Half the leaks sit in the prompt, half in the response.
        rec = _rec(text) if k % 2 else _rec("Tell me something.", text)
        leaks[len(records)] = f"q{k}"
        records.append(rec)
    # 12 shared tokens is below the 13-gram: must be kept.
    near_miss = _rec(" ".join(items[20].split()[:12]) + " and then something else entirely")
    records.append(near_miss)
    stage = Decontaminate([bench])
    kept, writer = _run(stage, records)
    dropped = {e["id"]: e for e in writer.rejects}
    assert len(dropped) == len(leaks)
    for index, item in leaks.items():
        entry = dropped[records[index]["id"]]
        assert entry["benchmark"] == "evalset" and entry["item"] == item
        assert entry["matches"][0]["role"] == ("user" if int(item[1:]) % 2 else "assistant")
    assert near_miss in kept
    summary = stage.summary()["benchmarks"]["evalset"]
    assert summary["items_matched"] == 10 and summary["records_matched"] == 10
    assert summary["matched_item_ids"] == sorted(leaks.values())


def test_flag_mode_keeps_and_marks_once() -> None:
    bench = Benchmark(
        "b", ["x"], ["one two three four five six seven eight nine ten eleven twelve thirteen"]
    )
    records = [_rec("say one two three four five six seven eight nine ten eleven twelve thirteen")]
    kept, writer = _run(Decontaminate([bench], action="flag"), records)
    assert kept[0]["meta"]["contamination"] == [{"benchmark": "b", "item": "x"}]
    assert len(writer.changes) == 1 and writer.rejects == []
    again, writer2 = _run(Decontaminate([bench], action="flag"), kept)
    assert again == kept and writer2.changes == []


def test_short_items_match_whole_and_tiny_ones_never() -> None:
    bench = Benchmark(
        "short", ["s", "t"], ["What is the boiling point of water at sea level?", "What is 2+2?"]
    )
    stage = Decontaminate([bench])
    assert stage.matches(_rec("Q: what is the boiling point of water at sea level? A: 100C"))
    assert not stage.matches(_rec("what is 2+2? four."))


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_load_benchmark_from_each_format(tmp_path: Path, suffix: str) -> None:
    frame = pd.DataFrame({"uid": ["a", "b"], "question": ["first question text", "second one"]})
    path = tmp_path / f"bench{suffix}"
    if suffix == ".jsonl":
        path.write_text("\n".join(json.dumps(r) for r in frame.to_dict("records")) + "\n")
    elif suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)
    bench = load_benchmark(path, fields=["question"], id_field="uid")
    assert bench.name == "bench" and list(bench.item_ids) == ["a", "b"]
    assert list(bench.texts) == ["first question text", "second one"]
    with pytest.raises(DataFormatError, match="no text field 'text'"):
        load_benchmark(path)
