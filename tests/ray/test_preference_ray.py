"""The preference assay on Ray: the per-pair phase mapped over shards of pairs gives the local
values, and ``synthloom assay --executor ray`` writes the local metrics.json."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from synthloom.assay import preference_assay
from synthloom.assay.preference.measures import (
    SHARD_PAIRS,
    PairMeasures,
    measure_pairs,
    measure_pairs_ray,
)
from synthloom.cli import main
from synthloom.errors import ConfigError
from tests.assay.preference_sets import (
    FLAWED,
    REFUSAL,
    as_conversational,
    build,
    fair_plans,
    flawed_plans,
    write_jsonl,
)

pytestmark = pytest.mark.slow


def _messy_answers() -> list[tuple[str, str]]:
    """Realistic pairs plus what real sets hold: empty and whitespace answers, a refusal on the
    chosen side, an answer copied with other spacing and case, a markdown table and code."""
    answers = [(str(r["chosen"]), str(r["rejected"])) for r in build(flawed_plans(), seed=1)]
    answers += [
        ("", "Use `sorted(items, key=len)`; it returns a new list."),
        ("  \n", ""),
        (REFUSAL, "Here is how:\n\n```python\nwith open(path) as fh:\n    data = fh.read()\n```"),
        (
            "| flag | meaning |\n|---|---|\n| -v | verbose |\n| -q | quiet |",
            "  | FLAG | MEANING |\n|---|---|\n| -V | VERBOSE |\n| -Q | QUIET |  ",
        ),
        ("## Steps\n1. Install it.\n2. Run **it**.", "Install it, then run it."),
    ]
    return answers


def _assert_same(remote: PairMeasures, local: PairMeasures) -> None:
    for field in fields(PairMeasures):
        np.testing.assert_array_equal(
            getattr(remote, field.name), getattr(local, field.name), err_msg=field.name
        )


def test_pair_measures_on_ray_equal_local_whatever_the_shards(ray_session: Any) -> None:
    answers = _messy_answers()
    local = measure_pairs(answers)
    # The planted flaws are in the values themselves, so equality is not of empty arrays.
    # Planted, plus the table copied in capitals and the pair of two empty answers.
    assert int(local.identical.sum()) == FLAWED["identical"] + 2
    assert int(local.rejected_refusal.sum()) == FLAWED["refusals"]
    assert bool(local.chosen_refusal[-3]) and int(local.chosen_empty.sum()) == 2
    assert np.isnan(local.edit).any() and not np.isnan(local.edit).all()
    for shard_pairs in (7, 1, len(answers)):
        remote = measure_pairs_ray(answers, shard_pairs=shard_pairs)
        assert len(remote) == len(answers)
        _assert_same(remote, local)
    _assert_same(measure_pairs_ray([]), measure_pairs([]))


def test_a_shard_size_below_one_is_refused_before_ray_starts() -> None:
    with pytest.raises(ConfigError, match="must be >= 1, got 0") as caught:
        measure_pairs_ray([("a", "b")], shard_pairs=0)
    assert caught.value.field == "shard_pairs"


def test_the_assay_on_ray_writes_the_local_metrics(
    ray_session: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # More pairs than one Ray task takes, so the merge joins shards; the flaws stay countable.
    synthetic_rows = build(flawed_plans() + fair_plans(SHARD_PAIRS + 60, seed=5), seed=2)
    synthetic = write_jsonl(tmp_path / "dpo.jsonl", synthetic_rows)
    human = [as_conversational(r) for r in build(fair_plans(60, seed=3), seed=3)]
    human[4]["rejected"] = [{"role": "assistant", "content": ""}]
    human[9]["chosen"] = [{"role": "assistant", "content": REFUSAL}]
    del human[12]["score_rejected"]  # one unscored pair, as hand-labelled sets have
    reference = write_jsonl(tmp_path / "human.jsonl", human)

    shards_seen: list[int] = []
    real = preference_assay.measure_pairs_ray

    def counting(answers: list[tuple[str, str]]) -> PairMeasures:
        shards_seen.append(-(-len(answers) // SHARD_PAIRS))
        return real(answers)

    monkeypatch.setattr(preference_assay, "measure_pairs_ray", counting)
    outs: dict[str, dict[str, Any]] = {}
    for executor in ("local", "ray"):
        out = tmp_path / executor
        argv = ["assay", str(synthetic), "-r", str(reference), "-o", str(out)]
        argv += ["--embedder", "tfidf", "--executor", executor, "-q"]
        assert main(argv) == 0, capsys.readouterr().err
        metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
        assert metrics["errors"] == {}
        for volatile in ("created", "seconds"):
            metrics.pop(volatile)
        # The paths of the two inputs are the same; only the output folders differ.
        outs[executor] = metrics
        assert (out / "report.html").is_file()
    assert shards_seen == [2, 1]  # the synthetic side in two tasks, the human side in one
    assert outs["ray"] == outs["local"]
    side = outs["ray"]["preference"]["synthetic"]
    assert side["pairs"] == FLAWED["pairs"] + SHARD_PAIRS + 60
    assert side["similarity"]["identical"] == FLAWED["identical"]
    assert side["answers"]["rejected_refusal"] == FLAWED["refusals"]
    human_side = outs["ray"]["preference"]["reference"]
    assert human_side["answers"]["rejected_empty"] == 1
    assert human_side["answers"]["chosen_refusal"] == 1
    assert human_side["margins"]["pairs_with_margin"] == 59


def _no_ray(*_: Any, **__: Any) -> PairMeasures:
    raise AssertionError("the local executor must not map shards on Ray")


def test_the_local_executor_maps_nothing_on_ray(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from synthloom.assay import AssayOptions, run_assay

    monkeypatch.setattr(preference_assay, "measure_pairs_ray", _no_ray)
    data = write_jsonl(tmp_path / "dpo.jsonl", build(flawed_plans(), seed=1))
    metrics = run_assay(data, None, tmp_path / "out", AssayOptions(embedder="tfidf")).metrics
    assert metrics["errors"] == {}
    assert metrics["preference"]["synthetic"]["similarity"]["identical"] == FLAWED["identical"]
