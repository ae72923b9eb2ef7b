"""``synthloom assay`` on preference data, end to end: planted flaws found with the right
numbers, a fair set left unflagged, every TRL shape and a real Nemotron run detected, a human
reference side by side, gates on ``preference.*``, and bad input as one line with exit 2."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from fakeserver import FakeServer
from synthloom.assay import AssayOptions, run_assay
from synthloom.assay.schema import metric_path_patterns, schema_matcher
from synthloom.cli import main
from synthloom.errors import ConfigError, InputError
from synthloom.recipes.nemotron import load_pipeline, run_pipeline_sync
from synthloom.records import read_records
from tests.assay.preference_sets import (
    FLAWED,
    as_conversational,
    as_implicit_conversational,
    as_implicit_standard,
    build,
    fair_plans,
    flawed_plans,
    write_jsonl,
)
from tests.recipes.nemotron.conftest import teacher_script

OPTIONS = AssayOptions(embedder="tfidf")


@pytest.fixture()
def server_options() -> dict[str, Any]:
    return {"reward_models": {"fake-reward"}, "responder": teacher_script}


def _flag_names(side: dict[str, Any]) -> set[str]:
    return {f["name"] for f in side["flags"]}


def test_planted_flaws_are_found_with_the_right_numbers(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "dpo.jsonl", build(flawed_plans(), seed=1))
    metrics = run_assay(data, None, tmp_path / "out", OPTIONS).metrics
    assert metrics["dataset"]["kind"] == "preference"
    assert metrics["dataset"]["reference"] is None
    assert metrics["errors"] == {}
    side = metrics["preference"]["synthetic"]
    length = side["length"]
    assert (length["chosen_longer"], length["rejected_longer"], length["equal"]) == (
        FLAWED["chosen_longer"],
        FLAWED["rejected_longer"],
        FLAWED["equal"],
    )
    assert length["chosen_longer_share"] == pytest.approx(31 / 36)
    assert length["chosen_longer_ci_low"] > 0.5
    assert side["margins"]["ties"] == FLAWED["ties"]
    assert side["margins"]["low"] == FLAWED["ties"]  # every other margin is at least 0.6
    assert side["score_field"] == "score_chosen - score_rejected"
    assert side["similarity"]["identical"] == FLAWED["identical"]
    assert side["similarity"]["near_identical"] == FLAWED["near_identical"]
    assert side["answers"]["rejected_refusal"] == FLAWED["refusals"]
    assert side["answers"]["chosen_refusal"] == 0
    assert side["prompts"]["duplicated"] == FLAWED["duplicated_prompts"]
    assert side["prompts"]["pairs_on_duplicated"] == FLAWED["pairs_on_duplicated"]
    assert side["prompts"]["distinct"] == FLAWED["pairs"] - 2
    bullets = side["format_markers"]["bullet_list"]
    assert (bullets["chosen_only"], bullets["rejected_only"]) == (
        FLAWED["bullets_chosen_only"],
        FLAWED["bullets_rejected_only"],
    )
    assert _flag_names(side) == {
        "length_bias",
        "low_margins",
        "near_identical_pairs",
        "refusals",
        "format_bias.bullet_list",
        "duplicated_prompts",
    }
    assert side["flag_count"] == 6
    # The verdict lists each flag as a warning, the same on every kind of data.
    assert {f["check"] for f in metrics["findings"] if f["severity"] == "warning"} == {
        f"preference.{name}" for name in _flag_names(side)
    }
    assert metrics["finding_counts"]["warning"] == 6
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "length_bias" in html and "could not be drawn" not in html
    assert html.count("data:image/png;base64,") == 6


def test_a_fair_set_shows_no_flag(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "fair.jsonl", build(fair_plans(), seed=0))
    metrics = run_assay(data, None, tmp_path / "out", OPTIONS).metrics
    side = metrics["preference"]["synthetic"]
    assert side["flags"] == []
    assert metrics["finding_counts"]["error"] == metrics["finding_counts"]["warning"] == 0
    assert side["length"]["chosen_longer_share"] == pytest.approx(0.5)
    assert side["margins"]["low"] == 0 and side["margins"]["ties"] == 0
    assert side["similarity"]["near_identical"] == 0
    assert side["answers"]["pairs_with_refusal"] == 0
    assert side["prompts"]["duplicated"] == 0
    assert "Nothing flagged" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_a_human_reference_stands_side_by_side(tmp_path: Path) -> None:
    flawed = write_jsonl(tmp_path / "synthetic.jsonl", build(flawed_plans(), seed=1))
    fair = write_jsonl(tmp_path / "human.jsonl", build(fair_plans(), seed=0))
    both = run_assay(flawed, fair, tmp_path / "both", OPTIONS).metrics
    alone = run_assay(fair, None, tmp_path / "alone", OPTIONS).metrics
    assert both["dataset"]["reference"]["rows"] == 40
    reference = both["preference"]["reference"]
    for key in ("length", "margins", "similarity", "answers", "format_markers"):
        assert reference[key] == alone["preference"]["synthetic"][key]
    assert reference["flags"] == []
    assert both["preference"]["synthetic"]["flag_count"] == 6
    html = (tmp_path / "both" / "report.html").read_text(encoding="utf-8")
    assert "<th>synthetic</th><th>reference</th>" in html


@pytest.mark.parametrize(
    ("shape", "convert", "suffix"),
    [
        pytest.param("standard", None, "jsonl", id="standard"),
        pytest.param("conversational", as_conversational, "jsonl", id="conversational"),
        pytest.param(
            "implicit conversational", as_implicit_conversational, "json", id="implicit-chat"
        ),
        pytest.param("implicit standard", as_implicit_standard, "jsonl", id="implicit-hh"),
        pytest.param("conversational", as_conversational, "parquet", id="parquet"),
    ],
)
def test_trl_preference_shapes_are_detected(
    tmp_path: Path, shape: str, convert: Any, suffix: str
) -> None:
    rows = build(flawed_plans(), seed=1)
    if convert is not None:
        rows = [convert(r) for r in rows]
    path = tmp_path / f"data.{suffix}"
    if suffix == "json":
        path.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    elif suffix == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        write_jsonl(path, rows)
    metrics = run_assay(path, None, tmp_path / "out", OPTIONS).metrics
    assert metrics["dataset"]["synthetic"]["format"] == shape
    side = metrics["preference"]["synthetic"]
    # The prompt is found in every shape: the answers, and so the numbers, are the same.
    length = side["length"]
    assert (length["chosen_longer"], length["rejected_longer"], length["equal"]) == (31, 5, 4)
    assert side["similarity"]["identical"] == FLAWED["identical"]
    assert side["prompts"]["duplicated"] == FLAWED["duplicated_prompts"]
    assert side["margins"]["ties"] == FLAWED["ties"]


def _nemotron_run(server: FakeServer, tmp_path: Path) -> Path:
    config = {
        "teacher": {
            "base_url": server.url,
            "model": "fake-teacher",
            "api_key_env": None,
            "max_in_flight": 8,
            "retry_base_delay": 0.0,
        },
        "families": {
            "open_qa": {
                "macro_topics": ["Astronomy", "Cooking"],
                "n_subtopics": 2,
                "n_questions": 2,
            }
        },
        "responses": {"k": 3},
        "reward": {"backend": "nim", "model": "fake-reward"},
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    run = tmp_path / "run"
    run_pipeline_sync(load_pipeline(path), run)
    return run


def test_a_nemotron_run_is_detected_with_its_reward_margins(
    server: FakeServer, tmp_path: Path
) -> None:
    run = _nemotron_run(server, tmp_path)
    written = list(read_records(run / "pairs"))
    assert written
    for given in (run, run / "pairs"):
        metrics = run_assay(given, None, tmp_path / "out", OPTIONS).metrics
        assert metrics["dataset"]["synthetic"]["format"] == "synthloom pairs"
        side = metrics["preference"]["synthetic"]
        assert side["pairs"] == len(written)
        assert side["score_field"] == "meta.chosen_reward - meta.rejected_reward"
        margins = side["margins"]
        assert margins["pairs_with_margin"] == len(written)
        expected = sorted(r["meta"]["margin"] for r in written)
        assert margins["min"] == pytest.approx(expected[0], abs=1e-5)
        assert margins["max"] == pytest.approx(expected[-1], abs=1e-5)
        assert side["prompts"]["distinct"] == len({r["meta"]["prompt_id"] for r in written})
    # The TRL export of the same run: the same pairs, without the scores.
    dpo = run_assay(run / "export" / "dpo.jsonl", None, tmp_path / "dpo", OPTIONS).metrics
    assert dpo["dataset"]["synthetic"]["format"] == "conversational"
    assert dpo["preference"]["synthetic"]["pairs"] == len(written)
    assert dpo["preference"]["synthetic"]["margins"] is None
    assert dpo["preference"]["synthetic"]["length"] == side["length"]


def test_a_gate_reads_preference_paths(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "dpo.jsonl", build(flawed_plans(), seed=1))
    gate = tmp_path / "gate.yaml"
    gate.write_text(
        "- preference.synthetic.length.chosen_longer_share <= 0.6\n"
        "- preference.synthetic.similarity.near_identical == 0\n"
        "- preference.synthetic.prompts.diversity.distinct_2 > 0.1\n",
        encoding="utf-8",
    )
    result = run_assay(data, None, tmp_path / "out", AssayOptions(embedder="tfidf", gate=gate))
    assert result.exit_code == 1
    assert [g["passed"] for g in result.gate_results or []] == [False, False, True]


def test_a_gate_path_of_another_kind_is_refused_before_the_assay(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "dpo.jsonl", build(fair_plans(), seed=0))
    gate = tmp_path / "gate.yaml"
    gate.write_text("fidelity.overall: '>= 0.8'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown metric path 'fidelity\.overall'"):
        run_assay(data, None, tmp_path / "out", AssayOptions(gate=gate))
    assert not (tmp_path / "out" / "metrics.json").exists()
    assert any(
        p.startswith("preference.(synthetic|reference).length")
        for p in metric_path_patterns("preference")
    )


def test_instruction_data_still_needs_a_reference(tmp_path: Path) -> None:
    chat = write_jsonl(
        tmp_path / "chat.jsonl",
        [{"prompt": "How long do I boil an egg?", "response": "About nine minutes."}],
    )
    with pytest.raises(InputError, match="--reference"):
        run_assay(chat, None, tmp_path / "out", OPTIONS)


def _bad_rows() -> list[dict[str, Any]]:
    return build(fair_plans(4), seed=0)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(
            lambda rows: rows[2].pop("rejected"),
            r"bad\.jsonl:3, field 'rejected': lacks 'rejected'",
            id="missing-rejected",
        ),
        pytest.param(
            lambda rows: rows[1].update(rejected=[{"role": "assistant", "content": "No."}]),
            r"bad\.jsonl:2, field 'rejected': 'chosen' and 'rejected' must both be text",
            id="mixed-shapes",
        ),
        pytest.param(
            lambda rows: rows[3].update(score_chosen="high"),
            r"bad\.jsonl:4, field 'score_chosen': must be a finite number",
            id="score-not-a-number",
        ),
        pytest.param(
            lambda rows: rows[0].update(chosen=[{"role": "wizard", "content": "Hi"}]),
            r"bad\.jsonl:1, field 'chosen\[0\]\.role': role 'wizard'",
            id="unknown-role",
        ),
    ],
)
def test_bad_preference_rows_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mutate: Any, expected: str
) -> None:
    out = tmp_path / "out"
    good = write_jsonl(tmp_path / "good.jsonl", _bad_rows())
    assert main(["assay", str(good), "--out", str(out), "--embedder", "tfidf"]) == 0
    printed = capsys.readouterr().out
    assert "preference.synthetic.flag_count" in printed and "length_bias" not in printed
    before = (out / "metrics.json").read_bytes()
    rows = _bad_rows()
    mutate(rows)
    bad = write_jsonl(tmp_path / "bad.jsonl", rows)
    capsys.readouterr()
    code = main(["assay", str(bad), "--out", str(out), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("synthloom: error:")
    assert re.search(expected, err), err
    assert (out / "metrics.json").read_bytes() == before


def test_a_preference_set_against_an_instruction_reference_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_jsonl(tmp_path / "dpo.jsonl", _bad_rows())
    chat = write_jsonl(
        tmp_path / "chat.jsonl",
        [{"prompt": "How long do I boil an egg?", "response": "About nine minutes."}],
    )
    code = main(["assay", str(data), "-r", str(chat), "--out", str(tmp_path / "o"), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert "is preference data but the reference" in err and "instruction data" in err


def _numeric_paths(node: Any, prefix: str) -> list[str]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _numeric_paths(v, f"{prefix}.{k}")]
    if isinstance(node, (int, float)) and not isinstance(node, bool):
        return [prefix]
    return []  # text, flags, and lists (bins, examples) are not gate paths


def test_every_number_of_a_preference_assay_can_be_gated(tmp_path: Path) -> None:
    flawed = write_jsonl(tmp_path / "synthetic.jsonl", build(flawed_plans(), seed=1))
    fair = write_jsonl(tmp_path / "human.jsonl", build(fair_plans(), seed=0))
    metrics = run_assay(flawed, fair, tmp_path / "out", OPTIONS).metrics
    paths = _numeric_paths(metrics["preference"], "preference")
    assert len(paths) > 150
    schema = schema_matcher("preference", [])
    assert [p for p in paths if not schema.match(p)] == []
    assert schema.match("dataset.synthetic.rows") and not schema.match("fidelity.overall")


def test_preference_data_joins_ray_and_refuses_table_options(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "dpo.jsonl", build(fair_plans(6), seed=0))
    # Preference data on Ray joins the cluster first: an address nothing listens on is one
    # line naming --ray-address, before anything is written.
    options = AssayOptions(embedder="tfidf", executor="ray", ray_address="127.0.0.1:9")
    with pytest.raises(InputError, match=r"cannot connect to Ray at 127\.0\.0\.1:9") as caught:
        run_assay(data, None, tmp_path / "out", options)
    assert caught.value.field == "--ray-address"
    assert not (tmp_path / "out").exists()
    with pytest.raises(InputError, match="--private is not measured on preference data"):
        run_assay(data, None, tmp_path / "o2", AssayOptions(private=[data]))
    kinds = tmp_path / "kinds.yaml"
    kinds.write_text("turns: categorical\n", encoding="utf-8")
    with pytest.raises(InputError, match="--kinds is not measured on preference data"):
        run_assay(data, None, tmp_path / "o3", AssayOptions(kinds=kinds))
    with pytest.raises(InputError, match="--show-pii is not measured on preference data"):
        run_assay(data, None, tmp_path / "o4", AssayOptions(show_pii=True))


def test_empty_answers_are_counted_on_each_side(tmp_path: Path) -> None:
    rows = build(fair_plans(10), seed=0)
    rows[3]["rejected"] = ""
    rows[6]["chosen"] = "  \n"
    rows[8]["rejected"] = ""
    data = write_jsonl(tmp_path / "dpo.jsonl", rows)
    side = run_assay(data, None, tmp_path / "out", OPTIONS).metrics["preference"]["synthetic"]
    answers = side["answers"]
    assert (answers["chosen_empty"], answers["rejected_empty"]) == (1, 2)
    assert answers["pairs_with_empty"] == 3 and answers["empty_share"] == pytest.approx(0.3)
    assert "empty_answers" in _flag_names(side)


def test_a_failing_per_pair_phase_leaves_the_other_items(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from synthloom.assay import preference_assay

    def broken(answers: list[tuple[str, str]]) -> Any:
        raise MemoryError("no room for the shingles")

    monkeypatch.setattr(preference_assay, "measure_pairs", broken)
    data = write_jsonl(tmp_path / "dpo.jsonl", build(flawed_plans(), seed=1))
    out = tmp_path / "out"
    metrics = run_assay(data, None, out, OPTIONS).metrics
    cause = "MemoryError: no room for the shingles"
    items = ("length", "similarity", "answers", "format_markers")
    assert metrics["errors"] == {
        "preference.synthetic.pair_measures": cause,
        **{
            f"preference.synthetic.{item}": f"RuntimeError: the per-pair values failed: {cause}"
            for item in items
        },
    }
    side = metrics["preference"]["synthetic"]
    for item in items:
        assert side[item] is None
    # What does not need the per-pair values is still measured and flagged.
    assert side["margins"]["ties"] == FLAWED["ties"]
    assert side["prompts"]["duplicated"] == FLAWED["duplicated_prompts"]
    assert {f["name"] for f in side["flags"]} == {"low_margins", "duplicated_prompts"}
    # Each section of the report says why it is empty.
    report = (out / "report.html").read_text(encoding="utf-8")
    assert report.count("the per-pair values failed: MemoryError") == len(items)
