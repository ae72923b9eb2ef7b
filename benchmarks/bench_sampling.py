"""Sampled embedding metrics against the full-data values, and what their intervals cost.

Two clouds of 10,000 unit vectors in 384 dimensions (MiniLM's size, a decaying spectrum as
sentence embeddings have; both from one distribution) are measured whole, then on the assay's
default sample of 5,000 per side with its bootstrap intervals. Prints each metric's full value,
sampled value, interval (and estimate where the metric is size-biased), whether the interval
holds the full value, and the seconds the intervals add. No text is embedded (that cost is the
README's: about 300 texts/s with MiniLM on two cores).

    PYTHONPATH=src python benchmarks/bench_sampling.py
"""

from __future__ import annotations

import time

import numpy as np

from synthloom.assay.diversity import vendi_score
from synthloom.assay.embedding_fidelity import embedding_fidelity
from synthloom.assay.sampling import DEFAULT_SAMPLE_SIZE, Bootstrap, draw_sample

ROWS = 10_000
DIM = 384


def cloud(rng: np.random.Generator) -> np.ndarray:
    vectors = rng.standard_normal((ROWS, DIM)) * (1.0 / np.arange(1, DIM + 1)) ** 0.5
    unit: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return unit


def main() -> None:
    rng = np.random.default_rng(0)
    real, synthetic = cloud(rng), cloud(rng)
    ref_side = draw_sample(ROWS, DEFAULT_SAMPLE_SIZE, seed=0, side="reference")
    syn_side = draw_sample(ROWS, DEFAULT_SAMPLE_SIZE, seed=0, side="synthetic")
    assert ref_side.indices is not None and syn_side.indices is not None
    real_s, syn_s = real[ref_side.indices], synthetic[syn_side.indices]

    full = embedding_fidelity(real, synthetic, max_samples=None)
    start = time.perf_counter()
    embedding_fidelity(real_s, syn_s, max_samples=None)
    plain = time.perf_counter() - start
    start = time.perf_counter()
    sampled = embedding_fidelity(
        real_s, syn_s, max_samples=None, bootstrap=Bootstrap(), samples=(ref_side, syn_side)
    )
    with_intervals = time.perf_counter() - start
    start = time.perf_counter()
    low, high, estimate = Bootstrap().half_samples(
        lambda rows: vendi_score(syn_s[rows]), vendi_score(syn_s), [syn_side]
    )
    vendi_seconds = time.perf_counter() - start
    rows = [
        (name, full[name], sampled[name], sampled[f"{name}_interval"])
        for name in (
            "frechet_distance",
            "precision",
            "recall",
            "density",
            "coverage",
            "classifier_auc",
        )
    ]
    rows.append(
        (
            "vendi_score",
            vendi_score(synthetic),
            vendi_score(syn_s),
            {"low": low, "high": high, "estimate": estimate},
        )
    )
    print(f"{ROWS} vs {ROWS} rows, {DIM} dimensions, sample {DEFAULT_SAMPLE_SIZE} per side")
    print(
        f"{'metric':<18}{'full':>10}{'sampled':>10}{'estimate':>10}{'low':>10}{'high':>10}  holds"
    )
    for name, whole, value, shown in rows:
        est = shown.get("estimate")
        print(
            f"{name:<18}{whole:>10.4f}{value:>10.4f}"
            f"{(f'{est:.4f}' if est is not None else '-'):>10}"
            f"{shown['low']:>10.4f}{shown['high']:>10.4f}  "
            f"{'yes' if shown['low'] <= whole <= shown['high'] else 'no'}"
        )
    print(
        f"seconds: embedding metrics {plain:.1f} alone, {with_intervals:.1f} with intervals; "
        f"Vendi intervals {vendi_seconds:.1f} per side"
    )


if __name__ == "__main__":
    main()
