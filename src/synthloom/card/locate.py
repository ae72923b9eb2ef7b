"""What ``synthloom card RUN_OR_DATA`` was given, and which files and runs the card describes.

Accepted, each with the run.json that tells how it was made:

    RUN/                       a complete, LAB or Nemotron run folder (its data or export files)
    RUN/<stage>/  RUN/export/  a run's data or export folder (run.json one level up)
    CURATED/                   a curate folder (its own run.json, and its input's run)
    any folder or data file    JSONL / JSON / Parquet with no run.json: a card of the files alone
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthloom.card.derived import curate_provenance
from synthloom.card.generation import complete_provenance, lab_provenance, nemotron_provenance
from synthloom.card.model import DataConfig, DataKind, Provenance
from synthloom.card.sources import count_rows
from synthloom.errors import DataFormatError, InputError

__all__ = ["Located", "data_configs", "locate", "provenance_of"]

_DATA_SUFFIXES = (".jsonl", ".parquet", ".json")
_PREFERENCE_KEYS = ("chosen", "rejected")
#: How far the chain of inputs is followed (curate of curate of a run...).
_MAX_DEPTH = 4


@dataclass
class Located:
    """The data a card describes and how it was made."""

    data: list[DataConfig]
    provenance: list[Provenance] = field(default_factory=list)
    #: Folder of the run (or curate folder) whose records these are; None for bare files.
    run_dir: Path | None = None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(
            "is not valid JSON; restore it or point at another run", path=path
        ) from exc
    if not isinstance(data, dict):
        raise InputError("must hold a JSON object", path=path)
    return data


def _kind(path: Path) -> DataKind:
    """``preference`` when the file's first record has chosen/rejected, else ``sft``."""
    try:
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            names = set(pq.ParquetFile(path).schema_arrow.names)
        else:
            with path.open(encoding="utf-8-sig") as handle:
                first = next((line for line in handle if line.strip()), "{}")
            record = json.loads(first) if path.suffix.lower() == ".jsonl" else {}
            names = set(record) if isinstance(record, dict) else set()
    except (OSError, ValueError):
        return "data"
    if all(k in names for k in _PREFERENCE_KEYS):
        return "preference"
    if "messages" in names or "conversations" in names:
        return "sft"
    return "data"


def _config_name(stem: str) -> str:
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem).strip("_")
    return name or "default"


def _relative(path: Path, card_dir: Path) -> str:
    return Path(os.path.relpath(path.resolve(), card_dir.resolve())).as_posix()


def data_configs(
    files: list[Path], card_dir: Path, *, single: str | None = None
) -> list[DataConfig]:
    """One config per data file (named by its stem; ``default`` when there is one), or one
    config ``single`` over all ``files`` (a folder of Parquet parts, matched by one glob)."""
    if not files:
        return []
    if single is not None:
        pattern = _relative(files[0].parent, card_dir)
        suffix = files[0].suffix.lower()
        glob = f"part-*{suffix}" if pattern == "." else f"{pattern}/part-*{suffix}"
        rows = sum(count_rows(f) for f in files)
        return [DataConfig(single, glob, tuple(files), rows, _kind(files[0]))]
    if len(files) == 1:
        # One file: "default", the Hub's name for a dataset with one config.
        return [
            DataConfig(
                "default",
                _relative(files[0], card_dir),
                (files[0],),
                count_rows(files[0]),
                _kind(files[0]),
            )
        ]
    return [
        DataConfig(
            _config_name(f.stem),
            _relative(f, card_dir),
            (f,),
            count_rows(f),
            _kind(f),
        )
        for f in files
    ]


def _data_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.suffix.lower() in _DATA_SUFFIXES
        and not p.name.startswith(".")
        and p.name != "run.json"
    )


def _folder_configs(folder: Path, card_dir: Path) -> list[DataConfig]:
    files = _data_files(folder)
    parts = [f for f in files if f.name.startswith("part-") and f.suffix == ".parquet"]
    if parts and len(parts) == len(files):
        return data_configs(parts, card_dir, single="default")
    return data_configs(files, card_dir)


def _complete_stages(run: dict[str, Any]) -> list[str]:
    return [
        name
        for name, entry in run.get("stages", {}).items()
        if isinstance(entry, dict)
        and isinstance(entry.get("config"), dict)
        and "n" in entry["config"]
        and "endpoint" in entry["config"]
    ]


def _run_provenance(run_dir: Path, run: dict[str, Any], inside: Path) -> list[Provenance]:
    found = []
    stages = run.get("stages") or {}
    for stage in _complete_stages(run):
        found.append(complete_provenance(run_dir, stage, run, stages[stage], inside))
    if isinstance(stages.get("lab"), dict):
        found.append(lab_provenance(run_dir, run, stages["lab"], inside))
    if isinstance(stages.get("nemotron"), dict):
        found.append(nemotron_provenance(run_dir, run, stages["nemotron"], inside))
    return found


def _owner(path: Path) -> tuple[Path, dict[str, Any]] | None:
    """The run.json that describes ``path``: its own, or its parent's for a stage or export
    folder (and for a data file, its folder's or the one above)."""
    folder = path if path.is_dir() else path.parent
    for candidate in (folder, folder.parent):
        if (candidate / "run.json").is_file():
            return candidate, _read_json(candidate / "run.json")
    return None


def provenance_of(path: Path, inside: Path, depth: int = 0) -> list[Provenance]:
    """How the data at ``path`` was made, as far as run.json files tell (else nothing)."""
    if depth > _MAX_DEPTH or not path.exists():
        return []
    try:
        owner = _owner(path)
    except InputError:
        if depth == 0:
            raise
        # A run this one was made from: when its record is damaged, the card says less about
        # it rather than failing on it.
        return []
    if owner is None:
        return []
    run_dir, run = owner
    if run.get("command") == "curate":
        return [
            curate_provenance(run_dir, run, inside, lambda p, i: provenance_of(p, i, depth + 1))
        ]
    return _run_provenance(run_dir, run, inside)


def locate(source: Path, card_dir: Path) -> Located:
    """The data configs and provenance of RUN_OR_DATA for a card written in ``card_dir``."""
    if not source.exists():
        raise InputError(
            "not found; give a run folder, an export folder or a data file", path=source
        )
    if source.is_file() and source.name == "run.json":
        source = source.parent
    if source.is_file():
        if source.suffix.lower() not in _DATA_SUFFIXES:
            raise DataFormatError(
                "is not a dataset; give a run folder or a .jsonl, .json or .parquet file",
                path=source,
            )
        return Located(data_configs([source], card_dir), provenance_of(source, card_dir))
    run_json = source / "run.json"
    if run_json.is_file():
        run = _read_json(run_json)
        if run.get("command") == "curate":
            # Only the curated records: rejects.jsonl and changes.jsonl are its audit.
            kept = [source / f"data.{s}" for s in ("parquet", "jsonl")]
            data = data_configs([p for p in kept if p.is_file()], card_dir)
        else:
            data = _run_data(source, run, card_dir)
        return Located(data, provenance_of(source, card_dir), source)
    data = _folder_configs(source, card_dir)
    if not data:
        raise DataFormatError(
            "holds no run.json and no .jsonl, .json or .parquet file; give a run folder, an "
            "export folder or a data file",
            path=source,
        )
    owner = _owner(source)
    return Located(data, provenance_of(source, card_dir), owner[0] if owner else None)


def _run_data(run_dir: Path, run: dict[str, Any], card_dir: Path) -> list[DataConfig]:
    """A run folder's data: its export files (LAB, Nemotron), else its stages' parts."""
    export = run_dir / "export"
    if export.is_dir() and _data_files(export):
        return _folder_configs(export, card_dir)
    configs: list[DataConfig] = []
    for stage in _complete_stages(run):
        folder = run_dir / stage
        parts = sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []
        configs += data_configs(parts, card_dir, single=_config_name(stage))
    if not configs:
        raise DataFormatError(
            "run.json names no finished stage with data (no export/ and no stage parts); "
            "run the recipe first",
            path=run_dir,
        )
    return configs
