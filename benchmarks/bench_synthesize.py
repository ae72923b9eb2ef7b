"""Tabular synthesis: synthloom's copula and DP copula against SDV and smartnoise-synth's MST.

On the same generated tables, in one run:

* ``synthloom copula`` against SDV's ``GaussianCopulaSynthesizer`` (no privacy guarantee);
* ``synthloom dp-copula`` against smartnoise-synth's ``MST`` at each ``--epsilons`` value.

Every synthetic table is scored by synthloom's own assay in this environment (fidelity overall,
column shapes, column pair trends, DCR); time is fit + sample inside each tool's process, reading
and writing files left out. The peers run in their own virtual environments, made once by::

    bash benchmarks/setup_synth_peers.sh        # .venv-sdv and .venv-smartnoise (torch CPU)
    python benchmarks/bench_synthesize.py --rows 10000 100000

Both DP methods get the same public bounds for the numeric and date columns (the generator's
design ranges, not the data's extremes) and read the categories from the data. MST discretises
each bounded column into ``--mst-bins`` equal-width bins (smartnoise's ``BinTransformer``) and
writes bin midpoints back. A benchmark, not a test: nothing is asserted.

The same file is the peer runner (``--peer sdv|mst``), which imports only pandas and the peer.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
PEER_PYTHON = {"sdv": ROOT / ".venv-sdv/bin/python", "mst": ROOT / ".venv-smartnoise/bin/python"}
DATE_COLUMNS = ("signup",)
_EPOCH = pd.Timestamp("1970-01-01")

# Public ranges of the generated columns: what a data owner would write in a bounds file.
PUBLIC_BOUNDS: dict[str, tuple[float, float] | tuple[str, str]] = {
    "age": (18, 95),
    "income": (0, 600_000),
    "spend": (0, 20_000),
    "tenure_months": (0, 240),
    "orders": (0, 60),
    "score": (0, 1),
    "signup": ("2015-01-01", "2025-12-31"),
    "temperature": (-30, 50),
    "pressure": (900, 1100),
    "rainfall": (0, 400),
    "wind": (0, 40),
    "humidity": (0, 100),
}


# --------------------------------------------------------------------------- tables


def customers(rows: int, seed: int) -> pd.DataFrame:
    """Mixed types: correlated ages, skewed incomes with missing values, dates, categories."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(0, 1, rows)
    age = np.clip(np.round(42 + 13 * latent + rng.normal(0, 6, rows)), 18, 95).astype(int)
    income = np.round(np.exp(10.6 + 0.45 * latent + rng.normal(0, 0.55, rows)), 2)
    income[rng.random(rows) < 0.08] = np.nan
    spend = np.round(np.nan_to_num(income, nan=40000) * rng.gamma(2.0, 0.02, rows), 2)
    tenure = np.clip(np.round(rng.exponential(30, rows) + 6 * (latent + 2)), 0, 240).astype(int)
    orders = rng.poisson(np.clip(2 + tenure / 12, 0.1, None))
    region = rng.choice(
        ["north", "south", "east", "west", "central", "islands", "overseas"],
        rows,
        p=[0.3, 0.25, 0.2, 0.15, 0.07, 0.02, 0.01],
    )
    plan_cut = latent + rng.normal(0, 0.8, rows)
    plan = np.where(plan_cut > 1.0, "enterprise", np.where(plan_cut > -0.2, "pro", "free"))
    churned = rng.random(rows) < 1 / (1 + np.exp(1.5 + 0.04 * tenure - 0.8 * (plan == "free")))
    score = rng.beta(2 + (plan == "enterprise") * 3, 5, rows).round(4)
    # Long-tenured customers signed up earlier.
    days = np.clip(rng.integers(0, 4000, rows) - tenure * 10, 0, 4000)
    signup = (pd.Timestamp("2015-01-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")
    table = pd.DataFrame(
        {
            "age": age,
            "income": income,
            "spend": spend,
            "tenure_months": tenure,
            "orders": np.clip(orders, 0, 60),
            "region": region,
            "plan": plan,
            "churned": churned,
            "score": score,
            "signup": signup,
        }
    )
    table.loc[rng.random(rows) < 0.03, "region"] = None
    return table


def weather(rows: int, seed: int) -> pd.DataFrame:
    """Mostly continuous: strong correlations, a zero-inflated skewed column, a bimodal one."""
    rng = np.random.default_rng(seed)
    season = rng.choice(["winter", "spring", "summer", "autumn"], rows)
    base = {"winter": 2.0, "spring": 12.0, "summer": 24.0, "autumn": 13.0}
    temperature = np.array([base[s] for s in season]) + rng.normal(0, 5, rows)
    pressure = 1013 - 0.4 * temperature + rng.normal(0, 8, rows)
    wet = rng.random(rows) < 0.35 + 0.2 * (pressure < 1005)
    rainfall = np.where(wet, rng.lognormal(1.5, 1.0, rows), 0.0).round(1)
    wind = np.abs(rng.normal(0, 1, rows) * 6 + (1013 - pressure) * 0.2).round(1)
    humidity = np.clip(55 + 2.5 * wet * 10 + rng.normal(0, 10, rows) - 0.3 * temperature, 0, 100)
    station = rng.choice([f"st{i:02d}" for i in range(12)], rows)
    return pd.DataFrame(
        {
            "station": station,
            "season": season,
            "temperature": temperature.round(2),
            "pressure": pressure.round(1),
            "rainfall": np.clip(rainfall, 0, 400),
            "wind": np.clip(wind, 0, 40),
            "humidity": humidity.round(1),
        }
    )


TABLES = {"customers": customers, "weather": weather}


# --------------------------------------------------------------------------- peers


def _to_numbers(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for col in DATE_COLUMNS:
        if col in out:
            out[col] = (pd.to_datetime(out[col]) - _EPOCH).dt.days.astype(float)
    return out


def _from_numbers(table: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for col in DATE_COLUMNS:
        if col in out:
            days = pd.to_numeric(out[col], errors="coerce").round()
            out[col] = (_EPOCH + pd.to_timedelta(days, unit="D")).dt.strftime("%Y-%m-%d")
    return out[list(like.columns)]


def run_peer(args: argparse.Namespace) -> None:
    """Runs in a peer's environment: fit, sample, write the table, print the timings."""
    real = pd.read_csv(args.real)
    started = time.perf_counter()
    if args.peer == "sdv":
        from sdv.metadata import Metadata
        from sdv.single_table import GaussianCopulaSynthesizer

        metadata = Metadata.detect_from_dataframe(real, table_name="real")
        synth = GaussianCopulaSynthesizer(metadata)
        synth.fit(real)
        fitted = time.perf_counter()
        synthetic = synth.sample(args.rows)
        version = __import__("sdv").__version__
    else:
        from snsynth import Synthesizer
        from snsynth.transform import BinTransformer, TableTransformer

        bounds = json.loads(args.bounds)
        numbers = _to_numbers(real)
        constraints = {
            col: BinTransformer(bins=args.mst_bins, lower=low, upper=high, nullable=True)
            for col, (low, high) in bounds.items()
        }
        categorical = [c for c in real.columns if c not in bounds]
        numbers[categorical] = numbers[categorical].astype(str)  # missing as the category 'nan'
        transformer = TableTransformer.create(
            numbers,
            style="cube",
            categorical_columns=categorical,
            constraints=constraints,
            nullable=True,
        )
        synth = Synthesizer.create("mst", epsilon=args.epsilon, delta=1e-9, verbose=False)
        synth.fit(numbers, transformer=transformer, preprocessor_eps=0.0)
        fitted = time.perf_counter()
        raw = synth.sample(args.rows)
        raw[categorical] = raw[categorical].replace("nan", None)
        synthetic = _from_numbers(raw, real)
        version = __import__("importlib.metadata").metadata.version("smartnoise-synth")
    sampled = time.perf_counter()
    synthetic.to_csv(args.out, index=False)
    print(
        json.dumps(
            {"fit_s": fitted - started, "sample_s": sampled - fitted, "version": str(version)}
        )
    )


def call_peer(
    peer: str, real: Path, out: Path, rows: int, epsilon: float | None, bins: int
) -> dict[str, Any]:
    python = PEER_PYTHON[peer]
    if not python.exists():
        return {"error": f"{python} missing: run bash benchmarks/setup_synth_peers.sh"}
    command = [str(python), __file__, "--peer", peer, "--real", str(real), "--out", str(out)]
    command += ["--rows", str(rows), "--mst-bins", str(bins)]
    if epsilon is not None:
        public = {c: list(_public_numbers(c)) for c in PUBLIC_BOUNDS}
        present = pd.read_csv(real, nrows=1).columns
        command += ["--epsilon", str(epsilon)]
        command += ["--bounds", json.dumps({c: b for c, b in public.items() if c in present})]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _public_numbers(column: str) -> tuple[float, float]:
    low, high = PUBLIC_BOUNDS[column]
    if isinstance(low, str) and isinstance(high, str):
        return (
            float((pd.Timestamp(low) - _EPOCH).days),
            float((pd.Timestamp(high) - _EPOCH).days),
        )
    return float(low), float(high)


# --------------------------------------------------------------------------- ours and scoring


def run_ours(real_path: Path, out: Path, rows: int, epsilon: float | None) -> dict[str, Any]:
    from synthloom.assay.kinds import column_kinds
    from synthloom.records import read_table
    from synthloom.synthesize import ColumnBounds, PrivacySettings, fit_copula

    real = read_table(real_path)
    kinds = column_kinds(real)
    bounds = {}
    for column in PUBLIC_BOUNDS:
        if column in real.columns:
            low, high = _public_numbers(column)
            scale = 86400.0 if column in DATE_COLUMNS else 1.0
            bounds[column] = ColumnBounds(low=low * scale, high=high * scale)
    privacy = PrivacySettings(epsilon=epsilon) if epsilon is not None else None
    started = time.perf_counter()
    model = fit_copula(real, kinds=kinds, privacy=privacy, bounds=bounds, seed=0)
    fitted = time.perf_counter()
    synthetic = model.sample(rows, seed=1)
    sampled = time.perf_counter()
    synthetic.to_csv(out, index=False)
    return {"fit_s": fitted - started, "sample_s": sampled - fitted}


def score(synthetic: Path, real: Path, work: Path) -> dict[str, Any]:
    from synthloom.assay import AssayOptions, run_assay

    result = run_assay(synthetic, real, work, AssayOptions(ner="off", write_report=False, seed=0))
    metrics = result.metrics
    dcr = metrics["privacy"]["dcr"] or {}
    return {
        "overall": metrics["fidelity"]["overall"],
        "shapes": metrics["fidelity"]["column_shapes"],
        "pairs": metrics["fidelity"]["column_pair_trends"],
        "dcr_syn": dcr.get("synthetic_median"),
        "dcr_hold": dcr.get("holdout_median"),
        "copies": metrics["privacy"]["exact_copies"]["count"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000])
    parser.add_argument("--tables", nargs="+", default=list(TABLES), choices=list(TABLES))
    parser.add_argument("--epsilons", type=float, nargs="+", default=[0.5, 1.0, 4.0])
    parser.add_argument("--peers", nargs="*", default=["sdv", "mst"], choices=["sdv", "mst"])
    parser.add_argument("--mst-bins", type=int, default=20)
    parser.add_argument("--mst-max-rows", type=int, default=1_000_000)
    # The peer runner's arguments.
    parser.add_argument("--peer", choices=["sdv", "mst"], help=argparse.SUPPRESS)
    parser.add_argument("--real", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--epsilon", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--bounds", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        args.rows = args.rows[0]
        run_peer(args)
        return
    rows_out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
        work = Path(tmp)
        for table_name in args.tables:
            for rows in args.rows:
                real = work / f"{table_name}-{rows}.csv"
                TABLES[table_name](rows, seed=7).to_csv(real, index=False)
                runs: list[tuple[str, float | None]] = [("copula", None)]
                runs += [("dp-copula", e) for e in args.epsilons]
                if "sdv" in args.peers:
                    runs.append(("sdv", None))
                if "mst" in args.peers and rows <= args.mst_max_rows:
                    runs += [("mst", e) for e in args.epsilons]
                for method, epsilon in runs:
                    label = f"{method}-{epsilon}-{table_name}-{rows}"
                    out = work / f"{label}.csv"
                    if method in ("copula", "dp-copula"):
                        timing = run_ours(real, out, rows, epsilon)
                    else:
                        timing = call_peer(method, real, out, rows, epsilon, args.mst_bins)
                    row: dict[str, Any] = {
                        "table": table_name,
                        "rows": rows,
                        "method": method,
                        "epsilon": epsilon,
                        **timing,
                    }
                    if "error" not in timing:
                        row.update(score(out, real, work / f"assay-{label}"))
                    rows_out.append(row)
                    print(json.dumps(row), file=sys.stderr, flush=True)
    print_table(rows_out)


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        "| table | rows | method | ε | fit+sample s | fidelity.overall | column shapes | "
        "pair trends | DCR median syn / holdout | exact copies |"
    )
    print(header)
    print("|" + "---|" * 10)
    for r in rows:
        eps = "-" if r["epsilon"] is None else f"{r['epsilon']:g}"
        if "error" in r:
            print(f"| {r['table']} | {r['rows']} | {r['method']} | {eps} | {r['error']} |")
            continue
        seconds = r["fit_s"] + r["sample_s"]
        dcr = f"{r['dcr_syn']:.4f} / {r['dcr_hold']:.4f}" if r["dcr_syn"] is not None else "-"
        print(
            f"| {r['table']} | {r['rows']:,} | {r['method']} | {eps} | {seconds:.2f} | "
            f"{r['overall']:.4f} | {r['shapes']:.4f} | {r['pairs']:.4f} | {dcr} | "
            f"{r['copies']} |"
        )


if __name__ == "__main__":
    main()
