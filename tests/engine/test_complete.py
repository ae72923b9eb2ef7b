"""The complete stage end to end, against the fake teacher over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from fakeserver import FakeServer, answer_for
from synthloom.engine import CompleteConfig, complete_dataset_sync, count_prompts, dry_run
from synthloom.errors import DataFormatError, InputError
from synthloom.records import read_records

FAULTS = [
    "429*2",
    "500*1",
    "reset*1",
    "slow*1",
    "badjson*1",
    "empty*1",
    "400*1",
    "500*99",
    "empty*99",
]


def _prompts(path: Path, n: int, faults: dict[int, str] | None = None) -> Path:
    faults = faults or {}
    with path.open("w") as fh:
        for i in range(n):
            text = f"question {i}" + (f" [fault:{faults[i]}]" if i in faults else "")
            fh.write(
                json.dumps({"prompt": text, "response": "old answer", "meta": {"seed_id": i}})
                + "\n"
            )
    return path


def _config(server: FakeServer, **kw: Any) -> CompleteConfig:
    base: dict[str, Any] = dict(
        model="m",
        base_url=server.url,
        max_in_flight=8,
        timeout=0.3,
        max_attempts=3,
        base_delay=0.01,
        max_delay=0.02,
        shard_rows=25,
    )
    base.update(kw)
    return CompleteConfig(**base)


def _rows(directory: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for shard in sorted(directory.glob("part-*.parquet")):
        rows += pq.read_table(shard).to_pylist()
    for row in rows:
        row["meta"] = json.loads(row["meta"])
        # Parquet holds every turn with the tool columns; null ones are absent in a record.
        row["messages"] = [{k: v for k, v in m.items() if v is not None} for m in row["messages"]]
    return rows


def test_every_fault_ends_recorded_and_the_run_finishes(server: FakeServer, tmp_path: Path) -> None:
    faults = {i * 3 + 1: f for i, f in enumerate(FAULTS)}
    prompts = _prompts(tmp_path / "p.jsonl", 60, faults)
    entry = complete_dataset_sync(prompts, tmp_path / "run", _config(server, n=2))
    assert entry["status"] == "done" and entry["items_total"] == 120
    out = tmp_path / "run" / "complete"
    records, rejects, failures = _rows(out), _rows(out / "rejects"), _rows(out / "failures")
    # Without a seed both samples of a prompt send the same body, and the server counts faults
    # per body: '400*1' fails one sample only, '500*99' fails both.
    failed_idx = sorted(r["meta"]["teacher"]["prompt_index"] for r in failures)
    rejected_idx = sorted(r["meta"]["teacher"]["prompt_index"] for r in rejects)
    assert set(failed_idx) == {faults_index(faults, "500*99"), faults_index(faults, "400*1")}
    assert rejected_idx == [faults_index(faults, "empty*99")] * 2
    assert len(records) + len(rejects) + len(failures) == 120
    assert len(
        {(r["meta"]["teacher"]["prompt_index"], r["meta"]["teacher"]["sample"]) for r in records}
    ) == len(records)
    for r in rejects:
        assert (
            r["meta"]["teacher"]["reject"]["raw"]
            and "no choices" in r["meta"]["teacher"]["reject"]["reason"]
        )
    for r in failures:
        assert r["meta"]["teacher"]["failure"].startswith("HTTP")
    acc = entry["accounting"]
    assert acc["failures"] == len(failures) and acc["rejects"] == 2 and acc["ok"] == len(records)
    assert acc["retries"] > 0 and acc["requests"] == server.requests


def faults_index(faults: dict[int, str], fault: str) -> int:
    return next(i for i, f in faults.items() if f == fault)


def test_records_keep_context_and_carry_teacher_meta(server: FakeServer, tmp_path: Path) -> None:
    prompts = tmp_path / "p.jsonl"
    convo = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "what is 2+2?"},
        {"role": "assistant", "content": "old answer to drop"},
    ]
    prompts.write_text(json.dumps({"messages": convo, "meta": {"leaf": "math"}}) + "\n")
    entry = complete_dataset_sync(
        prompts, tmp_path / "run", _config(server, n=3, seed=7, temperature=0.9)
    )
    rows = _rows(tmp_path / "run" / "complete")
    assert entry["records"] == 3 and len(rows) == 3
    for row in rows:
        teacher = row["meta"]["teacher"]
        assert row["messages"][:4] == convo[:4]
        assert row["messages"][4] == {
            "role": "assistant",
            "content": answer_for("what is 2+2?", 7 + teacher["sample"]),
        }
        assert row["meta"]["leaf"] == "math"
        assert teacher["params"] == {"temperature": 0.9, "seed": 7 + teacher["sample"]}
        assert teacher["usage"]["prompt_tokens"] == 3 and teacher["finish_reason"] == "stop"
    assert len({r["id"] for r in rows}) == 3


def test_rerun_replays_from_cache_and_no_cache_asks_again(
    server: FakeServer, tmp_path: Path
) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 40)
    first = complete_dataset_sync(prompts, tmp_path / "run", _config(server))
    assert first["accounting"]["requests"] == 40 == server.requests
    again = complete_dataset_sync(prompts, tmp_path / "run", _config(server))
    assert again["skipped"] == 40 and again["accounting"]["requests"] == 0 and server.requests == 40
    assert again["records"] == 40 and again["invocations"] == 2
    # A fresh run dir sharing nothing replays nothing; --no-cache on the same dir re-asks items
    # whose records are lost (here: all shards deleted).
    for shard in (tmp_path / "run" / "complete").glob("part-*.parquet"):
        shard.unlink()
    cached = complete_dataset_sync(prompts, tmp_path / "run", _config(server))
    assert cached["accounting"]["cache_hits"] == 40 and server.requests == 40
    for shard in (tmp_path / "run" / "complete").glob("part-*.parquet"):
        shard.unlink()
    fresh = complete_dataset_sync(prompts, tmp_path / "run", _config(server, use_cache=False))
    assert fresh["accounting"]["requests"] == 40 and server.requests == 80
    assert fresh["accounting_total"]["requests"] == 80


def test_resume_with_other_settings_is_refused(server: FakeServer, tmp_path: Path) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 5)
    complete_dataset_sync(prompts, tmp_path / "run", _config(server))
    with pytest.raises(InputError, match="other prompts or settings"):
        complete_dataset_sync(prompts, tmp_path / "run", _config(server, temperature=1.0))


def test_json_mode_rejects_non_json_answers(server: FakeServer, tmp_path: Path) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 6, {2: "wrongformat*1", 4: "wrongformat*9"})
    entry = complete_dataset_sync(prompts, tmp_path / "run", _config(server, json_mode=True))
    rows = _rows(tmp_path / "run" / "complete")
    rejects = _rows(tmp_path / "run" / "complete" / "rejects")
    assert len(rows) == 5 and [r["meta"]["teacher"]["prompt_index"] for r in rejects] == [4]
    assert rejects[0]["meta"]["teacher"]["reject"]["raw"] == "Sure! Here it is: {oops"
    assert all(json.loads(r["messages"][-1]["content"])["answer"] for r in rows)
    assert server.log[0]["response_format"] == {"type": "json_object"}
    assert entry["accounting"]["rejects"] == 1


def test_legacy_completions_endpoint(server: FakeServer, tmp_path: Path) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 3)
    complete_dataset_sync(
        prompts, tmp_path / "run", _config(server, endpoint="completions", max_tokens=20)
    )
    rows = _rows(tmp_path / "run" / "complete")
    assert {r["messages"][-1]["content"] for r in rows} == {
        answer_for(f"question {i}") for i in range(3)
    }
    assert all("prompt" in body and body["max_tokens"] == 20 for body in server.log)


def test_prices_give_a_cost(server: FakeServer, tmp_path: Path) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 4)
    entry = complete_dataset_sync(
        prompts,
        tmp_path / "run",
        _config(server, price_per_1k_prompt=1.0, price_per_1k_completion=2.0),
    )
    acc = entry["accounting"]
    assert acc["cost"] == pytest.approx(
        (acc["prompt_tokens"] + 2 * acc["completion_tokens"]) / 1000
    )
    saved = json.loads((tmp_path / "run" / "run.json").read_text())["stages"]["complete"]
    assert saved["accounting"]["cost"] == acc["cost"]


def test_dry_run_counts_and_renders_without_a_server_or_files(tmp_path: Path) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 10)
    config = CompleteConfig(
        model="m",
        base_url="http://127.0.0.1:9/v1",
        n=2,
        max_tokens=100,
        price_per_1k_completion=1.0,
    )
    before = set(tmp_path.iterdir())
    plan = dry_run(prompts, config, show=2)
    assert plan["prompts"] == 10 and plan["requests"] == 20 and plan["skipped"] == 0
    assert plan["max_completion_tokens"] == 2000 and plan["estimated_cost"] == pytest.approx(2.0)
    assert plan["estimated_prompt_tokens"] > 0
    assert plan["examples"][0] == {
        "model": "m",
        "messages": [{"role": "user", "content": "question 0"}],
        "max_tokens": 100,
    }
    assert set(tmp_path.iterdir()) == before


def test_missing_prompts_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="not found"):
        count_prompts(tmp_path / "nope.jsonl")


def test_api_key_never_reaches_the_run_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-very-secret-4242"
    monkeypatch.setenv("TEACHER_KEY", secret)
    with FakeServer(api_key=secret) as srv:
        prompts = _prompts(tmp_path / "p.jsonl", 5, {1: "500*99", 2: "empty*9"})
        entry = complete_dataset_sync(
            prompts, tmp_path / "run", _config(srv, api_key_env="TEACHER_KEY")
        )
    assert entry["records"] == 3
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_tool_use_prompts_keep_their_tool_turns_and_tools(
    server: FakeServer, tmp_path: Path
) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "search_flights",
                "parameters": {"type": "object", "properties": {"to": {"type": "string"}}},
            },
        }
    ]
    convo = [
        {"role": "user", "content": "Any flights to Porto on Friday?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_9",
                    "type": "function",
                    "function": {"name": "search_flights", "arguments": '{"to": "OPO"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_9", "content": "TP1947 at 07:10, FR8342 at 18:25"},
        {"role": "user", "content": "Which one is cheaper?"},
    ]
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"messages": convo, "tools": tools}) + "\n")
    entry = complete_dataset_sync(prompts, tmp_path / "run", _config(server, n=2))
    records = list(read_records(tmp_path / "run" / "complete"))
    assert entry["records"] == 2 and len(records) == 2
    for rec in records:
        assert rec["tools"] == tools
        assert rec["messages"][1]["tool_calls"] == convo[1]["tool_calls"]
        assert rec["messages"][1]["content"] == ""
        assert rec["messages"][2]["tool_call_id"] == "call_9"
        assert rec["messages"][4]["role"] == "assistant"
