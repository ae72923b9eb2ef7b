"""``synthloom complete`` reads the prompt files people have: a line of ``{"prompt": ...}``,
``{"instruction": ...}`` or ``{"text": ...}`` alone is a single-turn prompt; only there."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakeserver import FakeServer, answer_for
from synthloom.cli import main
from synthloom.errors import DataFormatError
from synthloom.records import read_records

# As such files are written: TRL prompt-only rows, Alpaca rows without an output, plain text
# rows from a scrape, a ShareGPT-style system field, ids and extra columns here and there.
LINES = [
    {"prompt": "Write a limerick about a cat who learns to code."},
    {"id": "q-17", "prompt": "What is the boiling point of water at 2000 m?", "source": "faq"},
    {"prompt": [{"role": "user", "content": "Summarise the plot of Hamlet in two lines."}]},
    {"instruction": "Translate to French.", "input": "The train leaves at noon."},
    {"instruction": "List three uses of baking soda.", "input": ""},
    {"text": "Explain why the sky looks red at sunset."},
    {"text": "How do I reset a tripped breaker?", "lang": "en"},
    {"prompt": "Reply as a terse sysadmin: my disk is full.", "system": "You are terse."},
    {"question": "Is a tomato a fruit?"},
]
EXPECTED_PROMPTS = [
    "Write a limerick about a cat who learns to code.",
    "What is the boiling point of water at 2000 m?",
    "Summarise the plot of Hamlet in two lines.",
    "Translate to French.\n\nThe train leaves at noon.",
    "List three uses of baking soda.",
    "Explain why the sky looks red at sunset.",
    "How do I reset a tripped breaker?",
    "Reply as a terse sysadmin: my disk is full.",
    "Is a tomato a fruit?",
]


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def _answers(run: Path) -> list[dict[str, Any]]:
    rows = []
    for part in sorted((run / "complete").glob("part-*.parquet")):
        rows += pq.read_table(part).to_pylist()
    return rows


def _argv(prompts: Path, url: str, out: Path, *extra: str) -> list[str]:
    return ["complete", str(prompts), "--base-url", url, "--model", "m", "--out", str(out), *extra]


def _meta(row: dict[str, Any]) -> dict[str, Any]:
    meta = row["meta"]
    return dict(json.loads(meta) if isinstance(meta, str) else meta)


def test_prompt_only_lines_are_answered_as_single_turn_prompts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = _write(tmp_path / "prompts.jsonl", LINES)
    with FakeServer() as srv:
        code = main(_argv(prompts, srv.url, tmp_path / "run", "--quiet"))
        sent = [body["messages"] for body in srv.log]
    assert code == 0, capsys.readouterr().err
    assert f"{len(LINES)} records" in capsys.readouterr().out
    # What the teacher was asked: one user turn each (the system turn where one was given).
    users = sorted(m[-1]["content"] for m in sent)
    assert users == sorted(EXPECTED_PROMPTS)
    assert all(m[-1]["role"] == "user" for m in sent)
    with_system = [m for m in sent if m[0]["role"] == "system"]
    assert [m[0]["content"] for m in with_system] == ["You are terse."]
    assert all(len(m) == 1 for m in sent if m not in with_system)
    # What was written: the prompt and its answer, extra fields kept in meta.
    rows = _answers(tmp_path / "run")
    assert len(rows) == len(LINES)
    by_prompt = {r["messages"][-2]["content"]: r for r in rows}
    assert set(by_prompt) == set(EXPECTED_PROMPTS)
    for prompt, row in by_prompt.items():
        answer = row["messages"][-1]
        assert answer["role"] == "assistant" and answer["content"] == answer_for(prompt)
    metas = {p: _meta(r) for p, r in by_prompt.items()}
    assert metas["How do I reset a tripped breaker?"]["lang"] == "en"
    assert metas["What is the boiling point of water at 2000 m?"]["source"] == "faq"
    # The prompt's own id is where every answer says which prompt it answers.
    assert metas["What is the boiling point of water at 2000 m?"]["teacher"]["source_id"] == "q-17"
    indexes = sorted(m["teacher"]["prompt_index"] for m in metas.values())
    assert indexes == list(range(len(LINES)))


@pytest.mark.parametrize("suffix", [".json", ".parquet"])
def test_prompt_only_rows_in_json_and_parquet_files(
    suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"prompt": "Name a prime above 100.", "topic": "math"},
        {"prompt": "What rhymes with orange?", "topic": "words"},
        {"prompt": "Give me a synonym for 'quick'.", "topic": "words"},
    ]
    path = tmp_path / f"prompts{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(rows), encoding="utf-8")
    else:
        pd.DataFrame(rows).to_parquet(path)
    code = main(_argv(path, "http://127.0.0.1:9/v1", tmp_path / "run", "--dry-run", "--n", "2"))
    assert code == 0, capsys.readouterr().err
    plan = json.loads(capsys.readouterr().out)
    assert plan["prompts"] == 3 and plan["requests"] == 6 and plan["skipped"] == 0
    assert plan["examples"][0]["messages"] == [
        {"role": "user", "content": "Name a prime above 100."}
    ]


def test_a_line_with_no_prompt_names_the_line_and_the_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = _write(
        tmp_path / "prompts.jsonl",
        [{"prompt": "Fine."}, {"title": "An essay", "body": "No question here."}],
    )
    with FakeServer() as srv:
        code = main(_argv(prompts, srv.url, tmp_path / "run", "--quiet"))
        assert srv.requests == 0
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert f"{prompts}:2" in err and "not a prompt record" in err and "body, title" in err
    assert not (tmp_path / "run").exists()


def test_a_prompt_that_is_not_text_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = _write(tmp_path / "prompts.jsonl", [{"text": ["not", "a", "string"]}])
    code = main(_argv(prompts, "http://127.0.0.1:9/v1", tmp_path / "run", "--dry-run"))
    err = capsys.readouterr().err
    assert code == 2 and "text" in err and "must be a string" in err and ":1" in err


def test_curate_still_needs_both_sides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prompts = _write(tmp_path / "prompts.jsonl", LINES[:3])
    assert main(["curate", str(prompts), "-o", str(tmp_path / "cur"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "not an instruction record" in err and f"{prompts}:1" in err
    assert not (tmp_path / "cur").exists()
    # The reader itself: an answer is needed unless prompt_only is asked for.
    with pytest.raises(DataFormatError, match="not an instruction record"):
        list(read_records(prompts))
    records = list(read_records(prompts, prompt_only=True))
    assert [r["messages"][0]["content"] for r in records] == EXPECTED_PROMPTS[:3]
