"""Instruction-following constraints: each check on obeying and breaking answers; augment."""

from __future__ import annotations

import random

import pytest

from synthloom.recipes.nemotron.constraints import (
    CONSTRAINT_TYPES,
    augment,
    check,
    check_all,
    describe,
)

CASES = [
    ({"type": "max_words", "value": 5}, "One two three four five.", "One two three four five six."),
    ({"type": "min_words", "value": 4}, "it's a well-known fact", "far too short"),
    (
        {"type": "bullet_count", "value": 3},
        "Intro:\n- one\n* two\n  • three\nThe end.",
        "- one\n- two\n-not a bullet\n- ",
    ),
    ({"type": "json_format"}, '```json\n{"answer": 4}\n```', '["a", "list", "is not an object"]'),
    ({"type": "json_format"}, ' {"a": {"b": [1, 2]}} ', '{"truncated": '),
    ({"type": "lowercase"}, "all lower case, 42 digits ok.", "One capital"),
    ({"type": "must_include", "value": "note"}, "Please NOTE: this.", "Notes are not the word."),
    ({"type": "must_not_include", "value": "first"}, "Firstly, begin.", "First, begin."),
    ({"type": "end_with", "value": "That is all."}, "Done. That is all.  \n", "That is all. Done."),
]


@pytest.mark.parametrize(("constraint", "obeys", "breaks"), CASES)
def test_each_check_accepts_an_obeying_answer_and_refuses_a_breaking_one(
    constraint: dict[str, object], obeys: str, breaks: str
) -> None:
    assert check(constraint, obeys)
    assert not check(constraint, breaks)
    assert describe(constraint)  # every type renders an instruction


def test_check_all_names_each_broken_constraint() -> None:
    constraints = [
        {"type": "max_words", "value": 3},
        {"type": "lowercase"},
        {"type": "must_include", "value": "summary"},
    ]
    assert check_all(constraints, "in summary: yes") == {"passed": True, "failed": []}
    result = check_all(constraints, "In short, no summary here at all")
    assert result == {"passed": False, "failed": ["max_words", "lowercase"]}


def test_unknown_types_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown constraint type"):
        check({"type": "rhymes"}, "x")
    with pytest.raises(ValueError, match="unknown constraint type"):
        describe({"type": "rhymes"})
    with pytest.raises(ValueError, match="rhymes"):
        augment("p", random.Random(0), types=["rhymes"])


def test_augment_is_seeded_and_never_draws_conflicting_rules() -> None:
    conflicts = [
        {"max_words", "min_words"},
        {"json_format", "bullet_count"},
        {"json_format", "end_with"},
        {"json_format", "lowercase"},
    ]
    for seed in range(400):
        text, chosen = augment("Explain tides.", random.Random(seed), count=4)
        again = augment("Explain tides.", random.Random(seed), count=4)
        assert again == (text, chosen)
        kinds = [c["type"] for c in chosen]
        assert len(kinds) == len(set(kinds)) and 1 <= len(kinds) <= 4
        assert set(kinds) <= set(CONSTRAINT_TYPES)
        assert not any(pair <= set(kinds) for pair in conflicts), kinds
        words = {c["type"]: c["value"] for c in chosen if "include" in c["type"]}
        if len(words) == 2:
            assert words["must_include"] != words["must_not_include"]
        assert text.startswith("Explain tides.\n\n")
        for c in chosen:
            assert describe(c) in text
