"""Exact and MinHash near-duplicate dedup stages, checked against exact Jaccard on Python sets."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from synthloom.curate import AuditWriter, ExactDedup, NearDedup, TextView, group_representatives
from synthloom.curate.base import run_stages
from synthloom.errors import ConfigError
from synthloom.records import make_record


def _rec(user: str, assistant: str = "ok", **meta: Any) -> dict[str, Any]:
    return make_record(
        [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}], meta
    )


def _char_shingles(text: str, n: int = 5) -> set[str]:
    norm = " ".join(text.lower().split())
    return {norm[i : i + n] for i in range(len(norm) - n + 1)} or {norm}


def _true_jaccard(a: str, b: str) -> float:
    sa, sb = _char_shingles(a), _char_shingles(b)
    return len(sa & sb) / len(sa | sb)


def _run(stage: Any, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], AuditWriter]:
    writer = AuditWriter()
    kept, stats = run_stages(records, [stage], writer)
    out = list(kept)
    assert stats[0].records_in == len(records)
    assert stats[0].kept + stats[0].dropped == len(records)
    return out, writer


def test_group_representatives_agrees_with_brute_force() -> None:
    rng = np.random.default_rng(3)
    groups = rng.integers(0, 30, 500)
    scores = rng.choice([0.0, 1.0, 2.0, float("-inf")], 500)
    reps = group_representatives(groups, scores)
    for i in range(500):
        members = [j for j in range(500) if groups[j] == groups[i]]
        best = max(members, key=lambda j: (scores[j], -j))
        assert reps[i] == best


def test_exact_dedup_normalises_case_and_whitespace_and_keeps_first() -> None:
    records = [
        _rec("Hello   World", "Hi there"),
        _rec("hello world", "hi  there"),
        _rec("Hello world!", "Hi there"),
        _rec("Something else", "Hi there"),
    ]
    kept, writer = _run(ExactDedup(), records)
    assert [r["id"] for r in kept] == [records[0]["id"], records[2]["id"], records[3]["id"]]
    assert writer.rejects == [
        {
            "id": records[1]["id"],
            "stage": "exact",
            "reason": "exact duplicate",
            "matched_id": records[0]["id"],
        }
    ]


def test_exact_dedup_options_punctuation_case_and_roles() -> None:
    records = [_rec("Hello, World", "a"), _rec("hello world", "b")]
    kept, _ = _run(ExactDedup(view=TextView(strip_punctuation=True)), records)
    assert len(kept) == 2  # the answers differ
    kept, _ = _run(
        ExactDedup(view=TextView(strip_punctuation=True, roles=frozenset({"user"}))), records
    )
    assert len(kept) == 1
    kept, _ = _run(
        ExactDedup(view=TextView(lowercase=False, roles=frozenset({"user"}))),
        [_rec("Hello", "a"), _rec("hello", "a")],
    )
    assert len(kept) == 2
    with pytest.raises(ConfigError, match="unknown role"):
        TextView(roles=frozenset({"bot"}))


def test_highest_score_survives_then_first() -> None:
    records = [
        _rec("same text", "x", score=0.2),
        _rec("same text", "x ", score=0.9),
        _rec("same text", " x", score=0.9),
        _rec("same text", "x"),
    ]
    kept, writer = _run(ExactDedup(), records)
    assert [r["id"] for r in kept] == [records[1]["id"]]
    assert {e["matched_id"] for e in writer.rejects} == {records[1]["id"]}
    nested = [_rec("a b", "c", judge={"score": 1}), _rec("a b", "c ", judge={"score": 5})]
    kept, _ = _run(ExactDedup(score_key="judge.score"), nested)
    assert kept[0]["id"] == nested[1]["id"]


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(size)]


def test_near_dedup_recall_and_precision_against_exact_jaccard() -> None:
    rng = random.Random(11)
    vocab = _vocabulary(rng, 20_000)
    records: list[dict[str, Any]] = []
    planted: list[tuple[int, int, float]] = []
    for i in range(300):
        words = [rng.choice(vocab) for _ in range(80)]
        base = " ".join(words)
        changed = list(words)
        # From identical to about a third of the words replaced: Jaccard from 1 to ~0.4.
        for pos in rng.sample(range(80), k=i % 25):
            changed[pos] = rng.choice(vocab)
        copy = " ".join(changed)
        records.append(_rec(base, "", doc=i))
        records.append(_rec(copy, "", doc=i))
        planted.append((2 * i, 2 * i + 1, _true_jaccard(base, copy)))
    threshold = 0.7
    similarities = [j for *_, j in planted]
    assert min(similarities) < 0.55 and max(similarities) == 1.0  # both sides are planted
    kept, writer = _run(
        NearDedup(threshold=threshold, view=TextView(roles=frozenset({"user"}))), records
    )
    dropped = {e["id"]: e for e in writer.rejects}
    ids = [r["id"] for r in records]
    found = positives = true_found = 0
    for a, b, sim in planted:
        hit = ids[b] in dropped and dropped[ids[b]]["matched_id"] == ids[a]
        positives += sim >= threshold
        found += hit
        true_found += hit and sim >= threshold
        if hit:
            assert dropped[ids[b]]["jaccard"] == pytest.approx(sim, abs=1e-4)
    assert positives >= 100
    assert true_found / positives >= 0.95  # recall
    assert true_found == found  # precision: nothing under the threshold is dropped
    assert len(dropped) == found  # and no unplanted pair is
    assert len(kept) == len(records) - found


def test_near_dedup_is_idempotent_and_validates() -> None:
    base = "the quick brown fox jumps over the lazy dog near the river bank today"
    records = [_rec(base), _rec(base + " again"), _rec("entirely unrelated sentence about tea")]
    first, _ = _run(NearDedup(threshold=0.7), records)
    second, writer = _run(NearDedup(threshold=0.7), first)
    assert len(first) == 2
    assert second == first and writer.rejects == []
    for bad in (0.0, 1.5):
        with pytest.raises(ConfigError, match="threshold"):
            NearDedup(threshold=bad)


def _tool_rec(city: str) -> dict[str, Any]:
    return make_record(
        [
            {"role": "user", "content": "What's the weather like?"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": f'{{"city": "{city}"}}'},
                    }
                ],
            },
        ]
    )


def test_answers_that_call_tools_differently_are_not_duplicates() -> None:
    records = [_tool_rec("Paris"), _tool_rec("Lyon"), _tool_rec("Paris")]
    assert records[0]["id"] != records[1]["id"]
    kept, writer = _run(ExactDedup(), records)
    assert [r["id"] for r in kept] == [records[0]["id"], records[1]["id"]]
    assert [r["id"] for r in writer.rejects] == [records[2]["id"]]
    kept, _ = _run(ExactDedup(view=TextView(roles=frozenset({"tool", "user"}))), records)
    assert len(kept) == 1  # only the identical user turns are compared
