"""Thresholds, best-of-k and preference-pair selection with ties and margins."""

from __future__ import annotations

import itertools

import pytest

from synthloom.errors import ConfigError
from synthloom.reward import ATTRIBUTES
from synthloom.reward.select import Thresholds, best_of_k, preference_pair


def _reward(scalar: float, **attrs: float) -> dict[str, float]:
    out = {a: 2.0 for a in ATTRIBUTES}
    out.update(attrs)
    out["scalar"] = scalar
    return out


def test_best_of_k_takes_the_earliest_highest() -> None:
    assert best_of_k([1.0, 3.0, 2.0, 3.0]) == 1
    assert best_of_k([0.5]) == 0
    assert best_of_k([]) is None


def test_pair_is_highest_versus_lowest() -> None:
    choice = preference_pair([2.0, 3.5, 0.5, 1.0], min_margin=1.0)
    assert (choice.chosen, choice.rejected) == (1, 2)
    assert choice.margin == pytest.approx(3.0)
    assert choice.ok


def test_ties_at_the_ends_pick_the_earliest() -> None:
    choice = preference_pair([1.0, 3.0, 1.0, 3.0])
    assert (choice.chosen, choice.rejected) == (1, 0)


def test_all_tied_is_never_a_pair_even_with_zero_margin() -> None:
    choice = preference_pair([2.0, 2.0, 2.0], min_margin=0.0)
    assert not choice.ok and choice.reason == "all responses tie"


@pytest.mark.parametrize(
    ("margin", "kept"),
    [
        pytest.param(0.99, True, id="above"),
        pytest.param(1.0, True, id="equal"),
        pytest.param(1.01, False, id="below"),
    ],
)
def test_minimum_margin_is_inclusive(margin: float, kept: bool) -> None:
    choice = preference_pair([1.0, 2.0], min_margin=margin)
    assert choice.ok is kept
    if not kept:
        assert "below the minimum" in (choice.reason or "")


def test_pair_agrees_with_brute_force() -> None:
    values = [0.0, 1.0, 2.5]
    for scalars in itertools.product(values, repeat=3):
        choice = preference_pair(list(scalars), min_margin=1.0)
        spread = max(scalars) - min(scalars)
        assert choice.ok == (spread >= 1.0)
        if choice.ok:
            assert scalars[choice.chosen] == max(scalars)  # type: ignore[index]
            assert scalars[choice.rejected] == min(scalars)  # type: ignore[index]
            assert choice.chosen == scalars.index(max(scalars))


def test_single_response_has_no_pair() -> None:
    assert "at least 2" in (preference_pair([1.0]).reason or "")


def test_thresholds_name_the_failing_value() -> None:
    rules = Thresholds(
        min_scalar=1.0, min_attributes={"correctness": 3.0}, max_attributes={"verbosity": 3.0}
    )
    assert rules.failure(_reward(2.0, correctness=3.5)) is None
    assert "scalar" in (rules.failure(_reward(0.5, correctness=3.5)) or "")
    assert "correctness" in (rules.failure(_reward(2.0, correctness=2.0)) or "")
    assert "verbosity" in (rules.failure(_reward(2.0, correctness=3.5, verbosity=3.5)) or "")


def test_thresholds_reject_unknown_attributes() -> None:
    with pytest.raises(ConfigError, match="unknown attribute"):
        Thresholds(min_attributes={"honesty": 1.0})
