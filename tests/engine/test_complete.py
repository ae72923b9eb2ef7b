"""The complete stage end to end, against the fake teacher over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from fakeserver import FakeServer, answer_for
from synthloom.engine import CompleteConfig, complete_dataset_sync, count_prompts, dry_run
from synthloom.engine.rejects import Reject, read_rejects
from synthloom.errors import DataFormatError, InputError
from synthloom.records import read_records, write_parquet

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
        retry_base_delay=0.01,
        retry_max_delay=0.02,
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


def _rejects(folder: Path) -> list[Reject]:
    return list(read_rejects(folder, stage="complete"))


def test_every_fault_ends_recorded_and_the_run_finishes(server: FakeServer, tmp_path: Path) -> None:
    faults = {i * 3 + 1: f for i, f in enumerate(FAULTS)}
    prompts = _prompts(tmp_path / "p.jsonl", 60, faults)
    entry = complete_dataset_sync(prompts, tmp_path / "run", _config(server, n=2))
    assert entry["status"] == "done" and entry["items_total"] == 120
    out = tmp_path / "run" / "complete"
    rejects_dir, failures_dir = (
        tmp_path / "run" / "rejects" / "complete",
        tmp_path / "run" / "failures" / "complete",
    )
    records, rejects, failures = _rows(out), _rejects(rejects_dir), _rows(failures_dir)
    # The data folder holds OK records only: a loader given the folder (pyarrow reads every
    # sub-folder, as datasets.load_dataset(data_dir=...) does) gets training data alone.
    assert [p.name for p in out.iterdir() if not p.name.startswith("part-")] == []
    assert pq.read_table(out).num_rows == len(records)
    # Without a seed both samples of a prompt send the same body, and the server counts faults
    # per body: '400*1' fails one sample only, '500*99' fails both.
    failed_idx = sorted(r["meta"]["teacher"]["prompt_index"] for r in failures)
    rejected_idx = sorted(r.detail["prompt_index"] for r in rejects)
    assert set(failed_idx) == {faults_index(faults, "500*99"), faults_index(faults, "400*1")}
    assert rejected_idx == [faults_index(faults, "empty*99")] * 2
    assert len(records) + len(rejects) + len(failures) == 120
    assert len(
        {(r["meta"]["teacher"]["prompt_index"], r["meta"]["teacher"]["sample"]) for r in records}
    ) == len(records)
    for r in rejects:
        assert r.raw and "no choices" in r.reason
        assert (r.stage, r.step, r.id) == ("complete", "answer", r.item["id"])
        # The item is the prompt as asked: the user turn without the old answer.
        assert [m["role"] for m in r.item["messages"]] == ["user"]
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


def test_other_settings_start_fresh_outputs_and_reuse_identical_requests(
    server: FakeServer, tmp_path: Path
) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 5)
    complete_dataset_sync(prompts, tmp_path / "run", _config(server, n=2))
    assert server.requests == 10
    # Sample 0 of each prompt is the same request at n=1: all five come from the cache.
    fewer = complete_dataset_sync(prompts, tmp_path / "run", _config(server, n=1))
    assert fewer["outputs_reset"] == "settings changed" and server.requests == 10
    assert fewer["records"] == 5 and fewer["accounting"]["cache_hits"] == 5
    assert len(_rows(tmp_path / "run" / "complete")) == 5
    hotter = complete_dataset_sync(prompts, tmp_path / "run", _config(server, temperature=1.0))
    assert hotter["outputs_reset"] == "settings changed" and server.requests == 15
    rows = _rows(tmp_path / "run" / "complete")
    assert len(rows) == 5 and {r["meta"]["teacher"]["params"]["temperature"] for r in rows} == {1.0}
    # Without the cache a change would buy every answer again: refused, outputs intact.
    with pytest.raises(InputError, match="drop --no-cache"):
        complete_dataset_sync(prompts, tmp_path / "run", _config(server, use_cache=False))
    assert len(_rows(tmp_path / "run" / "complete")) == 5 and server.requests == 15


def test_a_bad_line_costs_nothing_and_fixing_it_reuses_every_answer(
    server: FakeServer, tmp_path: Path
) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 60)
    lines = prompts.read_text().splitlines()
    good = lines[50]
    lines[50] = '{"prompt": "question 50", "response": '  # cut off mid-line
    prompts.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"p\.jsonl:51: invalid JSON"):
        complete_dataset_sync(prompts, tmp_path / "run", _config(server))
    assert server.requests == 0 and not (tmp_path / "run").exists()
    lines[50] = good
    prompts.write_text("\n".join(lines) + "\n")
    first = complete_dataset_sync(prompts, tmp_path / "run", _config(server))
    assert first["records"] == 60 and server.requests == 60
    assert first["outputs_reset"] is None


def test_edited_prompts_are_the_only_ones_asked_again(server: FakeServer, tmp_path: Path) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 40)
    complete_dataset_sync(prompts, tmp_path / "run", _config(server, n=2))
    assert server.requests == 80
    lines = prompts.read_text().splitlines()
    edited = {3, 7, 11, 15, 19, 23, 27, 31, 35, 39}
    for i in edited:
        row = json.loads(lines[i])
        row["prompt"] = f"question {i}, asked more precisely"
        lines[i] = json.dumps(row)
    removed = lines.pop(0)  # and one prompt dropped: every later prompt moves up a line
    lines.append(json.dumps({"prompt": "a brand-new question", "response": "", "meta": {}}))
    prompts.write_text("\n".join(lines) + "\n")
    again = complete_dataset_sync(prompts, tmp_path / "run", _config(server, n=2))
    assert (again["prompts_changed"], again["prompts_removed"]) == (11, 11)
    assert "11 prompts changed or added, 11 removed" in again["outputs_reset"]
    assert server.requests == 80 + 11 * 2  # only the edited and the new prompt were asked
    assert again["accounting"]["cache_hits"] == 29 * 2
    rows = _rows(tmp_path / "run" / "complete")
    asked = {r["messages"][-2]["content"] for r in rows}
    assert len(rows) == 80 and "question 3, asked more precisely" in asked
    assert "question 3" not in asked and json.loads(removed)["prompt"] not in asked
    assert "a brand-new question" in asked
    indexes = sorted(
        r["meta"]["teacher"]["prompt_index"] for r in rows if r["meta"]["teacher"]["sample"] == 0
    )
    assert indexes == list(range(40))
    # The same file again resumes: nothing to do, nothing rebuilt.
    same = complete_dataset_sync(prompts, tmp_path / "run", _config(server, n=2))
    assert same["outputs_reset"] is None and same["skipped"] == 80 and server.requests == 102


def test_json_mode_rejects_non_json_answers(server: FakeServer, tmp_path: Path) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 6, {2: "wrongformat*1", 4: "wrongformat*9"})
    entry = complete_dataset_sync(prompts, tmp_path / "run", _config(server, json_mode=True))
    rows = _rows(tmp_path / "run" / "complete")
    rejects = _rejects(tmp_path / "run" / "rejects" / "complete")
    assert len(rows) == 5 and [r.detail["prompt_index"] for r in rejects] == [4]
    assert rejects[0].raw == "Sure! Here it is: {oops" and rejects[0].detail["attempts"] == 3
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


def test_a_run_folder_of_the_earlier_layout_resumes(server: FakeServer, tmp_path: Path) -> None:
    # Runs written before rejects/failures moved beside the data folder keep their rejects.
    prompts = _prompts(tmp_path / "p.jsonl", 6, {2: "wrongformat*9"})
    config = _config(server, json_mode=True)
    complete_dataset_sync(prompts, tmp_path / "run", config)
    run = tmp_path / "run"
    (run / "rejects" / "complete").rename(run / "complete" / "rejects")
    (run / "failures" / "complete").rename(run / "complete" / "failures")
    asked = server.requests
    again = complete_dataset_sync(prompts, run, config)
    assert again["skipped"] == 6 and server.requests == asked
    assert not (run / "complete" / "rejects").exists()
    assert len(_rejects(run / "rejects" / "complete")) == 1


def _as_previous_version_wrote(folder: Path) -> None:
    """Turn a run's reject parts into the Parquet prompt records synthloom wrote before the
    reject format of 2026-12 (``meta.teacher.reject`` holding reason, raw and attempts)."""
    old = []
    for reject in read_rejects(folder, stage="complete"):
        teacher = {k: v for k, v in reject.detail.items() if k != "attempts"}
        teacher["reject"] = {
            "reason": reject.reason,
            "raw": reject.raw,
            "attempts": reject.detail["attempts"],
        }
        old.append({**reject.item, "meta": {**reject.item["meta"], "teacher": teacher}})
    for part in folder.glob("part-*.jsonl"):
        part.unlink()
    write_parquet(old, folder / "part-00000.parquet")


def test_a_run_whose_rejects_the_previous_version_wrote_resumes_and_reads(
    server: FakeServer, tmp_path: Path
) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 8, {2: "wrongformat*9", 5: "empty*99"})
    config = _config(server, json_mode=True, n=2)
    complete_dataset_sync(prompts, tmp_path / "run", config)
    folder = tmp_path / "run" / "rejects" / "complete"
    written = sorted(_rejects(folder), key=lambda r: (r.detail["prompt_index"], r.detail["sample"]))
    assert [r.detail["prompt_index"] for r in written] == [2, 2, 5, 5]
    _as_previous_version_wrote(folder)
    asked = server.requests
    again = complete_dataset_sync(prompts, tmp_path / "run", config)
    # The old parts count as done (nothing asked again) and read as the same rejects.
    assert again["skipped"] == 16 and server.requests == asked
    read = sorted(_rejects(folder), key=lambda r: (r.detail["prompt_index"], r.detail["sample"]))
    assert [r.as_dict() for r in read] == [r.as_dict() for r in written]


def test_answers_without_text_are_rejects_with_their_reason_never_records(
    server: FakeServer, tmp_path: Path
) -> None:
    faults = {1: "null*99", 3: "toolcalls*99", 4: "refusal*99"}
    prompts = _prompts(tmp_path / "p.jsonl", 6, faults)
    entry = complete_dataset_sync(prompts, tmp_path / "run", _config(server))
    out = tmp_path / "run" / "complete"
    rejects_dir = tmp_path / "run" / "rejects" / "complete"
    records, rejects = _rows(out), _rejects(rejects_dir)
    assert sorted(r["meta"]["teacher"]["prompt_index"] for r in records) == [0, 2, 5]
    assert all(r["messages"][-1]["content"].strip() for r in records)
    reasons = {r.detail["prompt_index"]: r.reason for r in rejects}
    assert reasons == {
        1: "empty answer: content null (finish_reason stop)",
        3: "empty answer: tool calls only (finish_reason tool_calls)",
        4: "empty answer: refused (I can't help with that.) (finish_reason stop)",
    }
    # Rejected at once: one request each, and their tokens were paid and are counted.
    assert server.requests == 6
    acc = entry["accounting"]
    assert (acc["ok"], acc["rejects"], acc["responses"]) == (3, 3, 6)
    # A rerun asks nothing again: the rejects are done and their answers are in the cache.
    complete_dataset_sync(prompts, tmp_path / "run", _config(server))
    assert server.requests == 6 and len(_rejects(rejects_dir)) == 3


def test_a_server_echoing_the_key_gets_it_into_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-live-echo-7f3a9c21b0"
    monkeypatch.setenv("TEACHER_KEY", secret)
    with FakeServer(api_key=secret, echo_headers=True) as srv:
        faults = {1: "400*1", 2: "500*99", 3: "badjson*99"}
        prompts = _prompts(tmp_path / "p.jsonl", 5, faults)
        entry = complete_dataset_sync(
            prompts, tmp_path / "run", _config(srv, api_key_env="TEACHER_KEY")
        )
        assert srv.headers_seen[-1]["Authorization"] == f"Bearer {secret}"
    run = tmp_path / "run"
    failures, rejects = _rows(run / "failures" / "complete"), _rejects(run / "rejects" / "complete")
    reasons = [r["meta"]["teacher"]["failure"] for r in failures]
    assert len(reasons) == 2 and all("Authorization: Bearer [REDACTED]" in r for r in reasons)
    (reject,) = rejects
    assert reject.raw is not None and '"Authorization": "Bearer [REDACTED]"' in reject.raw
    assert entry["records"] == 2
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


@pytest.mark.slow
def test_the_ledger_is_exact_after_kill_9(tmp_path: Path) -> None:
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time
    from contextlib import closing

    from synthloom.llm.cache import read_ledger

    prompts = _prompts(tmp_path / "p.jsonl", 300)
    run = tmp_path / "run"
    with FakeServer(latency=0.02) as srv:
        argv = [sys.executable, "-m", "synthloom", "complete", str(prompts), "--base-url"]
        argv += [srv.url, "--model", "m", "--api-key-env", "", "--out", str(run)]
        argv += ["--max-in-flight", "4", "--quiet"]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while srv.answered < 80 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(0.2)  # requests the dead client had sent finish on the server's side
        answered_at_kill, sent_at_kill = srv.answered, srv.requests
        ledger = read_ledger(run / "cache.sqlite")
        with closing(sqlite3.connect(run / "cache.sqlite")) as db:
            stored = db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
        # The ledger counts exactly the answers stored; the server answered at most the four in
        # flight more (they died with the client and are bought again below).
        assert 0 < ledger["answers"] == stored <= answered_at_kill <= ledger["answers"] + 4
        assert ledger["prompt_tokens"] > 0 and ledger["completion_tokens"] > 0
        assert abs(ledger["requests"] - sent_at_kill) <= 4
        lost = answered_at_kill - ledger["answers"]
        entry = complete_dataset_sync(prompts, run, _config(srv, max_in_flight=4))
    assert entry["status"] == "done" and entry["records"] == 300
    # Each answer was bought once, but for those the kill lost: the ledger says so exactly.
    assert entry["ledger"]["answers"] == 300 == srv.answered - lost
    assert entry["ledger"]["requests"] == srv.requests - (sent_at_kill - ledger["requests"])
