"""MinHash + LSH: planted near-duplicates at known Jaccard similarities, checked exactly."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from datasketch.lsh import _optimal_param

from synthloom.errors import ConfigError
from synthloom.minhash import (
    MinHasher,
    band_keys,
    candidate_pairs,
    estimate_jaccard,
    jaccard,
    lsh_bands,
    lsh_params,
    near_duplicate_clusters,
    pair_jaccard,
    pair_similarities,
    shard_band_keys,
    shingle_hash_sets,
    shingle_hashes,
)
from synthloom.text import tokenize


def _planted_corpus(seed: int = 0) -> tuple[list[str], list[float]]:
    """Pairs of 60-token texts whose token sets have known Jaccard similarities, plus noise.

    Replacing m of a text's 60 distinct tokens with fresh ones gives Jaccard (60 - m) / (60 + m).
    """
    rng = np.random.default_rng(seed)
    counter = itertools.count()

    def fresh(k: int) -> list[str]:
        return [f"w{next(counter)}" for _ in range(k)]

    texts: list[str] = []
    planted: list[float] = []
    for m in [0, 1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 30, 45]:
        for _ in range(6):
            base = fresh(60)
            variant = list(base)
            for pos in rng.choice(60, size=m, replace=False):
                variant[pos] = fresh(1)[0]
            texts += [" ".join(base), " ".join(variant)]
            planted.append((60 - m) / (60 + m))
    texts += [" ".join(fresh(60)) for _ in range(100)]
    return texts, planted


def _exact_pairs(texts: list[str], threshold: float) -> set[tuple[int, int]]:
    sets = [set(tokenize(t)) for t in texts]
    found = set()
    for i, j in itertools.combinations(range(len(sets)), 2):
        union = len(sets[i] | sets[j])
        if union and len(sets[i] & sets[j]) / union >= threshold:
            found.add((i, j))
    return found


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9])
@pytest.mark.parametrize("num_perm", [64, 128, 256])
def test_lsh_params_agree_with_datasketch(threshold: float, num_perm: int) -> None:
    assert lsh_params(threshold, num_perm) == _optimal_param(threshold, num_perm, 0.5, 0.5)


def test_lsh_params_rejects_bad_threshold() -> None:
    with pytest.raises(ConfigError, match="threshold"):
        lsh_params(1.5, 128)


def test_word_shingles_of_size_one_are_the_token_set() -> None:
    text = "The cat sat on the mat, the cat."
    assert shingle_hashes(text, kind="word", n=1).size == len(set(tokenize(text)))


def test_char_shingles_ignore_case_and_whitespace_runs() -> None:
    a = shingle_hashes("Hello   World\n again")
    b = shingle_hashes("hello world again")
    assert np.array_equal(a, b)
    assert a.size == len("hello world again") - 5 + 1
    assert np.all(a[1:] > a[:-1])  # sorted and unique


def test_short_and_empty_texts() -> None:
    assert shingle_hashes("abc", n=5).size == 1
    assert shingle_hashes("   ", n=5).size == 0
    # A short text is not the same shingle as a longer text's first window.
    assert not np.array_equal(shingle_hashes("abcd", n=5), shingle_hashes("abcdefgh", n=5)[:1])


def test_batched_shingles_match_single_text_shingles() -> None:
    texts = ["", "a short one", "x", "Another, longer text with words in it.", "   ", "ab cd"]
    for kind in ("char", "word"):
        batched = shingle_hash_sets(texts, kind=kind, n=3)
        for text, got in zip(texts, batched, strict=True):
            assert np.array_equal(got, shingle_hashes(text, kind=kind, n=3))


def test_unknown_shingle_kind() -> None:
    with pytest.raises(ConfigError, match="'char' or 'word'"):
        shingle_hashes("text", kind="byte")  # type: ignore[arg-type]


def test_pair_jaccard_matches_exact_jaccard() -> None:
    texts, _ = _planted_corpus()
    sets = shingle_hash_sets(texts[:40], kind="word", n=1)
    pairs = np.array(list(itertools.combinations(range(40), 2)))
    fast = pair_jaccard(sets, pairs, chunk_values=500)  # small chunks exercise the chunking
    slow = np.array([jaccard(sets[i], sets[j]) for i, j in pairs])
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)
    token_sets = [set(tokenize(t)) for t in texts[:40]]
    for (i, j), value in zip(pairs[:50], fast[:50], strict=True):
        expected = len(token_sets[i] & token_sets[j]) / len(token_sets[i] | token_sets[j])
        assert value == pytest.approx(expected)


def test_estimated_jaccard_within_expected_error() -> None:
    texts, planted = _planted_corpus()
    num_perm = 256
    sig = MinHasher(num_perm, seed=3).signatures_of_texts(texts, kind="word", n=1)
    errors = []
    for k, true_j in enumerate(planted):
        est = estimate_jaccard(sig[2 * k], sig[2 * k + 1])
        sd = math.sqrt(true_j * (1 - true_j) / num_perm)
        assert abs(est - true_j) <= 5 * sd + 1e-12
        errors.append((est - true_j) / max(sd, 1e-9))
    # Unbiased: the standardised errors average near zero.
    assert abs(float(np.mean(errors))) < 0.5


def test_signatures_do_not_depend_on_block_size() -> None:
    sets = shingle_hash_sets(["some text here", "", "other words entirely", "x" * 300])
    wide = MinHasher(64, seed=1).signatures(sets)
    narrow = MinHasher(64, seed=1, block_bytes=8 * 64 * 7).signatures(sets)
    assert np.array_equal(wide, narrow)
    assert np.all(wide[1] == np.iinfo(np.uint32).max)  # the empty document
    # A signature slot is the minimum of that hash over the document's shingles.
    assert np.all(wide[0] <= MinHasher(64, seed=1).signatures([sets[0][:3]])[0])


@pytest.mark.parametrize(("kind", "n"), [("char", 5), ("char", 1), ("word", 3)])
def test_signatures_of_texts_equal_signatures_of_their_shingle_sets(kind: str, n: int) -> None:
    # signatures_of_texts skips the per-text sort and dedup (a minimum does not need them):
    # it must give exactly the signatures of the deduplicated sets, short and empty texts too.
    texts, _ = _planted_corpus(3)
    texts = [*texts[:40], "", "a", "ab", "abcd", "   ", "x y", "ab", "a a a a a a a", *texts[40:80]]
    hasher = MinHasher(128, seed=5, block_bytes=8 * 16 * 997)
    sets = shingle_hash_sets(texts, kind=kind, n=n)  # type: ignore[arg-type]
    direct = hasher.signatures_of_texts(texts, kind=kind, n=n)  # type: ignore[arg-type]
    assert np.array_equal(direct, hasher.signatures(sets))
    empty = [i for i, t in enumerate(texts) if not t.strip()]
    assert empty and np.all(direct[empty] == np.iinfo(np.uint32).max)


def test_signatures_are_deterministic_for_a_seed() -> None:
    texts, _ = _planted_corpus()
    a = MinHasher(128, seed=7).signatures_of_texts(texts[:30])
    b = MinHasher(128, seed=7).signatures_of_texts(texts[:30])
    c = MinHasher(128, seed=8).signatures_of_texts(texts[:30])
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("threshold", [0.6, 0.8, 0.9])
def test_planted_near_duplicates_recall_and_precision(threshold: float) -> None:
    texts, _ = _planted_corpus()
    truth = _exact_pairs(texts, threshold)
    assert truth  # the corpus has pairs above every threshold tested
    result = near_duplicate_clusters(texts, threshold=threshold, kind="word", n=1, seed=0)
    found = {(int(i), int(j)) for i, j in result.pairs}
    recall = len(found & truth) / len(truth)
    precision = len(found & truth) / max(len(found), 1)
    assert recall >= 0.95
    assert precision == 1.0  # every reported pair is verified by exact Jaccard
    assert np.all(result.similarities >= threshold)
    # Clusters: both members of a found pair share the label of the smaller index.
    for i, j in found:
        assert result.labels[i] == result.labels[j] == min(result.labels[i], i)
    assert result.duplicated.sum() == len({i for pair in found for i in pair})


def test_clusters_are_deterministic() -> None:
    texts, _ = _planted_corpus()
    a = near_duplicate_clusters(texts, threshold=0.8, seed=5)
    b = near_duplicate_clusters(texts, threshold=0.8, seed=5)
    assert np.array_equal(a.pairs, b.pairs)
    assert np.array_equal(a.labels, b.labels)


def test_big_bucket_of_copies_forms_one_cluster() -> None:
    texts = ["the very same sentence, copied many times"] * 300 + ["something else"] + [""] * 5
    result = near_duplicate_clusters(texts, threshold=0.8, max_bucket_size=50)
    assert np.all(result.labels[:300] == 0)
    assert result.labels[300] == 300
    # Empty texts are never near-duplicates of each other.
    assert list(result.labels[301:]) == [301, 302, 303, 304, 305]
    # A star, not 300 * 299 / 2 pairs.
    assert len(result.pairs) < 300 * 5


def test_candidate_pairs_match_band_collisions() -> None:
    texts, _ = _planted_corpus()
    sig = MinHasher(128, seed=0).signatures_of_texts(texts[:60], kind="word", n=1)
    bands, rows = lsh_params(0.7, 128)
    pairs = {(int(i), int(j)) for i, j in candidate_pairs(sig, bands, rows)}
    keys = band_keys(sig, bands, rows)
    expected = set()
    for i, j in itertools.combinations(range(60), 2):
        same_band = np.any(
            np.all(
                sig[i, : bands * rows].reshape(bands, rows)
                == sig[j, : bands * rows].reshape(bands, rows),
                axis=1,
            )
        )
        if same_band:
            expected.add((i, j))
            assert np.any(keys[i] == keys[j])
    assert pairs == expected


def test_phase_functions_do_not_depend_on_how_the_corpus_is_cut() -> None:
    """The Ray dedup runs these phases on slices of the corpus: whole or cut, same answer."""
    texts, _ = _planted_corpus(seed=4)
    texts[7] = "   \n "  # no shingles: never a candidate
    texts[150] = ""
    bands, rows = lsh_bands(0.7, 64, 0.95)
    assert (bands, rows) == lsh_params(
        0.7, 64, false_positive_weight=0.05, false_negative_weight=0.95
    )
    hasher = MinHasher(64, seed=2)
    whole_keys, whole_empty = shard_band_keys(texts, hasher, "word", 2, bands, rows)
    assert whole_keys.shape == (len(texts), bands)
    assert whole_empty.tolist() == [7, 150]
    slices = list(itertools.pairwise([0, 5, 151, 152, 152, 200, len(texts)]))  # one empty
    parts = [shard_band_keys(texts[a:b], hasher, "word", 2, bands, rows) for a, b in slices]
    np.testing.assert_array_equal(np.concatenate([k for k, _ in parts]), whole_keys)
    empties = [a + e for (a, _), (_, e) in zip(slices, parts, strict=True)]
    assert np.concatenate(empties).tolist() == [7, 150]

    pairs = np.array([[0, 1], [2, 3], [0, 2], [7, 150], [40, 41]])
    sets = shingle_hash_sets(texts, kind="word", n=2)
    np.testing.assert_allclose(
        pair_similarities(texts, pairs, "word", 2), pair_jaccard(sets, pairs)
    )


@pytest.mark.parametrize("weight", [pytest.param(0.0, id="zero"), pytest.param(1.0, id="one")])
def test_lsh_bands_rejects_a_weight_outside_the_open_interval(weight: float) -> None:
    with pytest.raises(ConfigError, match="false_negative_weight must be in"):
        lsh_bands(0.8, 128, weight)
