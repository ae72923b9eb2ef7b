"""Each prompt family end to end against the fake teacher and NIM-style reward model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from fakeserver import FakeServer, reward_for
from synthloom.engine.rejects import Reject, read_rejects
from synthloom.recipes.nemotron import check_all, load_pipeline, run_pipeline_sync
from synthloom.records import read_records
from synthloom.reward import ATTRIBUTES, DEFAULT_WEIGHTS
from tests.recipes.nemotron.conftest import teacher_script


def _write_config(
    tmp_path: Path, server: FakeServer, families: dict[str, Any], **extra: Any
) -> Path:
    config = {
        "teacher": {
            "base_url": server.url,
            "model": "fake-teacher",
            "api_key_env": None,
            "max_in_flight": 8,
            "retry_base_delay": 0.0,
        },
        "families": families,
        "responses": {"k": 3},
        "reward": {"backend": "nim", "model": "fake-reward"},
        **extra,
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _run(path: Path, out: Path) -> dict[str, Any]:
    return run_pipeline_sync(load_pipeline(path), out)


def _records(folder: Path) -> list[dict[str, Any]]:
    return [r for shard in sorted(folder.glob("part-*.parquet")) for r in read_records(shard)]


def _check_outputs(out: Path, k: int) -> list[dict[str, Any]]:
    responses = _records(out / "responses")
    for rec in responses:
        reward = rec["meta"]["reward"]
        expected = reward_for(rec["messages"][-1]["content"])
        assert [reward[a] for a in ATTRIBUTES] == pytest.approx(expected)
        assert reward["scalar"] == pytest.approx(
            sum(w * e for w, e in zip(DEFAULT_WEIGHTS, expected, strict=True)), abs=1e-5
        )
    by_prompt: dict[str, list[dict[str, Any]]] = {}
    for rec in responses:
        by_prompt.setdefault(rec["meta"]["prompt_id"], []).append(rec)
    assert all(len(group) == k for group in by_prompt.values())

    def eligible(group: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [g for g in group if g["meta"].get("constraints_check", {"passed": True})["passed"]]

    sft = _records(out / "sft")
    assert len(sft) == sum(1 for group in by_prompt.values() if eligible(group))
    for rec in sft:
        group = eligible(by_prompt[rec["meta"]["prompt_id"]])
        assert rec["meta"]["reward"]["scalar"] == max(g["meta"]["reward"]["scalar"] for g in group)
    dpo = [json.loads(line) for line in (out / "export" / "dpo.jsonl").read_text().splitlines()]
    pairs = _records(out / "pairs")
    sft_answer = {r["meta"]["prompt_id"]: r["messages"][-1]["content"] for r in sft}
    for pair in pairs:
        # The chosen answer is the SFT answer; a rejected one that breaks its constraints makes
        # the pair a "constraints" pair.
        assert pair["chosen"][0]["content"] == sft_answer[pair["meta"]["prompt_id"]]
        check = pair["meta"].get("rejected_constraints_check")
        assert pair["meta"]["basis"] == (
            "constraints" if check is not None and not check["passed"] else "reward"
        )
    assert len(dpo) == len(pairs) > 0
    for row in dpo:
        assert set(row) == {"prompt", "chosen", "rejected"}
        assert row["prompt"][-1]["role"] == "user"
        assert row["chosen"][0]["role"] == "assistant" and row["chosen"] != row["rejected"]
    return responses


def test_open_qa_tree_with_revision(server: FakeServer, tmp_path: Path) -> None:
    path = _write_config(
        tmp_path,
        server,
        {"open_qa": {"macro_topics": ["Astronomy", "Cooking"], "n_subtopics": 2, "n_questions": 2}},
    )
    entry = _run(path, tmp_path / "run")
    prompts = list(read_records(tmp_path / "run" / "prompts" / "prompts.parquet"))
    assert len(prompts) == 2 * 2 * 2
    for rec in prompts:
        meta = rec["meta"]["nemotron"]
        assert meta["family"] == "open_qa" and meta["topic"] in ("Astronomy", "Cooking")
        assert meta["subtopic"].startswith("Subtopic")  # bold markers and preamble stripped
        assert rec["messages"][0]["content"] == f"In detail: {meta['original']}"
    _check_outputs(tmp_path / "run", 3)
    assert entry["status"] == "done" and entry["counts"]["prompts"] == 8


def test_writing_closed_qa_math_coding(server: FakeServer, tmp_path: Path) -> None:
    doc = tmp_path / "doc.txt"
    doc.write_text("The river Lune floods every spring because the snow melts.", encoding="utf-8")
    families = {
        "writing": {"topics": ["rivers"], "material_types": ["poem", "email"], "n_tasks": 2},
        "closed_qa": {"documents": ["doc.txt"], "n_questions": 3},
        "math": {"levels": {"middle school": ["geometry"]}, "n_subtopics": 2, "n_problems": 2},
        "coding": {"topics": ["recursion"], "levels": ["beginner", "advanced"], "n_problems": 2},
    }
    path = _write_config(tmp_path, server, families)
    _run(path, tmp_path / "run")
    prompts = list(read_records(tmp_path / "run" / "prompts" / "prompts.parquet"))
    by_family: dict[str, list[dict[str, Any]]] = {}
    for rec in prompts:
        by_family.setdefault(rec["meta"]["nemotron"]["family"], []).append(rec)
    assert len(by_family["writing"]) == 2 * 2
    assert all(
        r["messages"][0]["content"].startswith("In detail: Write a piece")
        for r in by_family["writing"]
    )
    assert len(by_family["closed_qa"]) == 3
    for rec in by_family["closed_qa"]:
        text = rec["messages"][0]["content"]
        assert text.startswith("The river Lune") and text.endswith(
            rec["meta"]["nemotron"]["question"]
        )
    assert len(by_family["math"]) == 2 * 2
    assert {r["meta"]["nemotron"]["level"] for r in by_family["math"]} == {"middle school"}
    assert len(by_family["coding"]) == 2 * 2
    assert {r["meta"]["nemotron"]["level"] for r in by_family["coding"]} == {"beginner", "advanced"}
    _check_outputs(tmp_path / "run", 3)


def test_instruction_following_two_turn_and_dialogue(server: FakeServer, tmp_path: Path) -> None:
    families = {
        "coding": {"topics": ["sorting", "strings"], "levels": ["beginner"], "n_problems": 3}
    }
    path = _write_config(
        tmp_path,
        server,
        families,
        instruction_following={"fraction": 0.5, "max_constraints": 2},
        two_turn={"fraction": 1.0},
        dialogue={"count": 2, "turns": 3},
    )
    _run(path, tmp_path / "run")
    prompts = list(read_records(tmp_path / "run" / "prompts" / "prompts.parquet"))
    constrained = [r for r in prompts if "constraints" in r["meta"]]
    assert constrained, "some prompts carry constraints"
    for rec in constrained:
        assert 1 <= len(rec["meta"]["constraints"]) <= 2
    two_turn = [r for r in prompts if r["meta"]["nemotron"].get("turns") == 2]
    dialogues = [r for r in prompts if r["meta"]["nemotron"].get("dialogue")]
    singles_unconstrained = [
        r for r in prompts if len(r["messages"]) == 1 and "constraints" not in r["meta"]
    ]
    assert len(two_turn) == len(singles_unconstrained)
    for rec in two_turn:
        assert [m["role"] for m in rec["messages"]] == ["user", "assistant", "user"]
        assert rec["messages"][2]["content"].startswith("Could you go into more detail")
    assert len(dialogues) == 2
    for rec in dialogues:
        assert [m["role"] for m in rec["messages"]] == ["user", "assistant"] * 2 + ["user"]
    responses = _check_outputs(tmp_path / "run", 3)
    checked = [r for r in responses if "constraints_check" in r["meta"]]
    assert len(checked) == 3 * len(constrained)
    # The fake teacher ignores constraints, so some responses break them; SFT keeps none of those.
    assert any(not r["meta"]["constraints_check"]["passed"] for r in checked)
    for rec in _records(tmp_path / "run" / "sft"):
        if "constraints" in rec["meta"]:
            assert check_all(rec["meta"]["constraints"], rec["messages"][-1]["content"])["passed"]


def test_rerun_asks_the_servers_nothing(server: FakeServer, tmp_path: Path) -> None:
    path = _write_config(
        tmp_path,
        server,
        {"open_qa": {"macro_topics": ["Tides"], "n_subtopics": 2, "n_questions": 2}},
        two_turn={"fraction": 0.5},
    )
    _run(path, tmp_path / "run")
    first = server.requests
    dpo_first = (tmp_path / "run" / "export" / "dpo.jsonl").read_text()
    sft_first = (tmp_path / "run" / "export" / "sft.jsonl").read_text()
    entry = _run(path, tmp_path / "run")
    assert server.requests == first
    assert entry["teacher_accounting"]["requests"] == 0
    assert entry["reward_accounting"]["requests"] == 0
    assert sorted(dpo_first.splitlines()) == sorted(
        (tmp_path / "run" / "export" / "dpo.jsonl").read_text().splitlines()
    )
    assert sorted(sft_first.splitlines()) == sorted(
        (tmp_path / "run" / "export" / "sft.jsonl").read_text().splitlines()
    )
    run_json = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run_json["stages"]["nemotron"]["status"] == "done"
    # Outputs are rebuilt, not appended to.
    assert (
        pq.ParquetFile(next((tmp_path / "run" / "sft").glob("part-*.parquet"))).metadata.num_rows
        == entry["counts"]["sft"]
    )


def _rejects(run: Path) -> list[Reject]:
    return list(read_rejects(run / "rejects" / "nemotron", stage="nemotron"))


def test_unreadable_lists_become_rejects(make_server: Any, tmp_path: Path) -> None:
    def script(body: dict[str, Any], endpoint: str) -> str | None:
        prompt = body["messages"][-1]["content"]
        if "distinct subtopics" in prompt and "Broken" in prompt:
            return "I would rather not make a list today."
        return teacher_script(body, endpoint)

    server = make_server(script)
    path = _write_config(
        tmp_path,
        server,
        {
            "open_qa": {
                "macro_topics": ["Broken", "Fine"],
                "n_subtopics": 2,
                "n_questions": 1,
                "revise": False,
            }
        },
    )
    entry = _run(path, tmp_path / "run")
    rejects = _rejects(tmp_path / "run")
    assert len(rejects) == 1 and (rejects[0].stage, rejects[0].step) == ("nemotron", "prompts")
    assert rejects[0].item["meta"]["topic"] == "Broken"
    assert "no numbered, bulleted, JSON or YAML list" in rejects[0].reason
    assert rejects[0].raw == "I would rather not make a list today."
    assert entry["counts"]["prompts"] == 2  # the other topic's tree is complete
    assert entry["counts"]["prompt_rejects"] == {"prompts": 1}
    # A run folder the previous version made kept them in prompts/rejects.jsonl: a rerun
    # writes them anew in the one layout and leaves no second copy behind.
    older = tmp_path / "run" / "prompts" / "rejects.jsonl"
    row = {"stage": "prompts", "prompt": rejects[0].item["prompt"], "meta": {"topic": "Broken"}}
    older.write_text(json.dumps({**row, "status": "rejected", "reason": "x", "raw": None}) + "\n")
    (legacy,) = read_rejects(older, stage="nemotron")
    assert (legacy.step, legacy.item["meta"]["topic"], legacy.detail) == (
        "prompts",
        "Broken",
        {"status": "rejected"},
    )
    _run(path, tmp_path / "run")
    assert not older.exists()
    assert [r.as_dict() for r in _rejects(tmp_path / "run")] == [r.as_dict() for r in rejects]


def test_thresholds_and_margin_filter(server: FakeServer, tmp_path: Path) -> None:
    path = _write_config(
        tmp_path,
        server,
        {"coding": {"topics": ["loops"], "levels": ["beginner"], "n_problems": 4}},
        filter={"min_scalar": 3.0},
        preference={"min_margin": 1.5},
    )
    entry = _run(path, tmp_path / "run")
    responses = _records(tmp_path / "run" / "responses")
    groups: dict[str, list[float]] = {}
    for rec in responses:
        groups.setdefault(rec["meta"]["prompt_id"], []).append(rec["meta"]["reward"]["scalar"])
    expected_sft = sum(1 for s in groups.values() if max(s) >= 3.0)
    # The chosen answer is the best-of-k SFT answer: it must pass the filter itself.
    expected_pairs = sum(1 for s in groups.values() if max(s) >= 3.0 and max(s) - min(s) >= 1.5)
    assert entry["counts"]["sft"] == expected_sft
    assert entry["counts"]["pairs"] == expected_pairs
    skips = entry["counts"]["pair_skips"]
    assert skips.get("margin", 0) + skips.get("no_eligible", 0) == len(groups) - expected_pairs
    assert skips.get("no_eligible", 0) == len(groups) - expected_sft
    for rec in _records(tmp_path / "run" / "pairs"):
        assert rec["meta"]["margin"] >= 1.5 and rec["meta"]["basis"] == "reward"
        assert rec["meta"]["chosen_reward"]["scalar"] >= 3.0


def _item(sample: int, scalar: float, passed: bool | None) -> Any:
    check = None if passed is None else {"passed": passed, "failed": [] if passed else ["x"]}
    return (sample, f"answer {sample}", {"scalar": scalar}, check)


def test_preference_pairs_reject_broken_constraints_and_otherwise_need_a_margin() -> None:
    from synthloom.recipes.nemotron.responses import preference_pair as _preference

    best, mid, broken_high, broken_low = (
        _item(0, 3.0, True),
        _item(1, 2.5, True),
        _item(2, 3.5, False),
        _item(3, 2.9, False),
    )
    scored = [best, mid, broken_high, broken_low]
    # A response that breaks its constraints is rejected, the lowest such, whatever the margin.
    assert _preference(best, scored, min_margin=5.0) == (broken_low, "constraints")
    # Without constraint failures the lowest reward is rejected when the margin is enough.
    assert _preference(best, [best, mid], min_margin=0.5) == (mid, "reward")
    assert _preference(best, [best, mid], min_margin=0.6) == "margin"
    assert _preference(best, [best, _item(1, 3.0, True)], min_margin=0.0) == "tie"
    # No eligible chosen answer (all filtered): no pair; a single answer: too few.
    assert _preference(None, scored, min_margin=0.0) == "no_eligible"
    assert _preference(best, [best], min_margin=0.0) == "too_few"
    # A chosen answer that itself breaks constraints (not required) makes only reward pairs.
    unchecked = _item(4, 4.0, False)
    assert _preference(unchecked, [unchecked, broken_low], min_margin=0.5) == (
        broken_low,
        "reward",
    )


def test_answers_without_text_become_rejects_with_the_reason(
    make_server: Any, tmp_path: Path
) -> None:
    def script(body: dict[str, Any], endpoint: str) -> str | dict[str, Any] | None:
        prompt = body["messages"][-1]["content"]
        if "distinct subtopics" in prompt and "Filtered" in prompt:
            return {"content": None}  # what a provider's content filter sends
        return teacher_script(body, endpoint)

    server = make_server(script)
    path = _write_config(
        tmp_path,
        server,
        {
            "open_qa": {
                "macro_topics": ["Filtered", "Fine"],
                "n_subtopics": 2,
                "n_questions": 1,
                "revise": False,
            }
        },
    )
    entry = _run(path, tmp_path / "run")
    rejects = _rejects(tmp_path / "run")
    assert len(rejects) == 1 and rejects[0].item["meta"]["topic"] == "Filtered"
    assert rejects[0].reason == "empty answer: content null (finish_reason stop)"
    assert entry["counts"]["prompts"] == 2  # the other topic's tree is complete


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        pytest.param("prompts-line", r"mine\.jsonl:3: invalid JSON", id="broken-prompts-line"),
        pytest.param("folder-document", r"chapters: is a folder", id="folder-as-document"),
        pytest.param("latin1-document", r"notes\.txt: is not UTF-8 text", id="latin1-document"),
    ],
)
def test_every_input_is_read_before_anything_is_asked(
    broken: str, message: str, server: FakeServer, tmp_path: Path
) -> None:
    from synthloom.errors import DataFormatError

    (tmp_path / "doc.txt").write_text("The Lune floods in spring.", encoding="utf-8")
    (tmp_path / "chapters").mkdir()
    (tmp_path / "notes.txt").write_bytes("Caf\xe9 prices rose in M\xe4rz.".encode("latin-1"))
    lines = [json.dumps({"prompt": f"Question {i}?", "response": "-"}) for i in range(5)]
    if broken == "prompts-line":
        lines[2] = '{"prompt": "Question 2?", "response": '
    (tmp_path / "mine.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    documents = {
        "prompts-line": ["doc.txt"],
        "folder-document": ["doc.txt", "chapters"],
        "latin1-document": ["notes.txt"],
    }[broken]
    families = {
        # The open-QA tree is asked first: before the fix a broken later input cost its requests.
        "open_qa": {"macro_topics": ["Rivers"], "n_subtopics": 2, "n_questions": 2},
        "closed_qa": {"documents": documents, "n_questions": 2},
        "prompts_file": {"path": "mine.jsonl"},
    }
    path = _write_config(tmp_path, server, families)
    with pytest.raises(DataFormatError, match=message):
        _run(path, tmp_path / "run")
    assert server.requests == 0 and not (tmp_path / "run").exists()
