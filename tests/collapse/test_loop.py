"""The four directions the collapse literature predicts, reproduced on fixed seeds, and the loop's
contract: modes, determinism, bad options."""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from synthloom.collapse import CollapseOptions, CollapseResult, parse_mode, run_collapse
from synthloom.errors import ConfigError, DataFormatError

MODES = ("replace", "mix:0.1", "accumulate")


def _normal_csv(path: Path, rows: int = 400, seed: int = 11) -> Path:
    values = np.random.default_rng(seed).normal(3.0, 2.0, size=rows)
    path.write_text("x\n" + "\n".join(f"{v:.6f}" for v in values) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def gaussian_run(tmp_path_factory: pytest.TempPathFactory) -> CollapseResult:
    data = _normal_csv(tmp_path_factory.mktemp("gauss") / "real.csv")
    options = CollapseOptions(
        data=data,
        family="gaussian",
        generations=20,
        samples=10,
        modes=MODES,
        eval_samples=2000,
        seeds=1,
    )
    return run_collapse(options)


@pytest.fixture(scope="module")
def ngram_run() -> CollapseResult:
    return run_collapse(
        CollapseOptions(family="ngram", generations=5, samples=300, modes=MODES, seed=0, seeds=1)
    )


@pytest.mark.slow
def test_gaussian_replace_small_n_variance_shrinks(tmp_path: Path) -> None:
    # The fitted log-variance is a random walk with a downward drift of about -0.22 per
    # generation at N=10 (the MLE's bias plus Jensen's inequality), so one seed can wander up
    # for a while; across seeds the shrinkage is unmistakable.
    data = _normal_csv(tmp_path / "real.csv")
    options = CollapseOptions(
        data=data,
        family="gaussian",
        generations=40,
        samples=10,
        modes=("replace",),
        seeds=5,
        eval_samples=100,
    )
    result = run_collapse(options)
    finals = []
    for seed in result.seeds:
        variance = result.seed_series(seed, "replace", "variance_ratio")
        assert variance[0] == pytest.approx(1.0, abs=1e-9)  # generation 0 is the real fit
        finals.append(variance[-1])
    assert sum(v < 0.5 for v in finals) >= 4
    assert np.median(finals) < 0.05


def test_gaussian_mix_degrades_less_than_replace(gaussian_run: CollapseResult) -> None:
    for metric in ("kl_to_real", "wasserstein"):
        replace = gaussian_run.series("replace", metric)
        mix = gaussian_run.series("mix:0.1", metric)
        assert all(m < r for m, r in zip(mix[3:], replace[3:], strict=True)), metric


def test_gaussian_accumulate_stays_close_to_generation_0(gaussian_run: CollapseResult) -> None:
    kl = gaussian_run.series("accumulate", "kl_to_real")
    variance = gaussian_run.series("accumulate", "variance_ratio")
    tail = gaussian_run.series("accumulate", "tail_mass")
    assert max(kl) < kl[0] + 0.02
    assert all(0.9 < v < 1.1 for v in variance)
    assert all(abs(t - tail[0]) < 0.04 for t in tail)


@pytest.mark.slow
def test_ngram_replace_perplexity_and_tail_loss_rise(ngram_run: CollapseResult) -> None:
    perplexity = ngram_run.series("replace", "perplexity")
    tail_loss = ngram_run.series("replace", "tail_loss")
    assert all(b > a for a, b in pairwise(perplexity))
    assert perplexity[-1] > 3 * perplexity[0]
    assert tail_loss[-1] > 2 * tail_loss[0]
    assert tail_loss[-1] == max(tail_loss)


@pytest.mark.slow
def test_ngram_mix_degrades_less_than_replace(ngram_run: CollapseResult) -> None:
    for metric in ("perplexity", "tail_loss"):
        replace = ngram_run.series("replace", metric)
        mix = ngram_run.series("mix:0.1", metric)
        assert all(m < r for m, r in zip(mix[2:], replace[2:], strict=True)), metric


@pytest.mark.slow
def test_ngram_accumulate_stays_close_to_generation_0(ngram_run: CollapseResult) -> None:
    perplexity = ngram_run.series("accumulate", "perplexity")
    replace = ngram_run.series("replace", "perplexity")
    assert max(perplexity) < 1.25 * perplexity[0]
    assert perplexity[-1] < 0.25 * replace[-1]


@pytest.mark.slow
def test_ngram_tail_coverage_falls_under_replace(ngram_run: CollapseResult) -> None:
    coverage = ngram_run.series("replace", "tail_coverage")
    accumulate = ngram_run.series("accumulate", "tail_coverage")
    assert coverage[-1] < coverage[0]
    assert accumulate[-1] > coverage[-1]


def test_same_seed_same_curves_other_seed_other_curves(tmp_path: Path) -> None:
    data = _normal_csv(tmp_path / "real.csv")

    def run(seed: int) -> CollapseResult:
        options = CollapseOptions(
            data=data,
            family="gmm",
            components=2,
            generations=2,
            samples=50,
            modes=("replace", "accumulate"),
            seed=seed,
            seeds=1,
            eval_samples=500,
        )
        return run_collapse(options)

    first, again, other = run(1), run(1), run(2)
    assert first.to_dict() == again.to_dict()
    assert first.curves != other.curves


def test_ngram_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    text = tmp_path / "corpus.txt"
    from synthloom.collapse.data import default_corpus_text

    text.write_text(default_corpus_text()[:40_000], encoding="utf-8")
    options = CollapseOptions(
        data=text, family="ngram", generations=2, samples=100, seed=3, seeds=2
    )
    assert run_collapse(options).curves == run_collapse(options).curves


def test_generation_rows_count_and_train_sizes(tmp_path: Path) -> None:
    data = _normal_csv(tmp_path / "real.csv", rows=200)
    result = run_collapse(
        CollapseOptions(
            data=data,
            family="gaussian",
            generations=3,
            samples=25,
            modes=MODES,
            eval_samples=200,
            seeds=2,
        )
    )
    train_rows = result.data["train_rows"]
    assert [r["generation"] for r in result.curves["replace"]] == [0, 1, 2, 3]
    assert [r["train_size"] for r in result.curves["replace"]] == [train_rows, 25, 25, 25]
    assert [r["train_size"] for r in result.curves["mix:0.1"]][1:] == [25 + 18] * 3
    assert [r["train_size"] for r in result.curves["accumulate"]] == [
        train_rows + 25 * g for g in range(4)
    ]
    for curves in result.runs.values():
        assert set(curves) == set(MODES)
        for rows in curves.values():
            assert rows[0] == curves["replace"][0]  # generation 0 is shared by the modes
            assert all(math.isfinite(v) for row in rows for v in row.values())
    assert result.runs[0]["replace"][0] != result.runs[1]["replace"][0]  # each seed its split


@pytest.mark.parametrize(
    ("text", "kind", "fraction"),
    [
        pytest.param("replace", "replace", 0.0, id="replace"),
        pytest.param(" Accumulate ", "accumulate", 0.0, id="accumulate"),
        pytest.param("mix:0.1", "mix", 0.1, id="mix"),
        pytest.param("mix:.25", "mix", 0.25, id="mix-no-leading-zero"),
    ],
)
def test_parse_mode(text: str, kind: str, fraction: float) -> None:
    mode = parse_mode(text)
    assert (mode.kind, mode.fraction) == (kind, fraction)


@pytest.mark.parametrize("text", ["mixed", "mix:", "mix:0", "mix:1.5", "mix:-0.1", "keep"], ids=str)
def test_parse_mode_rejects(text: str) -> None:
    with pytest.raises(ConfigError, match="mode"):
        parse_mode(text)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"family": "transformer"}, "unknown family", id="family"),
        pytest.param({"samples": 0}, "--samples must be at least 1", id="samples"),
        pytest.param({"generations": 0}, "--generations", id="generations"),
        pytest.param({"modes": ("replace", "replace")}, "given twice", id="duplicate-mode"),
        pytest.param({"modes": ()}, "at least one --mode", id="no-mode"),
        pytest.param({"temperature": 0.0}, "--temperature", id="temperature"),
        pytest.param({"order": 9}, "--order", id="order"),
        pytest.param({"seed": -1}, "--seed must", id="seed"),
        pytest.param({"seeds": 0}, "--seeds must be between 1 and 1000, got 0", id="seeds-0"),
        pytest.param({"seeds": 1001}, "--seeds must be between 1 and 1000", id="seeds-many"),
    ],
)
def test_bad_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        run_collapse(CollapseOptions(**options))  # type: ignore[arg-type]


def test_too_little_text_for_n(tmp_path: Path) -> None:
    text = tmp_path / "tiny.txt"
    text.write_text("One sentence here. Another one there. And a third one.", encoding="utf-8")
    with pytest.raises(DataFormatError, match="too little text for n=3"):
        run_collapse(CollapseOptions(data=text, family="ngram"))


def test_empty_corpus(tmp_path: Path) -> None:
    text = tmp_path / "empty.txt"
    text.write_text("  \n\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="empty corpus"):
        run_collapse(CollapseOptions(data=text, family="ngram"))
