"""``plan``, ``generate`` and ``mix`` on a taxonomy as InstructLab users publish it (versions 1,
2 and 3, two knowledge leaves InstructLab no longer supports): selection before validation,
--skip-invalid, --documents-dir with a local bare repository, nothing written into the taxonomy,
and generate's exit 1 when a chosen leaf keeps nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from fakeserver import FakeServer
from synthloom.cli import main
from tests.recipes.lab.responder import lab_responder
from tests.taxonomy.helpers import docs_repository

PUBLISHED = Path(__file__).resolve().parents[1] / "taxonomy" / "data" / "published"
LIGHTHOUSES = "knowledge/history/lighthouses/qna.yaml"
INVALID = ("knowledge/arts/music/instruments/qna.yaml", "knowledge/science/physics/levers/qna.yaml")


@pytest.fixture()
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(taxonomy copy, documents dir) with the lighthouse leaf pinned to a commit of a local
    bare repository; the user cache dir moved into tmp."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    root = tmp_path / "taxonomy"
    shutil.copytree(PUBLISHED, root)
    documents_dir = tmp_path / "clones"
    first, _ = docs_repository(tmp_path, documents_dir, "lighthouse-notes")
    leaf = root / LIGHTHOUSES
    leaf.write_text(leaf.read_text(encoding="utf-8").replace("COMMIT", first), encoding="utf-8")
    return root, documents_dir


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_plan_refuses_invalid_chosen_leaves_naming_only_them(
    tree: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root, documents_dir = tree
    rc = main(["plan", str(root), "--documents-dir", str(documents_dir)])
    err = capsys.readouterr().err
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 3, err  # one line per invalid leaf, then the summary
    summary = lines[-1]
    assert summary.startswith("synthloom: error:") and "2 invalid leaves" in summary
    assert all(str(root / f) in summary for f in INVALID)
    assert "lighthouses" not in summary and "compositional_skills" not in summary
    assert "--skip-invalid" in summary


def test_plan_skip_invalid_lists_every_valid_leaf_with_its_version(
    tree: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root, documents_dir = tree
    before = _files(root)
    args = ["plan", str(root), "--documents-dir", str(documents_dir), "--skip-invalid", "--json"]
    assert main(args) == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    versions = {r["leaf"]: r["version"] for r in rows}
    assert versions == {
        "compositional_skills/extraction/inference/qualitative/sentiment": 1,
        "compositional_skills/linguistics/synonyms": 3,
        "compositional_skills/writing/freeform/jokes/puns": 1,
        "compositional_skills/writing/grounded/summarization/meeting_notes": 2,
        "foundational_skills/reasoning/common_sense/odd_one_out": 1,
        "knowledge/history/lighthouses": 3,
    }
    knowledge = next(r for r in rows if r["kind"] == "knowledge")
    assert knowledge["chunks"] == 1 and knowledge["planned_samples"] > 0
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert "Version 2 is not supported for knowledge" in captured.err
    assert "skipping 2 invalid leaves" in captured.err
    assert _files(root) == before  # plan wrote nothing into the taxonomy


def test_pipeline_documents_dir_is_relative_to_the_pipeline(
    tree: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, documents_dir = tree
    config = tmp_path / "conf"
    config.mkdir()
    pipeline = config / "p.yaml"
    pipeline.write_text(
        "teacher: {model: m}\ndocuments_dir: ../clones\nleaves: ['knowledge/history/*']\n",
        encoding="utf-8",
    )
    assert main(["plan", str(root), "-p", str(pipeline), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["leaf"] == "knowledge/history/lighthouses" and row["chunks"] == 1
    # without the clones folder the unreachable URL is named with the option to use
    pipeline.write_text("teacher: {model: m}\nleaves: ['knowledge/history/*']\n", encoding="utf-8")
    shutil.rmtree(documents_dir)
    url = "https://git.example.invalid/rmurphy/lighthouse-notes.git"  # no network answers it
    leaf = root / LIGHTHOUSES
    text = leaf.read_text(encoding="utf-8")
    leaf.write_text(
        text.replace("https://github.com/rmurphy/lighthouse-notes.git", url), encoding="utf-8"
    )
    assert main(["plan", str(root), "-p", str(pipeline)]) == 2
    err = capsys.readouterr().err
    assert "lighthouses/qna.yaml" in err and "field 'document'" in err
    assert url in err and "--documents-dir" in err


def test_subtree_never_reads_broken_leaves_elsewhere(
    tree: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = tree
    broken = root / "knowledge" / "broken" / "qna.yaml"
    broken.parent.mkdir()
    broken.write_text("created_by: [unclosed\n", encoding="utf-8")
    assert main(["plan", str(root), "--subtree", "compositional_skills", "--json"]) == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)) == 4
    assert captured.err == ""


def _pipeline(path: Path, url: str, extra: str = "") -> Path:
    path.write_text(
        f"teacher:\n  base_url: {url}\n  model: teacher\n  api_key_env: null\n"
        "  max_attempts: 2\n  base_delay: 0\n"
        "freeform_skill:\n  questions: 6\n  questions_per_request: 3\n"
        "grounded_skill:\n  contexts: 2\n  questions_per_context: 3\n"
        "knowledge:\n  pairs_per_request: 3\n" + extra,
        encoding="utf-8",
    )
    return path


@pytest.mark.slow
def test_generate_skip_invalid_with_documents_dir_writes_nothing_into_the_taxonomy(
    tree: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, documents_dir = tree
    before = _files(root)
    run = tmp_path / "run"
    with FakeServer(responder=lab_responder) as srv:
        pipeline = _pipeline(tmp_path / "p.yaml", srv.url)
        base = ["generate", str(root), "-p", str(pipeline), "-o", str(run)]
        assert main([*base, "--documents-dir", str(documents_dir)]) == 2
        assert srv.requests == 0  # refused before any request
        capsys.readouterr()
        assert main([*base, "--documents-dir", str(documents_dir), "--skip-invalid"]) == 0
    captured = capsys.readouterr()
    assert "done: 6 leaves" in captured.out
    stage = json.loads((run / "run.json").read_text(encoding="utf-8"))["stages"]["lab"]
    assert sorted(Path(line.split(":", 1)[0]).parent.name for line in stage["invalid_leaves"]) == [
        "instruments",
        "levers",
    ]
    assert stage["empty_leaves"] == []
    assert all(v["samples"] > 0 for v in stage["leaves"].values())
    knowledge = stage["leaves"]["knowledge/history/lighthouses"]
    assert knowledge["kind"] == "knowledge" and knowledge["chunks"] == 1
    assert _files(root) == before
    assert not (run / "_documents").exists()  # the local clone was enough


def _nothing_passes(body: dict[str, Any], endpoint: str) -> str | None:
    prompt = body["messages"][-1]["content"]
    if prompt.startswith("You are judging a question") and "pun" in prompt.lower():
        return "Rationale: not a real question.\nScore: 0"
    return lab_responder(body, endpoint)


@pytest.mark.slow
def test_generate_exits_1_naming_the_leaf_that_kept_nothing(
    tree: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = tree
    run = tmp_path / "run"
    with FakeServer(responder=_nothing_passes) as srv:
        pipeline = _pipeline(
            tmp_path / "p.yaml",
            srv.url,
            'leaves: ["compositional_skills/writing/*", "compositional_skills/linguistics/*"]\n',
        )
        rc = main(["generate", str(root), "-p", str(pipeline), "-o", str(run)])
    captured = capsys.readouterr()
    assert rc == 1, captured.err
    assert "done: 3 leaves" in captured.out
    (line,) = [ln for ln in captured.err.splitlines() if "kept no sample" in ln]
    assert "compositional_skills/writing/freeform/jokes/puns" in line
    assert "judge_question: score 0 < 1" in line
    stage = json.loads((run / "run.json").read_text(encoding="utf-8"))["stages"]["lab"]
    (empty,) = stage["empty_leaves"]
    assert empty["leaf"] == "compositional_skills/writing/freeform/jokes/puns"
    assert empty["count"] == 6 and empty["rejects"] >= 6


def test_generate_clones_a_url_into_the_run_directory(
    tree: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, documents_dir = tree
    leaf = root / LIGHTHOUSES
    url = (documents_dir / "lighthouse-notes").resolve().as_uri()
    text = leaf.read_text(encoding="utf-8")
    leaf.write_text(
        text.replace("https://github.com/rmurphy/lighthouse-notes.git", url), encoding="utf-8"
    )
    before = _files(root)
    run = tmp_path / "run"
    with FakeServer(responder=lab_responder) as srv:
        pipeline = _pipeline(tmp_path / "p.yaml", srv.url, 'leaves: ["knowledge/history/*"]\n')
        assert main(["generate", str(root), "-p", str(pipeline), "-o", str(run)]) == 0
    assert "done: 1 leaves" in capsys.readouterr().out
    assert len(list((run / "_documents").iterdir())) == 1
    assert _files(root) == before
    assert not (tmp_path / "user-cache").exists()


def test_mix_seeds_read_only_their_leaves_and_skip_invalid(
    tree: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = tree
    config = tmp_path / "mix.yaml"

    def mix_yaml(leaves: str) -> None:
        config.write_text(
            "outputs:\n  - name: seeds\n    sources:\n"
            f"      - {{seeds: taxonomy, leaves: '{leaves}', ratio: 1.0}}\n",
            encoding="utf-8",
        )

    mix_yaml("compositional_skills/*")
    assert main(["mix", str(config), "--out", str(tmp_path / "a")]) == 0
    rows = (tmp_path / "a" / "seeds.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 3 + 5 + 3 + 5  # the four compositional leaves' seeds, v1 to v3
    assert capsys.readouterr().err == ""

    mix_yaml("knowledge/*")
    assert main(["mix", str(config), "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--skip-invalid" in err
    assert all(str(root / f) in err for f in INVALID)
    assert not (tmp_path / "b" / "seeds.jsonl").exists()

    assert main(["mix", str(config), "--out", str(tmp_path / "b"), "--skip-invalid"]) == 0
    err = capsys.readouterr().err
    assert err.count("skipped invalid leaf:") == 2
    rows = (tmp_path / "b" / "seeds.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 15  # the lighthouse leaf: 5 contexts x 3 pairs
    assert any("Pharos" in r for r in rows)
