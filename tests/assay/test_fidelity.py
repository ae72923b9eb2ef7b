"""synthloom.assay.fidelity against SDMetrics 0.32, its reference implementation."""

from __future__ import annotations

import json
import math
import warnings
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
    ks_complement,
    table_fidelity,
    tv_complement,
)
from synthloom.errors import ConfigError, DataFormatError

sdmetrics = pytest.importorskip("sdmetrics")

TOLERANCE = 1e-6
CASES = ["shifted", "missing", "datetimes", "unseen", "ties", "small"]


def _sdmetrics() -> dict[str, Any]:
    """SDMetrics' classes, imported with its own deprecation warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.column_pairs import ContingencySimilarity, CorrelationSimilarity
        from sdmetrics.reports.single_table import QualityReport
        from sdmetrics.single_column import (
            BoundaryAdherence,
            CategoryAdherence,
            KSComplement,
            TVComplement,
        )
    return {
        "KSComplement": KSComplement,
        "TVComplement": TVComplement,
        "BoundaryAdherence": BoundaryAdherence,
        "CategoryAdherence": CategoryAdherence,
        "CorrelationSimilarity": CorrelationSimilarity,
        "ContingencySimilarity": ContingencySimilarity,
        "QualityReport": QualityReport,
    }


def _reference(name: str, method: str = "compute", /, *args: Any, **kwargs: Any) -> Any:
    # SDMetrics' internals warn (pandas deprecations, numpy); warnings are errors in this suite,
    # and the report would swallow them as per-item errors, so silence them around each call.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(_sdmetrics()[name], method)(*args, **kwargs)


def _side(rng: np.random.Generator, rows: int, case: str, synthetic: bool) -> pd.DataFrame:
    shift = 0.4 if synthetic else 0.0
    base = rng.normal(shift, 1.0 + shift / 2, rows)
    frame = pd.DataFrame(
        {
            "amount": base,
            "linked": 1.5 * base + rng.normal(0, 0.7, rows),
            "gamma": rng.gamma(2.0 + shift, 1.0, rows),
            "colour": rng.choice(
                ["red", "green", "blue", "grey"],
                rows,
                p=[0.4, 0.3, 0.2, 0.1] if not synthetic else [0.3, 0.3, 0.3, 0.1],
            ).astype(object),
            "tier": np.where(base > 0.3, "high", "low").astype(object),
            "flag": rng.random(rows) < (0.3 if not synthetic else 0.45),
        }
    )
    if case == "missing":
        for column in ("amount", "gamma", "colour"):
            frame.loc[rng.random(rows) < 0.1, column] = None
        flag = frame["flag"].astype(object)
        flag[rng.random(rows) < 0.05] = None
        frame["flag"] = flag
    if case == "datetimes":
        start = pd.Timestamp("2021-03-01") + pd.Timedelta(days=20 if synthetic else 0)
        seconds = rng.integers(0, 3600 * 24 * 200, rows) + (base * 86400 * 10).astype(np.int64)
        frame["when"] = start + pd.to_timedelta(seconds, unit="s")
        frame["logged"] = frame["when"] + pd.to_timedelta(rng.integers(0, 3600, rows), unit="s")
        frame.loc[rng.random(rows) < 0.05, "logged"] = pd.NaT
    if case == "unseen":
        colour = frame["colour"].to_numpy().copy()
        if synthetic:
            colour[rng.random(rows) < 0.05] = "purple"  # never in the real data
        else:
            colour[rng.random(rows) < 0.05] = "black"  # never in the synthetic data
        frame["colour"] = colour
        frame["code"] = rng.integers(0, 4 if not synthetic else 5, rows)
    if case == "ties":
        frame["amount"] = np.round(frame["amount"] * 4) / 4  # many tied values
        frame["gamma"] = np.round(frame["gamma"], 1) + 0.1 + 0.2  # float noise in the last digits
        frame["count"] = rng.poisson(3 + shift * 3, rows)
    return frame


def _dataset(case: str, seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed + CASES.index(case))
    rows_real, rows_synthetic = (31, 17) if case == "small" else (900, 700)
    return (
        _side(rng, rows_real, case, synthetic=False),
        _side(rng, rows_synthetic, case, synthetic=True),
    )


def _as_numbers(frame: pd.DataFrame, kinds: dict[str, str], names: list[str]) -> pd.DataFrame:
    """The columns as SDMetrics' report hands them to the metric classes (datetimes as ns)."""
    out = frame[names].copy()
    for name in names:
        if kinds[name] == "datetime":
            values = out[name]
            out[name] = pd.to_numeric(values).astype(float).where(values.notna())
    return out


@pytest.mark.parametrize("case", CASES)
def test_column_scores_match_sdmetrics_metric_classes(case: str) -> None:
    real, synthetic = _dataset(case)
    result = table_fidelity(real, synthetic)
    continuous = 0
    for name, column in result["columns"].items():
        assert column["error"] is None, column
        if column["metric"] == "KSComplement":
            continuous += 1
            expected = _reference("KSComplement", "compute", real[name], synthetic[name])
            bounds = _reference("BoundaryAdherence", "compute", real[name], synthetic[name])
            assert column["boundary_adherence"] == pytest.approx(bounds, abs=TOLERANCE)
            assert ks_complement(real[name], synthetic[name]) == pytest.approx(expected, abs=1e-12)
        else:
            expected = _reference("TVComplement", "compute", real[name], synthetic[name])
            adherence = _reference("CategoryAdherence", "compute", real[name], synthetic[name])
            assert column["category_adherence"] == pytest.approx(adherence, abs=TOLERANCE)
            assert tv_complement(real[name], synthetic[name]) == pytest.approx(expected, abs=1e-12)
            assert category_adherence(real[name], synthetic[name]) == pytest.approx(
                adherence, abs=1e-12
            )
        assert column["score"] == pytest.approx(expected, abs=TOLERANCE), name
    assert continuous >= 3


@pytest.mark.parametrize("case", CASES)
def test_pair_scores_match_sdmetrics_metric_classes(case: str) -> None:
    real, synthetic = _dataset(case)
    kinds = column_kinds(real, synthetic)
    result = table_fidelity(real, synthetic, kinds=kinds)
    seen = set()
    for pair in result["pairs"]:
        names = pair["columns"]
        real_pair = _as_numbers(real, kinds, names)
        synthetic_pair = _as_numbers(synthetic, kinds, names)
        seen.add(pair["metric"])
        if pair["metric"] == "CorrelationSimilarity":
            expected = _reference(
                "CorrelationSimilarity", "compute_breakdown", real_pair, synthetic_pair
            )
            assert pair["real_association"] == pytest.approx(abs(expected["real"]), abs=TOLERANCE)
        else:
            continuous = [n for n in names if kinds[n] in ("numerical", "datetime")]
            expected = _reference(
                "ContingencySimilarity",
                "compute_breakdown",
                real_pair,
                synthetic_pair,
                continuous_column_names=continuous or None,
                real_association_threshold=1e-12,  # makes SDMetrics report Cramér's V
            )
            if math.isnan(expected["real_association"]):
                # Undefined association: SDMetrics then skips the score; ask for it plainly.
                expected["score"] = _reference(
                    "ContingencySimilarity",
                    "compute",
                    real_pair,
                    synthetic_pair,
                    continuous_column_names=continuous or None,
                )
            else:
                assert pair["real_association"] == pytest.approx(
                    expected["real_association"], abs=TOLERANCE
                )
        assert pair["error"] is None, pair
        assert pair["score"] == pytest.approx(expected["score"], abs=TOLERANCE), names
    assert seen == {"CorrelationSimilarity", "ContingencySimilarity"}


def test_public_pair_functions_match_sdmetrics() -> None:
    real, synthetic = _dataset("missing")
    expected = _reference(
        "CorrelationSimilarity",
        "compute",
        real[["amount", "linked"]],
        synthetic[["amount", "linked"]],
    )
    score = correlation_similarity(
        real["amount"], real["linked"], synthetic["amount"], synthetic["linked"]
    )
    assert score == pytest.approx(expected, abs=TOLERANCE)
    spearman = _reference(
        "CorrelationSimilarity",
        "compute",
        real[["amount", "gamma"]],
        synthetic[["amount", "gamma"]],
        coefficient="Spearman",
    )
    ours = correlation_similarity(
        real["amount"],
        real["gamma"],
        synthetic["amount"],
        synthetic["gamma"],
        coefficient="Spearman",
    )
    assert ours == pytest.approx(spearman, abs=TOLERANCE)
    contingency = _reference(
        "ContingencySimilarity",
        "compute",
        real[["gamma", "colour"]],
        synthetic[["gamma", "colour"]],
        continuous_column_names=["gamma"],
    )
    assert contingency_similarity(
        real["gamma"], real["colour"], synthetic["gamma"], synthetic["colour"]
    ) == pytest.approx(contingency, abs=TOLERANCE)
    assert boundary_adherence(real["amount"], synthetic["amount"]) == pytest.approx(
        _reference("BoundaryAdherence", "compute", real["amount"], synthetic["amount"]),
        abs=TOLERANCE,
    )


def test_cramers_v_matches_scipy() -> None:
    real, _ = _dataset("missing")
    table = pd.crosstab(real["colour"].fillna("<na>"), real["tier"]).to_numpy()
    assert cramers_v(real["colour"], real["tier"]) == pytest.approx(
        association(table, method="cramer"), abs=1e-9
    )
    assert math.isnan(cramers_v(real["tier"], pd.Series(["same"] * len(real))))


def _quality_report(real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str]) -> Any:
    metadata = {"columns": {name: {"sdtype": kind} for name, kind in kinds.items()}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = _sdmetrics()["QualityReport"]()
        report.num_rows_subsample = None
        report.generate(real, synthetic, metadata, verbose=False)
    return report


@pytest.mark.parametrize("case", ["shifted", "missing", "datetimes"])
def test_column_shapes_equals_quality_report(case: str) -> None:
    real, synthetic = _dataset(case)
    kinds = column_kinds(real, synthetic)
    result = table_fidelity(real, synthetic, kinds=kinds)
    report = _quality_report(real, synthetic, kinds)
    properties = report.get_properties().set_index("Property")["Score"]
    assert result["column_shapes"] == pytest.approx(properties["Column Shapes"], abs=TOLERANCE)
    details = report.get_details("Column Shapes").set_index("Column")["Score"]
    for name, score in details.items():
        assert result["columns"][name]["score"] == pytest.approx(score, abs=TOLERANCE)


def test_pairs_count_where_the_report_counts_them() -> None:
    # Numeric-numeric and discrete-discrete pairs see the same data in the report as here, so
    # the association filter must pick the same pairs and the same scores.
    real, synthetic = _dataset("shifted")
    kinds = column_kinds(real, synthetic)
    result = table_fidelity(real, synthetic, kinds=kinds)
    details = report_details = _quality_report(real, synthetic, kinds).get_details(
        "Column Pair Trends"
    )
    counted_somewhere = False
    for _, row in details.iterrows():
        shapes = {
            kinds[row["Column 1"]] in ("numerical", "datetime"),
            kinds[row["Column 2"]] in ("numerical", "datetime"),
        }
        if len(shapes) != 1:
            continue  # mixed pairs: the report bins on its own edges (see the next test)
        pair = next(
            p for p in result["pairs"] if p["columns"] == [row["Column 1"], row["Column 2"]]
        )
        assert pair["counted"] == bool(row["Meets Threshold?"])
        if pair["counted"]:
            counted_somewhere = True
            assert pair["score"] == pytest.approx(row["Score"], abs=TOLERANCE)
    assert counted_somewhere
    assert len(report_details) == len(result["pairs"])


def test_report_binning_understates_a_pair_with_the_same_joint_distribution() -> None:
    rng = np.random.default_rng(5)

    def draw(rows: int) -> pd.DataFrame:
        value = rng.normal(0, 1, rows)
        return pd.DataFrame({"value": value, "group": np.where(value > 0.2, "a", "b")})

    real, synthetic = draw(2000), draw(2000)
    synthetic.loc[0, "value"] = 12.0  # one far value stretches the synthetic side's own edges
    kinds = {"value": "numerical", "group": "categorical"}
    ours = table_fidelity(real, synthetic, kinds=kinds, association_threshold_categorical=0.0)
    pair = ours["pairs"][0]
    report = _quality_report(real, synthetic, kinds)
    report.real_association_threshold = 0
    report_score = report.get_details("Column Pair Trends")["Score"].iloc[0]
    assert pair["score"] > 0.95
    assert report_score < pair["score"] - 0.2


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
        empty=np.nan, constant=1.0, mixed=["x", 1] * (len(real) // 2) + ["x"] * (len(real) % 2)
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
    real = pd.DataFrame({"x": [1.0], "y": [2.0], "c": ["a"]})
    synthetic = pd.DataFrame({"x": [1.5], "y": [2.0], "c": ["b"]})
    result = table_fidelity(real, synthetic, kinds={"c": "categorical"})
    expected = _reference("KSComplement", "compute", real["x"], synthetic["x"])
    assert result["columns"]["x"]["score"] == pytest.approx(expected)
    assert result["columns"]["c"]["score"] == pytest.approx(
        _reference("TVComplement", "compute", real["c"], synthetic["c"])
    )
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
    from synthloom.assay import fidelity

    real, synthetic = _dataset("unseen")
    dense = table_fidelity(real, synthetic)
    monkeypatch.setattr(fidelity, "_DENSE_CELLS", 1)
    sparse = table_fidelity(real, synthetic)
    for left, right in zip(dense["pairs"], sparse["pairs"], strict=True):
        assert right["score"] == pytest.approx(left["score"], abs=1e-9)
        if left["real_association"] is None:
            assert right["real_association"] is None
        else:
            assert right["real_association"] == pytest.approx(left["real_association"], abs=1e-7)
