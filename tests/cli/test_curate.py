"""End-to-end tests of ``synthloom curate`` through the real command line entry point."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from synthloom.cli import main
from synthloom.records import read_records

LEAK = (
    "natalia sold clips to forty eight of her friends in april "
    "and then she sold half as many in may"
)


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _dataset(tmp_path: Path) -> Path:
    rng = random.Random(4)
    words = [
        f"{a}{b}" for a in ("ka", "lo", "mi", "nu", "pe", "ro", "su", "ti") for b in "aeiouxyz"
    ]

    def sentence() -> str:
        return " ".join(rng.choice(words) for _ in range(14))

    rows = [{"prompt": sentence(), "response": sentence()} for _ in range(20)]
    rows.append(dict(rows[3]))  # exact copy
    rows.append({"prompt": rows[5]["prompt"].upper(), "response": rows[5]["response"]})  # case
    rows.append({"prompt": rows[7]["prompt"] + " please", "response": rows[7]["response"]})  # near
    rows.append({"prompt": f"Solve: {LEAK}. How many clips?", "response": "72"})  # leak
    rows.append(
        {
            "prompt": "Email me at sam.smith@acme-mail.com",
            "response": "Sure, or call (212) 555-7788.",
        }
    )
    return _write(tmp_path / "in.jsonl", rows)


def _bench(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "gsm8k.jsonl", [{"question": LEAK + " altogether"}, {"question": "other"}]
    )


def _curate(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["curate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_curate_end_to_end_then_idempotent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _dataset(tmp_path)
    out = tmp_path / "out"
    args = [
        str(data),
        "--out",
        str(out),
        "--threshold",
        "0.7",
        "--decontaminate",
        str(_bench(tmp_path)),
        "--bench-field",
        "question",
        "--pii",
        "redact",
        "--ner",
        "off",
    ]
    code, stdout, _ = _curate(args, capsys)
    assert code == 0
    assert "exact" in stdout and "minhash" in stdout and "pii" in stdout
    run = json.loads((out / "run.json").read_text())
    stages = {s["stage"]: s for s in run["stages"]}
    assert [s["stage"] for s in run["stages"]] == ["exact", "minhash", "decontaminate", "pii"]
    assert stages["exact"]["records_in"] == 25 and stages["exact"]["dropped"] == 2
    assert stages["minhash"]["dropped"] == 1
    assert stages["decontaminate"]["dropped"] == 1
    assert stages["pii"]["changed"] == 1 and stages["pii"]["details"]["by_type"] == {
        "EMAIL": 1,
        "PHONE": 1,
    }
    for s in run["stages"]:
        assert s["records_in"] == s["kept"] + s["dropped"]
    assert run["records_out"] == 21
    rejects = _lines(out / "rejects.jsonl")
    assert [r["stage"] for r in rejects] == ["exact", "exact", "minhash", "decontaminate"]
    assert rejects[3]["benchmark"] == "gsm8k" and rejects[3]["item"] == "0"
    assert len(_lines(out / "changes.jsonl")) == 1
    curated = list(read_records(out / "data.parquet"))
    assert len(curated) == 21
    assert not any(
        "sam.smith@acme-mail.com" in m["content"] for r in curated for m in r["messages"]
    )

    again = tmp_path / "again"
    code, _, _ = _curate(
        [str(out / "data.parquet"), *args[1:2], str(again), *args[3:], "--format", "jsonl"], capsys
    )
    assert code == 0
    run2 = json.loads((again / "run.json").read_text())
    assert all(s["dropped"] == 0 and s["changed"] == 0 for s in run2["stages"])
    assert list(read_records(again / "data.jsonl")) == curated


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(["--dedup", "exact,fuzzy"], "unknown dedup method 'fuzzy'", id="dedup"),
        pytest.param(
            ["--threshold", "0"],
            "'--threshold': '0' is not a finite number > 0 and <= 1",
            id="threshold-zero",
        ),
        pytest.param(
            ["--threshold", "1.5"],
            "'--threshold': '1.5' is not a finite number > 0 and <= 1",
            id="threshold-big",
        ),
        pytest.param(["--pii", "shred"], "unknown PII mode 'shred'", id="pii-mode"),
        pytest.param(["--decontaminate", "BENCH"], "no text field 'text'", id="bench-field"),
        pytest.param(["--decontaminate", "MISSING"], "file not found", id="bench-missing"),
    ],
)
def test_bad_options_exit_2_and_leave_out_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    data = _dataset(tmp_path)
    bench = _bench(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "data.parquet").write_bytes(b"previous run")
    extra = [
        str(bench) if e == "BENCH" else str(tmp_path / "nope.jsonl") if e == "MISSING" else e
        for e in extra
    ]
    code, _, err = _curate([str(data), "--out", str(out), *extra], capsys)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == ["data.parquet"]
    assert (out / "data.parquet").read_bytes() == b"previous run"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.jsonl", "gsm8k.jsonl", "out"])


def test_missing_or_broken_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _curate([str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "none.jsonl" in err and "not found" in err
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"prompt": "a", "response": "b"}\n{"prompt": \n')
    code, _, err = _curate([str(broken), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "broken.jsonl:2" in err
    assert not (tmp_path / "o").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.jsonl"]


def test_score_decides_the_survivor_and_quiet_prints_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"prompt": "same question", "response": "same answer", "meta": {"score": 1}},
        {"prompt": "same question", "response": "same answer ", "meta": {"score": 4}},
    ]
    data = _write(tmp_path / "in.jsonl", rows)
    code, stdout, _ = _curate(
        [str(data), "--out", str(tmp_path / "o"), "--dedup", "exact", "-q"], capsys
    )
    assert code == 0 and stdout == ""
    kept = pd.read_parquet(tmp_path / "o" / "data.parquet")
    assert json.loads(kept["meta"][0]) == {"score": 4}


def test_hash_mode_is_salted_from_the_environment_and_the_salt_never_reaches_disk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _dataset(tmp_path)

    def tokens(out: Path) -> str:
        rows = list(read_records(out / "data.parquet"))
        return "\n".join(
            m["content"] for r in rows for m in r["messages"] if "<PHONE:" in m["content"]
        )

    monkeypatch.delenv("SYNTHLOOM_PII_SALT", raising=False)
    code, _, err = _curate(
        [str(data), "-o", str(tmp_path / "plain"), "--pii", "hash", "--ner", "off", "-q"], capsys
    )
    assert code == 0 and "SYNTHLOOM_PII_SALT is not set" in err
    salt = "pepper-6b1f0c"
    monkeypatch.setenv("SYNTHLOOM_PII_SALT", salt)
    code, _, err = _curate(
        [str(data), "-o", str(tmp_path / "salted"), "--pii", "hash", "--ner", "off", "-q"], capsys
    )
    assert code == 0 and "not set" not in err
    plain, salted = tokens(tmp_path / "plain"), tokens(tmp_path / "salted")
    assert "<PHONE:" in plain and "<PHONE:" in salted and plain != salted
    for path in (tmp_path / "salted").rglob("*"):
        if path.is_file():
            assert salt.encode() not in path.read_bytes(), path


def _consistent_result(out: Path) -> int:
    """The folder's result is whole: run.json counts exactly the records of its data file."""
    run = json.loads((out / "run.json").read_text())
    data = Path(run["output"]).name
    # README.md: the dataset card curate writes beside its result (synthloom.card).
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [data, "rejects.jsonl", "changes.jsonl", "run.json", "README.md"]
    )
    assert len(list(read_records(out / data))) == run["records_out"]
    return int(run["records_out"])


@pytest.mark.slow
def test_kill_9_while_curate_replaces_a_result_leaves_old_or_new(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    data = _dataset(tmp_path)
    out = tmp_path / "curated"
    assert main(["curate", str(data), "--out", str(out), "--quiet"]) == 0
    old = _consistent_result(out)
    rng = random.Random(3)
    outcomes = set()
    new = ["--dedup", "", "--format", "jsonl", "--quiet"]
    for _ in range(8):
        # The new result differs (no dedup, JSONL): old and new cannot be mistaken.
        proc = subprocess.Popen(
            [sys.executable, "-m", "synthloom", "curate", str(data), "--out", str(out), *new],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.5, 3.0))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        # The next run tidies what a kill left; until then the folder is already whole.
        outcomes.add(_consistent_result(out))
        assert main(["curate", str(data), "--out", str(out), "--quiet"]) == 0
        assert _consistent_result(out) == old
        assert sorted(p.name for p in tmp_path.iterdir()) == ["curated", "in.jsonl"]
    assert old in outcomes


def _tool_use_rows() -> list[dict[str, Any]]:
    """OpenAI function-calling examples as a tool-use set ships them, with its own columns."""
    tool = {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Find an order by its number",
            "parameters": {"type": "object", "properties": {"order": {"type": "string"}}},
        },
    }
    rows = []
    for i, (order, status) in enumerate(
        [("A-1042", "shipped"), ("B-7781", "delayed at customs"), ("C-0093", "delivered")]
    ):
        rows.append(
            {
                "messages": [
                    {"role": "system", "content": "You are the support bot of a small shop."},
                    {
                        "role": "user",
                        "content": f"Where is my order {order}? Reply to ana@shop-mail.net",
                    },
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": f"call_{i}",
                                "type": "function",
                                "function": {
                                    "name": "lookup_order",
                                    "arguments": json.dumps({"order": order}),
                                },
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": f"call_{i}", "content": status},
                    {"role": "assistant", "content": f"Your order {order} is {status}."},
                ],
                "tools": [tool],
                "source": "support-logs",
            }
        )
    return rows


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_curate_keeps_tool_calls_tool_turns_and_unknown_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    rows = _tool_use_rows()
    data = _write(tmp_path / "tools.jsonl", [*rows, rows[1]])  # one exact copy
    out = tmp_path / "out"
    code, _, err = _curate(
        [str(data), "--out", str(out), "--format", fmt, "--pii", "redact", "--ner", "off"], capsys
    )
    assert code == 0, err
    curated = list(read_records(out / f"data.{fmt}"))
    assert len(curated) == 3
    for row, rec in zip(rows, curated, strict=True):
        assert [m["role"] for m in rec["messages"]] == [
            "system",
            "user",
            "assistant",
            "tool",
            "assistant",
        ]
        assert rec["messages"][2]["tool_calls"] == row["messages"][2]["tool_calls"]
        assert rec["messages"][2]["content"] == ""
        assert rec["messages"][3]["tool_call_id"] == row["messages"][3]["tool_call_id"]
        assert rec["tools"] == row["tools"]
        assert rec["meta"]["source"] == "support-logs"
        assert "[EMAIL]" in rec["messages"][1]["content"]
