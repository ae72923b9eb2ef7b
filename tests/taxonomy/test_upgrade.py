"""``synthloom taxonomy upgrade``: a dry run changes nothing; --write gives version 3 to the
leaves that need nothing else, byte for byte otherwise, and plan then reads them as version 3;
every other leaf is left as it is, with what a person must add."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from synthloom.cli import main

PUBLISHED = Path(__file__).resolve().parent / "data" / "published"
MEETING = "compositional_skills/writing/grounded/summarization/meeting_notes"
ODD_ONE = "foundational_skills/reasoning/common_sense/odd_one_out"
PUNS = "compositional_skills/writing/freeform/jokes/puns"


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_upgrade_dry_run_then_write_then_plan_reads_version_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "taxonomy"
    shutil.copytree(PUBLISHED, root)
    # A leaf that says version 1 out loud, behind a comment: the line is replaced in place.
    explicit = root / "compositional_skills/linguistics/antonyms/qna.yaml"
    explicit.parent.mkdir(parents=True)
    seeds = "".join(
        f"  - question: What is the opposite of word {i}?\n    answer: Its antonym {i}.\n"
        for i in range(5)
    )
    explicit.write_text(
        "# antonyms, reviewed 2024-05\nversion: 1\ncreated_by: kp\ntask_description: "
        f"Antonyms\nseed_examples:\n{seeds}",
        encoding="utf-8",
    )
    before = _files(root)

    assert main(["taxonomy", "upgrade", str(root)]) == 0
    out = capsys.readouterr().out
    assert _files(root) == before
    lines = out.strip().splitlines()
    assert (
        lines[-1]
        == "9 leaves: 3 can be upgraded, 4 need a person, 0 unreadable, 2 already version 3"
    )
    by_leaf = {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in lines[:-1]}
    assert (
        by_leaf[str(root / MEETING / "qna.yaml")] == "version 2 -> 3 (run with --write to write it)"
    )
    puns = by_leaf[str(root / PUNS / "qna.yaml")]
    assert puns.startswith("version 1 needs:") and "has 3 seed examples" in puns
    assert "add 2 more" in puns
    levers = by_leaf[str(root / "knowledge/science/physics/levers/qna.yaml")]
    assert "add document_outline" in levers and "regroup the 1 question / answer pairs" in levers

    assert main(["taxonomy", "upgrade", str(root), "--write"]) == 0
    assert "3 upgraded" in capsys.readouterr().out
    after = _files(root)
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {
        f"{MEETING}/qna.yaml",
        f"{ODD_ONE}/qna.yaml",
        "compositional_skills/linguistics/antonyms/qna.yaml",
    }
    assert after[f"{ODD_ONE}/qna.yaml"] == b"version: 3\n" + before[f"{ODD_ONE}/qna.yaml"]
    assert after[f"{MEETING}/qna.yaml"] == before[f"{MEETING}/qna.yaml"].replace(
        b"version: 2\n", b"version: 3\n", 1
    )
    assert explicit.read_text(encoding="utf-8").startswith(
        "# antonyms, reviewed 2024-05\nversion: 3\n"
    )

    # plan reads every leaf the helper said nothing is missing from as version 3
    assert main(["plan", str(root), "--subtree", "compositional_skills", "--json"]) == 0
    rows = {r["leaf"]: r["version"] for r in json.loads(capsys.readouterr().out)}
    assert rows[MEETING] == 3 and rows["compositional_skills/linguistics/antonyms"] == 3
    assert rows[PUNS] == 1  # left alone: a person must add two seeds
    assert main(["plan", str(root), "--subtree", "foundational_skills", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["version"] == 3

    # a second run has nothing mechanical left to do
    assert main(["taxonomy", "upgrade", str(root), "--write"]) == 0
    assert "0 upgraded" in capsys.readouterr().out
    assert _files(root) == after


def test_upgrade_of_a_folder_without_leaves_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["taxonomy", "upgrade", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no qna.yaml leaf" in err
