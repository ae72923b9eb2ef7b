"""Table fidelity: synthloom's ``table_fidelity`` against SDMetrics' ``QualityReport``.

Both run on the same generated real and synthetic tables (20 mixed columns: numerical with
missing values, correlated numerical, datetimes, categoricals of several sizes, booleans, small
integer codes), with SDMetrics' subsampling turned off. Prints both times, the ratio, and how far
our column scores are from the report's and our pair scores from SDMetrics' metric classes.

    python benchmarks/bench_fidelity.py --rows 1000000
    python benchmarks/bench_fidelity.py --rows 1000000 --sdmetrics-rows 200000
    python benchmarks/bench_fidelity.py --rows 0 --instruction-records 10000

It then times a whole ``synthloom assay`` (every section, report included) on
``--instruction-records`` generated chat records against as many reference records, once with
the MiniLM embedder (when the ``embed`` extra is installed) and once with TF-IDF + SVD, and
prints the slowest sections. ``--rows 0`` skips the table part, ``--instruction-records 0`` the
instruction part.

``--sdmetrics-rows`` runs the report (and ours again, for a like-for-like ratio) on the first N
rows when SDMetrics is too slow for the full size. A benchmark, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthloom.assay.fidelity import column_kinds, table_fidelity
from synthloom.assay.run import AssayOptions, run_assay
from synthloom.records import write_jsonl


def make_table(rows: int, *, seed: int, shift: float) -> pd.DataFrame:
    """A 20-column table; ``shift`` moves numeric means and category weights a little."""
    rng = np.random.default_rng(seed)
    base = rng.normal(shift, 1.0, rows)
    columns: dict[str, Any] = {}
    for i in range(8):
        noise = rng.normal(0.0, 1.0 + 0.2 * i, rows)
        values = base * (0.9 - 0.1 * i) + noise if i < 4 else rng.gamma(2.0 + i, 1.0 + shift, rows)
        if i % 3 == 0:
            values[rng.random(rows) < 0.03] = np.nan
        columns[f"num_{i}"] = values
    start = np.datetime64("2015-01-01T00:00:00", "s")
    for i in range(2):
        offsets = rng.integers(0, 3600 * 24 * 365 * (5 + i), rows)
        if i == 0:
            offsets = offsets + (base * 3600 * 24 * 30).astype(np.int64)
        columns[f"date_{i}"] = pd.Series(start + offsets.astype("timedelta64[s]")).astype(
            "datetime64[ns]"
        )
    for i, size in enumerate((3, 8, 30, 500, 12, 5)):
        weights = rng.dirichlet(np.ones(size) * (2.0 + shift))
        labels = np.array([f"c{i}_{j}" for j in range(size)], dtype=object)
        if i == 0:
            # Tied to the numeric base, so some pairs pass the association filter.
            codes = np.clip(((base + 1.5) / 1.2).astype(np.int64), 0, size - 1)
            values = labels[codes]
        else:
            values = labels[rng.choice(size, rows, p=weights)]
        if i == 2:
            values = values.copy()
            values[rng.random(rows) < 0.02] = None
        columns[f"cat_{i}"] = values
    columns["flag_0"] = rng.random(rows) < 0.3 + shift / 10
    columns["flag_1"] = base > 0.5
    columns["code_0"] = rng.integers(0, 4, rows)
    columns["code_1"] = np.clip(np.round(base + 2).astype(np.int64), 0, 4)
    return pd.DataFrame(columns)


def run_sdmetrics(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str]
) -> tuple[tuple[float, float], Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.reports.single_table import QualityReport

        metadata = {"columns": {name: {"sdtype": kind} for name, kind in kinds.items()}}
        report = QualityReport()
        report.num_rows_subsample = None  # subsampling off: the same data as ours
        started, cpu = time.perf_counter(), time.process_time()
        report.generate(real, synthetic, metadata, verbose=False)
        return (time.perf_counter() - started, time.process_time() - cpu), report


def time_ours(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str]
) -> tuple[tuple[float, float], Any]:
    started, cpu = time.perf_counter(), time.process_time()
    result = table_fidelity(real, synthetic, kinds=kinds)
    return (time.perf_counter() - started, time.process_time() - cpu), result


def column_difference(ours: dict[str, Any], report: Any) -> float:
    details = report.get_details("Column Shapes")
    worst = 0.0
    for _, row in details.iterrows():
        worst = max(worst, abs(ours["columns"][row["Column"]]["score"] - row["Score"]))
    return worst


def pair_difference(
    ours: dict[str, Any], real: pd.DataFrame, synthetic: pd.DataFrame, *, pairs: int, seed: int
) -> float:
    """Our pair scores against SDMetrics' metric classes on a random sample of pairs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.column_pairs import ContingencySimilarity, CorrelationSimilarity

    def numeric(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
        out = frame[names].copy()
        for name in names:
            if ours["columns"][name]["kind"] == "datetime":
                out[name] = out[name].astype("int64").astype(float)
        return out

    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(ours["pairs"]), size=min(pairs, len(ours["pairs"])), replace=False)
    worst = 0.0
    for index in chosen:
        pair = ours["pairs"][index]
        names = pair["columns"]
        real_pair, synthetic_pair = numeric(real, names), numeric(synthetic, names)
        if pair["metric"] == "CorrelationSimilarity":
            reference = CorrelationSimilarity.compute(real_pair, synthetic_pair)
        else:
            continuous = [
                n for n in names if ours["columns"][n]["kind"] in ("numerical", "datetime")
            ]
            reference = ContingencySimilarity.compute(
                real_pair, synthetic_pair, continuous_column_names=continuous or None
            )
        worst = max(worst, abs(pair["score"] - reference))
    return worst


def _vocabulary(size: int) -> list[str]:
    """The ``size`` most frequent English words of the Python documentation shipped with
    Python (``pydoc_data``), most frequent first: real words tokenize as real text does."""
    from collections import Counter
    from pydoc_data.topics import topics

    counts = Counter(
        word for text in topics.values() for word in re.findall(r"[a-z]{2,}", text.lower())
    )
    return [word for word, _ in counts.most_common(size)]


def make_chat(n: int, *, seed: int, short: bool) -> list[dict[str, Any]]:
    """Chat records with Zipf-distributed words; ``short`` answers are briefer and lose the
    rarest fifth of the vocabulary (a thinner tail, as model output tends to have)."""
    rng = random.Random(seed)
    vocabulary = _vocabulary(5000)
    if short:
        vocabulary = vocabulary[: len(vocabulary) * 4 // 5]
    weights = [1.0 / rank for rank in range(1, len(vocabulary) + 1)]
    records = []
    for i in range(n):
        words = rng.choices(vocabulary, weights=weights, k=60)
        question = f"How does {words[0]} relate to {' '.join(words[1:6])}?"
        sentences = rng.randint(1, 3) if short else rng.randint(2, 6)
        answer = " ".join(
            " ".join(rng.choices(vocabulary, weights=weights, k=rng.randint(6, 14))).capitalize()
            + "."
            for _ in range(sentences)
        )
        records.append(
            {
                "messages": [
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": answer},
                ],
                "meta": {"id": i, "score": round(rng.uniform(1, 5), 2)},
            }
        )
    return records


def time_instruction_assay(n: int, seed: int) -> None:
    """Print the time of a whole assay on ``n`` synthetic vs ``n`` reference chat records."""
    print(f"\nsynthloom assay on {n} synthetic vs {n} reference instruction records")
    print(f"{'embedder':<22}{'wall s':>10}{'CPU s':>10}  slowest sections (s)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_jsonl(make_chat(n, seed=seed, short=False), root / "reference.jsonl")
        write_jsonl(make_chat(n, seed=seed + 1, short=True), root / "synthetic.jsonl")
        for embedder in ("auto", "tfidf"):
            out = root / f"out-{embedder}"
            wall, cpu = time.perf_counter(), time.process_time()
            run_assay(
                root / "synthetic.jsonl",
                root / "reference.jsonl",
                out,
                AssayOptions(embedder=embedder, seed=seed),
            )
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            metrics = json.loads((out / "metrics.json").read_text())
            seconds = {k: v for k, v in metrics["seconds"].items() if k != "total"}
            slowest = sorted(seconds.items(), key=lambda kv: -kv[1])[:4]
            method = metrics["dataset"]["embedder"]["method"]
            print(
                f"{method:<22}{wall:>10.1f}{cpu:>10.1f}  "
                + ", ".join(f"{k} {v:.1f}" for k, v in slowest)
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per table")
    parser.add_argument(
        "--sdmetrics-rows",
        type=int,
        default=None,
        help="rows for the SDMetrics run (default: --rows)",
    )
    parser.add_argument(
        "--check-pairs", type=int, default=12, help="pairs checked vs metric classes"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--instruction-records",
        type=int,
        default=10_000,
        help="records per side for the whole-assay timing (0 to skip)",
    )
    args = parser.parse_args()
    if args.rows:
        table_benchmark(args)
    if args.instruction_records:
        time_instruction_assay(args.instruction_records, args.seed)


def table_benchmark(args: argparse.Namespace) -> None:

    real = make_table(args.rows, seed=args.seed, shift=0.0)
    synthetic = make_table(args.rows, seed=args.seed + 1, shift=0.15)
    kinds = column_kinds(real, synthetic)

    ours_full_time, ours_full = time_ours(real, synthetic, kinds)
    compare_rows = args.sdmetrics_rows or args.rows
    real_small, synthetic_small = real.head(compare_rows), synthetic.head(compare_rows)
    if compare_rows == args.rows:
        ours_time, ours = ours_full_time, ours_full
    else:
        ours_time, ours = time_ours(real_small, synthetic_small, kinds)
    sdmetrics_time, report = run_sdmetrics(real_small, synthetic_small, kinds)

    print(
        f"columns: {len(real.columns)}  kinds: "
        + ", ".join(
            f"{kind}={sum(v == kind for v in kinds.values())}"
            for kind in sorted(set(kinds.values()))
        )
    )
    print(f"{'task':<44}{'rows':>10}{'wall s':>10}{'CPU s':>10}")
    print(
        f"{'synthloom table_fidelity':<44}{args.rows:>10}{ours_full_time[0]:>10.2f}"
        f"{ours_full_time[1]:>10.2f}"
    )
    if compare_rows != args.rows:
        print(
            f"{'synthloom table_fidelity':<44}{compare_rows:>10}{ours_time[0]:>10.2f}"
            f"{ours_time[1]:>10.2f}"
        )
    print(
        f"{'SDMetrics QualityReport (no subsampling)':<44}{compare_rows:>10}"
        f"{sdmetrics_time[0]:>10.2f}{sdmetrics_time[1]:>10.2f}"
    )
    threads = min(os.cpu_count() or 1, 8)
    print(
        f"speed-up at {compare_rows} rows: {sdmetrics_time[0] / ours_time[0]:.1f}x wall, "
        f"{sdmetrics_time[1] / ours_time[1]:.1f}x CPU (ours uses up to {threads} threads)"
    )
    print(f"max |column score - report|: {column_difference(ours, report):.2e}")
    pair_gap = pair_difference(
        ours, real_small, synthetic_small, pairs=args.check_pairs, seed=args.seed
    )
    print(f"max |pair score - metric class| over {args.check_pairs} random pairs: {pair_gap:.2e}")
    shapes = report.get_properties().set_index("Property")["Score"]
    print(f"column shapes: ours {ours['column_shapes']:.6f}  report {shapes['Column Shapes']:.6f}")
    print(
        f"column pair trends: ours {ours['column_pair_trends']:.6f}  "
        f"report {shapes['Column Pair Trends']:.6f} (report bins each side on its own edges)"
    )


if __name__ == "__main__":
    main()
