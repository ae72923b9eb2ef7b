"""Time per generation of each collapse-lab family on the default corpus (pydoc_data.topics).

Each family runs ``replace`` for a few generations with N samples per generation; the table
shows the one-off set-up (loading, splitting, generation 0 with its samples and metrics) and the
mean wall time of a later generation (fit on the samples, draw N, measure every metric). The
numeric families model the corpus's two sentence features (log token count, mean word length).

    python benchmarks/bench_collapse.py [--samples 1000] [--generations 3] [--families ...]

The ``lstm`` row needs torch (``pip install 'synthloom[embed]'``) and is skipped with a note
without it. It prints a table; it asserts nothing.
"""

from __future__ import annotations

import argparse
import time

from synthloom.collapse import CollapseOptions, run_collapse
from synthloom.errors import MissingDependencyError


def _time_family(family: str, samples: int, generations: int) -> tuple[float, float, float]:
    stamps: list[float] = []
    start = time.perf_counter()
    result = run_collapse(
        CollapseOptions(family=family, generations=generations, samples=samples),
        on_generation=lambda mode, g: stamps.append(time.perf_counter()),
    )
    setup = stamps[0] - start
    per_generation = (stamps[-1] - stamps[0]) / generations
    headline = "perplexity" if "perplexity" in result.metrics else "variance_ratio"
    return setup, per_generation, result.series("replace", headline)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--generations", type=int, default=3)
    parser.add_argument("--families", nargs="+", default=["gaussian", "gmm", "ngram", "lstm"])
    args = parser.parse_args()
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
