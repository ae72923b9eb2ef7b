"""``--bounds FILE``: every mistake is one ConfigError naming the file and the column."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthloom.assay.kinds import column_kinds
from synthloom.errors import ConfigError
from synthloom.synthesize import load_bounds

from .tables import clinic_visits

TABLE = clinic_visits(300, seed=3)
KINDS = column_kinds(TABLE)


def test_a_bounds_file_reads_ranges_dates_and_categories(tmp_path: Path) -> None:
    path = tmp_path / "bounds.yaml"
    path.write_text(
        "age: [18, 100]\n"
        "bmi: {low: 12.5, high: 70}\n"
        "visit_date: ['2023-01-01', '2024-12-31']\n"
        "smoker: {categories: ['yes', 'no']}\n"
        "triage: {categories: [1, 2, 3]}\n",
        encoding="utf-8",
    )
    bounds = load_bounds(path, TABLE, KINDS)
    assert (bounds["age"].low, bounds["age"].high) == (18.0, 100.0)
    assert (bounds["bmi"].low, bounds["bmi"].high) == (12.5, 70.0)
    assert bounds["visit_date"].low == 1672531200.0  # 2023-01-01 in seconds since 1970
    assert bounds["smoker"].categories == ("yes", "no")
    assert bounds["triage"].categories == (1, 2, 3)


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        pytest.param("postcode: [1, 9]\n", "postcode", "does not have", id="unknown-column"),
        pytest.param("patient: [1, 9]\n", "patient", "identifier", id="id-column"),
        pytest.param("age: [90, 18]\n", "age", "low < high", id="reversed"),
        pytest.param("age: [18]\n", "age", "[low, high]", id="one-number"),
        pytest.param("age: [young, old]\n", "age", "finite numbers", id="words"),
        pytest.param("visit_date: [soon, later]\n", "visit_date", "dates", id="bad-dates"),
        pytest.param("site: [a, b]\n", "site", "categories", id="categories-as-list"),
        pytest.param("site: {categories: []}\n", "site", "categories", id="no-categories"),
    ],
)
def test_bad_bounds_name_file_and_column(
    text: str, field: str, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "bounds.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_bounds(path, TABLE, KINDS)
    assert str(path) in str(caught.value) and f"field '{field}'" in str(caught.value)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("age: [18, 100\n", "not valid YAML", id="broken-yaml"),
        pytest.param("- age\n- bmi\n", "must map column names", id="a-list"),
    ],
)
def test_unreadable_bounds_files(text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bounds.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_bounds(path, TABLE, KINDS)
    with pytest.raises(ConfigError, match="not found"):
        load_bounds(tmp_path / "nope.yaml", TABLE, KINDS)
