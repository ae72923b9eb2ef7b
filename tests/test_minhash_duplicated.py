"""near_duplicated against near_duplicate_clusters' flags, and the copy groups it starts from."""

from __future__ import annotations

import random
from collections import defaultdict

import numpy as np
import pyarrow as pa
import pytest

from synthloom.assay.instruction_data import TextColumn
from synthloom.minhash import (
    NearDuplicateSettings,
    copy_groups,
    near_duplicate_clusters,
    near_duplicated,
)
from synthloom.text import tokenize
from tests.messy_texts import WORDS, OnlySlices, messy_texts
from tests.test_minhash import _planted_corpus

MESSY = messy_texts(700, seed=21)


def _templated(seed: int) -> list[str]:
    """What a teacher with one favourite template writes: hundreds of answers that differ in a
    word or two, many exact copies, and some free prose among them."""
    rng = random.Random(seed)
    topics = ["the invoice", "your order", "the refund", "the delivery", "your account"]
    texts = []
    for _ in range(900):
        kind = rng.random()
        if kind < 0.6:
            texts.append(
                f"Thank you for reaching out about {rng.choice(topics)}. I have checked it and "
                f"everything looks fine; it should arrive within {rng.randint(2, 4)} working days. "
                "Let me know if there is anything else I can help with."
            )
        elif kind < 0.75 and texts:
            texts.append(rng.choice(texts))
        else:
            start = rng.randrange(len(WORDS) - 80)
            texts.append(" ".join(WORDS[start : start + rng.randint(20, 80)]))
    return texts


@pytest.mark.parametrize(
    ("texts", "options"),
    [
        pytest.param(MESSY, {}, id="messy-char-5"),
        pytest.param(MESSY, {"kind": "word", "n": 2, "threshold": 0.5}, id="messy-word-2"),
        pytest.param(
            _planted_corpus()[0], {"kind": "word", "n": 1, "threshold": 0.7}, id="planted"
        ),
        pytest.param(_templated(1), {}, id="templated"),
        pytest.param(_templated(2), {"threshold": 0.9, "num_perm": 64}, id="templated-0.9"),
        pytest.param(["", " ", "x", "X ", "x", "y"], {}, id="tiny"),
        pytest.param([], {}, id="nothing"),
    ],
)
def test_flags_equal_those_of_the_clusters(texts: list[str], options: dict) -> None:
    expected = near_duplicate_clusters(texts, **options).duplicated
    flags = near_duplicated(OnlySlices(texts, items_too=True), NearDuplicateSettings(**options))
    assert flags.dtype == bool and flags.shape == (len(texts),)
    np.testing.assert_array_equal(flags, expected)


def test_tiny_blocks_and_cache_give_the_same_flags() -> None:
    texts = _templated(3)
    expected = near_duplicated(texts)
    # Every pair its own block, and a cache that is emptied at nearly every block.
    small = near_duplicated(texts, None, block_chars=1, cache_shingles=300, chunk_docs=97)
    np.testing.assert_array_equal(small, expected)
    assert expected.mean() > 0.5  # the template's answers are found


def test_an_arrow_column_gives_the_same_flags_through_take() -> None:
    # The assay's texts are Arrow-backed columns; verification fetches the texts it shingles
    # with one take() a block instead of one item at a time.
    texts = _templated(4)
    column = TextColumn([pa.array(part, pa.large_string()) for part in (texts[:500], texts[500:])])
    taken: list[int] = []
    original = column.take

    def counted_take(indices: np.ndarray) -> list[str]:
        taken.append(len(indices))
        return original(indices)

    column.take = counted_take  # type: ignore[method-assign,assignment]
    small_cache = {"block_chars": 5_000, "cache_shingles": 2_000}
    flags = near_duplicated(column, None, **small_cache)
    np.testing.assert_array_equal(flags, near_duplicated(texts, None, **small_cache))
    assert taken and sum(taken) > len(taken)  # several texts a call


def test_buckets_oversized_by_copies_are_compared_in_full() -> None:
    """near_duplicate_clusters compares a bucket of more than max_bucket_size texts with its
    first text only; copies no longer count towards that size, so nothing it flags is lost and
    pairs it skipped can be found."""
    texts = _templated(4)
    for size in (2, 5, 40):
        old = near_duplicate_clusters(texts, max_bucket_size=size).duplicated
        new = near_duplicated(texts, NearDuplicateSettings(max_bucket_size=size))
        assert np.all(new[old])
    assert np.array_equal(
        near_duplicated(texts, NearDuplicateSettings(max_bucket_size=100_000)),
        near_duplicate_clusters(texts, max_bucket_size=100_000).duplicated,
    )


@pytest.mark.parametrize("kind", ["char", "word"])
def test_copy_groups_are_the_texts_with_one_normalised_text(kind: str) -> None:
    texts = [*MESSY, "", "  ", "\ud83d", "\ud83d"]
    groups = copy_groups(OnlySlices(texts), kind, chunk=64)
    by_text: dict[str, list[int]] = defaultdict(list)
    for i, text in enumerate(texts):
        key = " ".join(text.lower().split()) if kind == "char" else " ".join(tokenize(text))
        by_text[key].append(i)
    members = by_text.pop("")
    assert all(groups.group_of[i] == -1 for i in members)
    expected = sorted(by_text.values())  # groups in the order of their first text
    assert groups.first.tolist() == [m[0] for m in expected]
    assert groups.size.tolist() == [len(m) for m in expected]
    for number, group in enumerate(expected):
        assert groups.group_of[group].tolist() == [number] * len(group)
    assert groups.length.tolist() == [
        len(key) for key in sorted(by_text, key=lambda k: by_text[k][0])
    ]


def test_each_text_is_shingled_once_when_the_cache_holds_them_all() -> None:
    # Verification goes neighbour pairs first, in one order of small bandwidth for all bands,
    # then the other pairs bucket by bucket: with room for every set, no text is shingled
    # twice, however many bands and rounds meet it.
    from synthloom.minhash.duplicated import _group_band_keys, _PairChecker

    texts = [*_templated(5), *MESSY]
    settings = NearDuplicateSettings()
    groups = copy_groups(texts)
    keys = _group_band_keys(texts, groups, settings, 20_000)
    checker = _PairChecker(texts, groups, settings, block_chars=5_000, cache_shingles=1 << 24)
    checker.settle_neighbours(keys)
    checker.settle_rest(keys)
    assert 0 < checker.shingled <= groups.first.size
    flags = checker.known[groups.group_of[groups.group_of >= 0]]
    expected = near_duplicate_clusters(texts).duplicated[groups.group_of >= 0]
    np.testing.assert_array_equal(flags, expected)


def test_buckets_are_merged_across_bands_only_when_their_groups_are_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same bucket in several bands is settled once: found by a fingerprint of its groups,
    # confirmed by the groups themselves. Two buckets of three that share their first group
    # and, here, a fingerprint (every fingerprint made 0) must both be settled: only the
    # second holds the pair two places apart that makes the last text a near-duplicate.
    import synthloom.minhash.duplicated as duplicated

    base = " ".join(WORDS[100:160])
    texts = [
        base,
        " ".join(WORDS[300:360]),
        " ".join(WORDS[500:560]),
        " ".join(WORDS[700:760]),
        base.replace(WORDS[130], "changed", 1),
    ]
    settings = NearDuplicateSettings()
    groups = copy_groups(texts)
    assert groups.first.size == 5
    # Band 0: texts 0, 1, 2 share a bucket; band 1: texts 0, 3, 4. Neighbours first: (0, 1),
    # (1, 2), (0, 3), (3, 4) are all unrelated; (0, 2) and (0, 4) are left for the rounds.
    keys = np.array([[7, 7, 7, 8, 9], [5, 1, 2, 5, 5]], dtype=np.uint64)
    checker = duplicated._PairChecker(texts, groups, settings, 1 << 20, 1 << 20)
    checker.settle_neighbours(keys)
    assert not checker.known.any()
    checker.place = np.arange(5, dtype=np.int64)  # text 0 first in both buckets
    monkeypatch.setattr(duplicated, "mix64", lambda values: np.zeros_like(values))
    checker.settle_rest(keys)
    assert checker.known.tolist() == [True, False, False, False, True]
