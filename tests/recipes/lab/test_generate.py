"""The LAB recipes end to end on the example taxonomy against the scripted local server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from fakeserver import FakeServer
from synthloom.errors import ConfigError
from synthloom.recipes.lab import PHASES, generate_sync, load_pipeline
from synthloom.recipes.lab.outcome import leaf_rejects
from synthloom.records import read_records

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "taxonomy"
PIPELINE = ROOT / "examples" / "lab_pipeline.yaml"


def _config(url: str) -> object:
    config = load_pipeline(PIPELINE)
    teacher = config.teacher.model_copy(
        update={"base_url": url, "api_key_env": None, "max_attempts": 2, "base_delay": 0.0}
    )
    return config.model_copy(update={"teacher": teacher})


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _rejects(out: Path, leaf: str) -> list[dict[str, Any]]:
    rejects = [r.as_dict() for r in leaf_rejects(out, leaf)]
    assert all(r["stage"] == "lab" and r["detail"] == {"leaf": leaf} for r in rejects)
    return rejects


@pytest.mark.slow
def test_generate_example_taxonomy_rejects_with_reasons_and_resumes(
    lab_server: FakeServer, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    config = _config(lab_server.url)
    entry = generate_sync(EXAMPLE, config, out, pipeline_path=PIPELINE)  # type: ignore[arg-type]
    assert entry["status"] == "done"
    leaves = entry["leaves"]
    assert {v["kind"] for v in leaves.values()} == {
        "freeform_skill",
        "grounded_skill",
        "knowledge",
    }
    first_requests = lab_server.requests
    assert entry["accounting"]["requests"] == first_requests > 0

    for path, info in leaves.items():
        leaf_dir = out / "lab" / "leaves" / path.replace("/", "__")
        records = list(read_records(leaf_dir / "samples.parquet"))
        rejects = _rejects(out, path)
        assert (out / "rejects" / "lab" / path.replace("/", "__") / "part-00000.jsonl").is_file()
        assert len(records) == info["samples"] > 0
        assert len(rejects) == info["rejects"] > 0
        for rec in records:
            assert rec["meta"]["leaf"] == path
            assert rec["messages"][-1]["content"] == rec["meta"]["answer"]
            assert "(bad)" not in rec["meta"]["answer"]
            assert "weak" not in rec["meta"]["question"]
            assert "unsupported" not in rec["meta"]["answer"]
        for reject in rejects:
            assert reject["step"] and reject["reason"] and reject["id"]
        steps = {r["step"] for r in rejects}
        assert info["rejects_by_step"] == {s: sum(r["step"] == s for r in rejects) for s in steps}
        if info["kind"] == "knowledge":
            assert "judge_faithfulness" in steps
            assert all(r["meta"]["context"] in r["messages"][0]["content"] for r in records)
        else:
            assert {"judge_question", "judge_pair"} <= steps
            # every planted weak question and bad answer was dropped by its judge, with why
            weak = [r for r in rejects if r["step"] == "judge_question"]
            assert all(
                "weak" in r["item"]["question"] and "score 0 < 1" in r["reason"] for r in weak
            )
            bad = [r for r in rejects if r["step"] == "judge_pair"]
            assert all("(bad)" in r["item"]["answer"] and "score 1 < 2" in r["reason"] for r in bad)
    freeform = next(v for v in leaves.values() if v["kind"] == "freeform_skill")
    # the override gives writing leaves 30 questions; some are dropped
    assert freeform["samples"] < 30

    counts = {
        name: pq.ParquetFile(out / "lab/phases" / f"{name}.parquet").metadata.num_rows
        for name in PHASES
    }
    assert counts == entry["phases"]
    knowledge_total = sum(v["samples"] for v in leaves.values() if v["kind"] == "knowledge")
    assert counts["knowledge"] == counts["knowledge_distractors"] == knowledge_total
    skill_total = sum(v["samples"] for v in leaves.values() if v["kind"] != "knowledge")
    assert counts["skills"] == skill_total
    distracted = list(read_records(out / "lab/phases/knowledge_distractors.parquet"))
    with_gold = [r["meta"]["gold_included"] for r in distracted]
    assert any(with_gold) and not all(with_gold)  # p = 0.8 over the samples
    for rec in distracted:
        assert (rec["meta"]["context"] in rec["messages"][0]["content"]) == rec["meta"][
            "gold_included"
        ]

    skills_file = _rows(out / "export" / "skills.jsonl")
    replay = round(0.2 * counts["knowledge"])
    assert len(skills_file) == counts["skills"] + replay + 10
    assert all(r["messages"][0]["role"] == "system" for r in skills_file)
    assert set(r["messages"][1]["role"] for r in skills_file) == {"user"}
    knowledge_file = _rows(out / "export" / "knowledge.jsonl")
    assert len(knowledge_file) == counts["knowledge_distractors"] + 15

    # Second run: every leaf is done, nothing is asked again.
    lab_server.reset_counters()
    again = generate_sync(EXAMPLE, config, out, pipeline_path=PIPELINE)  # type: ignore[arg-type]
    assert lab_server.requests == 0
    assert all(v["skipped"] for v in again["leaves"].values())
    assert again["phases"] == entry["phases"]
    assert _rows(out / "export" / "skills.jsonl") == skills_file

    # Third run with the leaf markers gone: the cache answers everything, same data.
    before = {
        p: list(read_records(out / "lab/leaves" / p.replace("/", "__") / "samples.parquet"))
        for p in leaves
    }
    for done in (out / "lab" / "leaves").glob("*/done.json"):
        done.unlink()
    third = generate_sync(EXAMPLE, config, out, pipeline_path=PIPELINE)  # type: ignore[arg-type]
    assert lab_server.requests == 0
    assert third["accounting"]["cache_hits"] > 0 and third["accounting"]["requests"] == 0
    after = {
        p: list(read_records(out / "lab/leaves" / p.replace("/", "__") / "samples.parquet"))
        for p in leaves
    }
    assert after == before


@pytest.mark.slow
def test_generating_one_subtree_into_a_run_keeps_the_other_leaves(
    lab_server: FakeServer, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    config = _config(lab_server.url)
    full = generate_sync(EXAMPLE, config, out, pipeline_path=PIPELINE)  # type: ignore[arg-type]
    phases = {name: pq.read_table(out / "lab" / "phases" / f"{name}.parquet") for name in PHASES}
    again = generate_sync(
        EXAMPLE,
        config,  # type: ignore[arg-type]
        out,
        subtree="knowledge",
        pipeline_path=PIPELINE,
    )
    assert again["phases"] == full["phases"] and again["phases"]["skills"] > 0
    assert set(again["leaves"]) == set(full["leaves"])
    for name in PHASES:
        assert pq.read_table(out / "lab" / "phases" / f"{name}.parquet").equals(phases[name])


def test_a_teacher_that_answers_without_text_gives_rejects_with_the_reason(
    tmp_path: Path,
) -> None:
    def tool_calls_only(body: dict[str, object], endpoint: str) -> dict[str, object]:
        call = {"id": "call_1", "type": "function", "function": {"name": "search"}}
        return {"content": None, "tool_calls": [call]}

    out = tmp_path / "run"
    with FakeServer(responder=tool_calls_only) as server:
        entry = generate_sync(EXAMPLE, _config(server.url), out, pipeline_path=PIPELINE)  # type: ignore[arg-type]
        asked = server.requests
    assert entry["status"] == "done" and asked > 0
    # Each request was asked once: an answer without text is not asked again.
    assert entry["accounting"]["requests"] == asked == entry["accounting"]["rejects"]
    for path, info in entry["leaves"].items():
        assert info["samples"] == 0
        rejects = _rejects(out, path)
        assert rejects and all(
            r["reason"]
            == "unusable answer: empty answer: tool calls only (finish_reason tool_calls)"
            for r in rejects
        )
    # A run folder whose rejects the previous version wrote (rejects.jsonl in each leaf's
    # folder, one {leaf, step, reason, item, raw} a line) still says why each leaf is empty.
    empty = entry["empty_leaves"]
    assert sorted(e["leaf"] for e in empty) == sorted(entry["leaves"])
    for e in empty:
        assert e["most_common_reject"].endswith(": unusable answer")
        assert e["count"] == e["rejects"] == entry["leaves"][e["leaf"]]["rejects"] > 0
    for path in entry["leaves"]:
        slug = path.replace("/", "__")
        lines = [
            json.dumps({"leaf": path, **{k: r[k] for k in ("step", "reason", "item", "raw")}})
            for r in _rejects(out, path)
        ]
        (out / "lab" / "leaves" / slug / "rejects.jsonl").write_text("\n".join(lines) + "\n")
        shutil.rmtree(out / "rejects" / "lab" / slug)
    with FakeServer(responder=tool_calls_only) as server:
        again = generate_sync(EXAMPLE, _config(server.url), out, pipeline_path=PIPELINE)  # type: ignore[arg-type]
        assert server.requests == 0  # every leaf was done: none ran again
    assert again["empty_leaves"] == empty


PUBLISHED = ROOT / "tests" / "taxonomy" / "data" / "published"


@pytest.mark.slow
def test_leaves_of_every_version_feed_the_same_recipes(
    lab_server: FakeServer, tmp_path: Path
) -> None:
    config = _config(lab_server.url)
    small = config.model_copy(  # type: ignore[attr-defined]
        update={
            # the physics leaf is knowledge in version 1 (its documents are never fetched)
            "leaves": ["compositional_skills/*", "foundational_skills/*", "knowledge/science/*"],
            "freeform_skill": config.freeform_skill.model_copy(update={"questions": 6}),  # type: ignore[attr-defined]
            "overrides": {},
            "mix": None,
        }
    )
    with pytest.raises(ConfigError, match="Version 1 is not supported for knowledge") as info:
        generate_sync(PUBLISHED, small, tmp_path / "refused")
    assert "levers/qna.yaml:1, field 'version'" in str(info.value)
    assert "more errors" not in str(info.value)
    assert lab_server.requests == 0
    small = small.model_copy(update={"leaves": ["compositional_skills/*", "foundational_skills/*"]})
    entry = generate_sync(PUBLISHED, small, tmp_path / "run")
    versions = {"jokes/puns": 1, "qualitative/sentiment": 1, "meeting_notes": 2, "synonyms": 3}
    assert entry["status"] == "done" and entry["empty_leaves"] == []
    assert len(entry["leaves"]) == 5 and all(v["samples"] > 0 for v in entry["leaves"].values())
    prompts = [body["messages"][-1]["content"] for body in lab_server.log]
    question_prompts = [p for p in prompts if p.startswith("You are writing new questions")]
    # the seeds of a version 1 leaf (no version field) and of a version 2 leaf are shown as
    # examples exactly as those of a version 3 leaf
    assert any("Tell me a pun about a pencil." in p for p in question_prompts)
    assert any("Which one does not belong? apple, banana, carrot, grape" in p for p in prompts)
    assert any('Give me three synonyms for "happy".' in p for p in question_prompts)
    context_prompts = [p for p in prompts if p.startswith("You are writing a new context")]
    assert any("Q3 survey closed with 412 responses" in p for p in context_prompts)
    assert any("blender itself works great" in p for p in context_prompts)
    skills = list(read_records(tmp_path / "run" / "lab" / "phases" / "skills.parquet"))
    for suffix in versions:
        assert any(r["meta"]["leaf"].endswith(suffix) for r in skills), suffix
