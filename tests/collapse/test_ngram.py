"""The Kneser-Ney model against a plain-Python reading of Chen & Goodman's formulas, and its
samplers against its own distributions."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
import pytest

from synthloom.collapse.ngram import BOS, EOS, UNK, Vocabulary, fit_kneser_ney
from synthloom.errors import ConfigError

CORPUS = [
    "the cat sat on the mat",
    "the dog sat on the log",
    "a cat saw the dog",
    "the cat ate",
    "a dog ate the cat food",
    "on the mat the cat sat",
    "the log fell on the dog",
    "a mat is on the log",
]


def _reference_log_probs(
    sentences: list[list[int]], order: int, vocab_size: int, queries: list[list[int]]
) -> list[float]:
    """Interpolated modified Kneser-Ney, one dictionary per order, no vectorisation."""
    raw: list[Counter[tuple[int, ...]]] = [Counter() for _ in range(order + 1)]
    for sent in sentences:
        padded = [BOS] * (order - 1) + sent + [EOS]
        for i in range(order - 1, len(padded)):
            for k in range(1, order + 1):
                raw[k][tuple(padded[i - k + 1 : i + 1])] += 1
    adjusted: list[dict[tuple[int, ...], int]] = [{} for _ in range(order + 1)]
    for k in range(1, order + 1):
        if k == order:
            adjusted[k] = dict(raw[k])
            continue
        before: defaultdict[tuple[int, ...], set[int]] = defaultdict(set)
        for gram in raw[k + 1]:
            before[gram[1:]].add(gram[0])
        adjusted[k] = {g: (raw[k][g] if g[0] == BOS else len(before[g])) for g in raw[k]}

    def discounts(counts: dict[tuple[int, ...], int]) -> list[float]:
        n = [sum(1 for c in counts.values() if c == j) for j in (1, 2, 3, 4)]
        if min(n) > 0:
            y = n[0] / (n[0] + 2 * n[1])
            d = [1 - 2 * y * n[1] / n[0], 2 - 3 * y * n[2] / n[1], 3 - 4 * y * n[3] / n[2]]
        else:
            d = [n[0] / (n[0] + 2 * n[1]) if n[0] else 0.5] * 3
        return [min(max(x, 0.1), cap) for x, cap in zip(d, (1.0, 2.0, 3.0), strict=True)]

    disc = [discounts(adjusted[k]) if k else [] for k in range(order + 1)]

    def prob(history: tuple[int, ...], word: int, k: int) -> float:
        if k == 1:
            counts = adjusted[1]
            total = sum(counts.values())
            d = disc[1]
            c = counts.get((word,), 0)
            explicit = max(c - d[min(c, 3) - 1], 0.0) / total if c else 0.0
            backoff = sum(d[min(x, 3) - 1] for x in counts.values()) / total
            return explicit + backoff / (vocab_size - 1)
        context = history[len(history) - (k - 1) :]
        lower = prob(history, word, k - 1)
        grams = {g: c for g, c in adjusted[k].items() if g[:-1] == context}
        if not grams:
            return lower
        d = disc[k]
        total = sum(grams.values())
        c = grams.get((*context, word), 0)
        explicit = max(c - d[min(c, 3) - 1], 0.0) / total if c else 0.0
        gamma = sum(d[min(x, 3) - 1] for x in grams.values()) / total
        return explicit + gamma * lower

    out = []
    for sent in queries:
        padded = [BOS] * (order - 1) + sent + [EOS]
        for i in range(order - 1, len(padded)):
            out.append(math.log(prob(tuple(padded[i - order + 1 : i]), padded[i], order)))
    return out


def _encoded(order: int = 3) -> tuple[Vocabulary, list[np.ndarray]]:
    tokens = [s.split() for s in CORPUS]
    vocab = Vocabulary.from_sentences(tokens)
    return vocab, [vocab.encode(t) for t in tokens]


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_log_probs_match_plain_python_reference(order: int) -> None:
    vocab, train = _encoded()
    model = fit_kneser_ney(train, order=order, vocab_size=len(vocab))
    queries = [
        vocab.encode(s.split()) for s in ("the cat sat on the log", "a dog saw food", "zebra")
    ]
    ours = model.token_log_probs(queries)
    reference = _reference_log_probs(
        [list(t) for t in train], order, len(vocab), [list(q) for q in queries]
    )
    np.testing.assert_allclose(ours, reference, rtol=1e-10)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_next_word_distribution_sums_to_one_and_matches_scoring(order: int) -> None:
    vocab, train = _encoded()
    model = fit_kneser_ney(train, order=order, vocab_size=len(vocab))
    width = max(order - 1, 1)
    histories = np.array(
        [
            [BOS] * width,
            vocab.encode(["the", "cat"][-width:]),
            vocab.encode(["zebra", "the"][-width:]),
        ]
    )
    dist = model.next_word_distribution(histories)
    np.testing.assert_allclose(dist.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(dist[:, BOS] == 0) and np.all(dist[:, 1:] > 0)
    # "the cat" followed by "sat": the dense row and the scorer must agree.
    sentence = vocab.encode(["the", "cat", "sat"])
    scored = model.token_log_probs([sentence])[2]
    assert math.log(dist[1, vocab.index["sat"]]) == pytest.approx(scored, rel=1e-12)


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_sampler_draws_from_the_model_distribution(temperature: float) -> None:
    vocab, train = _encoded()
    model = fit_kneser_ney(train, order=3, vocab_size=len(vocab))
    history = vocab.encode(["the", "cat"])
    draws = 40_000
    rng = np.random.default_rng(0)
    histories = np.tile(history, (draws, 1))
    if temperature == 1.0:
        words = model._draw_next(histories, rng)
    else:
        words = model._draw_next_tempered(histories, rng, temperature)
    expected = model.next_word_distribution(history[None, :])[0]
    expected[[BOS, UNK]] = 0.0
    expected = expected ** (1 / temperature)
    expected /= expected.sum()
    observed = np.bincount(words, minlength=len(vocab)) / draws
    assert UNK not in words and BOS not in words
    assert 0.5 * np.abs(observed - expected).sum() < 0.02  # total variation


def test_lower_temperature_concentrates_samples() -> None:
    vocab, train = _encoded()
    model = fit_kneser_ney(train, order=3, vocab_size=len(vocab))

    def mean_log_prob(temperature: float) -> float:
        sents = model.sample(300, np.random.default_rng(1), temperature=temperature)
        return float(model.token_log_probs(sents).mean())

    # Colder sampling picks likelier words; hotter sampling wanders into unlikely ones.
    assert mean_log_prob(0.3) > mean_log_prob(1.0) > mean_log_prob(3.0)


def test_sample_is_reproducible_and_respects_max_length() -> None:
    vocab, train = _encoded()
    model = fit_kneser_ney(train, order=2, vocab_size=len(vocab))
    a = model.sample(50, np.random.default_rng(5), max_length=4)
    b = model.sample(50, np.random.default_rng(5), max_length=4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert all(len(s) <= 4 and EOS not in s for s in a)


def test_training_sentences_are_more_likely_than_shuffled_ones() -> None:
    vocab, train = _encoded()
    model = fit_kneser_ney(train, order=3, vocab_size=len(vocab))
    real = model.token_log_probs(train).sum()
    shuffled = [np.random.default_rng(i).permutation(s) for i, s in enumerate(train)]
    assert real > model.token_log_probs(shuffled).sum()


def test_bad_model_options() -> None:
    vocab, train = _encoded()
    with pytest.raises(ConfigError, match="order"):
        fit_kneser_ney(train, order=0, vocab_size=len(vocab))
    with pytest.raises(ConfigError, match="too high"):
        fit_kneser_ney(train, order=5, vocab_size=100_000)
    with pytest.raises(ConfigError, match="no non-empty sentence"):
        fit_kneser_ney([np.zeros(0, dtype=np.int64)], order=2, vocab_size=len(vocab))
