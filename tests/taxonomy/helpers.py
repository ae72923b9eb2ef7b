"""Builders of qna.yaml files for the taxonomy and recipe tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml


def skill(n: int = 5, *, grounded: bool = False, topic: str = "topic") -> dict[str, object]:
    seeds = []
    for i in range(n):
        seed: dict[str, str] = {
            "question": f"Question {i} about {topic}?",
            "answer": f"Answer {i} about {topic}.",
        }
        if grounded:
            seed = {"context": f"Context {i} on {topic}.", **seed}
        seeds.append(seed)
    return {
        "version": 3,
        "created_by": "tester",
        "task_description": f"Answer questions about {topic}.",
        "seed_examples": seeds,
    }


def knowledge(repo: str, patterns: list[str], commit: str | None = None) -> dict[str, object]:
    seeds = [
        {
            "context": f"Passage {i} of the document.",
            "questions_and_answers": [
                {"question": f"Q{i}.{j}?", "answer": f"A{i}.{j}."} for j in range(3)
            ],
        }
        for i in range(5)
    ]
    document: dict[str, object] = {"repo": repo, "patterns": patterns}
    if commit is not None:
        document["commit"] = commit
    return {
        "version": 3,
        "created_by": "tester",
        "domain": "testing",
        "document_outline": "A document for tests.",
        "seed_examples": seeds,
        "document": document,
    }


def write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` with a throwaway identity; its output."""
    env = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    done = subprocess.run(["git", *env, *args], cwd=cwd, check=True, capture_output=True)
    return done.stdout.decode().strip()


def docs_repository(tmp: Path, documents_dir: Path, name: str) -> tuple[str, str]:
    """A bare repository ``documents_dir/name`` with two commits of history/lighthouses.md;
    returns (first commit, second commit)."""
    work = tmp / f"{name}-work"
    (work / "history").mkdir(parents=True)
    (work / "history" / "lighthouses.md").write_text(
        "# Lighthouses\n\nThe Pharos of Alexandria stood over 100 metres tall.\n", encoding="utf-8"
    )
    (work / "README.md").write_text("notes\n", encoding="utf-8")
    git(work, "init", "-q")
    git(work, "add", ".")
    git(work, "commit", "-qm", "first")
    first = git(work, "rev-parse", "HEAD")
    (work / "history" / "lighthouses.md").write_text("# Rewritten later\n", encoding="utf-8")
    git(work, "commit", "-qam", "second")
    second = git(work, "rev-parse", "HEAD")
    documents_dir.mkdir(parents=True, exist_ok=True)
    git(tmp, "clone", "-q", "--bare", str(work), str(documents_dir / name))
    return first, second
