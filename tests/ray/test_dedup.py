"""MinHash dedup on Ray equals the local result (clusters, pairs, curate output)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from synthloom.cli import main
from synthloom.engine.ray import near_duplicate_clusters_ray
from synthloom.engine.ray_executor import RayOptions
from synthloom.minhash import near_duplicate_clusters
from synthloom.records import write_jsonl

pytestmark = pytest.mark.slow

WORDS = [f"w{i}" for i in range(15)]


def _corpus(size: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    texts: list[str] = []
    for _ in range(size):
        roll = rng.random()
        if texts and roll < 0.3:
            # A near copy of an earlier text: one word changed.
            words = rng.choice(texts).split() or ["x"]
            words[rng.randrange(len(words))] = rng.choice(WORDS)
            texts.append(" ".join(words))
        elif roll < 0.33:
            texts.append("the same boilerplate sentence repeated many times over")
        elif roll < 0.35:
            texts.append("   ")
        else:
            texts.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 25))))
    return texts


@pytest.mark.parametrize(
    ("kind", "n", "threshold"),
    [pytest.param("char", 5, 0.8, id="char5"), pytest.param("word", 2, 0.6, id="word2")],
)
def test_clusters_on_ray_equal_local(ray_session: Any, kind: str, n: int, threshold: float) -> None:
    texts = _corpus(1500)
    settings: dict[str, Any] = {
        "threshold": threshold,
        "kind": kind,
        "n": n,
        "seed": 3,
        "num_perm": 64,
        "max_bucket_size": 8,
    }
    local = near_duplicate_clusters(texts, **settings)
    remote = near_duplicate_clusters_ray(
        texts, **settings, shard_docs=400, verify_pairs=500, options=RayOptions(actors=3)
    )
    assert local.pairs.shape[0] > 100  # the corpus has near-duplicates to find
    assert (local.bands, local.rows, local.num_candidates) == (
        remote.bands,
        remote.rows,
        remote.num_candidates,
    )
    np.testing.assert_array_equal(remote.labels, local.labels)
    np.testing.assert_array_equal(remote.pairs, local.pairs)
    np.testing.assert_array_equal(remote.similarities, local.similarities)


def test_curate_with_ray_executor_writes_the_local_output(ray_session: Any, tmp_path: Path) -> None:
    texts = _corpus(400, seed=5)
    records = [
        {
            "messages": [
                {"role": "user", "content": f"q{i % 7}"},
                {"role": "assistant", "content": t},
            ]
        }
        for i, t in enumerate(texts)
    ]
    source = tmp_path / "in.jsonl"
    write_jsonl(records, source)
    common = [
        "curate",
        str(source),
        "--dedup",
        "minhash",
        "--threshold",
        "0.7",
        "--format",
        "jsonl",
        "--quiet",
    ]
    assert main([*common, "--out", str(tmp_path / "local")]) == 0
    assert (
        main([*common, "--out", str(tmp_path / "ray"), "--executor", "ray", "--actors", "2"]) == 0
    )
    outputs = []
    for name in ("local", "ray"):
        files = sorted((tmp_path / name).glob("*.jsonl"))
        outputs.append({p.name: p.read_text(encoding="utf-8").splitlines() for p in files})
    assert outputs[0] == outputs[1]
    kept = [f for f in outputs[0] if "reject" not in f and "change" not in f]
    assert kept and 0 < len(outputs[0][kept[0]]) < len(records)


def test_unknown_executor_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.jsonl"
    write_jsonl([{"messages": [{"role": "user", "content": "hi"}]}], source)
    rc = main(["curate", str(source), "--out", str(tmp_path / "o"), "--executor", "spark"])
    assert rc == 2 and "--executor" in capsys.readouterr().err
