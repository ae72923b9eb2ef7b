"""``teacher.max_in_flight`` is the most requests a run has at the server at once, whatever its
steps: Nemotron's k responses and their reward scores, LAB's generation and judge steps."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakeserver import FakeServer
from synthloom.recipes.lab import generate_sync
from synthloom.recipes.lab import load_pipeline as load_lab
from synthloom.recipes.nemotron import load_pipeline as load_nemotron
from synthloom.recipes.nemotron import run_pipeline_sync
from tests.recipes.lab.responder import lab_responder
from tests.recipes.nemotron.conftest import teacher_script

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("max_in_flight", "k", "bound"),
    [
        pytest.param(4, 2, 4, id="k-divides"),
        # The responses hold 2 prompts x 2; the prompts' own steps use all 5.
        pytest.param(5, 2, 5, id="k-does-not-divide"),
        # A prompt's k responses are asked together: k is the least a run can hold.
        pytest.param(2, 3, 3, id="one-prompt-holds-k"),
    ],
)
def test_nemotron_responses_and_rewards_share_max_in_flight(
    tmp_path: Path, max_in_flight: int, k: int, bound: int
) -> None:
    with FakeServer(
        reward_models={"fake-reward"}, responder=teacher_script, latency=0.03
    ) as server:
        config = {
            "teacher": {
                "base_url": server.url,
                "model": "fake-teacher",
                "api_key_env": None,
                "max_in_flight": max_in_flight,
                "retry_base_delay": 0.0,
            },
            "families": {
                "open_qa": {"macro_topics": ["Tides", "Bread"], "n_subtopics": 2, "n_questions": 2},
            },
            "responses": {"k": k},
            "reward": {"backend": "nim", "model": "fake-reward"},  # on the teacher's server
        }
        path = tmp_path / "pipeline.yaml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        entry = run_pipeline_sync(load_nemotron(path), tmp_path / "run")
        assert entry["status"] == "done" and entry["counts"]["scored"] == 8 * k
        # Reached (so the bound is what held it) and never passed.
        assert server.max_in_flight == bound


def test_lab_generation_and_judges_share_max_in_flight(tmp_path: Path) -> None:
    config = load_lab(ROOT / "examples" / "lab_pipeline.yaml")
    with FakeServer(responder=lab_responder, latency=0.03) as server:
        teacher = config.teacher.model_copy(
            update={"base_url": server.url, "api_key_env": None, "max_in_flight": 3}
        )
        config = config.model_copy(update={"teacher": teacher})
        entry = generate_sync(
            ROOT / "examples" / "taxonomy",
            config,
            tmp_path / "run",
            subtree="compositional_skills",
            pipeline_path=ROOT / "examples" / "lab_pipeline.yaml",
        )
        assert entry["status"] == "done" and len(entry["leaves"]) == 2
        assert server.max_in_flight == 3
