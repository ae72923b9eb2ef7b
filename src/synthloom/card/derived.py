"""Provenance of data made from other data: a ``curate`` folder and a ``mix`` folder, each with
the provenance of the runs it was made from."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from synthloom.card.model import Provenance, Step
from synthloom.card.places import shown_path
from synthloom.card.settings import setting_rows
from synthloom.card.sources import count_jsonl_reasons, file_digest

__all__ = ["curate_provenance", "mix_provenance"]

#: Reads the provenance of an input folder or file (``locate.provenance_of``), passed in so
#: that this module needs no import of the module that calls it.
Upstream = Callable[[Path, Path], list[Provenance]]


def curate_provenance(
    folder: Path, run: Mapping[str, Any], inside: Path, upstream: Upstream
) -> Provenance:
    """A ``synthloom curate`` folder: its stages with counts, its rejects by reason."""
    options: Mapping[str, Any] = run.get("options") or {}
    prov = Provenance(
        recipe="curate",
        summary="curated with synthloom curate (dedup, decontamination, PII)",
        status=run.get("status"),
        synthloom_version=(run.get("versions") or {}).get("synthloom"),
    )
    shown_options = dict(options)
    benches = shown_options.pop("decontaminate", None) or []
    prov.settings = setting_rows(shown_options, inside=inside)
    for bench in benches:
        digest = file_digest(Path(str(bench)))
        prov.sources.append(
            (
                "decontaminated against",
                shown_path(str(bench)) + (f" (sha256 {digest})" if digest else ""),
            )
        )
    source = run.get("input")
    if source:
        prov.sources.insert(0, ("input", shown_path(str(source), inside)))
    for stage in run.get("stages") or []:
        if not isinstance(stage, Mapping):
            continue
        details = stage.get("details") or {}
        note = ", ".join(f"{k} {v}" for k, v in details.items() if isinstance(v, (int, float, str)))
        prov.steps.append(
            Step(
                str(stage.get("stage")),
                records_in=stage.get("records_in"),
                kept=stage.get("kept"),
                dropped=stage.get("dropped"),
                changed=stage.get("changed"),
                note=note,
            )
        )
    audit = [p for p in [folder / "rejects.jsonl"] if p.is_file()]
    prov.rejects = count_jsonl_reasons(audit, stage_keys=("stage",))
    if source:
        prov.upstream = upstream(Path(str(source)), inside)
    return prov


def mix_provenance(
    config_path: Path,
    summary: Mapping[str, Any],
    inside: Path,
    upstream: Upstream,
    *,
    default_run: Path | None = None,
) -> Provenance:
    """A ``synthloom mix`` folder: the mixing YAML's settings, what each source gave, and the
    provenance of the runs it drew from."""
    try:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        config = {}
    prov = Provenance(
        recipe="mix",
        summary="training files mixed from generated phases, seed examples and real data "
        "(synthloom mix)",
        status="done",
    )
    digest = file_digest(config_path)
    prov.sources.append(
        (
            "mixing configuration",
            shown_path(config_path.name) + (f" (sha256 {digest})" if digest else ""),
        )
    )
    if isinstance(config, Mapping):
        prov.settings = setting_rows(config, inside=inside)
    runs: list[Path] = []
    for output in (config.get("outputs") if isinstance(config, Mapping) else None) or []:
        for source in (output.get("sources") if isinstance(output, Mapping) else None) or []:
            if isinstance(source, Mapping) and source.get("dataset") is not None:
                where = source.get("run")
                run = config_path.parent / str(where) if where else default_run
                if run is not None and run.resolve() not in [r.resolve() for r in runs]:
                    runs.append(run)
            if isinstance(source, Mapping) and source.get("file"):
                name = str(source["file"])
                prov.sources.append(("real data", shown_path(name)))
    for name, info in sorted((summary.get("outputs") or {}).items()):
        for source in info.get("sources") or []:
            prov.steps.append(
                Step(
                    f"{name}: {source.get('source')}",
                    records_in=source.get("available"),
                    kept=source.get("taken"),
                )
            )
        prov.steps.append(Step(f"{name} (written)", kept=info.get("records")))
    for run in runs:
        prov.upstream.extend(upstream(run, inside))
    return prov
