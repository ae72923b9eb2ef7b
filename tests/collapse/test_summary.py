"""The verdict read from several seeds' curves: relative to generation 0, apart or within noise,
levelling off or not."""

from __future__ import annotations

import math

import pytest

from synthloom.collapse.summary import MetricSummary, SeedCurves, verdicts


def _curves(**modes: list[float]) -> dict[str, list[dict[str, float]]]:
    """One seed: per mode, a variance_ratio per generation (thinner_tail follows it)."""
    return {
        mode: [
            {"generation": float(g), "train_size": 10.0, "variance_ratio": v, "thinner_tail": v}
            for g, v in enumerate(values)
        ]
        for mode, values in modes.items()
    }


def _runs(replace: list[list[float]], accumulate: list[list[float]]) -> dict[int, SeedCurves]:
    return {
        seed: _curves(replace=r, accumulate=a)
        for seed, (r, a) in enumerate(zip(replace, accumulate, strict=True))
    }


def test_apart_when_every_seed_of_one_ends_beyond_every_seed_of_the_other() -> None:
    runs = _runs(
        replace=[[1.0, 0.5, 0.30, 0.10, 0.05], [1.0, 0.6, 0.40, 0.20, 0.15]],
        accumulate=[[1.0, 0.99, 0.98, 0.98, 0.97], [1.0, 1.0, 1.01, 1.0, 1.01]],
    )
    verdict = verdicts(runs, "numeric", ["replace", "accumulate"])[0]
    assert verdict.metric == "variance_ratio" and verdict.generation == 4 and verdict.seeds == 2
    replace, accumulate = verdict.modes
    assert (replace.low, replace.high, replace.mean) == pytest.approx((0.05, 0.15, 0.10))
    assert (accumulate.low, accumulate.high) == pytest.approx((0.97, 1.01))
    assert verdict.apart == {"replace vs accumulate": True}
    assert verdict.text == (
        "replace kept 10% of its variance by generation 4 (2 seeds, min–max 5–15%, still falling); "
        "accumulate kept 99% (97–101%, levels off): replace's band is apart from accumulate's"
    )


def test_overlapping_bands_are_called_seed_noise() -> None:
    runs = _runs(
        replace=[[1.0, 0.9, 0.8], [1.0, 1.0, 1.0]],
        accumulate=[[1.0, 0.95, 0.9], [1.0, 1.0, 1.05]],
    )
    verdict = verdicts(runs, "numeric", ["replace", "accumulate"])[0]
    assert verdict.apart == {"replace vs accumulate": False}
    assert "replace's band overlaps accumulate's (within seed noise)" in verdict.text


def test_relative_to_each_seeds_own_generation_0() -> None:
    # Two seeds whose splits start at different values lose the same share.
    runs = _runs(replace=[[2.0, 1.0, 0.5], [4.0, 2.0, 1.0]], accumulate=[[2.0] * 3, [4.0] * 3])
    replace = verdicts(runs, "numeric", ["replace", "accumulate"])[0].modes[0]
    assert replace.low == replace.high == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("values", "trend"),
    [
        pytest.param([1.0, 1.2, 1.4, 1.45, 1.48], "levels off", id="levels-off"),
        pytest.param([1.0, 1.1, 1.2, 1.3, 1.4], "still rising", id="rising"),
        pytest.param([1.0, 0.8, 0.6, 0.4, 0.2], "still falling", id="falling"),
        pytest.param([1.0, 1.0, 1.0, 1.0, 1.0], "levels off", id="flat"),
    ],
)
def test_trend_compares_the_second_half_with_the_first(values: list[float], trend: str) -> None:
    runs = {0: {"accumulate": _curves(accumulate=values)["accumulate"]}}
    verdict = verdicts(runs, "numeric", ["accumulate"])[0]
    assert verdict.modes[0].trend == trend
    assert verdict.modes[0].middle_mean == pytest.approx(values[2])


def test_a_move_within_the_band_is_levelling_off() -> None:
    # The mean keeps rising a little, by less than the seeds' spread: that is noise.
    seeds = [[1.0, 1.2, 1.3, 1.4, 1.25], [1.0, 1.3, 1.3, 1.5, 1.75]]
    runs = {s: {"accumulate": _curves(accumulate=v)["accumulate"]} for s, v in enumerate(seeds)}
    assert verdicts(runs, "numeric", ["accumulate"])[0].modes[0].trend == "levels off"


def test_text_family_reads_perplexity_as_a_multiple() -> None:
    def rows(perplexity: list[float], coverage: list[float]) -> list[dict[str, float]]:
        return [
            {"generation": float(g), "train_size": 1.0, "perplexity": p, "tail_coverage": c}
            for g, (p, c) in enumerate(zip(perplexity, coverage, strict=True))
        ]

    runs: dict[int, SeedCurves] = {
        0: {"replace": rows([28.0, 140.0, 420.0], [0.03, 0.01, 0.003])},
        1: {"replace": rows([30.0, 150.0, 600.0], [0.03, 0.01, 0.006])},
    }
    perplexity, coverage = verdicts(runs, "text", ["replace"])
    assert perplexity.modes[0].mean == pytest.approx(17.5)
    assert perplexity.text.startswith(
        "replace's held-out perplexity went 17.5× by generation 2 (2 seeds, min–max 15–20×"
    )
    assert coverage.text.startswith("replace kept 15% of its tail coverage by generation 2")


def test_a_failed_seed_leaves_the_band_to_the_others() -> None:
    summary = MetricSummary.of([1.0, math.nan, 3.0])
    assert (summary.mean, summary.low, summary.high) == (2.0, 1.0, 3.0)
    assert math.isnan(summary.per_seed[1])
    assert math.isnan(MetricSummary.of([math.nan]).mean)
