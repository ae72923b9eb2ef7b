"""synthloom.assay.fidelity against SDMetrics 0.32, its reference implementation."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats.contingency import association

from synthloom.assay.fidelity import (
    boundary_adherence,
    category_adherence,
    column_kinds,
    contingency_similarity,
    correlation_similarity,
    cramers_v,
    id_like_note,
    ks_complement,
    table_fidelity,
    tv_complement,
)
from synthloom.errors import ConfigError, DataFormatError
from tests.reference import cases
from tests.reference.sdmetrics_values import load

TOLERANCE = 1e-6
REFERENCE = load()


def _dataset(case: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One case, checked to hold the very values SDMetrics was run on."""
    real, synthetic = cases.fidelity_case(case)
    stored = REFERENCE["fidelity"][case]["fingerprint"]
    assert [cases.fingerprint(real), cases.fingerprint(synthetic)] == stored, case
    return real, synthetic


def test_reference_values_come_from_the_pinned_sdmetrics() -> None:
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    pin = REFERENCE["versions"]["sdmetrics"]
    assert f'"sdmetrics=={pin}"' in pyproject


@pytest.mark.parametrize("case", cases.CASES)
def test_kinds_are_the_ones_sdmetrics_was_given(case: str) -> None:
    real, synthetic = _dataset(case)
    assert column_kinds(real, synthetic) == REFERENCE["fidelity"][case]["kinds"]


@pytest.mark.parametrize("case", cases.CASES)
def test_column_scores_match_sdmetrics_metric_classes(case: str) -> None:
    real, synthetic = _dataset(case)
    expected_columns = REFERENCE["fidelity"][case]["columns"]
    result = table_fidelity(real, synthetic)
    assert set(result["columns"]) == set(expected_columns)
    continuous = 0
    for name, column in result["columns"].items():
        assert column["error"] is None, column
        reference = expected_columns[name]
        if column["metric"] == "KSComplement":
            continuous += 1
            expected = reference["KSComplement"]
            bounds = reference["BoundaryAdherence"]
            assert column["boundary_adherence"] == pytest.approx(bounds, abs=TOLERANCE)
            assert ks_complement(real[name], synthetic[name]) == pytest.approx(expected, abs=1e-12)
        else:
            expected = reference["TVComplement"]
            adherence = reference["CategoryAdherence"]
            assert column["category_adherence"] == pytest.approx(adherence, abs=TOLERANCE)
            assert tv_complement(real[name], synthetic[name]) == pytest.approx(expected, abs=1e-12)
            assert category_adherence(real[name], synthetic[name]) == pytest.approx(
                adherence, abs=1e-12
            )
        assert column["score"] == pytest.approx(expected, abs=TOLERANCE), name
    assert continuous >= 3


@pytest.mark.parametrize("case", cases.CASES)
def test_pair_scores_match_sdmetrics_metric_classes(case: str) -> None:
    real, synthetic = _dataset(case)
    expected_pairs = REFERENCE["fidelity"][case]["pairs"]
    result = table_fidelity(real, synthetic)
    assert {",".join(p["columns"]) for p in result["pairs"]} == set(expected_pairs)
    seen = set()
    for pair in result["pairs"]:
        expected = expected_pairs[",".join(pair["columns"])]
        assert pair["metric"] == expected["metric"]
        seen.add(pair["metric"])
        if pair["metric"] == "CorrelationSimilarity":
            assert pair["real_association"] == pytest.approx(abs(expected["real"]), abs=TOLERANCE)
        elif expected["real_association"] is not None:
            assert pair["real_association"] == pytest.approx(
                expected["real_association"], abs=TOLERANCE
            )
        assert pair["error"] is None, pair
        assert pair["score"] == pytest.approx(expected["score"], abs=TOLERANCE), pair["columns"]
    assert seen == {"CorrelationSimilarity", "ContingencySimilarity"}


def test_public_pair_functions_match_sdmetrics() -> None:
    real, synthetic = _dataset("missing")
    expected = REFERENCE["fidelity"]["missing"]["public"]
    score = correlation_similarity(
        real["amount"], real["linked"], synthetic["amount"], synthetic["linked"]
    )
    assert score == pytest.approx(expected["pearson_amount_linked"], abs=TOLERANCE)
    ours = correlation_similarity(
        real["amount"],
        real["gamma"],
        synthetic["amount"],
        synthetic["gamma"],
        coefficient="Spearman",
    )
    assert ours == pytest.approx(expected["spearman_amount_gamma"], abs=TOLERANCE)
    assert contingency_similarity(
        real["gamma"], real["colour"], synthetic["gamma"], synthetic["colour"]
    ) == pytest.approx(expected["contingency_gamma_colour"], abs=TOLERANCE)
    assert boundary_adherence(real["amount"], synthetic["amount"]) == pytest.approx(
        REFERENCE["fidelity"]["missing"]["columns"]["amount"]["BoundaryAdherence"],
        abs=TOLERANCE,
    )


def test_cramers_v_matches_scipy() -> None:
    real, _ = _dataset("missing")
    table = pd.crosstab(real["colour"].fillna("<na>"), real["tier"]).to_numpy()
    assert cramers_v(real["colour"], real["tier"]) == pytest.approx(
        association(table, method="cramer"), abs=1e-9
    )
    assert math.isnan(cramers_v(real["tier"], pd.Series(["same"] * len(real))))


@pytest.mark.parametrize("case", cases.REPORT_CASES)
def test_column_shapes_equals_quality_report(case: str) -> None:
    real, synthetic = _dataset(case)
    result = table_fidelity(real, synthetic)
    report = REFERENCE["fidelity"][case]["quality_report"]
    assert result["column_shapes"] == pytest.approx(report["column_shapes"], abs=TOLERANCE)
    assert set(report["column_shapes_details"]) == set(result["columns"])
    for name, score in report["column_shapes_details"].items():
        assert result["columns"][name]["score"] == pytest.approx(score, abs=TOLERANCE)


def test_pairs_count_where_the_report_counts_them() -> None:
    # Numeric-numeric and discrete-discrete pairs see the same data in the report as here, so
    # the association filter must pick the same pairs and the same scores.
    real, synthetic = _dataset("shifted")
    kinds = column_kinds(real, synthetic)
    result = table_fidelity(real, synthetic, kinds=kinds)
    details = REFERENCE["fidelity"]["shifted"]["quality_report"]["column_pair_trends_details"]
    counted_somewhere = False
    for row in details:
        shapes = {kinds[name] in ("numerical", "datetime") for name in row["columns"]}
        if len(shapes) != 1:
            continue  # mixed pairs: the report bins on its own edges (see the next test)
        pair = next(p for p in result["pairs"] if p["columns"] == row["columns"])
        assert pair["counted"] == row["meets_threshold"]
        if pair["counted"]:
            counted_somewhere = True
            assert pair["score"] == pytest.approx(row["score"], abs=TOLERANCE)
    assert counted_somewhere
    assert len(details) == len(result["pairs"])


def test_report_binning_understates_a_pair_with_the_same_joint_distribution() -> None:
    real, synthetic = cases.binning_case()
    stored = REFERENCE["binning"]
    assert [cases.fingerprint(real), cases.fingerprint(synthetic)] == stored["fingerprint"]
    kinds = {"value": "numerical", "group": "categorical"}
    ours = table_fidelity(real, synthetic, kinds=kinds, association_threshold_categorical=0.0)
    pair = ours["pairs"][0]
    assert pair["score"] > 0.95
    assert stored["report_pair_score"] < pair["score"] - 0.2


EXACT = 1e-9


def _report_case(case: str) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """A report-binning case with SDMetrics' QualityReport numbers, checked to hold the very
    values the report was run on."""
    if case in cases.REPORT_BINNING_CASES:
        real, synthetic = cases.report_binning_case(case)
        stored = REFERENCE["report_binning"][case]
        assert [cases.fingerprint(real), cases.fingerprint(synthetic)] == stored["fingerprint"]
        return real, synthetic, stored
    real, synthetic = _dataset(case)
    report = REFERENCE["fidelity"][case]["quality_report"]
    stored = {
        "kinds": REFERENCE["fidelity"][case]["kinds"],
        "column_shapes": report["column_shapes"],
        "column_pair_trends": report["column_pair_trends"],
        "overall": None,
        "pairs": [{**row, "error": None} for row in report["column_pair_trends_details"]],
    }
    return real, synthetic, stored


@pytest.mark.parametrize("case", [*cases.REPORT_CASES, *cases.REPORT_BINNING_CASES])
def test_report_binning_reproduces_the_quality_report(case: str) -> None:
    real, synthetic, stored = _report_case(case)
    result = table_fidelity(real, synthetic, kinds=stored["kinds"], binning="report")
    assert result["binning"] == "report"
    for key in ("column_shapes", "column_pair_trends"):
        assert result[key] == pytest.approx(stored[key], abs=EXACT), key
    if stored["overall"] is not None:
        assert result["overall"] == pytest.approx(stored["overall"], abs=EXACT)
    pairs = {tuple(p["columns"]): p for p in result["pairs"]}
    assert len(pairs) == len(stored["pairs"])
    for row in stored["pairs"]:
        pair = pairs[tuple(row["columns"])]
        assert pair["counted"] == row["meets_threshold"], row["columns"]
        if row["meets_threshold"]:
            assert pair["score"] == pytest.approx(row["score"], abs=EXACT), row["columns"]
        if row["error"]:  # an infinite value: the report cannot bin the column either
            assert pair["error"] == row["error"]


def test_infinite_values_follow_the_report_and_warn_nothing() -> None:
    real, synthetic, stored = _report_case("infinite")
    errored = [row["columns"] for row in stored["pairs"] if row["error"]]
    assert ["gamma", "colour"] in errored  # synthetic +inf in gamma
    assert ["linked", "tier"] in errored  # real -inf in linked
    # The default binning differs from the report's on the mixed pairs it can score.
    default = table_fidelity(real, synthetic, kinds=stored["kinds"])
    assert default["binning"] == "real"
    assert default["overall"] != pytest.approx(stored["overall"], abs=1e-3)


def test_unknown_binning_is_a_config_error() -> None:
    real, synthetic = _dataset("small")
    with pytest.raises(ConfigError, match="unknown binning 'sdv'; use one of: real, report"):
        table_fidelity(real, synthetic, binning="sdv")


def test_aggregates_follow_the_report() -> None:
    real, synthetic = _dataset("missing")
    result = table_fidelity(real, synthetic)
    scores = [c["score"] for c in result["columns"].values()]
    counted = [p["score"] for p in result["pairs"] if p["counted"]]
    assert counted and len(counted) < len(result["pairs"])
    assert result["column_shapes"] == pytest.approx(np.mean(scores))
    assert result["column_pair_trends"] == pytest.approx(np.mean(counted))
    assert result["overall"] == pytest.approx(
        (result["column_shapes"] + result["column_pair_trends"]) / 2
    )
    bounds = [c["boundary_adherence"] for c in result["columns"].values()]
    assert result["boundary_adherence"] == pytest.approx(
        np.mean([b for b in bounds if b is not None])
    )
    json.dumps(result, allow_nan=False)


def test_summary_and_correlation_match_pandas() -> None:
    real, synthetic = _dataset("missing")
    result = table_fidelity(real, synthetic)
    amount = result["summary"]["amount"]["real"]
    values = real["amount"].dropna()
    assert amount["count"] == len(values)
    assert amount["missing"] == int(real["amount"].isna().sum())
    assert amount["mean"] == pytest.approx(values.mean())
    assert amount["variance"] == pytest.approx(values.var())
    assert amount["q05"] == pytest.approx(values.quantile(0.05))
    assert amount["median"] == pytest.approx(values.median())
    assert amount["max"] == pytest.approx(values.max())
    colour = result["summary"]["colour"]["synthetic"]
    shares = synthetic["colour"].value_counts(normalize=True)
    assert colour["distinct"] == len(shares)
    assert colour["top"] == pytest.approx(shares.to_dict())
    matrix = result["correlation"]
    names = matrix["columns"]
    assert names == ["amount", "linked", "gamma"]
    expected = real[names].corr().to_numpy()
    assert np.allclose(np.array(matrix["real"], dtype=float), expected, atol=1e-9)
    difference = np.array(matrix["difference"], dtype=float)
    expected_diff = synthetic[names].corr().to_numpy() - expected
    assert np.allclose(difference, expected_diff, atol=1e-9)


def test_column_kinds() -> None:
    frame = pd.DataFrame(
        {
            "price": [1.5, 2.0, 3.25, 4.0, 5.0, 6.5],
            "rating": [1, 2, 3, 1, 2, 3],
            "visits": [10, 20, 30, 40, 50, 60],
            "flag": [True, False, True, True, False, False],
            "flag_missing": [True, None, False, True, False, None],
            "day": ["2024-01-01", "2024-01-02", None, "2024-02-01", "2024-03-01", "2024-03-02"],
            "stamp": pd.date_range("2024-01-01", periods=6, freq="h"),
            "user": ["u1", "u2", "u3", "u4", "u5", "u6"],
            "city": ["Oslo", "Rome", "Oslo", "Rome", "Lima", None],
            "mixed": [1, "a", 2.5, "b", 3, "c"],
        }
    )
    assert column_kinds(frame) == {
        "price": "numerical",
        "rating": "categorical",
        "visits": "numerical",
        "flag": "boolean",
        "flag_missing": "boolean",
        "day": "datetime",
        "stamp": "datetime",
        "user": "id",
        "city": "categorical",
        "mixed": "categorical",
    }
    strings = frame.assign(price=["cheap", "dear", "cheap", "dear", "cheap", "dear"])
    assert column_kinds(frame, strings)["price"] == "categorical"


def test_missing_columns_raise_unless_allowed() -> None:
    real, synthetic = _dataset("small")
    with pytest.raises(DataFormatError, match="missing from the synthetic data: gamma"):
        table_fidelity(real, synthetic.drop(columns=["gamma"]))
    with pytest.raises(DataFormatError, match="missing from the real data: extra"):
        table_fidelity(real, synthetic.assign(extra=1.0))
    result = table_fidelity(real, synthetic.drop(columns=["gamma"]), allow_missing=True)
    assert result["issues"] == ["columns missing from the synthetic data: gamma"]
    assert "gamma" not in result["columns"]
    assert result["column_shapes"] is not None


def test_odd_columns_record_errors_and_leave_the_means() -> None:
    real, synthetic = _dataset("shifted")
    real = real.assign(
        empty=np.nan, constant=1.5, mixed=["x", 1] * (len(real) // 2) + ["x"] * (len(real) % 2)
    )
    synthetic = synthetic.assign(
        empty=np.nan, constant=np.linspace(0, 1, len(synthetic)), mixed=[2.5] * len(synthetic)
    )
    result = table_fidelity(real, synthetic)
    assert "no values" in result["columns"]["empty"]["error"]
    assert result["columns"]["empty"]["score"] is None
    assert result["columns"]["mixed"]["kind"] == "categorical"
    assert result["columns"]["mixed"]["error"] is None
    scored = [c["score"] for c in result["columns"].values() if c["score"] is not None]
    assert result["column_shapes"] == pytest.approx(np.mean(scored))
    constant_pairs = [
        p
        for p in result["pairs"]
        if "constant" in p["columns"]
        and "empty" not in p["columns"]
        and p["metric"] == "CorrelationSimilarity"
    ]
    assert constant_pairs and all("constant" in (p["error"] or "") for p in constant_pairs)
    assert not any(p["counted"] for p in constant_pairs)
    empty_pairs = [p for p in result["pairs"] if "empty" in p["columns"]]
    assert empty_pairs and all(p["error"] and p["score"] is None for p in empty_pairs)
    json.dumps(result, allow_nan=False)


def test_one_row_tables_do_not_fail() -> None:
    real, synthetic = cases.one_row_case()
    # One whole-number value reads as a one-value integer column (categorical); the reference
    # numbers are SDMetrics' KSComplement, so x is declared numerical.
    kinds = {"x": "numerical", "y": "numerical", "c": "categorical"}
    result = table_fidelity(real, synthetic, kinds=kinds)
    assert result["columns"]["x"]["score"] == pytest.approx(REFERENCE["one_row"]["x"])
    assert result["columns"]["c"]["score"] == pytest.approx(REFERENCE["one_row"]["c"])
    correlation = next(p for p in result["pairs"] if p["columns"] == ["x", "y"])
    assert correlation["error"] and correlation["score"] is None
    assert result["overall"] == result["column_shapes"]
    json.dumps(result, allow_nan=False)


def test_bad_arguments_raise_our_errors() -> None:
    real, synthetic = _dataset("small")
    with pytest.raises(ConfigError, match="unknown kind"):
        table_fidelity(real, synthetic, kinds={"amount": "number"})
    with pytest.raises(ConfigError, match="not in both tables"):
        table_fidelity(real, synthetic, kinds={"nope": "numerical"})
    with pytest.raises(DataFormatError, match="no rows"):
        table_fidelity(real.iloc[:0], synthetic)
    with pytest.raises(DataFormatError, match="DataFrame"):
        table_fidelity(real.to_dict(), synthetic)  # type: ignore[arg-type]
    forced = table_fidelity(real, synthetic.assign(amount="text"), kinds={"amount": "numerical"})
    assert "not numbers" in forced["columns"]["amount"]["error"]


def test_sparse_contingency_path_agrees_with_dense(monkeypatch: pytest.MonkeyPatch) -> None:
    # Huge joint tables (many categories on both sides) are counted with np.unique instead of a
    # dense bincount; force that path on a small table and compare.
    from synthloom.assay.fidelity import pairs

    real, synthetic = _dataset("unseen")
    dense = table_fidelity(real, synthetic)
    monkeypatch.setattr(pairs, "_DENSE_CELLS", 1)
    sparse = table_fidelity(real, synthetic)
    for left, right in zip(dense["pairs"], sparse["pairs"], strict=True):
        assert right["score"] == pytest.approx(left["score"], abs=1e-9)
        if left["real_association"] is None:
            assert right["real_association"] is None
        else:
            assert right["real_association"] == pytest.approx(left["real_association"], abs=1e-7)


def _tickets(n: int, seed: int) -> pd.DataFrame:
    """Support tickets: a unique ticket subject, a product, a priority, a wait in hours."""
    rng = np.random.default_rng(seed)
    products = np.array(["router", "billing", "mobile app", "website", "invoice"])
    product = rng.choice(products, n, p=[0.35, 0.25, 0.2, 0.15, 0.05])
    verbs = ["cannot", "keeps failing to", "refuses to", "will not"]
    actions = ["connect", "load", "print", "log in", "sync", "update", "save"]
    subject = [
        f"{products[i % 5].title()} {rng.choice(verbs)} {rng.choice(actions)} (case {1000 + i})"
        for i in range(n)
    ]
    wait = rng.gamma(2.0, 6.0, n).round(1) + (product == "invoice") * 20
    priority = np.where(wait > 18, "high", rng.choice(["low", "normal"], n))
    return pd.DataFrame(
        {"subject": subject, "product": product, "priority": priority, "wait": wait}
    )


@pytest.mark.parametrize("missing", [0, 1, 5], ids=["none-missing", "one-missing", "five-missing"])
def test_missing_values_do_not_flip_a_unique_text_column(missing: int) -> None:
    table = _tickets(600, seed=3)
    shuffled = table.sample(frac=1.0, random_state=4).reset_index(drop=True)
    real, synthetic = shuffled.iloc[:300].copy(), shuffled.iloc[300:].reset_index(drop=True)
    real.loc[real.index[:missing], "subject"] = None
    baseline = table_fidelity(shuffled.iloc[:300], shuffled.iloc[300:].reset_index(drop=True))
    result = table_fidelity(real, synthetic)
    assert result["columns"]["subject"]["kind"] == "id"
    assert result["left_out"] == ["subject"]
    assert "id-like" in result["columns"]["subject"]["note"]
    assert all("subject" not in p["columns"] for p in result["pairs"])
    # Two halves of one table: fair, and one missing subject changes nothing but noise.
    assert result["overall"] >= 0.9
    assert abs(result["overall"] - baseline["overall"]) < 0.01


def test_high_cardinality_text_is_id_like_and_few_rows_are_not() -> None:
    rng = np.random.default_rng(8)
    # A taxonomy leaf with ~150 values over 206 rows, as InstructLab seed files give.
    leaves = [f"knowledge/science/topic_{rng.integers(150)}" for _ in range(206)]
    frame = pd.DataFrame({"leaf": leaves, "domain": rng.choice(["law", "tax", "code"], 206)})
    assert column_kinds(frame) == {"leaf": "id", "domain": "categorical"}
    # 12 distinct of 16 values: too few values to call it id-like; a repeat keeps it categorical.
    small = pd.DataFrame({"city": [f"town {i % 12}" for i in range(16)]})
    assert column_kinds(small) == {"city": "categorical"}
    note = id_like_note(frame["leaf"])
    distinct = frame["leaf"].nunique()
    assert f"{distinct} distinct values over 206" in note


def test_a_missing_value_keeps_an_integer_rating_categorical() -> None:
    ratings = pd.Series([1, 2, 3, 4, 5, 3, 4, 4, 5, 2] * 3)
    with_gap = ratings.astype("float64")
    with_gap.iloc[7] = np.nan  # how pandas stores an integer column with a missing value
    assert column_kinds(pd.DataFrame({"r": ratings})) == {"r": "categorical"}
    assert column_kinds(pd.DataFrame({"r": with_gap})) == {"r": "categorical"}
    assert column_kinds(pd.DataFrame({"r": with_gap + 0.5})) == {"r": "numerical"}


def _joint_tvd_by_crosstab(real_a: Any, real_b: Any, syn_a: Any, syn_b: Any) -> float:
    """1 - TVD of the joint frequencies, counted by pandas (missing values as a category)."""

    def shares(a: Any, b: Any) -> pd.Series:
        frame = pd.DataFrame({"a": a, "b": b}).fillna("<missing>").astype(str)
        return frame.value_counts(normalize=True)

    real, synthetic = shares(real_a, real_b), shares(syn_a, syn_b)
    gap = real.sub(synthetic, fill_value=0.0).abs().sum()
    return 1.0 - 0.5 * float(gap)


@pytest.mark.parametrize(
    ("size_a", "size_b"),
    [
        pytest.param(3, 4, id="one-byte-codes"),
        pytest.param(300, 200, id="two-byte-codes-two-byte-cells"),
        pytest.param(300, 250, id="two-byte-codes-wide-cells"),
    ],
)
def test_joint_counts_agree_with_pandas_at_every_code_width(size_a: int, size_b: int) -> None:
    # Codes are stored as 1 or 2 bytes and joint cells counted in 16 bits when they fit: the
    # counts must not depend on the width (an overflow would shift cells silently).
    rng = np.random.default_rng(size_a * size_b)
    n = 40_000

    def column(size: int, skew: float) -> np.ndarray:
        values = rng.zipf(1.0 + skew, n) % size
        labels = np.array([f"v{j:03d}" for j in range(size)], dtype=object)[values]
        labels[rng.random(n) < 0.01] = None
        return labels

    real_a, real_b = column(size_a, 0.3), column(size_b, 0.5)
    syn_a, syn_b = column(size_a, 0.35), column(size_b, 0.45)
    ours = contingency_similarity(
        real_a, real_b, syn_a, syn_b, continuous_a=False, continuous_b=False
    )
    assert ours == pytest.approx(_joint_tvd_by_crosstab(real_a, real_b, syn_a, syn_b), abs=1e-12)


def test_binning_on_real_edges_is_digitize_with_open_outer_edges() -> None:
    # Values on the edges themselves, beyond the real range, infinite and missing: both sides
    # are cut as the metric class cuts them (digitize on the real histogram edges, outer edges
    # open), missing values a bin of their own.
    rng = np.random.default_rng(5)
    real = rng.gamma(2.0, 3.0, 5_000)
    edges = np.histogram_bin_edges(real, bins=10)
    synthetic = np.concatenate(
        [rng.gamma(2.0, 3.2, 4_985), edges, [-np.inf, np.inf, edges[0] - 1, edges[-1] + 1]]
    )
    synthetic[::97] = np.nan
    real_group = rng.choice(["north", "south", "east"], real.size)
    synthetic_group = rng.choice(["north", "south", "east"], synthetic.size)

    def cut(values: np.ndarray) -> np.ndarray:
        codes = np.clip(np.digitize(values, edges) - 1, 0, 9).astype(object)
        codes[np.isnan(values)] = None
        return codes

    ours = contingency_similarity(
        real, real_group, synthetic, synthetic_group, continuous_a=True, continuous_b=False
    )
    assert ours == pytest.approx(
        _joint_tvd_by_crosstab(cut(real), real_group, cut(synthetic), synthetic_group),
        abs=1e-12,
    )
