"""Real runs for the card tests: LAB ``generate`` and ``nemotron`` through the command line,
against the scripted teacher, with an API key that the server checks and the card must not hold,
and a taxonomy that is a git checkout with a credentialed remote."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fakeserver import FakeServer
from synthloom.cli import main
from tests.recipes.lab.responder import lab_responder
from tests.recipes.nemotron.conftest import teacher_script

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
#: Recognisable, so that a leak anywhere is found by a plain substring search.
KEY = "sk-synthloom-CARD-TEST-7f3e9c21d0b84a65"
KEY_ENV = "SYNTHLOOM_CARD_TEST_KEY"
REMOTE_TOKEN = "ghp_CardTestToken0123456789abcdef"


@dataclass(frozen=True)
class Made:
    run: Path
    export: Path
    server: FakeServer
    commit: str | None = None


def _git(folder: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ann Author",
        "GIT_AUTHOR_EMAIL": "ann@example.org",
        "GIT_COMMITTER_NAME": "Ann Author",
        "GIT_COMMITTER_EMAIL": "ann@example.org",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_SYSTEM": os.devnull,
    }
    done = subprocess.run(
        ["git", "-C", str(folder), *args], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.strip()


def git_checkout(folder: Path) -> str:
    """Make ``folder`` a git checkout with one commit and an origin holding a token."""
    _git(folder, "init", "-q")
    _git(folder, "add", ".")
    _git(folder, "commit", "-q", "-m", "taxonomy for the card test")
    _git(
        folder,
        "remote",
        "add",
        "origin",
        f"https://ann:{REMOTE_TOKEN}@github.com/acme/taxonomy.git",
    )
    return _git(folder, "rev-parse", "HEAD")


def lab_run(tmp_path: Path, make_server: Callable[..., FakeServer]) -> Made:
    """``synthloom generate`` on the example taxonomy (a git checkout) with a judge model and
    sampling set in the pipeline; the caller puts ``KEY`` in ``KEY_ENV``."""
    work = tmp_path / "work"
    shutil.copytree(EXAMPLES / "taxonomy", work / "taxonomy")
    shutil.copytree(EXAMPLES / "documents", work / "documents")
    commit = git_checkout(work / "taxonomy")
    pipeline = yaml.safe_load((EXAMPLES / "lab_pipeline.yaml").read_text(encoding="utf-8"))
    pipeline["teacher"].update(
        {"api_key_env": KEY_ENV, "judge_model": "granite-judge-8b", "retry_base_delay": 0}
    )
    pipeline["freeform_skill"]["generate"] = {"temperature": 0.9, "top_p": 0.95, "max_tokens": 600}
    pipeline["knowledge"]["judge"] = {"temperature": 0.0, "max_tokens": 128}
    (work / "pipeline.yaml").write_text(yaml.safe_dump(pipeline), encoding="utf-8")
    server = make_server(responder=lab_responder, api_key=KEY)
    run = tmp_path / "runs" / "lab"
    args = ["generate", str(work / "taxonomy"), "-p", str(work / "pipeline.yaml")]
    assert main([*args, "--out", str(run), "--base-url", server.url]) == 0
    return Made(run, run / "export", server, commit)


def nemotron_config(server: FakeServer, documents: list[str]) -> dict[str, Any]:
    return {
        "teacher": {
            "base_url": server.url,
            "model": "fake-teacher",
            "api_key_env": KEY_ENV,
            "max_in_flight": 8,
            "retry_base_delay": 0.0,
        },
        "prompt_sampling": {"temperature": 0.55, "max_tokens": 700, "seed": 3},
        "families": {
            "open_qa": {
                "macro_topics": ["Tide pools", "Household budgets"],
                "n_subtopics": 2,
                "n_questions": 2,
            },
            "closed_qa": {"documents": documents, "n_questions": 3},
        },
        "instruction_following": {"fraction": 0.5, "max_constraints": 1},
        "two_turn": {"fraction": 0.25},
        "responses": {"k": 3, "temperature": 0.65, "top_p": 0.9, "max_tokens": 400, "seed": 11},
        "reward": {
            "backend": "nim",
            "base_url": server.url,
            "model": "fake-reward",
            "api_key_env": KEY_ENV,
            "weights": [0.3, 0.74, 0.46, 0.47, -0.33],
        },
        "filter": {"min_scalar": 1.5, "min_attributes": {"correctness": 2.0}},
        "preference": {"enabled": True, "min_margin": 0.25},
    }


def nemotron_run(tmp_path: Path, make_server: Callable[..., FakeServer]) -> Made:
    """``synthloom nemotron`` with open and closed QA (a document), k = 3, a NIM reward."""
    work = tmp_path / "work"
    (work / "docs").mkdir(parents=True)
    shutil.copy(EXAMPLES / "nemotron" / "lighthouse.txt", work / "docs" / "lighthouse.txt")
    server = make_server(responder=teacher_script, reward_models={"fake-reward"}, api_key=KEY)
    config = nemotron_config(server, ["docs/lighthouse.txt"])
    (work / "nemotron.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    run = tmp_path / "runs" / "nemo"
    assert main(["nemotron", str(work / "nemotron.yaml"), "--out", str(run), "--quiet"]) == 0
    return Made(run, run / "export", server)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
