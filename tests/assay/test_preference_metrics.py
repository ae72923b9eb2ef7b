"""The preference numbers one by one: intervals against scipy, edit distance against the
textbook recurrence, refusals and markdown markers on answers as assistants write them."""

from __future__ import annotations

import random

import pytest
from scipy import stats

from synthloom.assay.preference.markers import format_markers, is_empty, is_refusal
from synthloom.assay.preference.metrics import (
    edit_similarity,
    length_bias,
    margins,
    prompt_counts,
    side_by_side_similarity,
)
from synthloom.assay.preference.pairs import PreferencePair


@pytest.mark.parametrize(
    ("successes", "trials"),
    [
        pytest.param(31, 36, id="biased"),
        pytest.param(20, 40, id="half"),
        pytest.param(0, 12, id="none"),
        pytest.param(12, 12, id="all"),
        pytest.param(1, 1, id="one-trial"),
        pytest.param(523, 1000, id="large"),
    ],
)
def test_length_share_interval_and_test_agree_with_scipy(successes: int, trials: int) -> None:
    # `successes` pairs with the chosen answer longer, the rest with the rejected one longer.
    chosen = [30] * successes + [10] * (trials - successes)
    rejected = [10] * successes + [30] * (trials - successes)
    result = length_bias(chosen, rejected)
    test = stats.binomtest(successes, trials)
    interval = test.proportion_ci(0.95, method="wilson")
    assert result["chosen_longer_share"] == pytest.approx(successes / trials)
    assert result["chosen_longer_ci_low"] == pytest.approx(interval.low, abs=1e-9)
    assert result["chosen_longer_ci_high"] == pytest.approx(interval.high, abs=1e-9)
    assert result["chosen_longer_p_value"] == pytest.approx(test.pvalue)


def test_a_set_of_equal_lengths_has_no_share() -> None:
    result = length_bias([12, 40], [12, 40])
    assert result["equal"] == 2
    assert result["chosen_longer_share"] is None and not result["flagged"]


def _levenshtein(a: list[str], b: list[str]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        previous, row[0] = row[:], i
        for j, y in enumerate(b, start=1):
            row[j] = min(previous[j - 1] + (x != y), previous[j] + 1, row[j - 1] + 1)
    return row[-1]


def test_edit_similarity_matches_the_recurrence() -> None:
    rng = random.Random(7)
    words = ["the", "a", "model", "answer", "longer", "shorter", "reward"]
    for _ in range(400):
        a = [rng.choice(words) for _ in range(rng.randint(0, 14))]
        b = [rng.choice(words) for _ in range(rng.randint(0, 14))]
        expected = 1.0 if not a and not b else 1 - _levenshtein(a, b) / max(len(a), len(b))
        assert edit_similarity(a, b) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        pytest.param("I'm sorry, but I can't help with creating malware.", True, id="sorry"),
        pytest.param("I’m really sorry, but I won’t write that.", True, id="curly-quotes"),
        pytest.param("I cannot provide medical dosing advice for a child.", True, id="cannot"),
        pytest.param(
            "As an AI language model, I don't have personal opinions on elections.",
            True,
            id="as-an-ai",
        ),
        pytest.param(
            "Thanks for asking. Unfortunately, I am unable to access your bank account.",
            True,
            id="second-sentence",
        ),
        pytest.param(
            "I apologise, but I must decline to share someone's home address.", True, id="apologise"
        ),
        pytest.param(
            "I can't stress enough how much a soil test helps before you plant tomatoes.",
            False,
            id="cant-stress",
        ),
        pytest.param(
            "Sure! Preheat the oven to 220°C, then score the loaf before it goes in.",
            False,
            id="helpful",
        ),
        pytest.param(
            "Start with the lease itself. "
            + "The landlord must give notice in writing before any rent increase. " * 8
            + "I cannot help with anything beyond that.",
            False,
            id="late-decline-is-not-an-opening",
        ),
    ],
)
def test_refusals(text: str, refusal: bool) -> None:
    assert is_refusal(text) is refusal


def test_empty_answers() -> None:
    assert is_empty("") and is_empty(" \n\t ") and not is_empty("No.")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        pytest.param("Steps:\n- wash the jars\n- fill them hot", {"bullet_list"}, id="dashes"),
        pytest.param("1. Mix the flour\n2) Rest the dough", {"numbered_list"}, id="numbered"),
        pytest.param("Run:\n```bash\npip install x\n```", {"code_block"}, id="fence"),
        pytest.param("## Summary\nIt works.", {"header"}, id="header"),
        pytest.param("This is **very** important.", {"bold"}, id="bold"),
        pytest.param("| name | size |\n|------|-----:|\n| a | 1 |", {"table"}, id="table"),
        pytest.param(
            "Define __init__ and call it with 3 - 1 arguments; #hashtags are not headers.",
            set(),
            id="plain-python-prose",
        ),
    ],
)
def test_format_markers(text: str, found: set[str]) -> None:
    assert {name for name, on in format_markers(text).items() if on} == found


def test_length_bins_put_each_pair_where_its_ratio_falls() -> None:
    # ratios (longer+1)/(shorter+1): 1.0 (equal, in no bin), 1.1, 2.1, 4.1, 1.25
    result = length_bias([10, 10, 20, 9, 3], [10, 9, 9, 40, 4])
    assert (result["chosen_longer"], result["rejected_longer"], result["equal"]) == (2, 2, 1)
    by_low = {b["low"]: (b["pairs"], b["chosen_longer"]) for b in result["bins"]}
    assert by_low == {1.0: (0, 0), 1.1: (2, 1), 1.5: (0, 0), 2.0: (1, 1), 3.0: (1, 0)}
    assert result["chosen_longer_p_value"] == pytest.approx(stats.binomtest(2, 4).pvalue)


def _pair(
    margin: float | None, chosen: float | None = None, rejected: float | None = None
) -> PreferencePair:
    return PreferencePair(
        where="x.jsonl:1",
        prompt=[{"role": "user", "content": "q"}],
        chosen=[{"role": "assistant", "content": "a"}],
        rejected=[{"role": "assistant", "content": "b"}],
        chosen_score=chosen,
        rejected_score=rejected,
        margin=margin,
    )


def test_margins_threshold_ties_and_inverted_pairs() -> None:
    pairs = [
        _pair(3.0, 4.0, 1.0),
        _pair(0.0, 2.0, 2.0),
        _pair(0.1, 2.1, 2.0),  # below 5% of the range (4.0 - 0.0): low, not a tie
        _pair(-1.0, 0.0, 1.0),
        _pair(None),
    ]
    result = margins(pairs)
    assert result is not None
    assert result["pairs_with_margin"] == 4
    assert result["scale"] == pytest.approx(4.0)
    assert result["low_threshold"] == pytest.approx(0.2)
    assert (result["low"], result["ties"], result["inverted"]) == (3, 1, 1)
    assert result["flagged"]
    assert margins([_pair(None)]) is None


def test_similarity_counts_identical_and_near_identical() -> None:
    base = (
        "Water the seedlings in the morning so the leaves dry before evening, and keep the "
        "soil moist but never waterlogged during the first two weeks."
    )
    other = "Use a sharp knife and cut across the grain so each slice stays tender."
    chosen = [base, base, base, other]
    rejected = [
        base,
        "  " + base.upper() + "\n",  # the same answer up to case and whitespace
        base.replace("morning", "early morning"),
        "Buy a cast-iron pan; it holds heat and sears evenly when it is preheated properly.",
    ]
    result = side_by_side_similarity(chosen, rejected, ["a:1", "a:2", "a:3", "a:4"])
    assert result["identical"] == 2
    assert result["near_identical"] == 3
    assert [e["where"] for e in result["examples"]][:2] == ["a:1", "a:2"]


def test_prompts_count_repeats_ignoring_case_and_whitespace() -> None:
    def with_prompt(text: str) -> PreferencePair:
        pair = _pair(None)
        return PreferencePair(
            where=pair.where,
            prompt=[{"role": "user", "content": text}],
            chosen=pair.chosen,
            rejected=pair.rejected,
        )

    pairs = [with_prompt(t) for t in ("How do I prune roses?", "how do I  prune roses?\n", "Why?")]
    result = prompt_counts(pairs)
    assert (result["distinct"], result["duplicated"], result["pairs_on_duplicated"]) == (2, 1, 2)
    assert result["top"] == [{"prompt": "How do I prune roses?", "pairs": 2}]
