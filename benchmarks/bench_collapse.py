"""Time per generation of each collapse-lab family on the default corpus (pydoc_data.topics).

Each family runs ``replace`` for a few generations with N samples per generation; the table
shows the one-off set-up (loading, splitting, generation 0 with its samples and metrics) and the
mean wall time of a later generation (fit on the samples, draw N, measure every metric). The
numeric families model the corpus's two sentence features (log token count, mean word length).

    python benchmarks/bench_collapse.py [--samples 1000] [--generations 3] [--families ...]
    python benchmarks/bench_collapse.py --defaults [--families ...]

With ``--defaults`` it instead runs each family as ``synthloom collapse --family F`` does (the
family's generations, samples and seeds, modes replace and accumulate) and prints the wall time
and the verdict's headline figures: the share (or multiple) of generation 0 at the last
generation, mean and min–max band over the seeds, and whether the two bands are apart.

The ``lstm`` row needs torch (``pip install 'synthloom[embed]'``) and is skipped with a note
without it. It prints a table; it asserts nothing.
"""

from __future__ import annotations

import argparse
import time

from synthloom.collapse import FAMILY_DEFAULTS, CollapseOptions, run_collapse
from synthloom.errors import MissingDependencyError


def _time_family(family: str, samples: int, generations: int) -> tuple[float, float, float]:
    stamps: list[float] = []
    start = time.perf_counter()
    result = run_collapse(
        CollapseOptions(
            family=family, generations=generations, samples=samples, seeds=1, modes=("replace",)
        ),
        on_generation=lambda seed, mode, g: stamps.append(time.perf_counter()),
    )
    setup = stamps[0] - start
    per_generation = (stamps[-1] - stamps[0]) / generations
    headline = "perplexity" if "perplexity" in result.metrics else "variance_ratio"
    return setup, per_generation, result.series("replace", headline)[-1]


def _figure(value: float, reading: str) -> str:
    return f"{100 * value:.0f}%" if reading == "kept" else f"{value:.3g}x"


def _defaults(families: list[str]) -> None:
    print("each family at its defaults, modes replace and accumulate, default corpus")
    print(
        f"{'family':<9} {'G x N x seeds':>14} {'wall (s)':>9}  {'headline':<14} "
        f"{'replace (min-max)':>20} {'accumulate (min-max)':>22} {'apart':>6}"
    )
    for family in families:
        d = FAMILY_DEFAULTS[family]
        start = time.perf_counter()
        try:
            result = run_collapse(CollapseOptions(family=family))
        except MissingDependencyError as exc:
            print(f"{family:<9} skipped: {exc}")
            continue
        wall = time.perf_counter() - start
        size = f"{d.generations} x {d.samples} x {d.seeds}"
        for verdict in result.verdicts:
            cells = [
                f"{_figure(m.mean, verdict.reading)} ({_figure(m.low, verdict.reading)}-"
                f"{_figure(m.high, verdict.reading)})"
                for m in verdict.modes
            ]
            apart = verdict.apart.get("replace vs accumulate")
            print(
                f"{family:<9} {size:>14} {wall:>9.1f}  {verdict.metric:<14} {cells[0]:>20} "
                f"{cells[1]:>22} {'yes' if apart else 'no':>6}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--generations", type=int, default=3)
    parser.add_argument("--families", nargs="+", default=["gaussian", "gmm", "ngram", "lstm"])
    parser.add_argument("--defaults", action="store_true", help="run each family's defaults")
    args = parser.parse_args()
    if args.defaults:
        _defaults(args.families)
        return
    print(f"default corpus, mode replace, N={args.samples}, {args.generations} generations")
    print(f"{'family':<10} {'set-up + gen 0 (s)':>20} {'per generation (s)':>20} {'last':>22}")
    for family in args.families:
        try:
            setup, per_gen, last = _time_family(family, args.samples, args.generations)
        except MissingDependencyError as exc:
            print(f"{family:<10} skipped: {exc}")
            continue
        label = "perplexity" if family in ("ngram", "lstm") else "variance ratio"
        print(f"{family:<10} {setup:>20.2f} {per_gen:>20.2f} {label:>14} {last:>7.3g}")


if __name__ == "__main__":
    main()
