"""Tests of the assay's privacy section (synthloom.assay.privacy)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import mannwhitneyu

from synthloom.assay.privacy import (
    content_text,
    distance_to_closest_record,
    exact_copies,
    membership_inference_auc,
    pii_summary,
    record_key,
    row_keys,
    split_holdout,
    text_key,
    verbatim,
    verbatim_overlap,
)
from synthloom.errors import DataFormatError, InputError
from synthloom.pii import PiiScanner
from tests.reference import cases
from tests.reference.sdmetrics_values import load

# --------------------------------------------------------------------------------------------
# Exact copies


def test_text_key_ignores_case_and_whitespace_only() -> None:
    assert text_key("  Hello\n\tWORLD  ") == text_key("hello world")
    assert text_key("ﬁne") == text_key("fine")  # NFKC folds the ligature
    assert text_key("hello world") != text_key("hello, world")


def test_row_keys_agree_across_dtypes_column_order_and_missing_values() -> None:
    base = pd.DataFrame(
        {
            "n": [1, 2, None],
            "s": ["a", "b", None],
            "t": pd.to_datetime(["2024-01-01", None, "2024-01-02"]),
            "b": [True, False, True],
        }
    )
    variants = [
        base.astype(object),
        base.astype({"n": "Int64"}),
        base.astype({"s": "category"}),
        base.assign(t=base["t"].dt.tz_localize("UTC")),
        base.assign(b=pd.array([True, False, True], dtype="boolean")),
        base[["t", "b", "s", "n"]],
        base.assign(n=[1.0, 2.0, np.nan], s=["a", "b", np.nan]),
    ]
    expected = row_keys(base)
    assert len(set(expected)) == 3
    for variant in variants:
        assert row_keys(variant) == expected


def test_row_keys_tell_rows_apart() -> None:
    df = pd.DataFrame({"x": [1, 1, 2, 1], "y": ["a", "b", "a", "a"]})
    keys = row_keys(df)
    assert keys[0] == keys[3]
    assert len({keys[0], keys[1], keys[2]}) == 3
    # The same values under other column names, or swapped between columns, are other rows.
    assert row_keys(pd.DataFrame({"x": [1], "z": ["a"]})) != row_keys(df.iloc[[0]])
    swapped = pd.DataFrame({"a": ["1"], "b": ["2"]})
    assert row_keys(swapped) != row_keys(pd.DataFrame({"a": ["2"], "b": ["1"]}))
    # A number and the string of that number are different values.
    assert row_keys(pd.DataFrame({"x": [1]})) != row_keys(pd.DataFrame({"x": ["1"]}))


def test_row_keys_reject_duplicate_columns() -> None:
    df = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(DataFormatError, match="duplicate column"):
        row_keys(df)


def test_exact_copies_match_set_membership() -> None:
    rng = random.Random(3)
    reference = [f"k{rng.randrange(500)}" for _ in range(400)]
    synthetic = [f"k{rng.randrange(1000)}" for _ in range(300)]
    result = exact_copies(reference, synthetic)
    copied = [i for i, k in enumerate(synthetic) if k in set(reference)]
    assert result["count"] == len(copied) > 10
    assert result["share"] == pytest.approx(len(copied) / 300)
    assert result["examples"] == copied[:10]


def test_exact_copies_of_tables_through_row_keys() -> None:
    real = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})
    synth = pd.DataFrame({"y": ["b", "z", "c"], "x": [2.0, 9.0, 3.0]})
    result = exact_copies(row_keys(real), row_keys(synth))
    assert result["count"] == 2 and result["share"] == pytest.approx(2 / 3)
    assert result["examples"] == [0, 2]
    # Which row copies which: synthetic row 1 is reference row 2, row 3 is row 3.
    assert [(c["synthetic"], c["reference"]) for c in result["copies"]] == [
        ("record 1", "record 2"),
        ("record 3", "record 3"),
    ]


def test_exact_copies_of_nothing() -> None:
    assert exact_copies(["a"], []) == {"count": 0, "share": 0.0, "examples": [], "copies": []}


# --------------------------------------------------------------------------------------------
# Verbatim overlap


def _brute_longest(synthetic: str, privates: list[str], span: int) -> int:
    """Longest substring of `synthetic` found in any private text (0 when below `span`)."""
    best = 0
    for i in range(len(synthetic)):
        length = max(best + 1, span)
        while i + length <= len(synthetic) and any(
            synthetic[i : i + length] in p for p in privates
        ):
            best = length
            length += 1
    return best


def _random_corpus(seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)

    def noise(n: int) -> str:
        return "".join(rng.choice("abcd  \n") for _ in range(n))

    privates = [noise(rng.randint(0, 300)) for _ in range(15)]
    privates.append(privates[3])  # an exact duplicate private text
    synthetic = []
    for _ in range(40):
        text = noise(rng.randint(0, 200))
        if rng.random() < 0.5:
            source = privates[rng.randrange(len(privates))]
            a = rng.randrange(max(1, len(source)))
            copy = source[a : a + rng.randint(5, 80)]
            cut = rng.randint(0, len(text))
            text = text[:cut] + copy + text[cut:]
        synthetic.append(text)
    return synthetic, privates


def _check_against_brute_force(synthetic: list[str], privates: list[str], span: int) -> None:
    result = verbatim_overlap(synthetic, privates, span=span)
    norm_syn = [" ".join(t.split()) for t in synthetic]
    norm_priv = [" ".join(t.split()) for t in privates]
    longest = [_brute_longest(s, norm_priv, span) for s in norm_syn]
    flagged = [i for i, n in enumerate(longest) if n >= span]
    assert result["span"] == span
    assert result["records_sharing_span"] == len(flagged)
    assert result["share"] == pytest.approx(len(flagged) / len(synthetic))
    assert result["longest_shared_span"] == max(longest)
    assert [e["synthetic_index"] for e in result["examples"]] == flagged[:10]
    for example in result["examples"]:
        i, text = example["synthetic_index"], example["text"]
        assert len(text) == min(longest[i], 200)
        assert text in norm_syn[i]
        assert text in norm_priv[example["private_index"]]
        assert example["private_index"] != 15  # the duplicate maps to its first copy
    if flagged:
        best = result["longest_example"]
        assert longest[best["synthetic_index"]] == max(longest)
        assert best["text"] in norm_priv[best["private_index"]]
    else:
        assert result["longest_example"] is None


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("span", [6, 12, 25])
def test_verbatim_overlap_matches_brute_force(seed: int, span: int) -> None:
    synthetic, privates = _random_corpus(seed)
    _check_against_brute_force(synthetic, privates, span)


def test_verbatim_overlap_across_hashing_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tiny chunks make windows and texts straddle chunk boundaries everywhere.
    monkeypatch.setattr(verbatim, "_CHUNK", 37)
    synthetic, privates = _random_corpus(5)
    _check_against_brute_force(synthetic, privates, 9)


def test_verbatim_overlap_normalises_whitespace_and_handles_unicode() -> None:
    private = ["Der Bäcker 🍞 sagte:\n\n  «Guten   Morgen», und ging nach Hause zurück."]
    synthetic = ["Und dann: der Bäcker 🍞 sagte: «Guten Morgen», und ging.", "nothing"]
    result = verbatim_overlap(synthetic, private, span=20)
    # Case-folded: "der" and "Der" meet, and the shared text is shown folded.
    shared = "der bäcker 🍞 sagte: «guten morgen», und ging"
    assert result["records_sharing_span"] == 1
    assert result["longest_shared_span"] == len(shared)
    assert result["longest_example"] == {
        "synthetic_index": 0,
        "private_index": 0,
        "synthetic": "record 1",
        "private": "source 1",
        "text": shared,
    }


def test_verbatim_overlap_truncates_long_examples() -> None:
    text = " ".join(f"word{i}" for i in range(200))
    result = verbatim_overlap(["intro " + text + " outro"], [text], span=50)
    assert result["longest_shared_span"] == len(text)
    assert len(result["examples"][0]["text"]) == 200


def test_verbatim_overlap_of_empty_and_short_inputs() -> None:
    empty = verbatim_overlap([], ["private text"], span=5)
    assert empty["records_sharing_span"] == 0 and empty["share"] == 0.0
    assert empty["longest_example"] is None and empty["examples"] == []
    short = verbatim_overlap(["abc", ""], ["abc"], span=5)
    assert short["records_sharing_span"] == 0 and short["longest_shared_span"] == 0
    with pytest.raises(InputError, match="span"):
        verbatim_overlap(["a"], ["a"], span=0)


# --------------------------------------------------------------------------------------------
# Personal data


@pytest.fixture(scope="module")
def scanner() -> PiiScanner:
    return PiiScanner(ner="off")


TEXTS = [
    "Mail me at jane.doe@mailbox.org or john@mailbox.org.",
    "Nothing to see here.",
    "Card 4111 1111 1111 1111, phone 555-123-4567.",
    "A Luhn-failing 4111 1111 1111 1112 is not a card.",
]


def test_pii_summary_counts_by_type(scanner: PiiScanner) -> None:
    result = pii_summary(TEXTS, scanner=scanner)
    expected = {t: 0 for t in scanner.types}
    for matches in scanner.scan_many(TEXTS):
        for m in matches:
            expected[m.type] += 1
    assert result["by_type"] == dict(sorted(expected.items()))
    assert result["by_type"]["EMAIL"] == 2 and result["by_type"]["CREDIT_CARD"] == 1
    assert result["total"] == 4
    assert result["records_with_pii"] == 2
    assert result["ner"] is False


def test_pii_summary_examples_locate_and_mask_only_secrets(scanner: PiiScanner) -> None:
    result = pii_summary(TEXTS, scanner=scanner)
    first = result["examples"][0]
    assert first == {
        "type": "EMAIL",
        "location": "record 0",
        "start": 11,
        "end": 31,
        "shape": "xxxx.xxx@xxxx.xxx",
        "text": "jane.doe@mailbox.org",
        "before": "Mail me at",
        "after": "or john@mailbox.org.",
    }
    assert [e["location"] for e in result["examples"]] == ["record 0"] * 2 + ["record 2"] * 2
    card, phone = result["examples"][2:]
    assert card["text"] == "**** **** **** 1111"
    # The card is masked in the words around the phone too.
    assert phone["before"] == "Card **** **** **** 1111, phone"
    revealed = pii_summary(TEXTS, scanner=scanner, reveal=True)
    for example in revealed["examples"]:
        text = TEXTS[int(example["location"].split()[1])]
        assert text[example["start"] : example["end"]] == example["text"]


def test_pii_summary_uses_given_locations_and_caps_examples(scanner: PiiScanner) -> None:
    locations = [f"record {i}, message 2" for i in range(len(TEXTS))]
    result = pii_summary(TEXTS, scanner=scanner, locations=locations, max_examples=3)
    assert len(result["examples"]) == 3
    assert result["examples"][2]["location"] == "record 2, message 2"
    assert result["total"] == 4  # the cap limits examples, not counts
    with pytest.raises(InputError, match="locations"):
        pii_summary(TEXTS, scanner=scanner, locations=locations[:2])


def test_pii_summary_tells_the_texts_it_has_scanned(scanner: PiiScanner) -> None:
    told: list[tuple[int, int]] = []
    counted = pii_summary(TEXTS, scanner=scanner, on_count=lambda d, t: told.append((d, t)))
    assert told == [(d, len(TEXTS)) for d in range(len(TEXTS) + 1)]
    assert counted == pii_summary(TEXTS, scanner=scanner)


# --------------------------------------------------------------------------------------------
# Tables


_population = cases.population
PRIVACY_REFERENCE = load()["privacy"]


def _stored(name: str, *frames: pd.DataFrame) -> dict[str, Any]:
    """SDMetrics' distances for one case, checked to be of these very frames."""
    stored: dict[str, Any] = PRIVACY_REFERENCE[name]
    assert [cases.fingerprint(f) for f in frames] == stored["fingerprint"]
    return {k: np.array(v) for k, v in stored.items() if k != "fingerprint"}


def test_dcr_agrees_with_sdmetrics() -> None:
    train, holdout = split_holdout(_population(200, 1), frac=0.3, seed=2)
    synthetic = pd.concat([train.iloc[:30], _population(60, 3)], ignore_index=True)
    reference = _stored("dcr", train, holdout, synthetic)
    result = distance_to_closest_record(train, holdout, synthetic)
    d_syn = reference["synthetic_to_train"]
    d_hold = reference["holdout_to_train"]
    assert result["synthetic_median"] == pytest.approx(np.median(d_syn), abs=1e-12)
    assert result["holdout_median"] == pytest.approx(np.median(d_hold), abs=1e-12)
    assert result["synthetic_p5"] == pytest.approx(np.percentile(d_syn, 5), abs=1e-12)
    p5 = np.percentile(d_hold, 5)
    assert result["holdout_p5"] == pytest.approx(p5, abs=1e-12)
    assert result["synthetic_share_closer_than_holdout_p5"] == np.mean(d_syn < p5)
    assert result["synthetic_share_exact_match"] == pytest.approx(30 / 90)
    # DCROverfittingProtection's closer_to_training, from the same distances it uses.
    d_syn_hold = reference["synthetic_to_holdout"]
    assert result["share_synthetic_closer_to_train_than_holdout"] == np.mean(d_syn < d_syn_hold)
    assert (result["n_train"], result["n_holdout"], result["n_synthetic"]) == (140, 60, 90)


def test_mia_auc_agrees_with_mann_whitney_on_sdmetrics_distances() -> None:
    train, holdout = split_holdout(_population(200, 4), frac=0.4, seed=0)
    synthetic = pd.concat([train.iloc[:40], _population(60, 5)], ignore_index=True)
    reference = _stored("mia", train, holdout, synthetic)
    auc = membership_inference_auc(train, holdout, synthetic)
    member = -reference["train_to_synthetic"]
    non_member = -reference["holdout_to_synthetic"]
    u = mannwhitneyu(member, non_member).statistic
    assert auc == pytest.approx(u / (len(member) * len(non_member)), abs=1e-12)
    assert auc > 0.55


def test_copied_training_rows_are_caught() -> None:
    train, holdout = split_holdout(_population(2000, 6), seed=1)
    copies = train.sample(800, random_state=0)
    dcr = distance_to_closest_record(train, holdout, copies)
    assert dcr["synthetic_median"] == 0.0
    assert dcr["holdout_median"] > 0.0
    assert dcr["synthetic_share_exact_match"] == 1.0
    assert dcr["synthetic_share_closer_than_holdout_p5"] > 0.9
    assert dcr["share_synthetic_closer_to_train_than_holdout"] == 1.0
    assert membership_inference_auc(train, holdout, train) > 0.95


def test_an_independent_sample_looks_like_the_holdout() -> None:
    train, holdout = split_holdout(_population(2000, 7), seed=1)
    fresh = _population(1600, 8)
    dcr = distance_to_closest_record(train, holdout, fresh)
    assert dcr["synthetic_median"] == pytest.approx(dcr["holdout_median"], rel=0.25)
    assert dcr["synthetic_share_closer_than_holdout_p5"] < 0.15
    # Discrete columns make ties, which count as not closer: at most the no-copy share.
    assert dcr["share_synthetic_closer_to_train_than_holdout"] > 0.5
    assert dcr["share_synthetic_closer_to_train_than_holdout"] < (
        dcr["share_expected_without_copying"] + 0.05
    )
    assert 0.42 < membership_inference_auc(train, holdout, fresh) < 0.58


def test_kinds_override_the_dtype() -> None:
    train = pd.DataFrame({"zip": [10115, 10117, 80331, 80333]})
    holdout = pd.DataFrame({"zip": [10119, 80335]})
    synth = pd.DataFrame({"zip": [10116]})
    numeric = distance_to_closest_record(train, holdout, synth)
    categorical = distance_to_closest_record(train, holdout, synth, kinds={"zip": "categorical"})
    assert numeric["synthetic_median"] == pytest.approx(1 / (80333 - 10115))
    assert categorical["synthetic_median"] == 1.0


def test_max_rows_subsamples_each_table() -> None:
    train, holdout = split_holdout(_population(600, 9), seed=0)
    result = distance_to_closest_record(train, holdout, _population(500, 10), max_rows=100)
    assert (result["n_train"], result["n_holdout"], result["n_synthetic"]) == (100, 100, 100)


def test_table_bad_input() -> None:
    train, holdout = split_holdout(_population(50, 11), seed=0)
    with pytest.raises(DataFormatError, match="income"):
        distance_to_closest_record(train, holdout, train.drop(columns=["income"]))
    with pytest.raises(DataFormatError, match="synthetic table has no rows"):
        membership_inference_auc(train, holdout, train.iloc[:0])
    bad = train.astype({"age": object})
    bad.loc[0, "age"] = "forty"
    with pytest.raises(DataFormatError, match="'forty' is not a number"):
        distance_to_closest_record(bad, holdout, train, kinds={"age": "numeric"})
    with pytest.raises(InputError, match="kinds"):
        distance_to_closest_record(train, holdout, train, kinds={"nope": "numeric"})
    with pytest.raises(InputError, match="numeric or categorical"):
        distance_to_closest_record(train, holdout, train, kinds={"age": "ordinal"})


def test_split_holdout() -> None:
    df = _population(101, 12).assign(row=range(101))
    train, holdout = split_holdout(df, frac=0.2, seed=3)
    assert (len(train), len(holdout)) == (81, 20)
    assert sorted([*train["row"], *holdout["row"]]) == list(range(101))
    again, _ = split_holdout(df, frac=0.2, seed=3)
    assert again.equals(train)
    other, _ = split_holdout(df, frac=0.2, seed=4)
    assert not other.equals(train)
    with pytest.raises(InputError, match="frac"):
        split_holdout(df, frac=1.5)
    with pytest.raises(DataFormatError, match="1 rows"):
        split_holdout(df.iloc[:1])


# Copies through formatting


SEED_RECORDS = [
    {
        "id": "seed-lease-1",
        "messages": [
            {"role": "user", "content": "My landlord kept the whole deposit for a scuffed wall."},
            {
                "role": "assistant",
                "content": "Ask for the check-out report and the invoice for the repair.\n"
                "A landlord may only keep what fair wear and tear does not cover.",
            },
        ],
    },
    {
        "id": "seed-tax-2",
        "messages": [
            {"role": "user", "content": "Do I pay tax on a hobby that earns 300 a year?"},
            {"role": "assistant", "content": "Usually not below the trading allowance."},
        ],
    },
]


def _mixed_copy(record: dict[str, Any], system: str) -> dict[str, Any]:
    """What `mix` and chat templates do to a seed: a system prompt, re-wrapped, re-cased."""
    turns = [
        {"role": m["role"], "content": "  " + m["content"].replace("\n", " ").upper() + "\n"}
        for m in record["messages"]
    ]
    return {
        "id": "mix-" + record["id"],
        "messages": [{"role": "system", "content": system}, *turns],
    }


def test_copies_with_a_system_prompt_and_new_formatting_are_found() -> None:
    fresh = {
        "id": "fresh-1",
        "messages": [
            {"role": "user", "content": "My landlord kept the whole deposit for a scuffed wall."},
            {"role": "assistant", "content": "Photograph the wall and write to the landlord."},
        ],
    }
    synthetic = [
        fresh,
        _mixed_copy(SEED_RECORDS[1], "You are a helpful assistant."),
        _mixed_copy(SEED_RECORDS[0], "You answer tenancy questions."),
    ]
    names = [f"record {i + 1} (id {r['id']})" for i, r in enumerate(synthetic)]
    result = exact_copies(
        [record_key(r) for r in SEED_RECORDS],
        [record_key(r) for r in synthetic],
        reference_names=[f"record {i + 1} (id {r['id']})" for i, r in enumerate(SEED_RECORDS)],
        synthetic_names=names,
    )
    # The fresh record shares only its question: not a copy.
    assert result["count"] == 2 and result["examples"] == [1, 2]
    assert result["copies"] == [
        {
            "synthetic_index": 1,
            "synthetic": "record 2 (id mix-seed-tax-2)",
            "reference_index": 1,
            "reference": "record 2 (id seed-tax-2)",
        },
        {
            "synthetic_index": 2,
            "synthetic": "record 3 (id mix-seed-lease-1)",
            "reference_index": 0,
            "reference": "record 1 (id seed-lease-1)",
        },
    ]
    # Turn boundaries count: the same words split differently are another conversation.
    moved = {
        "id": "x",
        "messages": [
            {"role": "user", "content": "Do I pay tax on a hobby that earns 300 a year? Usually"},
            {"role": "assistant", "content": "not below the trading allowance."},
        ],
    }
    assert record_key(moved) != record_key(SEED_RECORDS[1])


def test_verbatim_overlap_ignores_case_and_names_both_records() -> None:
    memo = (
        "Clinic memo, 3 March. The patient in bed 4 reacted badly to the new dosage "
        "and was moved back to the previous plan after two days."
    )
    copied = _mixed_copy(
        {
            "id": "gen-7",
            "messages": [
                {"role": "user", "content": "Summarise the memo."},
                {"role": "assistant", "content": "Summary: " + memo},
            ],
        },
        "You are a clinical assistant.",
    )
    result = verbatim_overlap(
        [content_text(copied)],
        ["An unrelated handbook page.", memo],
        span=50,
        synthetic_names=["record 1 (id mix-gen-7)"],
        private_names=["handbook.txt", "clinic_memo.txt"],
    )
    assert result["records_sharing_span"] == 1
    assert result["longest_shared_span"] >= len(memo) - 1
    example = result["longest_example"]
    assert example["synthetic"] == "record 1 (id mix-gen-7)"
    assert example["private"] == "clinic_memo.txt"
    assert "You are a clinical assistant" not in content_text(copied)
