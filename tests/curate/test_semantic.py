"""Semantic dedup: k-means-restricted pairs agree with brute force on planted near-copies."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from synthloom.curate import AuditWriter, SemanticDedup, semantic_duplicate_pairs
from synthloom.curate.base import run_stages
from synthloom.records import make_record


def test_pairs_agree_with_brute_force_cosine() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(300, 32)).astype(np.float32)
    copies = base[:60] + rng.normal(scale=0.05, size=(60, 32)).astype(np.float32)
    vectors = np.concatenate([base, copies])
    pairs, sims = semantic_duplicate_pairs(vectors, threshold=0.95, seed=1)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    full = unit @ unit.T
    brute = {(i, j) for i, j in zip(*np.nonzero(np.triu(full >= 0.95, k=1)), strict=True)}
    found = {(int(i), int(j)) for i, j in pairs}
    assert found <= brute  # every reported pair is truly that similar
    assert {(i, 300 + i) for i in range(60)} <= found  # and every planted copy is found
    assert np.allclose(sims, full[pairs[:, 0], pairs[:, 1]], atol=1e-5)


def _rec(text: str, **meta: Any) -> dict[str, Any]:
    return make_record(
        [{"role": "user", "content": text}, {"role": "assistant", "content": "ok"}], meta
    )


def test_semantic_stage_with_tfidf_keeps_best_scored() -> None:
    texts = [
        "how do i reset the password of my email account on the web",
        "completely different topic about baking sourdough bread at home",
        "how do i reset the password of my email account on the web please",
        "notes on the migration patterns of arctic terns over the atlantic",
    ]
    records = [_rec(t, score=s) for t, s in zip(texts, [1, 0, 3, 0], strict=True)]
    writer = AuditWriter()
    kept, stats = run_stages(records, [SemanticDedup(threshold=0.9, method="tfidf")], writer)
    out = list(kept)
    assert [r["id"] for r in out] == [records[1]["id"], records[2]["id"], records[3]["id"]]
    assert writer.rejects[0]["matched_id"] == records[2]["id"]
    assert writer.rejects[0]["cosine"] >= 0.9
    assert stats[0].details["embedder"]["method"] in ("tfidf-svd", "tfidf")


@pytest.mark.slow
def test_semantic_stage_with_minilm_catches_paraphrases() -> None:
    from synthloom.embed import minilm_missing

    if minilm_missing():
        pytest.skip("the optional 'embed' extra is not installed")
    records = [
        _rec("How can I reset my password?"),
        _rec("How do I reset my password?"),
        _rec("What is the capital city of Australia?"),
    ]
    writer = AuditWriter()
    kept, _ = run_stages(records, [SemanticDedup(threshold=0.9, method="minilm")], writer)
    assert [r["id"] for r in kept] == [records[0]["id"], records[2]["id"]]
