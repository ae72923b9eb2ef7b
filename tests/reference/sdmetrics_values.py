"""SDMetrics' own numbers for the cases in :mod:`tests.reference.cases`.

SDMetrics 0.32 needs pandas < 3, while synthloom's users run pandas 3. So SDMetrics runs in its
own environment (``.venv-ref``, made by ``.ci/run``), and its numbers are kept in
``sdmetrics_0_32.json`` beside this file. The users' environment compares synthloom with that
file; the reference environment recomputes the file and checks that it still says the same
(``test_sdmetrics_values.py``). To write it anew after changing a case::

    .venv-ref/bin/python -m tests.reference.sdmetrics_values --write
"""

from __future__ import annotations

import argparse
import json
import math
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from synthloom.assay.fidelity import column_kinds
from synthloom.assay.privacy import split_holdout
from tests.reference import cases

VALUES_PATH = Path(__file__).with_name("sdmetrics_0_32.json")


def load() -> dict[str, Any]:
    """The stored reference values."""
    values: dict[str, Any] = json.loads(VALUES_PATH.read_text())
    return values


def _call(name: str, method: str, *args: Any, **kwargs: Any) -> Any:
    # SDMetrics' internals warn (pandas deprecations, numpy): silence them around each call.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics import column_pairs, single_column

        metric = getattr(single_column, name, None) or getattr(column_pairs, name)
        return getattr(metric, method)(*args, **kwargs)


def _number(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def _quality_report(
    real: Any, synthetic: Any, kinds: dict[str, str], threshold: float | None
) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.reports.single_table import QualityReport

        report = QualityReport()
        report.num_rows_subsample = None
        if threshold is not None:
            report.real_association_threshold = threshold
        metadata_ = {"columns": {name: {"sdtype": kind} for name, kind in kinds.items()}}
        report.generate(real, synthetic, metadata_, verbose=False)
    return report


def _fidelity_case(case: str) -> dict[str, Any]:
    real, synthetic = cases.fidelity_case(case)
    kinds = column_kinds(real, synthetic)
    names = [n for n in real.columns if kinds[n] != "id"]
    out: dict[str, Any] = {
        "fingerprint": [cases.fingerprint(real), cases.fingerprint(synthetic)],
        "kinds": kinds,
        "columns": {},
        "pairs": {},
    }
    for name in names:
        if kinds[name] in ("numerical", "datetime"):
            metrics = ("KSComplement", "BoundaryAdherence")
        else:
            metrics = ("TVComplement", "CategoryAdherence")
        out["columns"][name] = {
            metric: _number(_call(metric, "compute", real[name], synthetic[name]))
            for metric in metrics
        }
    for i, left in enumerate(names):
        for right in names[i + 1 :]:
            pair = [left, right]
            real_pair = cases.as_numbers(real, kinds, pair)
            synthetic_pair = cases.as_numbers(synthetic, kinds, pair)
            continuous = [n for n in pair if kinds[n] in ("numerical", "datetime")]
            if len(continuous) == 2:
                breakdown = _call(
                    "CorrelationSimilarity", "compute_breakdown", real_pair, synthetic_pair
                )
                entry = {
                    "metric": "CorrelationSimilarity",
                    "score": _number(breakdown["score"]),
                    "real": _number(breakdown["real"]),
                }
            else:
                breakdown = _call(
                    "ContingencySimilarity",
                    "compute_breakdown",
                    real_pair,
                    synthetic_pair,
                    continuous_column_names=continuous or None,
                    real_association_threshold=1e-12,  # makes SDMetrics report Cramér's V
                )
                association = _number(breakdown["real_association"])
                score = breakdown["score"]
                if association is None:
                    # Undefined association: SDMetrics then skips the score; ask for it plainly.
                    score = _call(
                        "ContingencySimilarity",
                        "compute",
                        real_pair,
                        synthetic_pair,
                        continuous_column_names=continuous or None,
                    )
                entry = {
                    "metric": "ContingencySimilarity",
                    "score": _number(score),
                    "real_association": association,
                }
            out["pairs"][f"{left},{right}"] = entry
    if case == "missing":
        out["public"] = {
            "pearson_amount_linked": _call(
                "CorrelationSimilarity",
                "compute",
                real[["amount", "linked"]],
                synthetic[["amount", "linked"]],
            ),
            "spearman_amount_gamma": _call(
                "CorrelationSimilarity",
                "compute",
                real[["amount", "gamma"]],
                synthetic[["amount", "gamma"]],
                coefficient="Spearman",
            ),
            "contingency_gamma_colour": _call(
                "ContingencySimilarity",
                "compute",
                real[["gamma", "colour"]],
                synthetic[["gamma", "colour"]],
                continuous_column_names=["gamma"],
            ),
        }
    if case in cases.REPORT_CASES:
        report = _quality_report(real, synthetic, {n: kinds[n] for n in names}, None)
        properties = report.get_properties().set_index("Property")["Score"]
        shapes = report.get_details("Column Shapes").set_index("Column")["Score"]
        trends = report.get_details("Column Pair Trends")
        out["quality_report"] = {
            "column_shapes": float(properties["Column Shapes"]),
            "column_pair_trends": _number(properties["Column Pair Trends"]),
            "column_shapes_details": {str(k): float(v) for k, v in shapes.items()},
            "column_pair_trends_details": [
                {
                    "columns": [str(row["Column 1"]), str(row["Column 2"])],
                    "score": _number(row["Score"]),
                    "meets_threshold": bool(row["Meets Threshold?"]),
                }
                for _, row in trends.iterrows()
            ],
        }
    return out


def _flag(value: Any) -> bool:
    """A report's boolean cell; missing (an errored pair) counts as False, as the report's
    average does."""
    import pandas as pd

    return False if pd.isna(value) else bool(value)


def _report_binning_case(case: str) -> dict[str, Any]:
    """QualityReport's own numbers (contingency subsampling off) for one report-binning case."""
    real, synthetic = cases.report_binning_case(case)
    kinds = cases.REPORT_BINNING_KINDS.get(case) or column_kinds(real, synthetic)
    kinds = {name: kind for name, kind in kinds.items() if kind != "id"}
    report = _quality_report(real, synthetic, kinds, None)
    properties = report.get_properties().set_index("Property")["Score"]
    trends = report.get_details("Column Pair Trends")
    return {
        "fingerprint": [cases.fingerprint(real), cases.fingerprint(synthetic)],
        "kinds": kinds,
        "overall": _number(report.get_score()),
        "column_shapes": _number(properties["Column Shapes"]),
        "column_pair_trends": _number(properties["Column Pair Trends"]),
        "pairs": [
            {
                "columns": [str(row["Column 1"]), str(row["Column 2"])],
                "score": _number(row["Score"]),
                # Missing (an errored pair) counts as not meeting it, as the report averages.
                "meets_threshold": _flag(row["Meets Threshold?"]),
                "error": None if not isinstance(row.get("Error"), str) else row["Error"],
            }
            for _, row in trends.iterrows()
        ],
    }


def _distances(rows: Any, against: Any) -> list[float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.single_table.privacy.dcr_utils import calculate_dcr

        metadata_ = {"columns": {c: {"sdtype": cases.POPULATION_SDTYPES[c]} for c in rows.columns}}
        return [float(v) for v in calculate_dcr(rows, against, metadata_).to_numpy()]


def _privacy() -> dict[str, Any]:
    import pandas as pd

    train, holdout = split_holdout(cases.population(200, 1), frac=0.3, seed=2)
    synthetic = pd.concat([train.iloc[:30], cases.population(60, 3)], ignore_index=True)
    dcr = {
        "fingerprint": [cases.fingerprint(f) for f in (train, holdout, synthetic)],
        "synthetic_to_train": _distances(synthetic, train),
        "holdout_to_train": _distances(holdout, train),
        "synthetic_to_holdout": _distances(synthetic, holdout),
    }
    train, holdout = split_holdout(cases.population(200, 4), frac=0.4, seed=0)
    synthetic = pd.concat([train.iloc[:40], cases.population(60, 5)], ignore_index=True)
    mia = {
        "fingerprint": [cases.fingerprint(f) for f in (train, holdout, synthetic)],
        "train_to_synthetic": _distances(train, synthetic),
        "holdout_to_synthetic": _distances(holdout, synthetic),
    }
    return {"dcr": dcr, "mia": mia}


def compute() -> dict[str, Any]:
    """Every reference number, recomputed with the installed SDMetrics."""
    import pandas as pd

    real, synthetic = cases.binning_case()
    kinds = {"value": "numerical", "group": "categorical"}
    binning = _quality_report(real, synthetic, kinds, 0)
    one_real, one_synthetic = cases.one_row_case()
    return {
        "versions": {
            "sdmetrics": metadata.version("sdmetrics"),
            "pandas": pd.__version__,
            "numpy": np.__version__,
        },
        "fidelity": {case: _fidelity_case(case) for case in cases.CASES},
        "report_binning": {case: _report_binning_case(case) for case in cases.REPORT_BINNING_CASES},
        "binning": {
            "fingerprint": [cases.fingerprint(real), cases.fingerprint(synthetic)],
            "report_pair_score": float(binning.get_details("Column Pair Trends")["Score"].iloc[0]),
        },
        "one_row": {
            "x": _call("KSComplement", "compute", one_real["x"], one_synthetic["x"]),
            "c": _call("TVComplement", "compute", one_real["c"], one_synthetic["c"]),
        },
        "privacy": _privacy(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {VALUES_PATH.name}")
    args = parser.parse_args()
    values = compute()
    text = json.dumps(values, indent=1, sort_keys=True, allow_nan=False) + "\n"
    if args.write:
        VALUES_PATH.write_text(text)
        print(f"wrote {VALUES_PATH}")
    else:
        print(text)


if __name__ == "__main__":
    main()
