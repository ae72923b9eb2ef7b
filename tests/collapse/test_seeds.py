"""Several seeds per run: bands, reproducibility, the family defaults and what they show."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread
from scipy import stats

from synthloom.collapse import (
    FAMILY_DEFAULTS,
    CollapseOptions,
    CollapseResult,
    run_collapse,
)
from synthloom.collapse.report import plot_png, render_html

MODES = ("replace", "mix:0.2", "accumulate")


def _lognormal_csv(path: Path, rows: int = 300) -> Path:
    # Incomes: skewed, as real amounts are; a header and a second, unused text column.
    rng = np.random.default_rng(5)
    income = rng.lognormal(10.5, 0.6, size=rows)
    age = rng.integers(18, 80, size=rows)
    lines = ["household,income,age"] + [
        f"h{i:04d},{v:.2f},{a}" for i, (v, a) in enumerate(zip(income, age, strict=True))
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _small_options(data: Path, *, seed: int, seeds: int) -> CollapseOptions:
    return CollapseOptions(
        data=data,
        family="gaussian",
        generations=4,
        samples=40,
        modes=MODES,
        seed=seed,
        seeds=seeds,
        eval_samples=300,
    )


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> CollapseResult:
    data = _lognormal_csv(tmp_path_factory.mktemp("seeds") / "households.csv")
    options = _small_options(data, seed=7, seeds=4)
    return run_collapse(options)


def test_runs_the_seeds_after_the_given_one(small_run: CollapseResult) -> None:
    assert small_run.seeds == [7, 8, 9, 10]
    assert small_run.config["seeds"] == 4 and small_run.config["seed"] == 7
    assert all(set(curves) == set(MODES) for curves in small_run.runs.values())


def test_bands_contain_every_seed_and_the_mean_is_the_seeds_mean(
    small_run: CollapseResult,
) -> None:
    checked = 0
    for mode in MODES:
        for metric in small_run.metrics:
            low, high = small_run.band(mode, metric)
            mean = small_run.series(mode, metric)
            for g in range(5):
                values = [small_run.seed_series(s, mode, metric)[g] for s in small_run.seeds]
                summary = small_run.curves[mode][g][metric]
                assert summary["per_seed"] == values
                assert all(low[g] <= v <= high[g] for v in values)
                assert low[g] in values and high[g] in values  # the band is no wider
                assert mean[g] == pytest.approx(float(np.mean(values)), rel=1e-12, abs=1e-15)
                checked += 1
    assert checked == len(MODES) * len(small_run.metrics) * 5
    # The seeds differ (else a band says nothing), from generation 0 on: each has its split.
    low, high = small_run.band("replace", "wasserstein")
    assert all(h > lo for lo, h in zip(low, high, strict=True))


def test_a_seed_of_a_run_is_the_one_seed_run_of_that_seed(
    small_run: CollapseResult, tmp_path: Path
) -> None:
    data = Path(small_run.config["data"])
    again = run_collapse(_small_options(data, seed=9, seeds=1))
    assert again.seeds == [9]
    assert again.runs[9] == small_run.runs[9]
    rerun = run_collapse(_small_options(data, seed=7, seeds=4))
    assert rerun.to_dict() == small_run.to_dict()


def test_one_seed_still_works_and_claims_no_band(tmp_path: Path) -> None:
    data = _lognormal_csv(tmp_path / "households.csv")
    result = run_collapse(
        CollapseOptions(
            data=data, family="gaussian", generations=3, samples=20, seeds=1, eval_samples=200
        )
    )
    assert result.seeds == [0]
    low, high = result.band("replace", "variance_ratio")
    assert low == high == result.series("replace", "variance_ratio")
    for verdict in result.verdicts:
        assert verdict.seeds == 1
        assert verdict.apart == {"replace vs accumulate": None}
        assert "one seed, no band" in verdict.text and "apart" not in verdict.text
    html = render_html(result)
    assert "one seed, no band" in html and "min–max over the seeds" not in html


def _tint_pixels(png: str, rgb: tuple[float, float, float], alpha: float) -> int:
    """Pixels of the colour ``rgb`` drawn at ``alpha`` over white (a shaded band)."""
    import base64

    image = imread(io.BytesIO(base64.b64decode(png)), format="png")[..., :3]
    tint = np.array([1 - alpha + alpha * c for c in rgb])
    return int(np.all(np.abs(image - tint) < 0.02, axis=-1).sum())


def test_the_plot_shades_a_band_per_mode_only_with_several_seeds(
    small_run: CollapseResult,
) -> None:
    from matplotlib import colors

    one = run_collapse(_small_options(Path(small_run.config["data"]), seed=7, seeds=1))
    palette = [colors.to_rgb(f"C{i}") for i in range(len(MODES))]
    shaded = [_tint_pixels(plot_png(small_run, "wasserstein"), c, 0.2) for c in palette]
    # Without bands only the anti-aliased edges of the lines come near a tint.
    plain = [_tint_pixels(plot_png(one, "wasserstein"), c, 0.2) for c in palette]
    assert all(p < 200 for p in plain), plain
    # The middle mode's band lies mostly under the others', so it shows less of its own tint.
    assert all(s > 3 * max(p, 20) for s, p in zip(shaded, plain, strict=True)), (shaded, plain)
    assert shaded[0] > 2000 and shaded[-1] > 2000, shaded


def test_defaults_per_family_are_what_the_run_uses() -> None:
    options = CollapseOptions(family="lstm")
    plan = options.validate()
    defaults = FAMILY_DEFAULTS["lstm"]
    assert (plan.generations, plan.samples, len(plan.seeds)) == (
        defaults.generations,
        defaults.samples,
        defaults.seeds,
    )
    assert [m.name for m in plan.modes] == ["replace", "accumulate"]
    mine = CollapseOptions(family="lstm", generations=2, samples=9, seeds=2, seed=4).validate()
    assert (mine.generations, mine.samples, mine.seeds) == (2, 9, (4, 5))


@pytest.fixture(scope="module")
def gaussian_defaults() -> CollapseResult:
    # Everything at its default but the family: the run a user gets from
    # `synthloom collapse --family gaussian`.
    return run_collapse(CollapseOptions(family="gaussian"))


@pytest.mark.parametrize("metric", ["variance_ratio", "thinner_tail"])
def test_gaussian_defaults_set_replace_apart_from_accumulate(
    gaussian_defaults: CollapseResult, metric: str
) -> None:
    result = gaussian_defaults
    seeds = result.seeds
    assert len(seeds) == FAMILY_DEFAULTS["gaussian"].seeds >= 5
    last = FAMILY_DEFAULTS["gaussian"].generations

    def kept(mode: str) -> list[float]:
        return [
            result.seed_series(s, mode, metric)[last] / result.seed_series(s, mode, metric)[0]
            for s in seeds
        ]

    replace, accumulate = kept("replace"), kept("accumulate")
    # Every seed of replace below every seed of accumulate: the one-sided Mann-Whitney U test
    # of 5 against 5 then has its smallest p-value, 1/252.
    assert max(replace) < min(accumulate)
    assert stats.mannwhitneyu(replace, accumulate, alternative="less").pvalue < 0.01
    # And by a wide margin: replace keeps under half of what accumulate keeps on every seed.
    assert max(replace) < 0.5 * min(accumulate)
    verdict = next(v for v in result.verdicts if v.metric == metric)
    assert verdict.apart == {"replace vs accumulate": True}
    assert verdict.generation == last
    replace_verdict, accumulate_verdict = verdict.modes
    assert replace_verdict.mean == pytest.approx(float(np.mean(replace)))
    assert (replace_verdict.low, replace_verdict.high) == (min(replace), max(replace))
    assert accumulate_verdict.mean == pytest.approx(float(np.mean(accumulate)))
    assert f"by generation {last} ({len(seeds)} seeds, min–max" in verdict.text
    assert "replace's band is apart from accumulate's" in verdict.text


def test_gaussian_defaults_accumulate_keeps_the_real_spread(
    gaussian_defaults: CollapseResult,
) -> None:
    for seed in gaussian_defaults.seeds:
        variance = gaussian_defaults.seed_series(seed, "accumulate", "variance_ratio")
        assert all(0.9 < v < 1.1 for v in variance)
        assert all(math.isfinite(v) for v in variance)
