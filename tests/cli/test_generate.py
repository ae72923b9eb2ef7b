"""``synthloom plan``, ``generate`` and ``mix`` on the example taxonomy (scripted local server)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fakeserver import FakeServer
from synthloom.cli import main
from tests.recipes.lab.responder import lab_responder

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def test_plan_lists_leaves_without_calling_a_model(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "plan",
            str(EXAMPLES / "taxonomy"),
            "--pipeline",
            str(EXAMPLES / "lab_pipeline.yaml"),
            "--json",
        ]
    )
    assert rc == 0
    rows = json.loads(capsys.readouterr().out)
    by_kind = {r["kind"]: r for r in rows}
    assert set(by_kind) == {"freeform_skill", "grounded_skill", "knowledge"}
    # freeform: 30 questions (override) in ceil(30/5) requests, then 3 calls per question
    assert by_kind["freeform_skill"]["planned_samples"] == 30
    assert by_kind["freeform_skill"]["model_calls"] == 6 + 3 * 30
    grounded = by_kind["grounded_skill"]
    assert grounded["planned_samples"] == 18 and grounded["model_calls"] == 6 + 6 + 3 * 18
    knowledge = by_kind["knowledge"]
    assert knowledge["chunks"] > 1
    assert knowledge["planned_samples"] == knowledge["chunks"] * 2 * 3
    assert all(r["estimated_prompt_tokens"] > 0 for r in rows)


def test_bad_pipeline_names_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("teacher:\n  model: m\nfreeform_skill:\n  questions: -3\n", encoding="utf-8")
    rc = main(["plan", str(EXAMPLES / "taxonomy"), "--pipeline", str(bad)])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"{bad}:4" in err and "freeform_skill.questions" in err
    bad.write_text("teacher:\n  model: m\n  colour: red\n", encoding="utf-8")
    assert (
        main(["generate", str(EXAMPLES / "taxonomy"), "-p", str(bad), "--out", str(tmp_path / "r")])
        == 2
    )
    err = capsys.readouterr().err
    assert f"{bad}:3" in err and "teacher.colour" in err


@pytest.mark.slow
def test_generate_then_mix_and_resume_without_calls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Copy the examples so relative paths in the YAML files work from tmp.
    examples = tmp_path / "examples"
    shutil.copytree(EXAMPLES / "taxonomy", examples / "taxonomy")
    shutil.copytree(EXAMPLES / "documents", examples / "documents")
    shutil.copytree(EXAMPLES / "chat", examples / "chat")
    for name in ("lab_pipeline.yaml", "lab_mix.yaml"):
        shutil.copy(EXAMPLES / name, examples / name)
    run = tmp_path / "runs" / "lab"
    with FakeServer(responder=lab_responder) as srv:
        args = [
            "generate",
            str(examples / "taxonomy"),
            "--pipeline",
            str(examples / "lab_pipeline.yaml"),
            "--out",
            str(run),
            "--base-url",
            srv.url,
        ]
        assert main(args) == 0
        first = srv.requests
        assert first > 0
        summary = capsys.readouterr().out
        assert "done: 3 leaves" in summary
        srv.reset_counters()
        assert main(args) == 0
        assert srv.requests == 0
    assert (run / "export" / "skills.jsonl").exists()
    rc = main(["mix", str(examples / "lab_mix.yaml"), "--out", str(tmp_path / "train")])
    assert rc == 0
    lines = (tmp_path / "train" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    skills = json.loads((run / "run.json").read_text())["stages"]["lab"]["phases"]["skills"]
    assert len(rows) == skills + 40 + 25 + 20
    assert all(
        r["messages"][0] == {"role": "system", "content": "You are a careful, helpful assistant."}
        for r in rows
    )
    assert all(r["messages"][-1]["role"] == "assistant" for r in rows)
    # the same seed gives the same file
    assert main(["mix", str(examples / "lab_mix.yaml"), "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "train.jsonl").read_text() == "\n".join(lines) + "\n"


def test_a_dead_server_is_one_line_and_stops_every_leaf(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    pipeline = tmp_path / "p.yaml"
    text = (EXAMPLES / "lab_pipeline.yaml").read_text(encoding="utf-8")
    pipeline.write_text(
        text.replace(
            "  max_in_flight: 64", "  max_in_flight: 64\n  max_attempts: 2\n  base_delay: 0"
        ),
        encoding="utf-8",
    )
    taxonomy = tmp_path / "taxonomy"
    shutil.copytree(EXAMPLES / "taxonomy", taxonomy)
    shutil.copytree(EXAMPLES / "documents", tmp_path / "documents")
    rc = main(
        [
            "generate",
            str(taxonomy),
            "-p",
            str(pipeline),
            "-o",
            str(tmp_path / "run"),
            "--base-url",
            f"http://127.0.0.1:{port}/v1",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("synthloom: error:") and "connect" in err
    stage = json.loads((tmp_path / "run" / "run.json").read_text())["stages"]["lab"]
    # The first leaf to fail stops the others: no more than one probe per leaf was sent.
    assert stage["accounting"]["requests"] <= 2 * 3
