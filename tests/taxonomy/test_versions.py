"""Schema versions 1, 2 and 3 as InstructLab publishes them: leaves written the way community
authors write them (no ``version``, comments, block scalars, empty optional text) load; each
version's own rules refuse what InstructLab refuses, with file:line:field messages."""

from __future__ import annotations

import logging
import shutil
import textwrap
from pathlib import Path

import pytest
from instructlab.schema.taxonomy import TaxonomyParser

from synthloom.recipes.lab import PipelineConfig, plan_leaf
from synthloom.recipes.lab.config import TeacherSettings
from synthloom.recipes.lab.prompts import render
from synthloom.taxonomy import load_taxonomy

PUBLISHED = Path(__file__).resolve().parent / "data" / "published"


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "taxonomy"
    shutil.copytree(PUBLISHED, root)
    return root


def test_published_tree_is_accepted_and_refused_exactly_as_instructlab_does(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = _copy(tmp_path)
    taxonomy = load_taxonomy(root, check_documents=False)
    ours = {lf.path: lf for lf in taxonomy.leaves}
    caplog.set_level(logging.CRITICAL)  # InstructLab logs that yamllint / yq are not installed
    parser = TaxonomyParser(schema_version=0, message_format="LOGGING")
    theirs = {
        file.parent.relative_to(root).as_posix(): parser.parse(file)
        for file in sorted(root.rglob("qna.yaml"))
    }
    assert len(theirs) == 8
    assert set(ours) == {path for path, parsed in theirs.items() if parsed.errors == 0}
    for path, leaf in ours.items():
        assert leaf.version == theirs[path].version, path
    versions = {path: (lf.version, lf.kind, len(lf.seeds)) for path, lf in ours.items()}
    assert versions == {
        "compositional_skills/extraction/inference/qualitative/sentiment": (1, "grounded_skill", 3),
        "compositional_skills/linguistics/synonyms": (3, "freeform_skill", 5),
        "compositional_skills/writing/freeform/jokes/puns": (1, "freeform_skill", 3),
        "compositional_skills/writing/grounded/summarization/meeting_notes": (
            2,
            "grounded_skill",
            5,
        ),
        "foundational_skills/reasoning/common_sense/odd_one_out": (1, "freeform_skill", 5),
        "knowledge/history/lighthouses": (3, "knowledge", 15),
    }
    # Knowledge versions 1 and 2 are refused with the reason InstructLab's schema gives.
    refused = {Path(e.file).parent.name: e for e in taxonomy.errors}
    assert set(refused) == {"instruments", "levers"}
    assert "Version 2 is not supported for knowledge. Minimum supported version is 3" in (
        refused["instruments"].message
    )
    assert refused["instruments"].line == 1 and refused["instruments"].field == "version"
    assert "Version 1 is not supported for knowledge" in refused["levers"].message
    # Block scalars and comments read as their text; an empty v1 task names the leaf instead.
    puns = ours["compositional_skills/writing/freeform/jokes/puns"]
    assert puns.created_by == "mhoward-dev"
    assert puns.seeds[1].answer.startswith("Bread puns are how I make my dough")
    sentiment = ours["compositional_skills/extraction/inference/qualitative/sentiment"]
    assert sentiment.task_description.startswith("the skill the examples of")
    assert sentiment.seeds[1].context == (
        "Absolutely the worst customer service I have ever dealt with. Nobody answered my "
        "emails for three weeks."
    )


def test_every_accepted_version_feeds_the_same_recipes(tmp_path: Path) -> None:
    taxonomy = load_taxonomy(_copy(tmp_path), check_documents=False)
    config = PipelineConfig(teacher=TeacherSettings(model="m"))
    for leaf in taxonomy.leaves:
        if leaf.kind == "knowledge":
            continue
        row = plan_leaf(leaf, config)
        assert row["planned_samples"] > 0 and row["model_calls"] > 0, leaf.path
        prompt = render(
            "skill_questions",
            task_description=leaf.task_description,
            context=leaf.seeds[0].context,
            examples=list(leaf.seeds),
            count=3,
        )
        assert all(seed.question in prompt for seed in leaf.seeds), leaf.path


_V1_SKILL = """\
created_by: someone
task_description: Rhymes
seed_examples:
  - question: What rhymes with cat?
    answer: Hat.
"""
_V3_SEEDS = "".join(
    f"  - question: Question number {i}?\n    answer: Answer number {i}.\n" for i in range(5)
)


def _v3(seeds: str = _V3_SEEDS, head: str = "") -> str:
    return f"version: 3\n{head}created_by: someone\ntask_description: Count things\n" + (
        f"seed_examples:\n{seeds}"
    )


_KNOWLEDGE_V3 = """\
version: 3
created_by: someone
domain: astronomy
document_outline: Facts about the Moon.
seed_examples:
{seeds}document:
  repo: ./docs
  patterns: ["*.md"]
"""


def _knowledge(pairs: int = 3) -> str:
    block = "".join(
        f"  - context: Passage {i} about the Moon.\n    questions_and_answers:\n"
        + "".join(
            f"      - question: Moon question {i}.{j}?\n        answer: Moon answer {i}.{j}.\n"
            for j in range(pairs)
        )
        for i in range(5)
    )
    return _KNOWLEDGE_V3.format(seeds=block)


@pytest.mark.parametrize(
    ("top", "text", "line", "field", "message"),
    [
        pytest.param(
            "compositional_skills",
            _V1_SKILL.replace(
                "seed_examples:\n  - question: What rhymes with cat?\n    answer: Hat.\n",
                "seed_examples: []\n",
            ),
            3,
            "seed_examples",
            "has 0 seed examples; version 1 needs at least 1, add 1 more",
            id="v1-no-seed",
        ),
        pytest.param(
            "compositional_skills",
            _V1_SKILL.replace("answer: Hat.", "anwser: Hat."),
            4,
            "seed_examples[0].answer",
            "is missing; add it",
            id="v1-answer-typo-missing",
        ),
        pytest.param(
            "compositional_skills",
            _V1_SKILL.replace("answer: Hat.", "anwser: Hat."),
            5,
            "seed_examples[0].anwser",
            "is not a field of version 1 compositional_skills leaves",
            id="v1-answer-typo-unknown",
        ),
        pytest.param(
            "compositional_skills",
            _V1_SKILL.replace("created_by: someone", "created_by: ''"),
            1,
            "created_by",
            "is empty",
            id="v1-empty-author",
        ),
        pytest.param(
            "compositional_skills",
            _v3()
            .replace("version: 3", "version: 2")
            .replace("  - question: Question number 4?\n    answer: Answer number 4.\n", ""),
            4,
            "seed_examples",
            "has 4 seed examples; version 2 needs at least 5, add 1 more",
            id="v2-four-seeds",
        ),
        pytest.param(
            "compositional_skills",
            _v3()
            .replace("version: 3", "version: 2")
            .replace("task_description: Count things", "task_description: ''"),
            3,
            "task_description",
            "is empty",
            id="v2-empty-task",
        ),
        pytest.param(
            "compositional_skills",
            _v3().replace(
                "Question number 3?\n    answer: Answer number 3.",
                "Question number 2?\n    answer: Answer number 2.",
            ),
            11,
            "seed_examples[3]",
            "repeats an earlier item exactly",
            id="v3-exact-duplicate",
        ),
        pytest.param(
            "compositional_skills",
            _v3().replace("answer: Answer number 1.", "answer: 42"),
            8,
            "seed_examples[1].answer",
            "must be a string, got a int",
            id="v3-number-answer",
        ),
        pytest.param(
            "knowledge",
            _knowledge(pairs=2),
            7,
            "seed_examples[0].questions_and_answers",
            "has 2 question / answer pairs; version 3 needs at least 3, add 1 more",
            id="v3-knowledge-two-pairs",
        ),
        pytest.param(
            "knowledge",
            _knowledge().replace("created_by: someone\n", "created_by: a\ntask_description: b\n"),
            3,
            "task_description",
            "is not a field of version 3 knowledge leaves",
            id="v3-knowledge-task-description",
        ),
        pytest.param(
            "compositional_skills",
            _v3().replace("version: 3", "version: 4"),
            1,
            "version",
            "InstructLab publishes schema versions 1, 2, 3",
            id="unknown-version",
        ),
        pytest.param(
            "compositional_skills",
            _v3().replace("version: 3", "version: three"),
            1,
            "version",
            "must be one of 1, 2, 3, got 'three'",
            id="version-not-a-number",
        ),
        pytest.param(
            "compositional_skills",
            _v3(head="created_by: another\n"),
            3,
            "created_by",
            "is repeated (InstructLab refuses this)",
            id="v3-repeated-key",
        ),
    ],
)
def test_each_version_refuses_what_its_schema_refuses(
    tmp_path: Path, top: str, text: str, line: int, field: str, message: str
) -> None:
    root = tmp_path / "taxonomy"
    leaf = root / top / "some" / "leaf" / "qna.yaml"
    leaf.parent.mkdir(parents=True)
    (leaf.parent / "docs").mkdir()
    (leaf.parent / "docs" / "moon.md").write_text("# The Moon\n", encoding="utf-8")
    leaf.write_text(textwrap.dedent(text), encoding="utf-8")
    taxonomy = load_taxonomy(root)
    assert taxonomy.leaves == []
    matching = [e for e in taxonomy.errors if e.field == field]
    assert matching, [str(e) for e in taxonomy.errors]
    error = matching[0]
    assert error.file == str(leaf) and error.line == line, str(error)
    assert message in error.message, str(error)
    assert str(error).startswith(f"{leaf}:{line}, field '{field}': ")


def test_version_1_quirks_instructlab_accepts(tmp_path: Path) -> None:
    root = tmp_path / "taxonomy"
    leaf = root / "compositional_skills" / "rhymes" / "qna.yaml"
    leaf.parent.mkdir(parents=True)
    # a repeated key (InstructLab does not lint version 1: the last value counts), one seed,
    # an empty task description, and the same seed twice
    leaf.write_text(
        _V1_SKILL.replace("created_by: someone", "created_by: first\ncreated_by: second").replace(
            "task_description: Rhymes", "task_description:  ''"
        )
        + "  - question: What rhymes with cat?\n    answer: Hat.\n",
        encoding="utf-8",
    )
    taxonomy = load_taxonomy(root)
    (loaded,) = taxonomy.leaves
    assert loaded.version == 1 and loaded.created_by == "second" and len(loaded.seeds) == 2
    assert taxonomy.errors == []
    fields = sorted((w.line, w.field) for w in taxonomy.warnings)
    assert fields == [(2, "created_by"), (7, "seed_examples[1].question")]
