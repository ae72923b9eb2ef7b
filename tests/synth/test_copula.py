"""The plain Gaussian copula: what it keeps of a real table, and what it never copies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from synthloom.errors import InputError
from synthloom.synthesize import fit_copula
from synthloom.synthesize.copula import nearest_correlation

from .tables import clinic_visits, correlated_normals


@pytest.fixture(scope="module")
def visits() -> pd.DataFrame:
    return clinic_visits(6000, seed=11)


@pytest.fixture(scope="module")
def visits_synthetic(visits: pd.DataFrame) -> pd.DataFrame:
    return fit_copula(visits, seed=1).sample(6000, seed=2)


@pytest.mark.parametrize("rho", [pytest.param(0.3, id="weak"), pytest.param(0.8, id="strong")])
def test_marginals_and_rank_correlations_are_recovered(rho: float) -> None:
    real = correlated_normals(20000, rho, seed=3)
    synthetic = fit_copula(real, seed=0).sample(20000, seed=1)
    n = len(real)
    for column in real.columns:
        a, b = real[column].to_numpy(), synthetic[column].to_numpy()
        # Two samples' means differ by sd * sqrt(2 / n): four of those is a generous bound.
        assert abs(a.mean() - b.mean()) < 4 * a.std() * np.sqrt(2 / n), column
        # The standard error of a standard deviation grows with the tails (kurtosis).
        kurtosis = stats.kurtosis(a, fisher=False)
        assert abs(a.std() - b.std()) < 4 * a.std() * np.sqrt((kurtosis - 1) / (2 * n)), column
        assert stats.ks_2samp(a, b).pvalue > 1e-3, column
    real_rank = real.corr(method="spearman").to_numpy()
    synthetic_rank = synthetic.corr(method="spearman").to_numpy()
    # The standard error of a rank correlation at n = 20000 is under 0.007.
    assert np.abs(real_rank - synthetic_rank).max() < 0.03


def test_bounds_integers_and_decimals_are_kept(
    visits: pd.DataFrame, visits_synthetic: pd.DataFrame
) -> None:
    for column in ("age", "systolic_bp", "cholesterol", "bmi", "prescriptions"):
        real, synthetic = visits[column].dropna(), visits_synthetic[column].dropna()
        assert synthetic.min() >= real.min(), column
        assert synthetic.max() <= real.max(), column
    for column in ("age", "systolic_bp", "prescriptions"):
        assert visits_synthetic[column].dtype == np.int64, column
    # BMI is written with one decimal, cholesterol with two: so is the synthetic table.
    bmi = visits_synthetic["bmi"].to_numpy()
    assert np.allclose(bmi, np.round(bmi, 1), atol=1e-9, rtol=0)
    assert not np.allclose(bmi, np.round(bmi, 0))
    chol = visits_synthetic["cholesterol"].dropna().to_numpy()
    assert np.allclose(chol, np.round(chol, 2), atol=1e-9, rtol=0)
    dates = pd.to_datetime(visits_synthetic["visit_date"], format="%Y-%m-%d")
    real_dates = pd.to_datetime(visits["visit_date"])
    assert dates.min() >= real_dates.min() and dates.max() <= real_dates.max()


def test_missing_shares_and_categories_are_kept(
    visits: pd.DataFrame, visits_synthetic: pd.DataFrame
) -> None:
    n = len(visits)
    for column in ("cholesterol", "smoker"):
        share = visits[column].isna().mean()
        sd = np.sqrt(share * (1 - share) / n)
        assert abs(visits_synthetic[column].isna().mean() - share) < 4 * np.sqrt(2) * sd, column
    for column in ("site", "smoker", "triage"):
        real = visits[column].value_counts(normalize=True)
        synthetic = visits_synthetic[column].value_counts(normalize=True)
        assert set(synthetic.index) <= set(real.index), column
        assert (synthetic.reindex(real.index, fill_value=0) - real).abs().max() < 0.03, column
    assert set(visits_synthetic["triage"].unique()) <= {1, 2, 3}


def test_identifier_columns_get_fresh_labels(
    visits: pd.DataFrame, visits_synthetic: pd.DataFrame
) -> None:
    for column in ("patient", "note"):
        assert not set(visits_synthetic[column]) & set(visits[column]), column
        assert visits_synthetic[column].is_unique


def test_dependence_survives(visits: pd.DataFrame, visits_synthetic: pd.DataFrame) -> None:
    # Pairs with missing values are measured on the rows where both are present.
    for a, b in [("age", "systolic_bp"), ("bmi", "cholesterol"), ("age", "prescriptions")]:
        real = visits[[a, b]].dropna().corr(method="spearman").iloc[0, 1]
        synthetic = visits_synthetic[[a, b]].dropna().corr(method="spearman").iloc[0, 1]
        assert abs(real - synthetic) < 0.05, (a, b, real, synthetic)
    # A categorical column follows the numbers it depends on: smokers are younger.
    real_gap = visits.groupby("smoker")["age"].mean()
    synthetic_gap = visits_synthetic.groupby("smoker")["age"].mean()
    assert (
        abs((real_gap["no"] - real_gap["yes"]) - (synthetic_gap["no"] - synthetic_gap["yes"])) < 2
    )


def test_non_monotone_category_relation_survives() -> None:
    rng = np.random.default_rng(5)
    season = rng.choice(["winter", "spring", "summer", "autumn"], 8000)
    centre = {"winter": 2.0, "spring": 12.0, "summer": 24.0, "autumn": 13.0}
    real = pd.DataFrame(
        {"season": season, "temperature": [centre[s] + rng.normal(0, 3) for s in season]}
    )
    synthetic = fit_copula(real, seed=0).sample(8000, seed=1)
    means = synthetic.groupby("season")["temperature"].mean()
    spread = synthetic.groupby("season")["temperature"].std()
    # Spring and autumn share a centre but get neighbouring slices of the copula's axis, so
    # they come out a couple of degrees apart; the extremes and the spread stay close.
    for name, centre_value in centre.items():
        tolerance = 1.5 if name in ("winter", "summer") else 3.0
        assert abs(means[name] - centre_value) < tolerance, (name, means[name])
        assert spread[name] < 4.5, (name, spread[name])


def test_no_exact_copies_of_continuous_rows() -> None:
    real = correlated_normals(5000, 0.5, seed=9)
    synthetic = fit_copula(real, seed=4).sample(20000, seed=5)
    real_rows = set(map(tuple, real.to_numpy()))
    assert not any(tuple(row) in real_rows for row in synthetic.to_numpy())
    for column in real.columns:
        assert not set(synthetic[column]) & set(real[column]), column


def test_seed_reproduces_and_fit_once_samples_many(visits: pd.DataFrame) -> None:
    first = fit_copula(visits, seed=7)
    again = fit_copula(visits, seed=7)
    pd.testing.assert_frame_equal(first.sample(500, seed=3), again.sample(500, seed=3))
    assert not first.sample(500, seed=3).equals(first.sample(500, seed=4))
    # Sampling needs nothing of the real table once fitted.
    del visits
    large = first.sample(300_000, seed=1)
    assert len(large) == 300_000 and large["patient"].is_unique


@pytest.mark.parametrize(
    "table",
    [
        pytest.param(pd.DataFrame({"a": [np.nan] * 50, "b": np.arange(50.0)}), id="all-missing"),
        pytest.param(pd.DataFrame({"a": [5.0] * 50, "b": np.arange(50.0)}), id="constant"),
        pytest.param(pd.DataFrame({"a": ["x"] * 50, "b": np.arange(50.0)}), id="one-category"),
    ],
)
def test_degenerate_columns_are_sampled_as_they_are(table: pd.DataFrame) -> None:
    synthetic = fit_copula(table, seed=0).sample(200, seed=1)
    real_a = table["a"]
    if real_a.isna().all():
        assert synthetic["a"].isna().all()
    else:
        assert (synthetic["a"] == real_a.iloc[0]).all()
    assert synthetic["b"].between(0, 49).all()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        pytest.param(pd.DataFrame({"a": [1.0]}), "at least 2 rows", id="one-row"),
        pytest.param(
            pd.DataFrame({"code": [f"c{i}" for i in range(30)]}), "nothing to learn", id="all-ids"
        ),
    ],
)
def test_unusable_tables_are_refused(table: pd.DataFrame, message: str) -> None:
    with pytest.raises(InputError, match=message):
        fit_copula(table, seed=0)


def test_nearest_correlation_repairs_an_indefinite_matrix() -> None:
    bad = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
    assert np.linalg.eigvalsh(bad).min() < 0
    fixed = nearest_correlation(bad)
    assert np.linalg.eigvalsh(fixed).min() > 0
    assert np.allclose(np.diag(fixed), 1.0)
    np.linalg.cholesky(fixed)
    good = np.array([[1.0, 0.3], [0.3, 1.0]])
    assert np.allclose(nearest_correlation(good), good)
