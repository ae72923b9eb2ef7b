"""``run_assay``: measure a synthetic dataset against a reference and write the report.

The assay computes each section (fidelity, diversity, privacy, bias, tails) independently; an
item that fails records its error under ``errors`` in metrics.json and in its row of the report
instead of failing the whole assay. Problems with the user's input (unreadable files, datasets
of different kinds, missing columns, a bad gate file) raise ``InputError`` before anything is
written, so an earlier report in the output folder stays intact.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import shutil
import time
from pathlib import Path
from typing import Any

from synthloom import __version__
from synthloom.assay.bias import load_lexicon
from synthloom.assay.findings import find_problems
from synthloom.assay.gate import GateRule, check_rule_paths, evaluate_gate, load_gate
from synthloom.assay.inputs import (
    check_columns,
    check_same_kind,
    check_sensitive,
    compared_columns,
    load_inputs,
    load_private_texts,
)
from synthloom.assay.instruction_assay import assay_instruction
from synthloom.assay.instruction_data import InstructionData
from synthloom.assay.kinds import load_kinds
from synthloom.assay.options import AssayOptions, AssayResult, Sections, to_jsonable
from synthloom.assay.preference import PreferenceSet, is_preference_data
from synthloom.assay.preference.report import render_preference_report
from synthloom.assay.preference_assay import assay_preference
from synthloom.assay.report import render_report
from synthloom.assay.schema import schema_matcher
from synthloom.assay.table_assay import assay_table
from synthloom.atomic import clean_leftovers, publish_dir, staging_dir, write_text
from synthloom.counting import OnCount
from synthloom.embed import EMBED_METHODS
from synthloom.engine.ray_executor import RayOptions, import_ray, init_ray
from synthloom.engine.storage import check_output_dir
from synthloom.errors import InputError
from synthloom.records import Dataset

__all__ = [
    "RESULT_FILES",
    "AssayOptions",
    "AssayResult",
    "load_private_texts",
    "run_assay",
    "to_jsonable",
]

#: What an assay writes into its folder; anything else there (the embedding cache, a user's own
#: files) is carried over when a new result replaces an old one. ``pii_examples.jsonl`` (the
#: unmasked PII hits of ``--show-pii``) is a result, so a run without the flag removes it.
PII_EXAMPLES = "pii_examples.jsonl"
RESULT_FILES = ("metrics.json", "report.html", PII_EXAMPLES)


def _publish(
    out: Path,
    metrics: dict[str, Any],
    report_html: str | None,
    pii_hits: list[dict[str, Any]] | None = None,
) -> None:
    """Swap the new metrics.json and report.html in together: a kill leaves old or new."""
    staging = staging_dir(out)
    try:
        write_text(staging / "metrics.json", json.dumps(metrics, indent=2, ensure_ascii=False))
        if report_html is not None:
            write_text(staging / "report.html", report_html)
        if pii_hits is not None:
            write_text(
                staging / PII_EXAMPLES,
                "".join(json.dumps(h, ensure_ascii=False) + "\n" for h in pii_hits),
            )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    publish_dir(staging, out, RESULT_FILES)


def _described(data: Dataset | InstructionData | PreferenceSet) -> dict[str, Any]:
    if not isinstance(data, PreferenceSet):
        return {"path": str(data.path), "rows": len(data)}
    return {"path": str(data.path), "rows": len(data), "format": data.format}


def run_assay(
    synthetic: str | Path,
    reference: str | Path | None,
    out: str | Path,
    options: AssayOptions | None = None,
) -> AssayResult:
    """Measure `synthetic` against `reference`; write report.html and metrics.json to `out`.

    Preference data (pairs) needs no reference: given one, its numbers stand side by side.

    Raises InputError (nothing written) for unusable input; returns the result with the gate's
    verdict otherwise (``result.exit_code`` is 1 when the gate is not met).
    """
    options = options or AssayOptions()
    out = Path(out)
    started = time.perf_counter()
    check_output_dir(out)
    clean_leftovers(out, RESULT_FILES)  # what a run killed while publishing left
    gate_rules: list[GateRule] | None = load_gate(options.gate) if options.gate else None
    if options.ner not in ("auto", "on", "off"):
        raise InputError(
            f"unknown NER setting '{options.ner}'; choose auto, on or off", field="--ner"
        )
    if options.embedder not in EMBED_METHODS:
        raise InputError(
            f"unknown embedder '{options.embedder}'; choose {', '.join(EMBED_METHODS)}",
            field="--embedder",
        )
    if options.fidelity_binning not in ("real", "report"):
        raise InputError(
            f"unknown fidelity binning '{options.fidelity_binning}'; choose real or report",
            field="--fidelity-binning",
        )
    if options.executor not in ("local", "ray"):
        raise InputError(
            f"unknown executor '{options.executor}'; choose local or ray", field="--executor"
        )
    if options.processes not in (1, 2):
        raise InputError(
            f"must be 1 or 2, got {options.processes!r}; 2 reads the reference side in a "
            "second process",
            field="--processes",
        )
    ray_started = False
    if options.executor == "ray":
        ray_started = init_ray(RayOptions(address=options.ray_address))
    try:
        # Closes what the run started (a second process reading the reference side).
        with contextlib.ExitStack() as cleanup:
            return _run_assay(synthetic, reference, out, options, gate_rules, started, cleanup)
    finally:
        if ray_started:
            import_ray().shutdown()


def _run_assay(
    synthetic: str | Path,
    reference: str | Path | None,
    out: Path,
    options: AssayOptions,
    gate_rules: list[GateRule] | None,
    started: float,
    cleanup: contextlib.ExitStack,
) -> AssayResult:
    extras: dict[str, Any] = {}
    if options.lexicon is not None:
        extras["lexicon"] = load_lexicon(options.lexicon)
    if options.kinds is not None:
        extras["kind_overrides"] = load_kinds(options.kinds)
    if is_preference_data(synthetic):
        # Checked before any data is read: these options have no meaning for pairs.
        for flag, given in (
            ("--private", options.private),
            ("--sensitive", options.sensitive),
            ("--lexicon", options.lexicon),
            ("--kinds", options.kinds),
            ("--show-pii", options.show_pii),
        ):
            if given:
                raise InputError(
                    f"{flag} is not measured on preference data; leave it out", field=flag
                )
    elif reference is None:
        raise InputError(
            f"{synthetic} is not preference data: give the real dataset to compare it with",
            field="--reference",
        )
    read_start = time.perf_counter()
    sections = Sections(options.on_progress)

    def reading(label: str) -> OnCount:
        sections.begin(label)
        return sections.counter("records")

    syn, ref, worker = load_inputs(
        synthetic,
        reference,
        keep_content=bool(options.private),
        executor=options.executor,
        processes=options.processes,
        reading=reading,
    )
    if worker is not None:
        cleanup.callback(worker.close)
    counts = f"{len(syn):,}" + (f" + {len(ref):,}" if ref is not None else "")
    label = f"reading records: {counts}"
    sections.hold("start", label)
    sections.hold("end", label, time.perf_counter() - read_start)
    if ref is not None:
        check_same_kind(syn, ref)
    if gate_rules:
        check_rule_paths(
            gate_rules,
            schema_matcher(syn.kind, compared_columns(syn, ref), options.sensitive),
            syn.kind,
        )
    private_texts, private_names = load_private_texts(options.private)

    if isinstance(syn, PreferenceSet):
        assert ref is None or isinstance(ref, PreferenceSet)
        out.mkdir(parents=True, exist_ok=True)
        body = assay_preference(syn, ref, options, sections, out, extras)
    elif isinstance(syn, Dataset):
        assert isinstance(ref, Dataset)
        check_columns(syn, ref)
        assert syn.table is not None and ref.table is not None
        check_sensitive(options.sensitive, ref.table, ref.path)
        body = assay_table(
            syn.table, ref.table, options, sections, private_texts, private_names, extras
        )
    else:
        assert isinstance(ref, InstructionData)
        if options.sensitive:
            raise InputError(
                "--sensitive names table columns; instruction data uses the demographic lexicon",
                field="--sensitive",
            )
        out.mkdir(parents=True, exist_ok=True)
        body = assay_instruction(
            syn,
            ref,
            options,
            sections,
            private_texts,
            private_names,
            out,
            extras,
            reference_measures=worker.measures if worker is not None else None,
        )

    metrics: dict[str, Any] = {
        "synthloom_version": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "dataset": {
            "kind": syn.kind,
            "synthetic": _described(syn),
            "reference": _described(ref) if ref is not None else None,
            "private_sources": len(private_names),
            "embedder": extras.get("embedder"),
            "column_kinds": extras.get("kinds"),
            "column_kind_sources": extras.get("kind_sources"),
        },
        **body,
        "errors": dict(sections.errors),
        "seconds": {**sections.seconds, "total": round(time.perf_counter() - started, 3)},
    }
    # Unmasked PII reaches disk only when asked for, and metrics.json says where.
    pii_hits: list[dict[str, Any]] | None = extras.get("pii_hits", []) if options.show_pii else None
    if "privacy" in metrics:  # preference data has no privacy section
        metrics["privacy"]["pii"]["unmasked_file"] = PII_EXAMPLES if options.show_pii else None
    metrics = to_jsonable(metrics)
    # Before the gate, so that a gate can hold ``finding_counts.error == 0``.
    metrics.update(find_problems(metrics).to_metrics())
    gate_results = evaluate_gate(gate_rules, metrics) if gate_rules else None
    metrics["gate"] = (
        {"passed": all(g["passed"] for g in gate_results), "rules": gate_results}
        if gate_results is not None
        else None
    )

    result = AssayResult(metrics=metrics, out=out, gate_results=gate_results)
    report_html = None
    sections.tell("start", "report")
    report_start = time.perf_counter()
    if options.write_report:
        render = render_preference_report if isinstance(syn, PreferenceSet) else render_report
        report_html = render(metrics, extras)
    _publish(out, metrics, report_html, pii_hits)
    sections.tell("end", "report", time.perf_counter() - report_start)
    return result
