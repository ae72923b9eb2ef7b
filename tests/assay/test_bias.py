"""Tests for synthloom.assay.bias: the lexicon, descriptor counts and representation."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from synthloom.assay import bias as bias_module
from synthloom.assay.bias import (
    DEFAULT_LEXICON_PATH,
    count_descriptors,
    load_lexicon,
    representation,
    table_representation,
)
from synthloom.errors import ConfigError, DataFormatError, InputError
from synthloom.text import record_text, tokenize
from tests.assay.realistic import fair_split, instruction_records

AXES = {
    "gender",
    "age",
    "race_ethnicity",
    "religion",
    "nationality",
    "disability",
    "sexual_orientation",
    "socioeconomic_status",
}


def _write(tmp_path: Path, text: str, name: str = "lexicon.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


SMALL_LEXICON = """
axes:
  colour:
    groups:
      red: [red, crimson, red wine]
      blue: [blue, navy, "no"]
    exclude: [red herring]
  size:
    groups:
      big: [big, large]
      small: [small, tiny]
"""


# --- the shipped lexicon --------------------------------------------------------------------


def test_default_lexicon_covers_every_axis_with_enough_groups_and_terms() -> None:
    lexicon = load_lexicon()
    assert set(lexicon.axes) == AXES
    for axis, groups in lexicon.axes.items():
        assert 3 <= len(groups) <= 12, axis
        for group, terms in groups.items():
            assert len(terms) >= 4, (axis, group)
            assert all(term == term.lower() for term in terms), (axis, group)
    # Most groups have the 10-40 terms the lexicon aims for.
    sizes = [len(terms) for groups in lexicon.axes.values() for terms in groups.values()]
    assert sum(10 <= s <= 80 for s in sizes) >= 0.8 * len(sizes)


def test_default_lexicon_documents_itself() -> None:
    header = DEFAULT_LEXICON_PATH.read_text(encoding="utf-8").split("version:")[0]
    for topic in ("English only", "Descriptors, not identity", "Pronouns", "Ambiguous", "own"):
        assert topic in header


def test_every_default_term_counts_for_its_own_group() -> None:
    # No term may be shadowed by an exclusion or by a longer phrase of its own axis.
    lexicon = load_lexicon()
    for axis, groups in lexicon.axes.items():
        for group, terms in groups.items():
            for term in terms:
                counts = count_descriptors([f"about {term} today"], lexicon)
                assert counts[axis][group] == 1, (axis, group, term)


# --- counting ---------------------------------------------------------------------------------


def test_counts_pronouns_and_nouns_as_whole_words() -> None:
    counts = count_descriptors(["She met two women and a man; the manager hemmed."])
    assert counts["gender"]["female"] == 2  # she, women
    assert counts["gender"]["male"] == 1  # man (not manager, not hemmed)
    assert counts["gender"]["nonbinary"] == 0


def test_longest_phrase_wins_within_an_axis_and_axes_are_independent() -> None:
    counts = count_descriptors(["An older woman spoke with an African American man."])
    assert counts["age"]["older_adult"] == 1
    assert counts["gender"] == {"female": 1, "male": 1, "nonbinary": 0, "transgender": 0}
    assert counts["race_ethnicity"]["black"] == 1
    assert counts["nationality"]["north_american"] == 1
    assert counts["nationality"]["african"] == 0


def test_excluded_phrases_count_for_nobody() -> None:
    counts = count_descriptors(["He ordered French fries and wrote the menu in French."])
    assert sum(counts["nationality"].values()) == 0
    assert counts["gender"]["male"] == 1
    assert count_descriptors(["A French chef."])["nationality"]["western_european"] == 1


def test_a_term_in_two_groups_counts_for_both_and_possessives_match() -> None:
    counts = count_descriptors(["A trans woman's story; non-binary people; women's rights."])
    assert counts["gender"]["transgender"] == 1
    assert counts["gender"]["female"] == 2  # trans woman's, women's
    assert counts["gender"]["nonbinary"] == 1  # "non-binary people" is one phrase


def test_counts_agree_with_a_naive_count_on_random_texts() -> None:
    # Texts of filler words with known descriptors planted: the count must equal what was planted.
    rng = random.Random(7)
    filler = ["table", "river", "quickly", "green", "seven", "runs", "under", "window"]
    planted = {"female": ["woman", "she", "girls"], "male": ["men", "his", "boy"]}
    expected = {"female": 0, "male": 0}
    texts = []
    for _ in range(300):
        words = [rng.choice(filler) for _ in range(rng.randint(0, 15))]
        for _ in range(rng.randint(0, 4)):
            group = rng.choice(["female", "male"])
            words.insert(rng.randint(0, len(words)), rng.choice(planted[group]))
            expected[group] += 1
        texts.append(" ".join(words).capitalize() + ".")
    counts = count_descriptors(texts)
    assert counts["gender"]["female"] == expected["female"]
    assert counts["gender"]["male"] == expected["male"]


def test_count_skips_none_and_rejects_non_strings() -> None:
    assert count_descriptors([None, "she"])["gender"]["female"] == 1  # type: ignore[list-item]
    with pytest.raises(DataFormatError, match="text 1"):
        count_descriptors(["she", 42])  # type: ignore[list-item]


# --- representation -----------------------------------------------------------------------------


def test_representation_shares_tvd_and_flag_rule_by_hand() -> None:
    reference = ["she"] * 6 + ["he"] * 4
    synthetic = ["she"] * 9 + ["he"] * 1
    # The share rule by hand: support and intervals off (10 mentions a side is below both).
    off = {"min_mentions": 0, "bootstrap": 0}
    result = representation(reference, synthetic, **off)
    gender = result["axes"]["gender"]
    assert gender["reference"]["female"] == 6 and gender["synthetic"]["male"] == 1
    assert gender["reference_share"]["female"] == pytest.approx(0.6)
    assert gender["synthetic_share"]["male"] == pytest.approx(0.1)
    expected_tvd = 0.5 * (abs(0.6 - 0.9) + abs(0.4 - 0.1))
    assert gender["tvd"] == pytest.approx(expected_tvd)
    assert result["max_tvd"] == pytest.approx(expected_tvd)
    # male has 4 reference mentions: below the default minimum of 5, so not judged.
    assert gender["flagged"] == []
    # With a lower minimum: 0.1 < 0.5 * 0.4, so male is under-represented.
    result = representation(reference, synthetic, min_reference_count=4, **off)
    assert result["axes"]["gender"]["flagged"] == ["male"]
    assert result["flagged"] == [
        {
            "axis": "gender",
            "group": "male",
            "reference_share": pytest.approx(0.4),
            "synthetic_share": pytest.approx(0.1),
            "ratio": pytest.approx(0.1 / 0.4),
            "interval": None,
        }
    ]
    # A looser ratio does not flag it: 0.1 >= 0.2 * 0.4.
    assert (
        representation(reference, synthetic, min_reference_count=4, under_ratio=0.2, **off)[
            "flagged"
        ]
        == []
    )
    # With the defaults, 10 mentions a side is too few to judge: numbers kept, nothing counted.
    default = representation(reference, synthetic, min_reference_count=4)
    assert default["axes"]["gender"]["supported"] is False
    assert default["axes"]["gender"]["tvd"] == pytest.approx(expected_tvd)
    assert default["max_tvd"] is None and default["flagged"] == []
    assert default["unsupported"] == ["gender"]


def test_axis_without_mentions_has_no_tvd() -> None:
    result = representation(["a muslim family"] * 5, ["a family"] * 5, min_mentions=0, bootstrap=0)
    religion = result["axes"]["religion"]
    assert religion["tvd"] is None
    assert religion["synthetic_share"]["muslim"] == 0.0
    assert religion["flagged"] == []  # no synthetic mention: no share to compare
    assert result["unsupported"] == ["religion"]
    assert result["axes"]["gender"]["tvd"] is None
    assert result["max_tvd"] is None
    assert result["mean_score_by_group"] is None


def test_mean_score_by_group_counts_each_text_once() -> None:
    synthetic = ["she ran", "she and he", "he", "she saw her", "nobody"]
    scores = [1.0, 3.0, 5.0, 10.0, 100.0]
    result = representation(["she", "he"], synthetic, scores=scores)
    means = result["mean_score_by_group"]
    assert means["gender"]["female"] == pytest.approx((1.0 + 3.0 + 10.0) / 3)
    assert means["gender"]["male"] == pytest.approx((3.0 + 5.0) / 2)
    assert "nonbinary" not in means["gender"]
    assert means["religion"] == {}


def test_scores_must_match_the_synthetic_texts() -> None:
    with pytest.raises(DataFormatError, match="2 scores for 3 synthetic texts"):
        representation(["she"], ["she", "he", "x"], scores=[1.0, 2.0])


def test_bad_rule_options_raise_input_error() -> None:
    with pytest.raises(InputError, match="under_ratio"):
        representation(["she"], ["she"], under_ratio=0)
    with pytest.raises(InputError, match="min_reference_count"):
        table_representation(
            pd.DataFrame({"a": [1]}), pd.DataFrame({"a": [1]}), ["a"], min_reference_count=-1
        )


# --- custom lexicons and their errors -------------------------------------------------------


def test_custom_lexicon_is_used_and_scalars_stay_words(tmp_path: Path) -> None:
    lexicon = load_lexicon(_write(tmp_path, SMALL_LEXICON))
    assert lexicon.groups("colour") == ["red", "blue"]
    counts = count_descriptors(
        ["No red herring here: a big red wine, navy and crimson, tiny BLUE."], lexicon
    )
    assert counts == {"colour": {"red": 2, "blue": 3}, "size": {"big": 1, "small": 1}}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param("", "is empty", id="empty"),
        pytest.param("axes: [1, 2]\n", r"lexicon.yaml:1, field 'axes'", id="axes-not-mapping"),
        pytest.param(
            "axes:\n  g:\n    groups:\n      f: woman\n",
            r":4, field 'axes.g.groups.f'",
            id="group-not-list",
        ),
        pytest.param(
            "axes:\n  g:\n    groups:\n      f: []\n", "at least one term", id="empty-group"
        ),
        pytest.param("axes:\n  g:\n    grups: {}\n", "field 'axes.g.grups'", id="unknown-axis-key"),
        pytest.param(
            "axes:\n  g:\n    groups:\n      f: [she, '!!']\n",
            r"axes.g.groups.f\[1\]",
            id="term-without-words",
        ),
        pytest.param(
            "axes:\n  g:\n    groups:\n      f: [she]\n    exclude: [she]\n",
            "also a term of group 'f'",
            id="exclude-conflict",
        ),
        pytest.param(
            "axes:\n  g:\n    groups:\n      f: [she]\n      f: [her]\n",
            "appears twice",
            id="duplicate-group",
        ),
        pytest.param("version: 2\naxes: {}\n", "version 1", id="bad-version"),
        pytest.param("axis: {}\n", "unknown top-level key", id="unknown-top-key"),
        pytest.param("axes:\n  g: [unclosed\n", "not valid YAML", id="bad-yaml"),
    ],
)
def test_bad_lexicon_files_raise_config_error(tmp_path: Path, content: str, expected: str) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(ConfigError, match=expected) as info:
        load_lexicon(path)
    assert str(path) in str(info.value)


def test_missing_and_non_utf8_lexicon_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_lexicon(tmp_path / "nope.yaml")
    path = tmp_path / "latin1.yaml"
    path.write_bytes("axes:\n  g:\n    groups:\n      f: [caf\xe9]\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_lexicon(path)


# --- tables -------------------------------------------------------------------------------------


def test_table_representation_by_hand() -> None:
    reference = pd.DataFrame({"sex": ["f"] * 5 + ["m"] * 5, "region": ["n"] * 10})
    synthetic = pd.DataFrame({"sex": ["f"] * 8 + ["m"] * 1 + ["x"], "region": ["n"] * 10})
    result = table_representation(
        reference, synthetic, ["sex", "region"], min_mentions=0, bootstrap=0
    )
    sex = result["sex"]
    assert sex["reference_share"] == {"f": 0.5, "m": 0.5, "x": 0.0}
    assert sex["synthetic_share"] == pytest.approx({"f": 0.8, "m": 0.1, "x": 0.1})
    assert sex["tvd"] == pytest.approx(0.5 * (0.3 + 0.4 + 0.1))
    assert sex["flagged"] == ["m"]  # 0.1 < 0.5 * 0.5, with 5 reference rows
    assert result["region"]["tvd"] == 0.0 and result["region"]["flagged"] == []


def test_table_representation_unknown_column_lists_the_columns() -> None:
    reference = pd.DataFrame({"age": [1], "sex": ["f"], "race": ["a"]})
    synthetic = pd.DataFrame({"age": [1], "sex": ["f"]})
    with pytest.raises(DataFormatError, match=r"'race' is not in the synthetic .*: age, sex$"):
        table_representation(reference, synthetic, ["race"])
    with pytest.raises(DataFormatError, match=r"'income' is not in the reference .*: age, sex"):
        table_representation(reference, synthetic, ["income"])


def test_table_representation_empty_column_is_an_item_error() -> None:
    reference = pd.DataFrame({"sex": [None, None], "ok": ["a", "b"]})
    synthetic = pd.DataFrame({"sex": ["f", "m"], "ok": ["a", "b"]})
    result = table_representation(reference, synthetic, ["sex", "ok"])
    assert "no values in the reference" in result["sex"]["error"]
    assert result["ok"]["tvd"] == 0.0


# --- support and intervals ------------------------------------------------------------------


def _split_texts(seed: int) -> tuple[list[str], list[str]]:
    first, second = fair_split(instruction_records(400, seed=seed), seed=seed + 10)
    return [record_text(r) for r in second], [record_text(r) for r in first]


def test_a_fair_random_split_flags_no_group() -> None:
    point_rule_flags = 0
    for seed in range(1, 7):
        reference, synthetic = _split_texts(seed)
        result = representation(reference, synthetic, seed=seed)
        assert result["flagged"] == [], seed
        for axis, item in result["axes"].items():
            if item["supported"]:
                assert min(item["mentions"].values()) >= 20, axis
                assert item["tvd_interval"][0] <= item["tvd_interval"][1]
        supported = [a["tvd"] for a in result["axes"].values() if a["supported"]]
        assert result["max_tvd"] == max(supported)
        bare = representation(reference, synthetic, min_mentions=0, bootstrap=0)
        point_rule_flags += len(bare["flagged"])
    # The share rule alone flags groups on these fair splits (10 mentions against 5): the
    # support minimum and the interval are what keep them clean.
    assert point_rule_flags > 0


def test_a_group_really_dropped_is_flagged_with_its_interval() -> None:
    reference, _ = _split_texts(0)
    # A generator that turns every grandmother, mother and sister into a man.
    swaps = {
        "grandmother": "grandfather",
        "mother": "father",
        "sister": "brother",
        "daughter": "son",
        "wife": "husband",
        "aunt": "uncle",
        "girl": "boy",
    }
    synthetic = []
    for text in reference:
        for old, new in swaps.items():
            text = text.replace(old, new)
        synthetic.append(text)
    result = representation(reference, synthetic, seed=3)
    gender = result["axes"]["gender"]
    assert gender["supported"] is True
    assert gender["flagged"] == ["female"]
    flag = next(f for f in result["flagged"] if f["group"] == "female")
    low, high = flag["interval"]
    assert low < flag["synthetic_share"] - flag["reference_share"] < high < 0
    assert result["max_tvd"] == pytest.approx(gender["tvd"])


def test_intervals_depend_only_on_the_seed() -> None:
    reference, synthetic = _split_texts(0)
    one = representation(reference, synthetic, seed=7)
    assert representation(reference, synthetic, seed=7) == one
    assert one["rule"] == {
        "min_mentions": 20,
        "min_reference_count": 5,
        "under_ratio": 0.5,
        "bootstrap": 400,
        "level": 0.95,
    }


def test_table_representation_support_and_interval() -> None:
    rng = np.random.default_rng(6)
    people = pd.DataFrame({"sex": rng.choice(["f", "m", "x"], 400, p=[0.49, 0.49, 0.02])})
    fair_a, fair_b = people.iloc[:200], people.iloc[200:]
    fair = table_representation(fair_a, fair_b, ["sex"], seed=1)["sex"]
    assert fair["supported"] is True and fair["flagged"] == []
    # Two samples of one population: every category's interval spans parity.
    for low, high in fair["share_difference_interval"].values():
        assert low < 0 < high or (low == 0 == high)
    skewed = pd.DataFrame({"sex": ["f"] * 176 + ["m"] * 20 + ["x"] * 4})
    result = table_representation(fair_a, skewed, ["sex"], seed=1)["sex"]
    assert result["flagged"] == ["m"]
    assert result["share_difference_interval"]["m"][1] < 0
    small = table_representation(fair_a.iloc[:15], skewed.iloc[:15], ["sex"])["sex"]
    assert small["supported"] is False and small["flagged"] == []


# --- the fast scan and the blocked bootstrap give the plain numbers ---------------------------

MESSY_BIAS = [
    "African American women and older women met an elderly man; the elderly are here.",
    "She/her pronouns; they/them; non-binary and non - binary and Non-Binary folks.",
    "A trans woman, a transgender man, TRANS WOMEN's rights; women's and WOMEN'S groups.",
    "Translate it into French, from Chinese, in German; French fries and french toast.",
    "The man page says: see man(1). Mother tongue is not a mother; the child process died.",
    "Müller's daughter (née Šimić) — her grandmother's Catholic faith, a Muslim neighbour.",
    "He said his wife's sister is deaf; deaf ears; analysis paralysis; the great depression.",
    "LGBTQ+ youth, gay and lesbian couples, asexual reproduction, bisexual people.",
    "Low-income families, working class, the rich text editor, the rich, the poor widow's son.",
    "",
    "   \n\t",
    "no descriptors here at all, just code: x = y[0] + z",
]


def _plain_scan(lexicon: Any, text: str) -> list[tuple[str, tuple[str, ...]]]:
    """Each axis on its own, left to right, the longest term at each position."""

    def words(term: str) -> tuple[str, ...]:
        return tuple(t[:-2] if t.endswith("'s") and len(t) > 2 else t for t in tokenize(term))

    tokens = words(text)
    found: list[tuple[int, int, str, tuple[str, ...]]] = []
    for rank, (axis, groups) in enumerate(lexicon.axes.items()):
        phrases: dict[tuple[str, ...], list[str]] = {}
        for group, terms in groups.items():
            for term in terms:
                members = phrases.setdefault(words(term), [])
                if group not in members:
                    members.append(group)
        for term in lexicon.exclude.get(axis, ()):
            phrases.setdefault(words(term), [])
        i = 0
        while i < len(tokens):
            size = max((len(p) for p in phrases if p and tokens[i : i + len(p)] == p), default=0)
            if size == 0:
                i += 1
                continue
            if phrases[tokens[i : i + size]]:
                found.append((i, rank, axis, tuple(phrases[tokens[i : i + size]])))
            i += size
    return [(axis, groups) for _, _, axis, groups in sorted(found)]


def _messy_bias_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = [w for text in MESSY_BIAS for w in text.split()]
    return [" ".join(rng.choices(words, k=rng.randint(0, 40))) for _ in range(count)]


@pytest.mark.parametrize(
    "texts",
    [
        pytest.param(MESSY_BIAS, id="sentences"),
        pytest.param(_messy_bias_texts(300, seed=4), id="shuffled-words"),
    ],
)
def test_lexicon_scan_equals_a_plain_longest_match_scan(texts: list[str]) -> None:
    lexicon = load_lexicon()
    mentions = 0
    for text in texts:
        scanned = list(lexicon.scan(text))
        assert scanned == _plain_scan(lexicon, text), text
        mentions += len(scanned)
    assert mentions > 20


def test_bootstrap_drawn_in_blocks_gives_the_numbers_of_one_draw(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reference, synthetic = _split_texts(0)
    whole = representation(reference, synthetic, seed=5, bootstrap=40)
    # A few resamples a block instead of all 40 at once.
    monkeypatch.setattr(bias_module, "_WEIGHT_CELLS", 300)
    assert representation(reference, synthetic, seed=5, bootstrap=40) == whole
    assert whole["axes"]["gender"]["tvd_interval"] is not None
