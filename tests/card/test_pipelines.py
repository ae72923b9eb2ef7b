"""Cards of real LAB and Nemotron runs (the command line against the scripted teacher): every
setting that changes the data is named, and no key, address or local path gets in."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fakeserver import FakeServer
from synthloom.cli import main
from tests.card.cards import front_matter, settings, table
from tests.card.runs import KEY, KEY_ENV, REMOTE_TOKEN, lab_run, lines, nemotron_run

#: What says how requests travel, not what comes back: the card leaves these out.
_TRANSPORT = {
    "executor",
    "teacher",
    "base_url",
    "api_key_env",
    "batch_size",
    "shard_rows",
    "base_dir",
}


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            if key not in _TRANSPORT:
                yield from _flatten(item, f"{prefix}.{key}" if prefix else key)
    elif not isinstance(value, dict):
        yield prefix, value


def _no_leak(card: Path, run: Path, tmp_path: Path, server: FakeServer) -> None:
    text = card.read_text(encoding="utf-8")
    assert KEY not in text and REMOTE_TOKEN not in text
    assert str(tmp_path) not in text and str(tmp_path.resolve()) not in text
    assert "127.0.0.1" not in text and f":{server.port}" not in text
    for path in run.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


@pytest.mark.slow
def test_lab_card_names_every_setting_the_taxonomy_commit_and_no_secret(
    tmp_path: Path, make_server: Callable[..., FakeServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    made = lab_run(tmp_path, make_server)
    card = made.export / "README.md"
    meta = front_matter(card)
    assert meta["license"] == "unknown"
    assert meta["task_categories"] == ["text-generation"]
    assert {"synthetic", "lab", "sft"} <= set(meta["tags"])
    configs = {c["config_name"]: c for c in meta["configs"]}
    assert set(configs) == {"knowledge", "skills"}
    total = 0
    for name, config in configs.items():
        assert config["data_files"] == [{"split": "train", "path": f"{name}.jsonl"}]
        total += len(lines(made.export / f"{name}.jsonl"))
    assert meta["size_categories"] == ["n<1K"] and 0 < total < 1000

    entry = json.loads((made.run / "run.json").read_text())["stages"]["lab"]
    shown = settings(card)
    expected = {
        "seed": "7",
        "freeform_skill.generate.temperature": "0.9",
        "freeform_skill.generate.top_p": "0.95",
        "freeform_skill.generate.max_tokens": "600",
        "knowledge.judge.temperature": "0.0",
        "knowledge.judge.max_tokens": "128",
        "knowledge.judge.top_p": "not set (server default)",
        "freeform_skill.questions": "20",
        "overrides.compositional_skills/writing/*.questions": "30",
        "grounded_skill.contexts": "6",
        "knowledge.chunk_tokens": "200",
        "outputs.distractors": "2",
        "outputs.gold_probability": "0.8",
        "mix.seed": "7",
        "mix.system_prompt": "You are a careful, helpful assistant.",
    }
    assert {k: shown.get(k) for k in expected} == expected
    # Every recorded setting of the recipe is on the card, whatever its name.
    recorded = {k for k, v in _flatten(entry["config"]) if v is not None or k.endswith("top_p")}
    assert recorded <= set(shown), recorded - set(shown)

    models = {row[0]: row for row in table(card, "Models")}
    assert models["teacher"][1] == "mistralai/Mixtral-8x7B-Instruct-v0.1"
    assert models["judge"][1] == "granite-judge-8b"
    assert "self-hosted" in models["teacher"][2] and "chat completions" in models["teacher"][2]

    sources = {row[0]: row[1] for row in table(card, "Sources")}
    assert made.commit is not None and made.commit in sources["taxonomy"]
    assert "https://github.com/acme/taxonomy.git" in sources["taxonomy"]
    assert "uncommitted" not in sources["taxonomy"]
    assert sources["leaves"].split(", ") == sorted(entry["leaves"])

    rejected = table(card, "Rejected, by reason")
    assert sum(int(n) for _, n in rejected) == sum(v["rejects"] for v in entry["leaves"].values())
    by_step: Counter[str] = Counter()
    for reason, count in rejected:
        by_step[reason.split(":", 1)[0]] += int(count)
    expected_steps: Counter[str] = Counter()
    for leaf in entry["leaves"].values():
        expected_steps.update(leaf["rejects_by_step"])
    assert by_step == expected_steps
    _no_leak(card, made.run, tmp_path, made.server)

    # A mix of the run's skills with the seeds: its card holds the run it drew from.
    mix = tmp_path / "work" / "mix.yaml"  # beside the taxonomy its seed source names
    mix.write_text(
        "seed: 21\nsystem_prompt: Answer briefly.\noutputs:\n  - name: train\n    sources:\n"
        "      - {run: ../runs/lab, dataset: skills, ratio: 0.5}\n"
        "      - {seeds: taxonomy, leaves: 'compositional_skills/*', count: 4}\n",
        encoding="utf-8",
    )
    assert main(["mix", str(mix), "--out", str(tmp_path / "train")]) == 0
    card = tmp_path / "train" / "README.md"
    assert front_matter(card)["configs"][0]["data_files"][0]["path"] == "train.jsonl"
    assert settings(card)["seed"] == "21" and settings(card)["system_prompt"] == "Answer briefly."
    assert settings(card, 1) == shown  # the LAB run's own settings, as on its export's card
    steps = {row[0]: row[1:3] for row in table(card, "Steps")}
    skills = entry["phases"]["skills"]
    assert steps["train: dataset:skills@../runs/lab"] == [str(skills), str(round(skills / 2))]
    _no_leak(card, made.run, tmp_path, made.server)


@pytest.mark.slow
def test_nemotron_card_names_every_setting_its_documents_and_no_secret(
    tmp_path: Path, make_server: Callable[..., FakeServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    made = nemotron_run(tmp_path, make_server)
    card = made.export / "README.md"
    meta = front_matter(card)
    configs = {c["config_name"]: c for c in meta["configs"]}
    assert set(configs) == {"sft", "dpo"}
    assert configs["sft"].get("default") is True and "default" not in configs["dpo"]
    assert configs["dpo"]["data_files"] == [{"split": "train", "path": "dpo.jsonl"}]
    assert {"preference", "dpo", "nemotron"} <= set(meta["tags"])

    entry = json.loads((made.run / "run.json").read_text())["stages"]["nemotron"]
    shown = settings(card)
    expected = {
        "responses.k": "3",
        "responses.temperature": "0.65",
        "responses.top_p": "0.9",
        "responses.max_tokens": "400",
        "responses.seed": "11",
        "prompt_sampling.temperature": "0.55",
        "prompt_sampling.max_tokens": "700",
        "prompt_sampling.seed": "3",
        "prompt_sampling.top_p": "not set (server default)",
        "reward.backend": "nim",
        "reward.model": "fake-reward",
        "reward.weights": "0.3, 0.74, 0.46, 0.47, -0.33",
        "filter.min_scalar": "1.5",
        "filter.min_attributes.correctness": "2.0",
        "preference.enabled": "yes",
        "preference.min_margin": "0.25",
        "instruction_following.fraction": "0.5",
        "instruction_following.max_constraints": "1",
        "two_turn.fraction": "0.25",
        "families.open_qa.macro_topics": "Tide pools, Household budgets",
        "families.open_qa.n_subtopics": "2",
        "families.closed_qa.documents": "docs/lighthouse.txt",
        "families.closed_qa.n_questions": "3",
    }
    assert {k: shown.get(k) for k in expected} == expected
    recorded = {k for k, v in _flatten(entry["config"]) if v is not None or k.endswith("top_p")}
    assert recorded <= set(shown), recorded - set(shown)

    models = {row[0]: row[1:] for row in table(card, "Models")}
    assert models["teacher"][0] == "fake-teacher"
    assert models["reward model"][0] == "fake-reward" and "NIM" in models["reward model"][1]
    digest = hashlib.sha256((tmp_path / "work/docs/lighthouse.txt").read_bytes()).hexdigest()
    assert table(card, "Sources") == [
        ["closed_qa document", f"docs/lighthouse.txt (sha256 {digest})"]
    ]

    counts = entry["counts"]
    steps = {row[0]: row for row in table(card, "Steps")}
    assert steps["SFT: best response of each prompt"][2] == str(counts["sft"])
    assert steps["preference pairs (best vs worst)"][2] == str(counts["pairs"])
    assert steps["responses (3 a prompt)"][1:3] == [
        str(counts["prompts"] * 3),
        str(counts["responses"]),
    ]
    rejected = {reason: int(n) for reason, n in table(card, "Rejected, by reason")}
    for reason, n in counts["pair_skips"].items():
        assert rejected[f"pairs: {reason.replace('_', ' ')}"] == n
    if counts["filtered"]:
        assert (
            rejected["filter: below the reward thresholds or broke constraints"]
            == counts["filtered"]
        )
    assert len(lines(made.export / "sft.jsonl")) == counts["sft"]
    _no_leak(card, made.run, tmp_path, made.server)
