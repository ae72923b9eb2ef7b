"""Per-generation metrics of the collapse lab.

Language models (``ngram``, ``lstm``), on the held-out real sentences and on the generation's
samples:

* ``perplexity``: exp of the mean negative log-probability of every held-out word and ``</s>``.
* ``tail_loss``: the share of held-out real n-grams (occurrences, with the generation's order n)
  that have become near impossible: the model gives the n-gram's last word, after its context,
  a probability below ``impossible_below`` (default 1e-5, i.e. fewer than once in 100,000
  words).
* ``tail_coverage``: the assay's tail coverage of the samples: the share of the real training
  text's rare n-grams (``synthloom.text.rare_ngrams``: the bottom ``RARE_QUANTILE`` of the
  frequency distribution) that appear in the generation's samples. With the same n this is
  exactly the number ``synthloom assay`` reports for those samples against that text; the two
  tail metrics look at the same tail from both sides (the model's probabilities, and what it
  actually writes).
* ``vocab_size``, ``distinct_1``, ``distinct_2``: distinct word types in the samples, and
  distinct n-grams over all n-grams of the samples (Li et al., 2016).

Numeric models, in the coordinates of the real training data standardised per feature:

* ``mean_drift``: mean over features of |fitted mean|, in real standard deviations.
* ``variance_ratio``: mean over features of fitted variance / real variance (1 = no change).
* ``wasserstein``: 1-Wasserstein distance between model samples and the held-out real rows
  (exact in one dimension, sliced over fixed random directions in several).
* ``kl_to_real``: KL(real || model), Monte Carlo over draws from the same family fitted to all
  real rows (closed form would serve the Gaussian, but the estimate is shared with mixtures).
* ``tail_mass``: the probability mass the model puts outside the real data's central
  (1 - RARE_QUANTILE) interval, per feature, averaged; the real data scores RARE_QUANTILE.
* ``thinner_tail``: per feature, the smaller of the model's mass below the real lower
  RARE_QUANTILE / 2 quantile and above the upper one, averaged; the real data scores
  RARE_QUANTILE / 2. A model that narrows and wanders empties at least one tail while it may
  pile mass into the other, so both-sided ``tail_mass`` can even rise as the tails are lost;
  the thinner side cannot (the assay's tail coverage is read per side for the same reason).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from synthloom.collapse.numeric import NumericModel
from synthloom.text import RARE_QUANTILE, count_ngrams, rare_ngrams

__all__ = [
    "METRICS",
    "MetricInfo",
    "distinct_n",
    "kl_monte_carlo",
    "numeric_metrics",
    "perplexity",
    "sliced_wasserstein",
    "tail_coverage",
    "tail_mass",
    "text_sample_metrics",
    "thinner_tail_mass",
    "wasserstein_1d",
]

FloatArray = npt.NDArray[np.float64]
Goal = Literal["minimize", "maximize", "target"]

DEFAULT_IMPOSSIBLE_BELOW = 1e-5
_SLICES = 32


@dataclass(frozen=True)
class MetricInfo:
    """How to read a metric: a label for plots, what is good, and the real data's own value."""

    label: str
    goal: Goal
    real_value: float | None = None


METRICS: dict[str, dict[str, MetricInfo]] = {
    "text": {
        "perplexity": MetricInfo("held-out perplexity", "minimize"),
        "tail_loss": MetricInfo("tail loss (held-out n-grams near impossible)", "minimize"),
        "tail_coverage": MetricInfo("tail coverage of samples (rare real n-grams)", "maximize"),
        # Not "more is better": a drifting model invents word salad, which raises all three.
        # Read them next to perplexity and the tail metrics; nearest the real data's is best.
        "vocab_size": MetricInfo("vocabulary size of samples (nearest real is best)", "target"),
        "distinct_1": MetricInfo("distinct-1 of samples (nearest real is best)", "target"),
        "distinct_2": MetricInfo("distinct-2 of samples (nearest real is best)", "target"),
    },
    "numeric": {
        "mean_drift": MetricInfo("mean drift (real SDs)", "minimize", 0.0),
        "variance_ratio": MetricInfo("fitted variance / real variance", "target", 1.0),
        "wasserstein": MetricInfo("Wasserstein-1 to held-out real (real SDs)", "minimize", 0.0),
        "kl_to_real": MetricInfo("KL(real || model) (nats)", "minimize", 0.0),
        "tail_mass": MetricInfo("model mass in the real tails", "target", RARE_QUANTILE),
        "thinner_tail": MetricInfo(
            "model mass in the thinner real tail", "target", RARE_QUANTILE / 2
        ),
    },
}


# ------------------------------------------------------------------------------ language models


def perplexity(log_probs: FloatArray) -> float:
    """exp(-mean natural-log probability)."""
    return float(np.exp(-np.mean(log_probs)))


def distinct_n(sentences: Sequence[Sequence[str]], n: int) -> float:
    """Distinct n-grams / all n-grams over a set of tokenised sentences (0 when there are none)."""
    seen: set[tuple[str, ...]] = set()
    total = 0
    for tokens in sentences:
        grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 0.0


def tail_coverage(rare: set[tuple[str, ...]], sample_texts: Sequence[str], n: int) -> float:
    """Share of the reference's rare n-grams (``rare``) present in the samples (the assay's
    definition: both sides tokenised and counted by ``synthloom.text``)."""
    if not rare:
        return 1.0
    present = count_ngrams(sample_texts, n)
    return sum(1 for gram in rare if gram in present) / len(rare)


def reference_rare_ngrams(texts: Sequence[str], n: int) -> set[tuple[str, ...]]:
    """The assay's tail: rare n-grams of the reference texts."""
    return rare_ngrams(count_ngrams(texts, n), RARE_QUANTILE)


def text_sample_metrics(
    samples: Sequence[Sequence[str]], rare: set[tuple[str, ...]], tail_n: int
) -> dict[str, float]:
    """The sample-side metrics of a language-model generation."""
    texts = [" ".join(s) for s in samples]
    return {
        "tail_coverage": tail_coverage(rare, texts, tail_n),
        "vocab_size": float(len({w for s in samples for w in s})),
        "distinct_1": distinct_n(samples, 1),
        "distinct_2": distinct_n(samples, 2),
    }


# ------------------------------------------------------------------------------ numeric models


def _directions(d: int) -> FloatArray:
    if d == 1:
        return np.ones((1, 1))
    # Fixed directions (not the run's seed) so that every generation is measured the same way.
    raw = np.random.default_rng(20240724).standard_normal((_SLICES, d))
    return np.asarray(raw / np.linalg.norm(raw, axis=1, keepdims=True), dtype=np.float64)


def wasserstein_1d(a: FloatArray, b: FloatArray) -> FloatArray:
    """1-Wasserstein distance between the rows of ``a`` and the rows of ``b`` (one distance per
    row): the integral of |F_a - F_b| between the empirical CDFs, all rows in one sort."""
    values = np.concatenate([a, b], axis=1)
    weights = np.concatenate(
        [np.full(a.shape[1], 1.0 / a.shape[1]), np.full(b.shape[1], -1.0 / b.shape[1])]
    )
    order = np.argsort(values, axis=1)
    ordered = np.take_along_axis(values, order, axis=1)
    # Running sum of +1/n and -1/m in value order is F_a - F_b just after each point.
    gap = np.cumsum(weights[order], axis=1)[:, :-1]
    return np.asarray(np.sum(np.abs(gap) * np.diff(ordered, axis=1), axis=1), dtype=np.float64)


def sliced_wasserstein(a: FloatArray, b: FloatArray) -> float:
    """1-Wasserstein distance between two samples (rows are points): exact in 1-D, else the mean
    over fixed random unit directions of the 1-D distance between the projections."""
    directions = _directions(a.shape[1])
    return float(np.mean(wasserstein_1d(directions @ a.T, directions @ b.T)))


def kl_monte_carlo(reference: NumericModel, model: NumericModel, draws: FloatArray) -> float:
    """KL(reference || model) estimated on draws from ``reference``."""
    return float(np.mean(reference.log_density(draws) - model.log_density(draws)))


def tail_mass(real: FloatArray, samples: FloatArray, quantile: float = RARE_QUANTILE) -> float:
    """Share of ``samples`` outside the real central (1 - quantile) interval, mean over features."""
    low = np.quantile(real, quantile / 2, axis=0)
    high = np.quantile(real, 1 - quantile / 2, axis=0)
    outside = (samples < low) | (samples > high)
    return float(outside.mean())


def thinner_tail_mass(
    real: FloatArray, samples: FloatArray, quantile: float = RARE_QUANTILE
) -> float:
    """Per feature, the smaller share of ``samples`` below the real ``quantile / 2`` quantile or
    above the real ``1 - quantile / 2`` one; mean over features."""
    low = np.quantile(real, quantile / 2, axis=0)
    high = np.quantile(real, 1 - quantile / 2, axis=0)
    thinner = np.minimum((samples < low).mean(axis=0), (samples > high).mean(axis=0))
    return float(thinner.mean())


def numeric_metrics(
    model: NumericModel,
    *,
    eval_samples: FloatArray,
    holdout: FloatArray,
    all_real: FloatArray,
    reference: NumericModel,
    reference_draws: FloatArray,
) -> dict[str, float]:
    """Every numeric metric of one generation (all inputs in standardised coordinates)."""
    return {
        "mean_drift": float(np.mean(np.abs(model.mean))),
        "variance_ratio": float(np.mean(np.diag(model.covariance))),
        "wasserstein": sliced_wasserstein(eval_samples, holdout),
        "kl_to_real": kl_monte_carlo(reference, model, reference_draws),
        "tail_mass": tail_mass(all_real, eval_samples),
        "thinner_tail": thinner_tail_mass(all_real, eval_samples),
    }
