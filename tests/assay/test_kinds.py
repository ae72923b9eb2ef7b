"""Tests for synthloom.assay.kinds: kinds from the reference alone, overridable by a file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from synthloom.assay.features import FEATURE_KINDS, record_features
from synthloom.assay.kinds import decide_kinds, load_kinds
from synthloom.errors import ConfigError
from tests.assay.realistic import fair_split, instruction_records


def test_kinds_come_from_the_reference_and_stay_put_across_runs() -> None:
    records = instruction_records(300, seed=4)
    reference, first = fair_split(records, seed=2)
    kinds, sources = decide_kinds(record_features(reference), fixed=FEATURE_KINDS)
    # Whatever the synthetic side holds (here: the other half, or 12 short records whose word
    # counts take five values), the kinds are the same: they read the reference only.
    for synthetic in (first, first[:12]):
        syn = record_features(synthetic)
        assert syn.columns.tolist()[: len(FEATURE_KINDS)] == list(FEATURE_KINDS)
        again, _ = decide_kinds(record_features(reference), fixed=FEATURE_KINDS)
        assert again == kinds
    assert kinds["prompt_words"] == "numerical" and sources["prompt_words"] == "fixed"
    assert kinds["turns"] == "categorical" and kinds["has_system"] == "boolean"
    assert kinds["meta.leaf"] == "id" and sources["meta.leaf"] == "detected"
    assert kinds["meta.topic"] == "categorical" and kinds["meta.score"] == "numerical"


def test_few_records_keep_the_feature_kinds() -> None:
    # Five records: a word count with five values would be detected as categorical.
    few = record_features(instruction_records(5, seed=1))
    assert few["prompt_words"].nunique() <= 5
    kinds, _ = decide_kinds(few, fixed=FEATURE_KINDS)
    assert kinds["prompt_words"] == "numerical"


def test_a_kinds_file_overrides_detection(tmp_path: Path) -> None:
    path = tmp_path / "kinds.yaml"
    path.write_text("# score the leaf after all\nleaf: categorical\nwait: categorical\n")
    frame = pd.DataFrame({"leaf": [f"a/{i}" for i in range(30)], "wait": [1.5, 2.5] * 15})
    kinds, sources = decide_kinds(frame, overrides=load_kinds(path), source=path)
    assert kinds == {"leaf": "categorical", "wait": "categorical"}
    assert sources == {"leaf": "--kinds", "wait": "--kinds"}
    json_path = tmp_path / "kinds.json"
    json_path.write_text('{"leaf": "id"}')
    assert load_kinds(json_path) == {"leaf": "id"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "leaf: text\n", "unknown kind 'text' for column 'leaf'; use one of", id="kind"
        ),
        pytest.param("- leaf\n- wait\n", "must map column names to kinds", id="list"),
        pytest.param("", "must map column names to kinds", id="empty"),
        pytest.param("leaf: [categorical\n", "kinds.yaml:", id="yaml"),
    ],
)
def test_bad_kinds_files_give_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "kinds.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_kinds(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_unknown_column_and_missing_file_are_errors(tmp_path: Path) -> None:
    frame = pd.DataFrame({"leaf": ["a", "b"], "wait": [1.0, 2.0]})
    with pytest.raises(
        ConfigError, match="column 'leef', which the data does not have; columns: leaf, wait"
    ):
        decide_kinds(frame, overrides={"leef": "id"}, source=tmp_path / "k.yaml")
    with pytest.raises(ConfigError, match="kinds file not found"):
        load_kinds(tmp_path / "nope.yaml")


def test_a_synthetic_column_of_another_type_is_an_item_error_not_a_new_kind() -> None:
    from synthloom.assay.fidelity import table_fidelity

    reference = pd.DataFrame({"age": [31, 45, 28, 52, 39, 61, 23, 47], "city": ["Oslo"] * 8})
    synthetic = reference.assign(age=["thirty", "45", "28", "52", "39", "61", "old", "47"])
    kinds, _ = decide_kinds(reference)
    assert kinds["age"] == "numerical"  # whatever the synthetic side holds
    result = table_fidelity(reference, synthetic, kinds=kinds)
    error = result["columns"]["age"]["error"]
    assert "not numbers" in error and "--kinds" in error
    assert result["columns"]["city"]["score"] == 1.0
