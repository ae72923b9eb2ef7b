"""Tests of synthloom.assay.findings: the verdict a fair split and planted problems get."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from synthloom.assay import AssayOptions, run_assay
from synthloom.assay.features import record_feature_row
from synthloom.assay.findings import COPY_SHARE_ERROR, find_problems
from synthloom.assay.options import AssayResult
from synthloom.assay.summary import print_summary
from tests.assay.realistic import fair_split, instruction_records

Records = list[dict[str, Any]]

MEMO = (
    "Clinic memo, ward 4, Tuesday. The night nurse noted that the patient in bed twelve refused "
    "the evening dose twice and asked for the physiotherapist, who was off sick. Please make "
    "sure the morning round checks the drip before the family visits at ten, and write every "
    "change of medication on the paper chart as well as in the system until the upgrade is over."
)
# 140 characters of the memo, as a careless generator would paste them into an answer.
PASSAGE = MEMO[MEMO.index("The night nurse") :][:140]


def _write_jsonl(path: Path, records: Records) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def _assay(tmp_path: Path, synthetic: Records, reference: Records, **options: Any) -> AssayResult:
    syn = _write_jsonl(tmp_path / "synthetic.jsonl", synthetic)
    ref = _write_jsonl(tmp_path / "reference.jsonl", reference)
    return run_assay(
        syn, ref, tmp_path / "out", AssayOptions(embedder="tfidf", ner="off", **options)
    )


def _halves() -> tuple[Records, Records]:
    return fair_split(instruction_records(400, seed=0), seed=1)


def _assistant_turns(record: dict[str, Any]) -> list[dict[str, str]]:
    return [m for m in record["messages"] if m["role"] == "assistant"]


@pytest.mark.parametrize(
    ("records", "split_seed"),
    [
        pytest.param(400, 1, id="400-records"),
        pytest.param(400, 5, id="another-split"),
        pytest.param(600, 3, id="600-records"),
    ],
)
def test_a_fair_split_gives_no_finding_above_info(
    tmp_path: Path, records: int, split_seed: int
) -> None:
    first, second = fair_split(instruction_records(records, seed=split_seed), seed=split_seed)
    result = _assay(tmp_path, first, second)
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["findings"] == result.metrics["findings"]
    assert [f for f in metrics["findings"] if f["severity"] != "info"] == []
    counts = metrics["finding_counts"]
    assert counts["error"] == counts["warning"] == 0 and counts["checks"] >= 30
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    findings = html[html.index('<section id="findings">') : html.index('<section id="summary">')]
    if counts["info"]:
        assert f"{counts['info']} info" in findings and f"{counts['checks']} checks" in findings
    else:
        assert f"No problem found by {counts['checks']} checks." in findings


def _shorten_answers(synthetic: Records, reference: Records, tmp_path: Path) -> dict[str, Any]:
    for record in synthetic:
        for turn in _assistant_turns(record):
            turn["content"] = turn["content"].split(". ")[0].rstrip(".") + "."
    return {}


def _drop_long_answers(synthetic: Records, reference: Records, tmp_path: Path) -> dict[str, Any]:
    lengths = [record_feature_row(r)["response_chars"] for r in reference]
    cut = float(np.quantile(lengths, 0.9))
    synthetic[:] = [r for r in synthetic if record_feature_row(r)["response_chars"] <= cut]
    return {}


def _leak_contact(synthetic: Records, reference: Records, tmp_path: Path) -> dict[str, Any]:
    turn = _assistant_turns(synthetic[7])[0]
    turn["content"] += (
        " If it still fails, Maren from the front desk is at maren.holt@fjordmail.no "
        "or on +1 (415) 555-0134 most mornings."
    )
    return {}


def _paste_private_memo(synthetic: Records, reference: Records, tmp_path: Path) -> dict[str, Any]:
    memo = tmp_path / "clinic_memo.txt"
    memo.write_text(MEMO + "\n", encoding="utf-8")
    turn = _assistant_turns(synthetic[3])[0]
    turn["content"] = f"Here is what the notes say: {PASSAGE}! Let me know if that helps."
    return {"private": [memo]}


def _copy_seeds(synthetic: Records, reference: Records, tmp_path: Path) -> dict[str, Any]:
    system = {"role": "system", "content": "You are a careful, friendly assistant."}
    for i in range(20):
        turns = [m for m in reference[i]["messages"] if m["role"] != "system"]
        synthetic[i] = {
            **reference[i],
            "id": f"mix-{i}",
            "messages": [system, *copy.deepcopy(turns)],
        }
    return {}


_TO_MALE = {
    "grandmother": "grandfather", "daughter": "son", "wife": "husband", "girl": "boy",
    "mother": "father", "sister": "brother", "aunt": "uncle", " she ": " he ", " her ": " his ",
    "She ": "He ", "Her ": "His ",
}  # fmt: skip


def _erase_women(synthetic: Records, reference: Records, tmp_path: Path) -> dict[str, Any]:
    for record in synthetic:
        for turn in record["messages"]:
            for word, replacement in _TO_MALE.items():
                turn["content"] = turn["content"].replace(word, replacement)
    return {}


Plant = Callable[[Records, Records, Path], dict[str, Any]]


@pytest.mark.parametrize(
    ("plant", "check", "where", "severity", "expected"),
    [
        pytest.param(
            _shorten_answers,
            "fidelity.column_shift",
            "fidelity.columns.response_chars",
            "error",
            lambda m: round(1 - m["fidelity"]["columns"]["response_chars"]["score"], 4),
            id="length-shift",
        ),
        pytest.param(
            _drop_long_answers,
            "tails.numeric",
            "tails.numeric.columns.response_chars",
            "warning",
            lambda m: m["tails"]["numeric"]["columns"]["response_chars"]["upper_coverage"],
            id="lost-upper-tail",
        ),
        pytest.param(
            _leak_contact,
            "privacy.pii",
            "privacy.pii",
            "error",
            lambda m: 2,
            id="email-and-phone",
        ),
        pytest.param(
            _paste_private_memo,
            "privacy.verbatim",
            "privacy.verbatim",
            "error",
            lambda m: m["privacy"]["verbatim"]["longest_shared_span"],
            id="copied-private-passage",
        ),
        pytest.param(
            _copy_seeds,
            "privacy.exact_copies",
            "privacy.exact_copies",
            "error",
            lambda m: m["privacy"]["exact_copies"]["count"],
            id="exact-copies",
        ),
        pytest.param(
            _erase_women,
            "bias.group",
            "bias.axes.gender",
            "warning",
            lambda m: m["bias"]["axes"]["gender"]["synthetic_share"]["female"],
            id="biased-group",
        ),
    ],
)
def test_a_planted_problem_gives_its_finding(
    tmp_path: Path,
    plant: Plant,
    check: str,
    where: str,
    severity: str,
    expected: Callable[[dict[str, Any]], float],
) -> None:
    synthetic, reference = _halves()
    synthetic = copy.deepcopy(synthetic)
    options = plant(synthetic, reference, tmp_path)
    metrics = _assay(tmp_path, synthetic, reference, **options).metrics
    mine = [f for f in metrics["findings"] if f["check"] == check and f["where"] == where]
    assert len(mine) == 1, metrics["findings"]
    finding = mine[0]
    assert finding["severity"] == severity
    assert finding["value"] == pytest.approx(expected(metrics))
    # Worst first: nothing milder comes before it.
    rank = {"error": 0, "warning": 1, "info": 2}
    before = metrics["findings"][: metrics["findings"].index(finding)]
    assert all(rank[f["severity"]] <= rank[severity] for f in before)
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    findings = html[html.index('<section id="findings">') : html.index('<section id="summary">')]
    assert where in findings


def test_the_messages_give_the_numbers_a_reader_needs(tmp_path: Path) -> None:
    synthetic, reference = _halves()
    synthetic = copy.deepcopy(synthetic)
    _shorten_answers(synthetic, reference, tmp_path)
    options = _paste_private_memo(synthetic, reference, tmp_path)
    _leak_contact(synthetic, reference, tmp_path)
    metrics = _assay(tmp_path, synthetic, reference, **options).metrics
    messages = {f["check"]: f["message"] for f in metrics["findings"]}
    span = metrics["privacy"]["verbatim"]["longest_shared_span"]
    assert span >= len(PASSAGE)
    assert messages["privacy.verbatim"].startswith(
        f"a {span}-character passage copied from {tmp_path / 'clinic_memo.txt'}"
    )
    assert messages["privacy.pii"].startswith("1 email, 1 phone in the synthetic data")
    ks = 1 - metrics["fidelity"]["columns"]["response_chars"]["score"]
    shift = [f for f in metrics["findings"] if f["where"] == "fidelity.columns.response_chars"]
    assert shift[0]["message"].startswith(f"response length (response_chars) shifted: KS {ks:.2f}")
    # The CLI prints the same lines under the table.
    console = Console(record=True, width=200)
    print_summary(
        AssayResult(metrics=metrics, out=tmp_path / "out", gate_results=None), console=console
    )
    text = console.export_text()
    assert re.search(r"findings: \d+ errors?", text)
    for finding in metrics["findings"]:
        assert f"{finding['severity']} {finding['message']}" in text


def test_copies_below_the_threshold_are_info_and_above_an_error() -> None:
    base = {"privacy": {"exact_copies": {"count": 1, "share": COPY_SHARE_ERROR / 2, "copies": []}}}
    assert find_problems(base).items[0].severity == "info"
    base["privacy"]["exact_copies"]["share"] = COPY_SHARE_ERROR
    assert find_problems(base).items[0].severity == "error"


def test_a_gate_can_require_no_error_finding(tmp_path: Path) -> None:
    synthetic, reference = _halves()
    synthetic = copy.deepcopy(synthetic)
    _leak_contact(synthetic, reference, tmp_path)
    gate = tmp_path / "gate.yaml"
    gate.write_text("- finding_counts.error == 0\n", encoding="utf-8")
    result = _assay(tmp_path, synthetic, reference, gate=gate)
    assert result.exit_code == 1
    assert result.metrics["gate"]["rules"][0]["value"] == result.metrics["finding_counts"]["error"]
