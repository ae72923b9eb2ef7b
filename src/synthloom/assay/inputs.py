"""What an assay reads besides the two datasets, and the checks made before anything is written.

Private sources (documents, record files, tables, folders of them) become texts for the
verbatim-overlap check; the checks here raise ``DataFormatError`` (an ``InputError``) on input the
user must fix, so an earlier report in the output folder stays intact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from synthloom.assay.features import BASE_FEATURES, raw_features, raw_features_ray
from synthloom.assay.instruction_data import InstructionData, read_instruction_data
from synthloom.assay.preference import PreferenceSet, is_preference_data, read_pairs
from synthloom.assay.side_worker import SideWorker
from synthloom.counting import OnCount
from synthloom.errors import DataFormatError
from synthloom.records import (
    Dataset,
    detect_kind,
    load_dataset,
    read_records,
    read_table,
    text_columns,
)
from synthloom.text import record_text

__all__ = [
    "check_columns",
    "check_same_kind",
    "check_sensitive",
    "compared_columns",
    "load_input",
    "load_inputs",
    "load_private_texts",
    "table_texts",
]

_TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst", ".html", ".htm", ".tex"}
_RECORD_SUFFIXES = {".jsonl", ".ndjson", ".json", ".parquet", ".pq"}
_TABLE_SUFFIXES = {".csv", ".tsv"}


def load_private_texts(paths: Sequence[Path]) -> tuple[list[str], list[str]]:
    """Texts (and their names) of the private sources: documents, record files, tables, folders."""
    texts: list[str] = []
    names: list[str] = []
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise DataFormatError("private source not found; check the path", path=path)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in _TEXT_SUFFIXES | _RECORD_SUFFIXES | _TABLE_SUFFIXES
            )
            if not found:
                raise DataFormatError(
                    "private source folder holds no .txt, .md, .jsonl, .json, .parquet "
                    "or .csv file",
                    path=path,
                )
            files.extend(found)
        else:
            files.append(path)
    for path in files:
        suffix = path.suffix.lower()
        if suffix in _TEXT_SUFFIXES:
            try:
                texts.append(path.read_text(encoding="utf-8"))
            except UnicodeDecodeError as exc:
                raise DataFormatError(
                    "private source is not UTF-8 text; re-encode it as UTF-8", path=path
                ) from exc
            names.append(str(path))
        elif suffix in _RECORD_SUFFIXES:
            try:
                for i, rec in enumerate(read_records(path)):
                    texts.append(record_text(rec))
                    names.append(f"{path} record {i + 1}")
            except DataFormatError:
                table = read_table(path)
                for i, row in enumerate(table_texts(table)):
                    texts.append(row)
                    names.append(f"{path} row {i + 1}")
        elif suffix in _TABLE_SUFFIXES:
            for i, row in enumerate(table_texts(read_table(path))):
                texts.append(row)
                names.append(f"{path} row {i + 1}")
        else:
            raise DataFormatError(
                f"unknown private source format '{suffix}'; use .txt, .md, .jsonl, .json, "
                ".parquet or .csv",
                path=path,
            )
    return texts, names


def table_texts(table: pd.DataFrame) -> list[str]:
    """Each row's text cells joined with `` | `` (rows without text give an empty string)."""
    text_cols = text_columns(table)
    if not text_cols:
        return []
    return [
        " | ".join(str(v) for v in row if isinstance(v, str))
        for row in table[text_cols].itertuples(index=False)
    ]


def load_input(
    path: str | Path,
    *,
    keep_content: bool = False,
    executor: str = "local",
    on_count: OnCount | None = None,
) -> Dataset | InstructionData | PreferenceSet:
    """A dataset to assay, its kind decided from its first record: preference pairs (a
    ``chosen`` or ``rejected`` field, or a Nemotron run folder), instruction records (read in
    batches into :class:`synthloom.assay.instruction_data.InstructionData`, their features
    computed by Ray tasks with ``executor="ray"``; ``keep_content`` for the verbatim check;
    ``on_count``: the records read so far) or a table (:func:`synthloom.records.detect_kind`)."""
    if is_preference_data(path):
        return read_pairs(path)
    if detect_kind(path) == "table":
        return load_dataset(path, kind="table")
    features = raw_features_ray if executor == "ray" else raw_features
    return read_instruction_data(
        path, keep_content=keep_content, features=features, on_count=on_count
    )


def load_inputs(
    synthetic: str | Path,
    reference: str | Path | None,
    *,
    keep_content: bool = False,
    executor: str = "local",
    processes: int = 1,
    reading: Callable[[str], OnCount | None] = lambda _label: None,
) -> tuple[
    Dataset | InstructionData | PreferenceSet,
    Dataset | InstructionData | PreferenceSet | None,
    SideWorker | None,
]:
    """Both datasets of an assay (:func:`load_input`); the synthetic side is read first, so its
    error is the one reported when both are wrong.

    With ``processes=2``, two instruction datasets on the local executor are read side by
    side, the reference by a :class:`synthloom.assay.side_worker.SideWorker`, returned third
    with the reference's text measures started (the caller closes it); otherwise the third is
    None. ``reading(label)`` is called as each read starts and returns the ``on_count`` it
    reports its records to (side by side: the synthetic side's, under a label naming both)."""
    syn_path = Path(synthetic)
    ref_path = Path(reference) if reference is not None else None
    if (
        ref_path is None
        or executor != "local"
        or processes < 2
        or is_preference_data(syn_path)
        or is_preference_data(ref_path)
        or detect_kind(syn_path) != "instruction"
        or detect_kind(ref_path) != "instruction"
    ):
        syn = load_input(
            syn_path,
            keep_content=keep_content,
            executor=executor,
            on_count=reading(f"reading {syn_path.name}"),
        )
        ref = None
        if ref_path is not None:
            on_count = reading(f"reading {ref_path.name}")
            ref = load_input(ref_path, executor=executor, on_count=on_count)
        return syn, ref, None
    worker = SideWorker()
    try:
        pending = worker.read(ref_path)
        on_count = reading(f"reading {syn_path.name} (and {ref_path.name} beside it)")
        syn_data = read_instruction_data(syn_path, keep_content=keep_content, on_count=on_count)
        ref_data = pending.get()
        worker.start_measures()
    except BaseException:
        worker.close()
        raise
    return syn_data, ref_data, worker


def check_same_kind(
    synthetic: Dataset | InstructionData | PreferenceSet,
    reference: Dataset | InstructionData | PreferenceSet,
) -> None:
    """Refuse to compare datasets of different kinds (instruction data with a table...)."""
    if synthetic.kind != reference.kind:
        raise DataFormatError(
            f"is {synthetic.kind} data but the reference {reference.path} "
            f"is {reference.kind} data; "
            "compare datasets of the same kind",
            path=synthetic.path,
        )


def compared_columns(
    synthetic: Dataset | InstructionData | PreferenceSet,
    reference: Dataset | InstructionData | PreferenceSet | None,
) -> list[str]:
    """The columns the fidelity and tail metrics will be computed on; none for preference
    data, whose paths name no column."""
    if isinstance(synthetic, InstructionData) and isinstance(reference, InstructionData):
        shared = set(synthetic.meta_columns) & set(reference.meta_columns)
        return [*BASE_FEATURES, *sorted(shared)]
    if not isinstance(synthetic, Dataset) or not isinstance(reference, Dataset):
        return []
    assert reference.table is not None
    return [str(c) for c in reference.table.columns]


def check_columns(synthetic: Dataset, reference: Dataset) -> None:
    """Two tables must have the same columns, each named once."""
    assert synthetic.table is not None and reference.table is not None
    syn_cols = [str(c) for c in synthetic.table.columns]
    ref_cols = [str(c) for c in reference.table.columns]
    missing = [c for c in ref_cols if c not in syn_cols]
    extra = [c for c in syn_cols if c not in ref_cols]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"lacks column(s) {', '.join(missing)} of the reference")
        if extra:
            parts.append(f"has column(s) {', '.join(extra)} the reference lacks")
        raise DataFormatError(
            " and ".join(parts) + "; give both datasets the same columns", path=synthetic.path
        )
    dupes = sorted({c for c in ref_cols if ref_cols.count(c) > 1})
    if dupes:
        raise DataFormatError(f"duplicate column name(s) {', '.join(dupes)}", path=reference.path)


def check_sensitive(columns: Sequence[str], table: pd.DataFrame, path: Path) -> None:
    """Every ``--sensitive`` column must exist in the reference table."""
    for name in columns:
        if name not in table.columns:
            raise DataFormatError(
                f"--sensitive column '{name}' does not exist; columns are "
                + ", ".join(map(str, table.columns)),
                path=path,
                field=name,
            )
