"""Tests for synthloom.assay.tails: rare n-grams, clusters, numeric tails, rare categories."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from synthloom.assay.diversity import (
    distinct_ns,
    distinct_ns_with_table,
    text_measures_with_table,
)
from synthloom.assay.tails import (
    LOST_NGRAM_RATIO,
    MAX_FIT_POINTS,
    default_cluster_count,
    numeric_tail_coverage,
    rare_category_coverage,
    rare_cluster_coverage,
    rare_ngram_coverage,
    wilson_interval,
)
from synthloom.errors import InputError
from synthloom.text import count_ngrams, ngrams, rare_cutoff, rare_ngrams, record_text, tokenize
from tests.assay.realistic import fair_split, instruction_records
from tests.messy_texts import OnlySlices, messy_texts

# --- rare n-grams -----------------------------------------------------------------------------


def test_rare_unigram_coverage_by_hand() -> None:
    # counts x:4 y:3 z:1 w:1 -> 10th percentile of [1, 1, 3, 4] is 1 -> rare {z, w}, common {x, y}
    result = rare_ngram_coverage(["x x y z", "x y w", "x y"], ["x z q"], n=1, min_count=1)
    assert result["rare_cutoff"] == 1.0
    assert result["rare_reference"] == 2 and result["common_reference"] == 2
    assert result["covered"] == 1 and result["coverage"] == 0.5  # z
    assert result["common_covered"] == 1 and result["common_coverage"] == 0.5  # x
    assert "error" not in result


def test_rare_bigram_coverage_by_hand() -> None:
    # bigrams (a,b) x2, (b,c), (c,a): rare = the two seen once
    result = rare_ngram_coverage(["a b c a b"], ["b c", "c d"], n=2, min_count=1)
    assert (result["rare_reference"], result["covered"]) == (2, 1)
    assert result["coverage"] == 0.5
    assert result["common_coverage"] == 0.0


def _phrase_texts(
    rng: np.random.Generator, count: int, phrases: int = 800, keep: int | None = None
) -> list[str]:
    """One fixed phrase per text, phrases drawn with Zipf weights (rank r has weight 1/r)."""
    weights = 1.0 / np.arange(1, phrases + 1)
    if keep is not None:  # a "collapsed" generator that never emits the rarer phrases
        weights[keep:] = 0.0
    picks = rng.choice(phrases, size=count, p=weights / weights.sum())
    return [f"the p{p}a p{p}b p{p}c." for p in picks]


def test_dropping_rare_content_lowers_rare_ngram_coverage() -> None:
    rng = np.random.default_rng(0)
    reference = _phrase_texts(rng, 3000)
    independent = _phrase_texts(rng, 3000)
    collapsed = _phrase_texts(rng, 3000, keep=200)
    for n in (1, 2, 3):
        fair = rare_ngram_coverage(reference, independent, n=n)
        lost = rare_ngram_coverage(reference, collapsed, n=n)
        assert fair["rare_reference"] == lost["rare_reference"] > 100
        assert lost["coverage"] < 0.5 * fair["coverage"], n
        # Common n-grams survive far better than rare ones in the collapsed sample.
        assert lost["common_coverage"] > 2 * lost["coverage"], n


def test_rare_ngram_set_is_the_shared_definition() -> None:
    reference = ["the cat sat", "the cat ran", "a dog sat"]
    result = rare_ngram_coverage(reference, reference, n=2, min_count=1)
    assert result["rare_reference"] == len(rare_ngrams(count_ngrams(reference, 2)))
    assert result["coverage"] == 1.0 and result["common_coverage"] == 1.0
    assert result["below_min_count"] == 0


def test_rare_ngram_bad_input_gives_errors_not_exceptions() -> None:
    empty_ref = rare_ngram_coverage([], ["a b"], n=2)
    assert empty_ref["coverage"] is None and "no 2-grams" in empty_ref["error"]
    too_short = rare_ngram_coverage(["a", "b"], ["a b"], n=3)
    assert too_short["coverage"] is None and "error" in too_short
    no_synthetic = rare_ngram_coverage(["a b c"] * 3, [], n=2)
    assert no_synthetic["coverage"] is None and "no texts" in no_synthetic["error"]
    too_little = rare_ngram_coverage(["a b c", "a b d"], ["a b"], n=2)
    assert too_little["coverage"] is None and "occurs 3 or more times" in too_little["error"]
    with pytest.raises(InputError, match="min_count"):
        rare_ngram_coverage(["a b"], ["a b"], min_count=0)
    with pytest.raises(InputError, match="'n'"):
        rare_ngram_coverage(["a b"], ["a b"], n=0)
    with pytest.raises(InputError, match="quantile"):
        rare_ngram_coverage(["a b"], ["a b"], quantile=1.5)


def _rare_coverage_with_tuples(
    reference: list[str], synthetic: list[str], n: int, quantile: float, min_count: int
) -> dict[str, object]:
    """The measure computed with Python tuples and Counters (the shared definitions in
    synthloom.text), as the assay computed it before n-grams were hashed."""
    counts = count_ngrams(reference, n)
    rare = rare_ngrams(counts, quantile, min_count=min_count)
    cutoff = rare_cutoff([c for c in counts.values() if c >= min_count], quantile, min_count)
    common = {g for g, c in counts.items() if c > cutoff}
    seen = {g for t in synthetic for g in ngrams(tokenize(t), n)}
    synthetic_grams = sum(len(ngrams(tokenize(t), n)) for t in synthetic)
    scale = synthetic_grams / sum(counts.values())
    covered = len(rare & seen)
    low, high = wilson_interval(covered, len(rare))
    expected = float(np.mean([1 - math.exp(-counts[g] * scale) for g in rare]))
    return {
        "rare_cutoff": cutoff,
        "rare_reference": len(rare),
        "covered": covered,
        "coverage": covered / len(rare),
        "interval": [low, high],
        "expected_coverage": pytest.approx(expected, rel=1e-12),  # summed in another order
        "lost": high < LOST_NGRAM_RATIO * expected,
        "common_reference": len(common),
        "common_covered": len(common & seen),
        "common_coverage": len(common & seen) / len(common),
        "below_min_count": sum(1 for c in counts.values() if c < min_count),
    }


@pytest.mark.parametrize(
    ("n", "quantile", "min_count"),
    [
        pytest.param(2, 0.1, 3, id="assay-default"),
        pytest.param(1, 0.1, 1, id="unigrams-min-1"),
        pytest.param(3, 0.3, 2, id="trigrams"),
    ],
)
def test_rare_ngram_coverage_equals_the_tuple_computation_on_messy_text(
    n: int, quantile: float, min_count: int
) -> None:
    texts = messy_texts(900, seed=n)
    reference, synthetic = texts[:600], texts[600:]
    result = rare_ngram_coverage(
        OnlySlices(reference), OnlySlices(synthetic), n=n, quantile=quantile, min_count=min_count
    )
    expected = _rare_coverage_with_tuples(reference, synthetic, n, quantile, min_count)
    assert {k: result[k] for k in expected} == expected
    # Generators work too, and skip missing values.
    again = rare_ngram_coverage(
        (t for t in [*reference, None]),
        iter(synthetic),
        n=n,
        quantile=quantile,
        min_count=min_count,
    )
    assert again == result


class _NotRead(list[str]):
    """Texts that fail the test if anything iterates them."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        raise AssertionError("the texts were read again")

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        raise AssertionError("the texts were read again")


@pytest.mark.parametrize("n", [1, 2, 3])
def test_tables_kept_by_the_distinct_n_pass_give_the_same_coverage(n: int) -> None:
    # The assay's distinct-n pass keeps each side's bigram table; the coverage from the tables
    # equals the one from the texts, and neither side's texts are read a second time.
    texts = messy_texts(900, seed=10 + n)
    reference, synthetic = texts[:600], texts[600:]
    expected = rare_ngram_coverage(reference, synthetic, n=n)
    ratios, reference_table = distinct_ns_with_table(reference, (1, 2, 3), table=n, counted=True)
    assert ratios == distinct_ns(reference, (1, 2, 3))
    _, synthetic_table = text_measures_with_table(synthetic, table=n)
    assert synthetic_table is not None and synthetic_table.counts is None
    assert synthetic_table.texts == len(synthetic)
    _, with_gap = distinct_ns_with_table([*synthetic, None], table=n)  # type: ignore[list-item]
    assert with_gap is not None and with_gap.texts == len(synthetic)  # a missing value: no text
    np.testing.assert_array_equal(with_gap.keys, synthetic_table.keys)
    result = rare_ngram_coverage(
        _NotRead(),
        _NotRead(),
        n=n,
        reference_ngrams=reference_table,
        synthetic_ngrams=synthetic_table,
    )
    assert result == expected
    # One side from its table, the other from its texts.
    assert rare_ngram_coverage(reference, _NotRead(), n=n, synthetic_ngrams=synthetic_table) == (
        expected
    )
    with pytest.raises(InputError, match="reference_ngrams"):
        rare_ngram_coverage(reference, synthetic, n=n, reference_ngrams=synthetic_table)
    with pytest.raises(InputError, match="synthetic_ngrams"):
        rare_ngram_coverage(reference, synthetic, n=n + 1, synthetic_ngrams=synthetic_table)


def test_rare_ngrams_with_a_minimum_count_by_hand() -> None:
    counts = {("a",): 1, ("b",): 1, ("c",): 3, ("d",): 3, ("e",): 4, ("f",): 9, ("g",): 20}
    # Counts >= 3: [3, 3, 4, 9, 20]; their 10th percentile is 3 -> rare {c, d}; a, b are chance.
    assert rare_ngrams(counts, min_count=3) == {("c",), ("d",)}
    assert rare_ngrams(counts) == {("a",), ("b",)}  # the collapse lab's definition, unchanged
    assert rare_ngrams(counts, quantile=0.5, min_count=3) == {("c",), ("d",), ("e",)}
    assert rare_ngrams({("a",): 1}, min_count=3) == set()


def test_a_fair_split_of_chat_records_keeps_its_rare_ngrams() -> None:
    for seed in range(3):
        first, second = fair_split(instruction_records(400, seed=seed), seed=seed + 1)
        reference = [record_text(r) for r in second]
        synthetic = [record_text(r) for r in first]
        fair = rare_ngram_coverage(reference, synthetic)
        # Seen-once n-grams are chance at this size: a fair half covers about 0.6 of them.
        noise = rare_ngram_coverage(reference, synthetic, min_count=1)
        assert noise["coverage"] < 0.8
        assert fair["rare_reference"] >= 50 and fair["below_min_count"] > 100
        assert fair["coverage"] >= 0.85 and fair["lost"] is False
        low, high = fair["interval"]
        assert low <= fair["coverage"] <= high
        assert low <= fair["expected_coverage"] <= high + 0.05
        # A generator of as many records that never writes about law, tax, code or health
        # loses their rare phrases (same size, so the same expected coverage).
        pool = instruction_records(1200, seed=seed + 50)
        dropped = ("law", "tax", "code", "health")
        narrow = [record_text(r) for r in pool if r["meta"]["topic"] not in dropped][:200]
        lost = rare_ngram_coverage(reference, narrow)
        assert lost["expected_coverage"] == pytest.approx(fair["expected_coverage"], abs=0.02)
        assert lost["coverage"] < fair["coverage"] - 0.1
        # Flagged as lost where the loss is clear beyond the interval (seeds 1 and 2 drop to
        # about 0.5; seed 0's rare phrases are spread over topics and it keeps 0.82).
        assert lost["lost"] is (seed != 0)
        # A smaller fair sample is expected to cover less, and is not called lost for it.
        small = rare_ngram_coverage(reference, synthetic[:40])
        assert small["expected_coverage"] < fair["expected_coverage"] - 0.3
        assert small["lost"] is False


# --- rare clusters ------------------------------------------------------------------------------


def _blobs(rng: np.random.Generator, sizes: list[int], centres: np.ndarray) -> np.ndarray:
    return np.vstack(
        [
            c + rng.normal(scale=0.05, size=(s, centres.shape[1]))
            for s, c in zip(sizes, centres, strict=True)
        ]
    )


CENTRES = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])


def test_rare_cluster_coverage_by_hand() -> None:
    rng = np.random.default_rng(1)
    reference = _blobs(rng, [90, 60, 10], CENTRES)
    # 10% of 160 points is 16: the 10-point cluster is rare, adding the 60-point one is too many.
    with_tail = _blobs(rng, [60, 35, 5], CENTRES)
    result = rare_cluster_coverage(reference, with_tail, clusters=3)
    assert result["clusters"] == 3
    assert result["cluster_sizes_reference"] == [90, 60, 10]
    assert result["cluster_sizes_synthetic"] == [60, 35, 5]
    assert result["rare_clusters"] == [2]
    assert result["rare_reference_share"] == pytest.approx(10 / 160)
    assert result["rare_synthetic_share"] == pytest.approx(5 / 100)
    assert result["coverage"] == 1.0  # 0.05 >= 0.25 * 0.0625

    without_tail = _blobs(rng, [60, 40, 0], CENTRES)
    result = rare_cluster_coverage(reference, without_tail, clusters=3)
    assert (result["covered"], result["coverage"]) == (0, 0.0)
    # A trickle below min_ratio x the reference share does not count either: 0.01 < 0.0156.
    trickle = _blobs(rng, [60, 39, 1], CENTRES)
    assert rare_cluster_coverage(reference, trickle, clusters=3)["coverage"] == 0.0


def test_tail_dropping_sample_covers_fewer_rare_clusters_and_is_deterministic() -> None:
    rng = np.random.default_rng(2)
    centres = rng.normal(scale=8.0, size=(24, 8))
    weights = np.geomspace(1.0, 0.02, num=24)
    weights /= weights.sum()

    def sample(count: int, keep: int = 24) -> np.ndarray:
        w = weights.copy()
        w[keep:] = 0.0
        w /= w.sum()
        labels = rng.choice(24, size=count, p=w)
        return centres[labels] + rng.normal(size=(count, 8))

    reference, independent, collapsed = sample(2000), sample(2000), sample(2000, keep=16)
    fair = rare_cluster_coverage(reference, independent, seed=3)
    lost = rare_cluster_coverage(reference, collapsed, seed=3)
    assert fair["clusters"] == default_cluster_count(2000) == 32
    assert len(fair["rare_clusters"]) >= 3
    assert fair["coverage"] >= 0.75
    assert lost["coverage"] <= 0.5 * fair["coverage"]
    assert rare_cluster_coverage(reference, collapsed, seed=3) == lost


def test_large_reference_is_fitted_on_a_sample_but_every_point_is_assigned() -> None:
    rng = np.random.default_rng(6)
    sizes = [MAX_FIT_POINTS // 2, MAX_FIT_POINTS // 2, 150]
    reference = _blobs(rng, sizes, CENTRES)
    synthetic = _blobs(rng, [500, 500, 0], CENTRES)
    result = rare_cluster_coverage(reference, synthetic, clusters=3)
    assert result["cluster_sizes_reference"] == sizes
    assert result["cluster_sizes_synthetic"] == [500, 500, 0]
    assert result["rare_clusters"] == [2] and result["coverage"] == 0.0


def test_default_cluster_count_is_bounded() -> None:
    assert default_cluster_count(4) == 2
    assert default_cluster_count(200) == 10
    assert default_cluster_count(10**6) == 50


@pytest.mark.parametrize(
    ("reference", "synthetic", "message"),
    [
        pytest.param(
            np.empty((0, 3)), np.ones((4, 3)), "reference embeddings are empty", id="empty"
        ),
        pytest.param(np.ones((5, 3)), np.ones((4, 2)), "3 dimensions", id="dim-mismatch"),
        pytest.param(np.full((5, 3), np.nan), np.ones((4, 3)), "NaN", id="nan"),
        pytest.param(np.ones((5, 3)), np.ones((4, 3)), "all identical", id="constant"),
        pytest.param(np.ones(5), np.ones((4, 1)), "2-D", id="vector"),
        pytest.param([["a", "b"]], np.ones((4, 2)), "not a numeric", id="strings"),
    ],
)
def test_rare_cluster_bad_input_gives_errors(
    reference: object, synthetic: object, message: str
) -> None:
    result = rare_cluster_coverage(reference, synthetic)
    assert result["coverage"] is None
    assert message in result["error"]


def test_fewer_distinct_points_than_clusters_still_works() -> None:
    reference = np.array([[0.0], [0.0], [1.0], [1.0], [5.0]])
    result = rare_cluster_coverage(reference, np.array([[0.0], [1.0]]), clusters=10)
    assert result["clusters"] == 3
    assert result["cluster_sizes_reference"] == [2, 2, 1]
    assert result["rare_clusters"] == [2] and result["coverage"] == 0.0


# --- numeric tails ------------------------------------------------------------------------------


def test_numeric_tails_by_hand() -> None:
    reference = pd.DataFrame({"x": np.arange(1, 21, dtype=float)})
    # np.quantile with linear interpolation: position 0.05 * 19 = 0.95 -> 1 + 0.95 = 1.95;
    # 0.95 * 19 = 18.05 -> 19.05. Strictly beyond: {1} and {20}, 1/20 each.
    synthetic = pd.DataFrame({"x": [1.0, 5.0, 10.0, 15.0]})
    result = numeric_tail_coverage(reference, synthetic, ["x"])
    column = result["columns"]["x"]
    assert column["lower_cut"] == pytest.approx(1.95)
    assert column["upper_cut"] == pytest.approx(19.05)
    assert column["reference_tail_share"] == pytest.approx(0.10)
    assert column["synthetic_tail_share"] == pytest.approx(0.25)
    # The lower tail is over-full (1/4 against 1/20) and the upper one empty: the column's
    # headline is the lost upper tail, not the sum of both (0.25 / 0.10 -> 1.0).
    assert column["lower_coverage"] == 1.0 and column["upper_coverage"] == 0.0
    assert column["coverage"] == 0.0
    assert column["reference_lower_share"] == pytest.approx(0.05)
    assert column["reference_upper_share"] == pytest.approx(0.05)
    assert column["synthetic_lower_share"] == pytest.approx(0.25)
    assert column["synthetic_upper_share"] == 0.0
    half = numeric_tail_coverage(reference, pd.DataFrame({"x": [2.0] * 19 + [25.0]}), ["x"])
    assert half["columns"]["x"]["upper_coverage"] == 1.0  # 1/20 against 1/20
    assert half["columns"]["x"]["lower_coverage"] == 0.0
    assert half["columns"]["x"]["coverage"] == 0.0
    assert half["mean_coverage"] == 0.0


def test_upper_tail_lost_behind_inflated_lower_tail_shows() -> None:
    rng = np.random.default_rng(11)
    reference = pd.DataFrame({"chars": rng.lognormal(6.0, 0.6, size=2000)})
    # A generator that writes short answers far more often and never a long one: the two
    # tails together hold about as much mass as the reference's, but the upper one is gone.
    low, high = np.quantile(reference["chars"], [0.05, 0.95])
    body = rng.lognormal(6.0, 0.6, size=2000)
    body = body[(body > low) & (body < high)][:1800]
    shorts = rng.uniform(low * 0.5, low * 0.99, size=200)
    synthetic = pd.DataFrame({"chars": np.concatenate([body, shorts])})
    column = numeric_tail_coverage(reference, synthetic, ["chars"])["columns"]["chars"]
    assert column["synthetic_tail_share"] >= column["reference_tail_share"]
    assert column["lower_coverage"] == 1.0
    assert column["upper_coverage"] == 0.0
    assert column["coverage"] == 0.0


def test_clipped_sample_loses_the_tails_and_a_fair_one_keeps_them() -> None:
    rng = np.random.default_rng(4)
    reference = pd.DataFrame({"v": rng.normal(size=5000), "w": rng.exponential(size=5000)})
    fair = pd.DataFrame({"v": rng.normal(size=5000), "w": rng.exponential(size=5000)})
    clipped = fair.copy()
    for column in clipped:
        low, high = np.quantile(reference[column], [0.10, 0.90])
        clipped[column] = clipped[column].clip(low, high)
    fair_result = numeric_tail_coverage(reference, fair, ["v", "w"])
    clipped_result = numeric_tail_coverage(reference, clipped, ["v", "w"])
    assert fair_result["mean_coverage"] >= 0.85
    assert clipped_result["mean_coverage"] == 0.0
    for column in ("v", "w"):
        assert fair_result["columns"][column]["reference_tail_share"] == pytest.approx(
            0.10, abs=0.001
        )


def test_numeric_tails_handle_dates() -> None:
    days = pd.date_range("2024-01-01", periods=20, freq="D")
    reference = pd.DataFrame({"when": days})
    synthetic = pd.DataFrame({"when": days[[0, 5, 10, 19]]})
    column = numeric_tail_coverage(reference, synthetic, ["when"])["columns"]["when"]
    assert column["reference_tail_share"] == pytest.approx(0.10)
    assert column["synthetic_tail_share"] == pytest.approx(0.5)
    # The 5th percentile of 20 daily dates lies 0.95 days (22 h 48 min) after the first one.
    assert column["lower_cut"] == "2024-01-01T22:48:00"


def test_numeric_tails_bad_columns_are_item_errors() -> None:
    reference = pd.DataFrame(
        {
            "ok": np.arange(20.0),
            "nan": [np.nan] * 20,
            "constant": [3.0] * 20,
            "text": ["a"] * 20,
            "flag": [True, False] * 10,
            "binary": [0, 1] * 10,
        }
    )
    synthetic = reference.copy()
    synthetic["ok"] = np.nan
    columns = ["ok", "nan", "constant", "text", "flag", "binary", "absent"]
    result = numeric_tail_coverage(reference, synthetic, columns)
    errors = {c: result["columns"][c]["error"] for c in columns}
    assert "synthetic column has no values" in errors["ok"]
    assert "fewer than 2 values" in errors["nan"]
    assert "constant" in errors["constant"]
    assert "not numeric" in errors["text"]
    assert "boolean" in errors["flag"]
    assert "too few distinct values" in errors["binary"]
    assert "not in the reference" in errors["absent"]
    assert result["mean_coverage"] is None
    with pytest.raises(InputError, match="lower"):
        numeric_tail_coverage(reference, synthetic, ["ok"], lower=0.9, upper=0.1)


# --- rare categories ----------------------------------------------------------------------------


def test_rare_categories_by_hand() -> None:
    counts = {"a": 50, "b": 30, "c": 10, "d": 4, "e": 3, "f": 2, "g": 2, "h": 1, "i": 1, "j": 1}
    reference = pd.DataFrame({"k": [c for c, n in counts.items() for _ in range(n)]})
    # sorted counts [1,1,1,2,2,3,4,10,30,50]; 10th percentile at position 0.9 -> 1 + 0.9*0 = 1,
    # so the rare categories are h, i, j.
    synthetic = pd.DataFrame({"k": ["a", "b", "h", "z", None]})
    result = rare_category_coverage(reference, synthetic, ["k"])
    column = result["columns"]["k"]
    assert column["categories"] == 10 and column["rare_cutoff"] == 1.0
    assert column["rare_reference"] == 3 and column["covered"] == 1
    assert column["coverage"] == pytest.approx(1 / 3)
    assert column["missing"] == ["i", "j"]
    # A higher quantile: the 40th percentile sits at position 3.6 -> 2 + 0.6 * 0 = 2.
    wider = rare_category_coverage(reference, synthetic, ["k"], quantile=0.4)["columns"]["k"]
    assert wider["rare_cutoff"] == 2.0 and wider["rare_reference"] == 5


def test_dropping_rare_categories_lowers_coverage() -> None:
    rng = np.random.default_rng(5)
    levels = np.arange(300)
    weights = 1.0 / (levels + 1.0) ** 1.2
    weights /= weights.sum()
    reference = pd.DataFrame({"c": rng.choice(levels, size=4000, p=weights)})
    fair = pd.DataFrame({"c": rng.choice(levels, size=4000, p=weights)})
    top = weights.copy()
    top[60:] = 0.0
    collapsed = pd.DataFrame({"c": rng.choice(levels, size=4000, p=top / top.sum())})
    fair_cov = rare_category_coverage(reference, fair, ["c"])["mean_coverage"]
    lost_cov = rare_category_coverage(reference, collapsed, ["c"])["mean_coverage"]
    assert lost_cov == 0.0
    assert fair_cov > 0.2


def test_rare_categories_bad_columns_are_item_errors() -> None:
    reference = pd.DataFrame({"empty": [None, None], "ok": ["a", "b"], "num": [1, 2]})
    synthetic = pd.DataFrame({"empty": ["a", "b"], "ok": [None, None], "num": ["1", "3"]})
    result = rare_category_coverage(reference, synthetic, ["empty", "ok", "num", "nope"])
    assert "reference column has no values" in result["columns"]["empty"]["error"]
    assert "synthetic column has no values" in result["columns"]["ok"]["error"]
    assert "not in the reference" in result["columns"]["nope"]["error"]
    # 1 (int) in the reference and "1" (text) in the synthetic data are the same category.
    assert result["columns"]["num"]["coverage"] == 0.5
    assert result["mean_coverage"] == 0.5


def test_wilson_interval_by_hand() -> None:
    # 5 of 200: p = 0.025; Wilson 95% bounds 0.0107 and 0.0572 (textbook formula).
    low, high = wilson_interval(5, 200)
    assert low == pytest.approx(0.01072, abs=1e-4) and high == pytest.approx(0.05717, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(0, 50)[0] == pytest.approx(0.0, abs=1e-12)


def test_fair_split_loses_no_tail_and_a_dropped_tail_is_lost() -> None:
    rng = np.random.default_rng(5)
    # Response lengths of 400 answers, split at random: each tail holds about 10 values a side,
    # so one side can show 5 where the other shows 10 by chance alone.
    lengths = pd.DataFrame({"chars": rng.lognormal(5.5, 0.5, size=400).round()})
    shuffled = lengths.sample(frac=1.0, random_state=3).reset_index(drop=True)
    first, second = shuffled.iloc[:200], shuffled.iloc[200:]
    fair = numeric_tail_coverage(first, second, ["chars"])
    assert fair["lost"] == []
    item = fair["columns"]["chars"]
    assert item["lower_lost"] is False and item["upper_lost"] is False
    cut = float(np.quantile(first["chars"], 0.95))
    dropped = numeric_tail_coverage(first, second[second["chars"] <= cut], ["chars"])
    assert dropped["lost"] == ["chars (upper)"]
    assert dropped["columns"]["chars"]["upper_coverage"] == 0.0
