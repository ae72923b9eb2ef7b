from __future__ import annotations

from pathlib import Path

import pytest

from synthloom.assay.gate import evaluate_gate, load_gate
from synthloom.errors import ConfigError

METRICS = {
    "fidelity": {"overall": 0.91, "column_shapes": 0.95, "embedding": None},
    "privacy": {"pii": {"total": 2, "by_type": {"EMAIL": 2}}},
}


def _gate(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gate.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_list_and_mapping_forms_agree(tmp_path: Path) -> None:
    listed = load_gate(_gate(tmp_path, "- fidelity.overall >= 0.9\n- privacy.pii.total == 0\n"))
    mapped = load_gate(_gate(tmp_path, "fidelity.overall: '>= 0.9'\nprivacy.pii.total: '== 0'\n"))
    assert [(r.path, r.op, r.value) for r in listed] == [(r.path, r.op, r.value) for r in mapped]
    results = evaluate_gate(listed, METRICS)
    assert [r["passed"] for r in results] == [True, False]
    assert results[1]["shown"] == "2"


@pytest.mark.parametrize(
    ("op", "threshold", "passed"),
    [
        (">=", 0.91, True),
        (">", 0.91, False),
        ("<=", 0.91, True),
        ("<", 0.91, False),
        ("==", 0.91, True),
        ("!=", 0.91, False),
    ],
)
def test_operators(tmp_path: Path, op: str, threshold: float, passed: bool) -> None:
    rules = load_gate(_gate(tmp_path, f"- fidelity.overall {op} {threshold}\n"))
    assert evaluate_gate(rules, METRICS)[0]["passed"] is passed


def test_uncomputed_metric_fails_rule(tmp_path: Path) -> None:
    (tmp_path / "g.yaml").write_text("- fidelity.embedding >= 0\n", encoding="utf-8")
    # fidelity.embedding is null: the rule fails instead of passing silently
    result = evaluate_gate(load_gate(tmp_path / "g.yaml"), METRICS)[0]
    assert result["passed"] is False and result["shown"] == "not computed"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "- fidelity.overall >= 0.9\n- fidelity.overal >= 0.9\n",
            "gate.yaml:2: unknown metric path 'fidelity.overal'",
            id="unknown-path",
        ),
        pytest.param(
            "- quality >= 0.9\n", "gate.yaml:1: unknown metric path 'quality'", id="unknown-section"
        ),
        pytest.param(
            "- fidelity.overall => 0.9\n", "gate.yaml:1: cannot read rule", id="bad-operator"
        ),
        pytest.param("- fidelity.overall >= high\n", "is not a number", id="not-a-number"),
        pytest.param("- [1, 2\n", "gate.yaml:2: invalid YAML", id="bad-yaml"),
        pytest.param("", "empty", id="empty"),
        pytest.param("just text\n", "a list of rules or a mapping", id="scalar"),
        pytest.param("- fidelity.pii\n", "cannot read rule", id="no-condition"),
        pytest.param(
            "- privacy.pii >= 1\n", "is not a number; name a numeric value", id="not-numeric-path"
        ),
    ],
)
def test_bad_gate_files(tmp_path: Path, text: str, message: str) -> None:
    path = _gate(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        evaluate_gate(load_gate(path), METRICS)
    assert message in str(err.value)


def test_missing_gate_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="gate file not found"):
        load_gate(tmp_path / "nope.yaml")
