"""``synthesize``: the whole run behind ``synthloom synthesize``.

Read the real table, decide its column kinds (as the assay does), fit the copula (DP with an ε),
sample, and write the result folder::

    OUT/synthetic.csv   (synthetic.parquet when the real table is Parquet)
    OUT/run.json        method, parameters, seed, kinds, the model's columns, the DP budget
    OUT/assay/          report.html + metrics.json of the synthetic table against the real one

Every problem with the input (unreadable table, unknown column in --kinds/--bounds/--sensitive,
ε with the plain copula, ...) raises an ``InputError`` before anything is written. The synthetic
table and run.json are published together in one step (:func:`synthloom.atomic.publish_dir`);
the assay then publishes its own folder, and run.json is rewritten with its headline numbers.
A run killed during the assay leaves run.json saying ``"assay": {"status": "pending"}``.
"""

from __future__ import annotations

import datetime as _dt
import json
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synthloom import __version__
from synthloom.assay import AssayOptions, AssayResult, run_assay
from synthloom.assay.inputs import check_sensitive
from synthloom.assay.kinds import decide_kinds, load_kinds
from synthloom.assay.options import to_jsonable
from synthloom.atomic import clean_leftovers, publish_dir, staging_dir, write_text, write_with
from synthloom.engine.storage import check_output_dir
from synthloom.errors import DataFormatError, InputError
from synthloom.records import load_dataset
from synthloom.synthesize.bounds import load_bounds
from synthloom.synthesize.copula import CopulaModel
from synthloom.synthesize.fit import DEFAULT_DELTA, PrivacySettings, fit_copula

__all__ = ["METHODS", "RESULT_FILES", "SynthesizeOptions", "SynthesizeResult", "synthesize"]

METHODS = ("copula", "dp-copula")
#: What a run writes into its folder (anything else there is carried over).
RESULT_FILES = ("synthetic.csv", "synthetic.parquet", "run.json", "assay")
_PARQUET = {".parquet", ".pq"}

#: What run.json says a DP run protects, and what it does not.
PROTECTED = (
    "record-level differential privacy for the rows of the real table: adding or removing any "
    "one row changes the probability of any output by a factor of at most exp(epsilon), plus "
    "delta"
)
NOT_PROTECTED = (
    "the schema: column names and kinds, whether a column holds integers or dates, and each "
    "bound read from the data (see bounds_source); a seed you pass and publish lets anyone "
    "recompute the noise"
)


@dataclass
class SynthesizeOptions:
    """Everything that tunes a synthesis besides the real table and the output folder."""

    rows: int | None = None
    #: "copula" or "dp-copula"; None: dp-copula when ``epsilon`` is given, else copula.
    method: str | None = None
    epsilon: float | None = None
    delta: float | None = None
    seed: int | None = None
    kinds: Path | None = None
    bounds: Path | None = None
    sensitive: list[str] = field(default_factory=list)
    assay: bool = True
    #: Passed to the assay's PII scan: auto | on | off.
    ner: str = "auto"


@dataclass
class SynthesizeResult:
    out: Path
    synthetic: Path
    run: dict[str, Any]
    model: CopulaModel
    assay: AssayResult | None


def _privacy(options: SynthesizeOptions) -> tuple[str, PrivacySettings | None]:
    method = options.method or ("dp-copula" if options.epsilon is not None else "copula")
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; use one of: {', '.join(METHODS)}")
    if method == "copula":
        if options.epsilon is not None or options.delta is not None:
            raise InputError(
                "--epsilon/--delta need a private method; use --method dp-copula (or leave "
                "--method out)",
                field="--method",
            )
        if options.bounds is not None:
            raise InputError(
                "--bounds only applies to a DP synthesis; add --epsilon", field="--bounds"
            )
        return method, None
    if options.epsilon is None:
        raise InputError("--method dp-copula needs --epsilon (the privacy budget, e.g. 1)")
    delta = DEFAULT_DELTA if options.delta is None else options.delta
    return method, PrivacySettings(epsilon=options.epsilon, delta=delta)


def synthesize(
    real: str | Path, out: str | Path, options: SynthesizeOptions | None = None
) -> SynthesizeResult:
    """Fit on ``real``, sample, write ``out`` (see the module docstring); returns the result."""
    options = options or SynthesizeOptions()
    real, out = Path(real), Path(out)
    check_output_dir(out)
    clean_leftovers(out, RESULT_FILES)
    method, privacy = _privacy(options)
    if options.rows is not None and options.rows < 1:
        raise InputError(f"rows must be at least 1, got {options.rows}", field="--rows")
    overrides = load_kinds(options.kinds) if options.kinds is not None else None
    dataset = load_dataset(real)
    if dataset.table is None:
        raise DataFormatError(
            "holds instruction records, not a table; synthesize learns tables (CSV, Parquet, "
            "JSONL of flat objects)",
            path=real,
        )
    table = dataset.table
    kinds, kind_sources = decide_kinds(table, overrides=overrides, source=options.kinds)
    check_sensitive(options.sensitive, table, real)
    bounds = load_bounds(options.bounds, table, kinds) if options.bounds is not None else None
    # A DP run without a seed never writes one down: the noise must stay unknowable. A plain
    # run records the seed it drew, so that it can be repeated.
    seed = options.seed
    if seed is None and privacy is None:
        seed = secrets.randbits(32)
    rows = options.rows or len(table)

    started = time.perf_counter()
    model = fit_copula(table, kinds=kinds, privacy=privacy, bounds=bounds, seed=seed)
    fitted = time.perf_counter()
    synthetic = model.sample(rows, seed=None if seed is None else seed + 1)
    sampled = time.perf_counter()

    name = "synthetic.parquet" if real.suffix.lower() in _PARQUET else "synthetic.csv"
    run: dict[str, Any] = {
        "synthloom_version": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command": "synthesize",
        "real": {"path": str(real), "rows": len(table), "columns": len(table.columns)},
        "synthetic": {"path": name, "rows": rows},
        "method": method,
        "seed": seed,
        "epsilon": privacy.epsilon if privacy else None,
        "delta": privacy.delta if privacy else None,
        "guarantee": (
            {"protected": PROTECTED, "not_protected": NOT_PROTECTED}
            if privacy
            else "none: the plain copula keeps the real marginals, extremes and rare categories"
        ),
        "column_kinds": kinds,
        "column_kind_sources": kind_sources,
        "model": model.describe(),
        "seconds": {"fit": round(fitted - started, 3), "sample": round(sampled - fitted, 3)},
        "assay": {"status": "pending" if options.assay else "skipped"},
    }
    staging = staging_dir(out)
    try:
        _write_table(synthetic, staging / name)
        write_text(staging / "run.json", _dumps(run))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    publish_dir(staging, out, RESULT_FILES)

    assay: AssayResult | None = None
    if options.assay:
        assay_started = time.perf_counter()
        assay = run_assay(
            out / name,
            real,
            out / "assay",
            AssayOptions(
                kinds=options.kinds,
                sensitive=list(options.sensitive),
                seed=options.seed or 0,
                ner=options.ner,
            ),
        )
        run["assay"] = {"status": "done", **_headline(assay.metrics)}
        run["seconds"]["assay"] = round(time.perf_counter() - assay_started, 3)
        write_text(out / "run.json", _dumps(run))
    return SynthesizeResult(out=out, synthetic=out / name, run=run, model=model, assay=assay)


def _write_table(table: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".parquet":
        write_with(path, lambda tmp: table.to_parquet(tmp, index=False))
    else:
        write_with(path, lambda tmp: table.to_csv(tmp, index=False))


def _dumps(run: dict[str, Any]) -> str:
    return json.dumps(to_jsonable(run), indent=2, ensure_ascii=False)


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """The assay's numbers run.json repeats: fidelity, and privacy first among them."""
    fidelity = metrics.get("fidelity") or {}
    privacy = metrics.get("privacy") or {}
    copies = privacy.get("exact_copies") or {}
    dcr = privacy.get("dcr") or {}
    return {
        "path": "assay/metrics.json",
        "report": "assay/report.html",
        "privacy": {
            "exact_copies": copies.get("count"),
            "dcr": dcr,
            "membership_inference_auc": privacy.get("membership_inference_auc"),
        },
        "fidelity": {
            "overall": fidelity.get("overall"),
            "column_shapes": fidelity.get("column_shapes"),
            "column_pair_trends": fidelity.get("column_pair_trends"),
        },
    }
