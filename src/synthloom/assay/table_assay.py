"""The assay of a table: fidelity, privacy, bias, tails and duplicate rows of its columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from synthloom.assay import bias, fidelity, privacy, tails
from synthloom.assay.inputs import table_texts
from synthloom.assay.kinds import decide_kinds
from synthloom.assay.options import AssayOptions, Sections
from synthloom.pii import PiiScanner
from synthloom.records import day_numbers

__all__ = ["MIN_ROWS_FOR_HOLDOUT", "assay_table", "privacy_view", "table_bias"]

#: Fewer reference rows than this and DCR / membership inference are not computed.
MIN_ROWS_FOR_HOLDOUT = 10


def privacy_view(
    reference: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """The columns that distances are measured on (ids dropped, datetimes as day numbers)."""
    columns = [c for c, k in kinds.items() if k != "id"]
    ref, syn = reference[columns].copy(), synthetic[columns].copy()
    distance_kinds: dict[str, str] = {}
    for col in columns:
        kind = kinds[col]
        if kind == "datetime":
            for frame in (ref, syn):
                frame[col] = day_numbers(frame[col])
        distance_kinds[col] = "numeric" if kind in ("numerical", "datetime") else "categorical"
    return ref, syn, distance_kinds


def assay_table(
    synthetic: pd.DataFrame,
    reference: pd.DataFrame,
    options: AssayOptions,
    sections: Sections,
    private_texts: list[str],
    private_names: list[str],
    extras: dict[str, Any],
) -> dict[str, Any]:
    """Every section of the table assay; ``extras`` gets what the report draws (kinds, tables)."""
    metrics: dict[str, Any] = {}
    kinds, kind_sources = decide_kinds(
        reference, overrides=extras.get("kind_overrides"), source=options.kinds
    )
    extras["kinds"] = kinds
    extras["kind_sources"] = kind_sources
    extras["tables"] = (reference, synthetic)
    fid = sections.run(
        "fidelity",
        lambda: fidelity.table_fidelity(
            reference, synthetic, kinds=kinds, binning=options.fidelity_binning
        ),
    )
    metrics["fidelity"] = fid or {
        "column_shapes": None,
        "column_pair_trends": None,
        "overall": None,
    }

    priv: dict[str, Any] = {}
    # Identifier columns say nothing about copying: a synthetic row with a fresh id and every
    # other value copied is still a copy.
    ref_values, syn_values, distance_kinds = privacy_view(reference, synthetic, kinds)
    priv["exact_copies"] = sections.run(
        "privacy.exact_copies",
        lambda: privacy.exact_copies(
            privacy.row_keys(ref_values),
            privacy.row_keys(syn_values),
            reference_names=[f"row {i + 1}" for i in range(len(ref_values))],
            synthetic_names=[f"row {i + 1}" for i in range(len(syn_values))],
        ),
    )
    if len(reference) >= MIN_ROWS_FOR_HOLDOUT:
        train, holdout = privacy.split_holdout(
            ref_values, frac=options.holdout_fraction, seed=options.seed
        )
        priv["dcr"] = sections.run(
            "privacy.dcr",
            lambda: privacy.distance_to_closest_record(
                train, holdout, syn_values, kinds=distance_kinds, seed=options.seed
            ),
        )
        priv["membership_inference_auc"] = sections.run(
            "privacy.membership_inference_auc",
            lambda: privacy.membership_inference_auc(
                train, holdout, syn_values, kinds=distance_kinds, seed=options.seed
            ),
        )
    else:
        priv["dcr"] = None
        priv["membership_inference_auc"] = None
        sections.errors["privacy.dcr"] = (
            f"needs at least {MIN_ROWS_FOR_HOLDOUT} reference rows to hold some out"
        )
    text_cols = [c for c, k in kinds.items() if k in ("categorical", "id")]
    cells: list[str] = []
    locations: list[str] = []
    for col in text_cols:
        for i, value in enumerate(synthetic[col].tolist()):
            if isinstance(value, str) and value:
                cells.append(value)
                locations.append(f"row {i + 1}, column {col}")
    scanner = PiiScanner(ner=options.ner)
    pii_hits = extras.setdefault("pii_hits", []) if options.show_pii else None
    priv["pii"] = sections.run(
        "privacy.pii",
        lambda: privacy.pii_summary(cells, scanner=scanner, locations=locations, all_hits=pii_hits),
    ) or {"total": None, "by_type": {}}
    if private_texts:
        syn_rows = table_texts(synthetic)
        priv["verbatim"] = sections.run(
            "privacy.verbatim",
            lambda: privacy.verbatim_overlap(
                syn_rows,
                private_texts,
                span=options.span,
                synthetic_names=[f"row {i + 1}" for i in range(len(syn_rows))],
                private_names=private_names,
            ),
        )
    else:
        priv["verbatim"] = None
    metrics["privacy"] = priv

    metrics["bias"] = (
        sections.run(
            "bias.sensitive",
            lambda: table_bias(
                bias.table_representation(
                    reference, synthetic, options.sensitive, seed=options.seed
                )
            ),
        )
        if options.sensitive
        else {"sensitive": {}, "max_tvd": None, "flagged": []}
    )

    numeric = [c for c, k in kinds.items() if k in ("numerical",)]
    categorical = [c for c, k in kinds.items() if k in ("categorical", "boolean")]
    metrics["tails"] = {
        "numeric": sections.run(
            "tails.numeric", lambda: tails.numeric_tail_coverage(reference, synthetic, numeric)
        ),
        "categories": sections.run(
            "tails.categories",
            lambda: tails.rare_category_coverage(reference, synthetic, categorical),
        ),
    }
    metrics["diversity"] = {
        "synthetic": {"duplicate_row_share": float(synthetic.duplicated().mean())},
        "reference": {"duplicate_row_share": float(reference.duplicated().mean())},
    }
    return metrics


def table_bias(sensitive: dict[str, Any]) -> dict[str, Any]:
    """The sensitive columns' results plus the headline numbers the instruction assay has."""
    supported = [
        item["tvd"] for item in sensitive.values() if item.get("supported") and "tvd" in item
    ]
    return {
        "sensitive": sensitive,
        "max_tvd": max(supported) if supported else None,
        "flagged": [
            {"column": column, "group": group}
            for column, item in sensitive.items()
            for group in item.get("flagged", [])
        ],
    }
