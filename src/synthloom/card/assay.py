"""The assay's headline numbers and gate verdict for a card, read from its metrics.json.

With ``--assay DIR`` that folder is read (a missing or broken metrics.json is the user's error).
Without it, an assay folder is looked for next to the data (the data folder, the run folder
and their sub-folders) and used only when its metrics.json measured these very files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from synthloom.card.model import AssaySummary
from synthloom.card.places import shown_path
from synthloom.errors import InputError

__all__ = ["find_assay", "read_assay"]

#: (metrics.json path, label) of the numbers a card shows, in order; absent ones are skipped.
HEADLINE = (
    ("fidelity.overall", "fidelity, overall (0-1)"),
    ("fidelity.column_shapes", "fidelity, column shapes"),
    ("fidelity.column_pair_trends", "fidelity, column pair trends"),
    ("fidelity.embedding.precision", "embedding precision"),
    ("fidelity.embedding.recall", "embedding recall"),
    ("fidelity.embedding.coverage", "embedding coverage"),
    ("fidelity.embedding.classifier_auc", "classifier AUC (0.5 = indistinguishable)"),
    ("diversity.synthetic.distinct_2", "distinct-2"),
    ("diversity.synthetic.self_bleu", "self-BLEU"),
    ("diversity.synthetic.near_duplicate_rate", "near-duplicate rate"),
    ("diversity.synthetic.vendi_score", "Vendi score"),
    ("privacy.pii.total", "PII found"),
    ("privacy.exact_copies.count", "exact copies of reference records"),
    ("privacy.verbatim.records_sharing_span", "records sharing a span with private sources"),
    ("privacy.membership_inference_auc", "membership-inference AUC"),
    ("bias.max_tvd", "bias, largest TVD over supported axes"),
    ("tails.ngrams.coverage", "rare n-gram coverage"),
    ("tails.clusters.coverage", "rare cluster coverage"),
    ("tails.numeric.mean_coverage", "numeric tail coverage"),
)


def _lookup(metrics: Mapping[str, Any], path: str) -> Any:
    value: Any = metrics
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return str(value) if isinstance(value, int) else f"{value:.4g}"


def _load(metrics_path: Path) -> dict[str, Any]:
    try:
        data = json.loads(metrics_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(
            "is not a readable metrics.json; rerun synthloom assay into this folder",
            path=metrics_path,
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("dataset"), dict):
        raise InputError("is no synthloom assay's metrics.json", path=metrics_path)
    return data


def read_assay(folder: Path, data_files: Iterable[Path] = ()) -> AssaySummary:
    """The summary of the assay in ``folder`` (its metrics.json)."""
    if not folder.is_dir():
        raise InputError(
            "is not an assay folder (synthloom assay --out)", path=folder, field="--assay"
        )
    metrics_path = folder / "metrics.json"
    if not metrics_path.is_file():
        raise InputError("holds no metrics.json; run synthloom assay --out here first", path=folder)
    metrics = _load(metrics_path)
    dataset = metrics["dataset"]
    headline = tuple(
        (label, shown)
        for path, label in HEADLINE
        if (shown := _number(_lookup(metrics, path))) is not None
    )
    flagged = _lookup(metrics, "bias.flagged")
    if isinstance(flagged, list):
        headline += (("under-represented groups flagged", str(len(flagged))),)
    gate = metrics.get("gate")
    rules: tuple[tuple[str, str, bool], ...] = ()
    passed = None
    if isinstance(gate, Mapping):
        passed = bool(gate.get("passed"))
        rules = tuple(
            (str(r.get("rule")), str(r.get("shown")), bool(r.get("passed")))
            for r in gate.get("rules") or []
            if isinstance(r, Mapping)
        )
    synthetic = dataset.get("synthetic") or {}
    note = ""
    files = [f.resolve() for f in data_files]
    measured = synthetic.get("path")
    if files and measured and not _covers(Path(str(measured)), files):
        note = (
            f"this assay measured {shown_path(str(measured))}, not the files of this card: "
            "its numbers may describe other data"
        )
    return AssaySummary(
        folder=folder.name,
        kind=dataset.get("kind"),
        synthetic_rows=synthetic.get("rows"),
        reference_rows=(dataset.get("reference") or {}).get("rows"),
        headline=headline,
        gate_passed=passed,
        gate_rules=rules,
        note=note,
    )


def _covers(measured: Path, files: list[Path]) -> bool:
    """Whether the assay's synthetic input is one of ``files`` or a folder holding them."""
    try:
        target = measured.resolve()
    except OSError:
        return False
    return any(f == target or target in f.parents for f in files)


def find_assay(places: Iterable[Path], data_files: list[Path]) -> AssaySummary | None:
    """An assay of exactly these files in one of ``places`` or their sub-folders, if any."""
    seen: set[Path] = set()
    files = [f.resolve() for f in data_files]
    for place in places:
        if not place.is_dir():
            continue
        candidates = [place / "metrics.json", *sorted(place.glob("*/metrics.json"))]
        for metrics_path in candidates:
            if metrics_path in seen or not metrics_path.is_file():
                continue
            seen.add(metrics_path)
            try:
                metrics = _load(metrics_path)
            except InputError:
                continue  # found by looking, not named: a broken one is passed over
            measured = (metrics["dataset"].get("synthetic") or {}).get("path")
            if measured and _covers(Path(str(measured)), files):
                return read_assay(metrics_path.parent, data_files)
    return None
