"""Diversity measures against sacrebleu, direct computations and known cases."""

from __future__ import annotations

import gzip
import random
from pydoc_data.topics import topics

import numpy as np
import pytest
from sacrebleu import sentence_bleu

from synthloom.assay import diversity as dv
from synthloom.errors import DataFormatError
from synthloom.minhash import near_duplicate_clusters
from synthloom.text import ngrams, tokenize
from tests.messy_texts import OnlySlices, messy_texts

WORDS = " ".join(topics.values()).split()
MESSY = messy_texts(600, seed=11)


def _snippets(count: int, seed: int, low: int = 5, high: int = 40) -> list[str]:
    """Stretches of real English (Python's docs, shipped with CPython) of varied length."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        start = rng.randrange(len(WORDS) - high)
        out.append(" ".join(WORDS[start : start + rng.randint(low, high)]))
    return out


def _sacrebleu_self_bleu(texts: list[str]) -> float:
    joined = [" ".join(tokenize(t)) for t in texts]
    scores = [
        sentence_bleu(hyp, joined[:i] + joined[i + 1 :], tokenize="none").score
        for i, hyp in enumerate(joined)
    ]
    return float(np.mean(scores)) / 100


@pytest.mark.parametrize(
    "texts",
    [
        pytest.param(_snippets(40, seed=1), id="prose"),
        pytest.param(
            ["the cat sat on the mat"] * 3 + ["the cat sat", "a dog ran", "cat"], id="repeats"
        ),
        pytest.param(
            ["one", "two words", "", "one two three four five", "five four"], id="short-and-empty"
        ),
        pytest.param(
            [t + " " + t for t in _snippets(15, seed=2, low=1, high=6)], id="self-repeating"
        ),
    ],
)
def test_self_bleu_agrees_with_sacrebleu(texts: list[str]) -> None:
    ours = dv.self_bleu(texts, sample_size=len(texts))
    assert ours == pytest.approx(_sacrebleu_self_bleu(texts), abs=1e-6)


def test_self_bleu_samples_deterministically() -> None:
    texts = _snippets(300, seed=3)
    first = dv.self_bleu(texts, sample_size=25, seed=4)
    assert first == dv.self_bleu(texts, sample_size=25, seed=4)
    rng = np.random.default_rng(4)
    picked = [texts[int(i)] for i in np.sort(rng.choice(300, size=25, replace=False))]
    assert first == pytest.approx(_sacrebleu_self_bleu(picked), abs=1e-6)


def test_self_bleu_orders_repetitive_above_varied() -> None:
    varied = _snippets(50, seed=5)
    templated = [f"Please summarise the report number {i} for me." for i in range(50)]
    assert dv.self_bleu(templated) > 0.5 > dv.self_bleu(varied)
    with pytest.raises(DataFormatError, match="at least 2 texts"):
        dv.self_bleu(["alone"])


def test_distinct_n_matches_direct_count() -> None:
    texts = _snippets(30, seed=6)
    for n in (1, 2, 3):
        grams = [g for t in texts for g in ngrams(tokenize(t), n)]
        assert dv.distinct_n(texts, n) == pytest.approx(len(set(grams)) / len(grams))
    assert dv.distinct_n(["a b", "a b"], 2) == 0.5
    assert dv.distinct_n(["a"], 3) == 0.0


def _distinct_by_sets(texts: list[str], n: int) -> float:
    """The definition, with Python tuples: distinct n-grams / all n-grams."""
    grams = [g for t in texts for g in ngrams(tokenize(t), n)]
    return len(set(grams)) / len(grams) if grams else 0.0


@pytest.mark.parametrize(
    "texts",
    [
        pytest.param(MESSY, id="messy"),
        pytest.param(MESSY[:1] * 50, id="one-text-copied"),
        pytest.param(["", "  ", "a"], id="almost-nothing"),
        pytest.param([], id="empty"),
    ],
)
def test_distinct_ns_equal_the_set_definition_on_messy_text(texts: list[str]) -> None:
    # Equal, not approximately: a hash collision among a few thousand n-grams has probability
    # about 1e-13.
    together = dv.distinct_ns(OnlySlices(texts), (1, 2, 3, 4))
    assert together == {n: _distinct_by_sets(texts, n) for n in (1, 2, 3, 4)}
    assert dv.distinct_n(texts, 2) == together[2]
    assert dv.distinct_ns(texts, (2, 2, 1)) == {2: together[2], 1: together[1]}


def test_compression_ratio_direction() -> None:
    varied = _snippets(200, seed=7)
    copies = [varied[0]] * 200
    assert dv.compression_ratio(varied) > dv.compression_ratio(copies)
    raw = "\n".join(varied).encode()
    assert dv.compression_ratio(varied) == len(gzip.compress(raw, 9, mtime=0)) / len(raw)
    assert dv.compression_ratio([]) == 0.0


@pytest.mark.parametrize(
    "texts",
    [
        # More texts than one slice of the stream, so slices join across the cut.
        pytest.param(MESSY * 8, id="messy-over-several-slices"),
        pytest.param(["", "", ""], id="only-empty-texts"),
        pytest.param([""], id="one-empty-text"),
        pytest.param(["\ud83d"], id="lone-surrogate"),
    ],
)
def test_streamed_compression_ratio_equals_gzip_of_the_joined_text(texts: list[str]) -> None:
    raw = "\n".join(texts).encode("utf-8", errors="surrogatepass")
    expected = len(gzip.compress(raw, 9, mtime=0)) / len(raw) if raw else 0.0
    assert dv.compression_ratio(OnlySlices(texts)) == expected


def test_near_duplicate_rate_counts_texts_with_a_twin() -> None:
    base = _snippets(20, seed=8, low=30, high=40)
    twins = [base[0] + ".", base[1].replace(" ", "  ").upper()]  # same shingles or nearly
    texts = base + twins
    assert dv.near_duplicate_rate(texts) == pytest.approx(4 / 22)
    assert dv.near_duplicate_rate(base) == 0.0
    assert dv.near_duplicate_rate([]) == 0.0


@pytest.mark.parametrize(
    "texts",
    [
        pytest.param(MESSY, id="messy"),
        pytest.param(["", "", "  ", "x", "x"], id="empty-copies-are-not-duplicates"),
    ],
)
def test_near_duplicate_rate_is_the_share_flagged_by_the_clusters(texts: list[str]) -> None:
    clusters = near_duplicate_clusters(texts, threshold=0.8, num_perm=128, kind="char", n=5)
    assert dv.near_duplicate_rate(texts) == float(clusters.duplicated.mean())


def _vendi_direct(x: np.ndarray) -> float:
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    eig = np.linalg.eigvalsh(unit @ unit.T / len(unit))
    eig = eig[eig > 1e-12]
    return float(np.exp(-np.sum(eig * np.log(eig))))


@pytest.mark.parametrize(("n", "dim"), [(50, 8), (8, 50), (30, 30)])
def test_vendi_matches_direct_computation(n: int, dim: int) -> None:
    x = np.random.default_rng(n + dim).normal(size=(n, dim))
    assert dv.vendi_score(x) == pytest.approx(_vendi_direct(x), rel=1e-8)


def test_vendi_known_cases() -> None:
    assert dv.vendi_score(np.tile([[0.6, 0.8]], (7, 1))) == pytest.approx(1.0)
    assert dv.vendi_score(np.eye(9) * 3.0) == pytest.approx(9.0)
    # Two groups of identical vectors, orthogonal to each other: two effective items.
    assert dv.vendi_score(np.repeat(np.eye(2), 5, axis=0)) == pytest.approx(2.0)
    with pytest.raises(DataFormatError, match="row 1 is zero"):
        dv.vendi_score(np.array([[1.0, 0.0], [0.0, 0.0]]))


def test_diversity_dict() -> None:
    texts = _snippets(40, seed=9)
    embeddings = np.random.default_rng(0).normal(size=(40, 16))
    result = dv.diversity(texts, embeddings, sample_size=20, seed=1)
    assert set(result) == {
        "distinct_1",
        "distinct_2",
        "distinct_3",
        "compression_ratio",
        "self_bleu",
        "near_duplicate_rate",
        "vendi_score",
        "n",
        "errors",
    }
    assert result["n"] == 40 and result["errors"] == {}
    assert result["self_bleu"] == dv.self_bleu(texts, sample_size=20, seed=1)
    assert result["vendi_score"] == pytest.approx(dv.vendi_score(embeddings))
    assert result["distinct_1"] < result["distinct_2"] <= result["distinct_3"]
    without = dv.diversity(texts, None)
    assert without["vendi_score"] is None and "vendi_score" not in without["errors"]


def test_diversity_on_tiny_or_mismatched_input_records_errors() -> None:
    result = dv.diversity(["only one text"], np.ones((2, 3)))
    assert result["self_bleu"] is None and result["vendi_score"] is None
    assert "at least 2 texts" in result["errors"]["self_bleu"]
    assert "2 embedding rows for 1 texts" in result["errors"]["vendi_score"]
