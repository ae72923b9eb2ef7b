"""The one reject format of the generation stages: writer, reader, and the older layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthloom.engine.rejects import (
    Reject,
    RejectWriter,
    read_rejects,
    reason_kind,
    rejects_by_step,
    rejects_dir,
)
from synthloom.records import write_parquet

HAIKU = "compositional_skills/writing/freeform/haiku"


def test_parts_are_whole_files_and_a_resumed_writer_goes_on_after_them(tmp_path: Path) -> None:
    folder = rejects_dir(tmp_path / "run", "complete")
    assert folder == tmp_path / "run" / "rejects" / "complete"
    with RejectWriter(folder, "complete", rows_per_part=2) as writer:
        for i in range(5):
            writer.reject("answer", f"not JSON: line {i}", {"id": f"p{i}"}, "{oops", prompt_index=i)
        # Two parts are out; the fifth reject waits in memory until the writer closes.
        assert sorted(p.name for p in folder.iterdir()) == ["part-00000.jsonl", "part-00001.jsonl"]
    assert writer.count == 5 and writer.by_step == {"answer": 5}
    (folder / "part-00003.jsonl.tmp").write_text('{"half": ')  # what a kill leaves
    with RejectWriter(folder, "complete") as again:
        again.reject("answer", "empty answer", {"id": "p9"}, None, prompt_index=9)
    assert not list(folder.glob("*.tmp"))
    read = list(read_rejects(folder, stage="complete"))
    assert [r.detail["prompt_index"] for r in read] == [0, 1, 2, 3, 4, 9]
    assert [len(p.read_text().splitlines()) for p in sorted(folder.glob("part-*"))] == [2, 2, 1, 1]


def test_a_fresh_writer_replaces_the_folder_and_the_older_files_it_is_given(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "rejects" / "lab" / "leaf"
    with RejectWriter(folder, "lab") as first:
        first.reject("judge_pair", "score 1 < 2: wrong.", {"order": [0, 1]})
    older = tmp_path / "lab" / "leaves" / "leaf" / "rejects.jsonl"
    older.parent.mkdir(parents=True)
    older.write_text(json.dumps({"leaf": "x", "step": "answer", "reason": "r"}) + "\n")
    with RejectWriter(folder, "lab", fresh=True, older=(older,)) as writer:
        writer.reject("judge_question", "score 0 < 1: vague", {"order": [2, 0]})
    assert not older.exists()
    assert [r.step for r in read_rejects(folder, older, stage="lab")] == ["judge_question"]


def test_ids_are_stable_content_hashes_unless_given() -> None:
    one = Reject("lab", "judge_pair", "score 1 < 2", {"order": [1, 1]}, None, {"leaf": HAIKU})
    same = Reject(
        "lab", "judge_pair", "score 1 < 2: other words", {"order": [1, 1]}, "x", {"leaf": HAIKU}
    )
    other = Reject("lab", "judge_pair", "score 1 < 2", {"order": [1, 2]}, None, {"leaf": HAIKU})
    assert one.id == same.id != other.id and len(one.id) == 24
    assert Reject("complete", "answer", "r", id="abc").id == "abc"
    line = json.loads(one.line())
    assert list(line) == ["id", "stage", "step", "reason", "detail", "item", "raw"]
    assert Reject(**{**line, "detail": line["detail"]}) == one


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        pytest.param("score 1 < 2: the answer ignores the question", "score 1 < 2", id="judge"),
        pytest.param("unusable answer: parse hook refused", "unusable answer", id="parse"),
        pytest.param("", "no reason given", id="empty"),
        pytest.param(None, "no reason given", id="none"),
    ],
)
def test_reason_kind_drops_what_differs_per_item(reason: str | None, kind: str) -> None:
    assert reason_kind(reason) == kind


def test_rejects_by_step_counts_in_first_seen_order() -> None:
    steps = ["generate_questions", "judge_pair", "generate_questions", "judge_question"]
    rejects = [Reject("lab", step, "r", {"n": i}) for i, step in enumerate(steps)]
    assert rejects_by_step(rejects) == {
        "generate_questions": 2,
        "judge_pair": 1,
        "judge_question": 1,
    }
    assert rejects[1].kind == "judge_pair: r"


def test_lab_lines_of_the_previous_version_read_as_rejects(tmp_path: Path) -> None:
    older = tmp_path / "rejects.jsonl"
    rows = [
        {
            "leaf": HAIKU,
            "step": "generate_questions",
            "reason": "unusable answer: parse hook refused the answer: no <question> in it",
            "item": {"unit": 0, "context": None},
            "raw": "Sure, here are some great questions for you!",
        },
        {
            "leaf": HAIKU,
            "step": "judge_pair",
            "reason": "score 1 < 2: wrong.",
            "item": {"question": "Why do cherry blossoms fall?", "order": [1, 1]},
            "raw": None,
        },
    ]
    older.write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n")  # a trailing blank line
    read = list(read_rejects(older, stage="lab"))
    assert [(r.stage, r.step, r.detail) for r in read] == [
        ("lab", "generate_questions", {"leaf": HAIKU}),
        ("lab", "judge_pair", {"leaf": HAIKU}),
    ]
    assert read[0].raw == rows[0]["raw"] and read[1].item == rows[1]["item"]
    assert read[0].kind == "generate_questions: unusable answer"


def test_nemotron_lines_of_the_previous_version_read_as_rejects(tmp_path: Path) -> None:
    older = tmp_path / "prompts" / "rejects.jsonl"
    older.parent.mkdir()
    row = {
        "stage": "user_turn",
        "prompt": "Explain how tides work to a ten-year-old.",
        "meta": {},
        "status": "failed",
        "reason": "HTTP 503: model is loading",
        "raw": None,
    }
    older.write_text(json.dumps(row) + "\n")
    (reject,) = read_rejects(tmp_path / "rejects" / "nemotron", older, stage="nemotron")
    assert (reject.stage, reject.step, reject.reason) == (
        "nemotron",
        "user_turn",
        "HTTP 503: model is loading",
    )
    assert reject.item == {"prompt": row["prompt"], "meta": {}}
    assert reject.detail == {"status": "failed"}


def test_complete_parquet_parts_of_the_previous_version_read_as_rejects(tmp_path: Path) -> None:
    folder = tmp_path / "rejects" / "complete"
    teacher = {
        "model": "m",
        "endpoint": "chat",
        "params": {"temperature": 0.7},
        "prompt_index": 4,
        "sample": 1,
        "source_id": "src-4",
        "reject": {"reason": "not JSON: Expecting value", "raw": "Sure! {oops", "attempts": 3},
    }
    record = {
        "id": "src-4",
        "messages": [{"role": "user", "content": "List three rivers in Peru as JSON."}],
        "meta": {"seed_id": 4, "teacher": teacher},
    }
    write_parquet([record], folder / "part-00000.parquet")
    (reject,) = read_rejects(folder, stage="complete")
    assert (reject.id, reject.step, reject.reason, reject.raw) == (
        "src-4",
        "answer",
        "not JSON: Expecting value",
        "Sure! {oops",
    )
    assert reject.detail["prompt_index"] == 4 and reject.detail["sample"] == 1
    assert reject.detail["attempts"] == 3 and "reject" not in reject.detail
    assert reject.item["messages"] == record["messages"]
    assert reject.item["meta"] == {"seed_id": 4}


def test_places_that_do_not_exist_hold_no_rejects(tmp_path: Path) -> None:
    assert list(read_rejects(tmp_path / "none", tmp_path / "none.jsonl", stage="lab")) == []
