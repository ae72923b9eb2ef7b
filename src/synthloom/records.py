"""The canonical instruction record, and reading / writing datasets.

A record is a plain ``dict``::

    {"id": str, "messages": [{"role": "system"|"user"|"assistant"|"tool", "content": str}, ...],
     "meta": dict, "tools"?: [tool definition]}

Turns may also carry ``name``, ``tool_calls``, ``tool_call_id`` and ``weight`` (see
:mod:`synthloom.messages`). Preference records add ``chosen`` and ``rejected`` (each a messages
list sharing the prompt). Top-level fields a reader does not know (``source``, ``category``...)
are kept in ``meta``.

Readers stream: JSONL line by line, Parquet batch by batch. They accept the shapes people
already have and normalise them:

* OpenAI chat: ``{"messages": [{"role", "content", "tool_calls"?...}], "tools"?}`` (also the
  legacy ``function_call`` / ``functions`` format)
* ShareGPT: ``{"conversations": [{"from": "human"|"gpt"|..., "value"}], "system"?, "tools"?}``
* Alpaca: ``{"instruction", "input"?, "output", "system"?, "history"?}``
* plain pairs: ``{"prompt", "response"}`` (also ``completion``, ``question``/``answer``)

Tables (CSV, TSV, Parquet, or JSONL of flat objects) are read into pandas DataFrames.
Parquet is the storage format; ``meta`` and ``tools`` are kept there as JSON strings so that
records with different meta keys or tool schemas share one schema.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synthloom.atomic import write_with
from synthloom.counting import OnCount, Tally
from synthloom.errors import DataFormatError
from synthloom.messages import ROLES
from synthloom.normalize import (
    PROMPT_KEYS,
    RESPONSE_KEYS,
    make_record,
    normalize_record,
    record_id,
)

__all__ = [
    "MESSAGES_TYPE",
    "ROLES",
    "Dataset",
    "ParquetShardWriter",
    "counted_records",
    "day_numbers",
    "detect_kind",
    "expected_records",
    "load_dataset",
    "make_record",
    "normalize_record",
    "read_objects",
    "read_records",
    "read_table",
    "record_id",
    "records_schema",
    "text_columns",
    "write_jsonl",
    "write_parquet",
    "write_records",
]

_TABLE_SUFFIXES = {".csv", ".tsv"}
_JSONL_SUFFIXES = {".jsonl", ".ndjson"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}
# Half of a UTF-16 pair: a JSON escape (\\ud83d) can write one alone, which is no character.
_SURROGATE = re.compile("[\ud800-\udfff]")

# Files written before turns had tool fields hold only role and content; they read the same,
# since a missing field and a null one both mean "absent".
TOOL_CALL_TYPE = pa.struct(
    [
        ("id", pa.string()),
        ("type", pa.string()),
        ("function", pa.struct([("name", pa.string()), ("arguments", pa.string())])),
    ]
)
MESSAGES_TYPE = pa.list_(
    pa.struct(
        [
            ("role", pa.string()),
            ("content", pa.string()),
            ("name", pa.string()),
            ("tool_calls", pa.list_(TOOL_CALL_TYPE)),
            ("tool_call_id", pa.string()),
            ("weight", pa.int8()),
        ]
    )
)

DatasetKind = Literal["table", "instruction"]


def records_schema(preference: bool = False) -> pa.Schema:
    """The Arrow schema records are stored with."""
    fields = [
        pa.field("id", pa.string()),
        pa.field("messages", MESSAGES_TYPE),
        pa.field("meta", pa.string()),
        pa.field("tools", pa.string()),
    ]
    if preference:
        fields += [pa.field("chosen", MESSAGES_TYPE), pa.field("rejected", MESSAGES_TYPE)]
    return pa.schema(fields)


# --------------------------------------------------------------------------------------------
# Readers


def _require_file(path: Path) -> None:
    if not path.exists():
        raise DataFormatError("file not found; check the path", path=path)
    if path.is_dir():
        raise DataFormatError("is a directory; give a data file", path=path)


def _iter_jsonl_objects(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataFormatError(
                    f"not UTF-8 text (byte {exc.start}); re-encode the file as UTF-8",
                    path=path,
                    line=lineno,
                ) from exc
            if lineno == 1:
                # Windows editors (Notepad, Excel's "CSV UTF-8") start files with a BOM.
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataFormatError(
                    f"invalid JSON ({exc.msg} at column {exc.colno})", path=path, line=lineno
                ) from exc
            # Only an escape can make a surrogate (UTF-8 cannot encode one): look when the
            # line has one.
            if "\\ud" in line or "\\uD" in line:
                _refuse_lone_surrogates(obj, path=path, line=lineno)
            yield lineno, obj


def _lone_surrogate(obj: Any, where: str = "") -> tuple[str, str] | None:
    """The first string of a parsed JSON value (keys included) holding a lone surrogate: its
    field path (``messages[1].content``) and the surrogate; None when there is none."""
    if isinstance(obj, str):
        found = _SURROGATE.search(obj)
        return (where or "(the value)", found.group()) if found else None
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            inner = f"{where}.{key}" if where else str(key)
            hit = _lone_surrogate(key, inner) or _lone_surrogate(value, inner)
            if hit:
                return hit
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            hit = _lone_surrogate(value, f"{where}[{i}]")
            if hit:
                return hit
    return None


def _refuse_lone_surrogates(
    obj: Any, *, path: Path, line: int | None = None, record: int | None = None
) -> None:
    """A one-line error for text that holds half of a UTF-16 pair (``\\ud83d`` without its low
    half): it is not Unicode, so it cannot be hashed, written to Parquet or shown."""
    hit = _lone_surrogate(obj)
    if hit is None:
        return
    field, surrogate = hit
    which = f"record {record}: " if record is not None else ""
    raise DataFormatError(
        f"{which}holds a lone surrogate (\\u{ord(surrogate):04x}), half of a UTF-16 pair and not "
        "a character; fix the escape (an emoji needs both halves, e.g. \\ud83d\\ude00) or "
        "remove it",
        path=path,
        line=line,
        field=field,
    )


def _read_json_array(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")  # a leading BOM is dropped
    except UnicodeDecodeError as exc:
        raise DataFormatError("not UTF-8 text; re-encode the file as UTF-8", path=path) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"invalid JSON ({exc.msg})", path=path, line=exc.lineno) from exc
    records = _json_records(data, path)
    if "\\ud" in text or "\\uD" in text:
        for i, record in enumerate(records):
            _refuse_lone_surrogates(record, path=path, record=i)
    return records


def _json_records(data: Any, path: Path) -> list[Any]:
    if isinstance(data, Mapping):
        for key in ("data", "records", "rows"):
            if isinstance(data.get(key), list):
                return list(data[key])
        return [data]
    if not isinstance(data, list):
        raise DataFormatError("expected a JSON array of records", path=path)
    return data


def _parquet_file(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataFormatError(f"not a readable Parquet file ({exc})", path=path) from exc


def _parquet_rows(path: Path, batch_size: int = 8192) -> Iterator[tuple[int, dict[str, Any]]]:
    pf = _parquet_file(path)
    row = 0
    for batch in pf.iter_batches(batch_size=batch_size):
        for obj in batch.to_pylist():
            row += 1
            yield row, obj


def record_parts(folder: Path) -> list[Path]:
    """The data files of a folder written by a synthloom step (``complete``'s ``part-*.parquet``
    shards, ``curate``'s ``data.parquet``...): its JSONL and Parquet files, sorted by name.
    Sub-folders (rejects, failures) and hidden files are not part of the data."""
    parts = sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and p.suffix.lower() in _JSONL_SUFFIXES | _PARQUET_SUFFIXES
    )
    if not parts:
        raise DataFormatError(
            "is a folder without .jsonl or .parquet files; give a data file or a folder of parts",
            path=folder,
        )
    return parts


def read_records(path: str | Path, *, prompt_only: bool = False) -> Iterator[dict[str, Any]]:
    """Stream canonical records from JSONL, JSON or Parquet (any supported shape), or from a
    folder of such parts in name order (the output folder of ``synthloom complete``).

    ``prompt_only``: a record may hold a prompt alone (prompts to answer; see
    :func:`synthloom.normalize.normalize_record`)."""
    for where, obj in read_objects(path):
        yield normalize_record(obj, where, prompt_only=prompt_only)


def read_objects(path: str | Path) -> Iterator[tuple[str, Any]]:
    """Stream the raw objects of JSONL, JSON or Parquet (or a folder of such parts), each with
    where it stands (``file:line``, ``file[index]``, ``file row N``) for error messages.

    For readers of shapes other than the canonical record (preference pairs); the objects are
    not checked beyond being JSON."""
    path = Path(path)
    if path.is_dir():
        for part in record_parts(path):
            yield from read_objects(part)
        return
    _require_file(path)
    suffix = path.suffix.lower()
    if suffix in _JSONL_SUFFIXES:
        for lineno, obj in _iter_jsonl_objects(path):
            yield f"{path}:{lineno}", obj
    elif suffix == ".json":
        for i, obj in enumerate(_read_json_array(path)):
            yield f"{path}[{i}]", obj
    elif suffix in _PARQUET_SUFFIXES:
        for row, obj in _parquet_rows(path):
            yield f"{path} row {row}", obj
    else:
        raise DataFormatError(
            f"unknown format '{suffix or '(no suffix)'}' for instruction data; "
            "use .jsonl, .json or .parquet",
            path=path,
        )


def _sniff_delimiter(path: Path) -> str:
    if path.suffix.lower() == ".tsv":
        return "\t"
    with path.open("rb") as fh:
        head = fh.read(65536)
    try:
        sample = head.decode("utf-8")
    except UnicodeDecodeError:
        sample = head.decode("utf-8", errors="ignore")
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _refuse_nested_cells(df: pd.DataFrame, path: Path, lines: list[int] | None = None) -> None:
    """A table's cells are single values: a list or an object in one is a one-line error
    (pandas would fail later, deep in a metric, on an unhashable value)."""
    for name in df.columns:
        if not pd.api.types.is_object_dtype(df[name].dtype):
            continue  # numbers, booleans and pandas 3 strings hold no lists
        for row, value in enumerate(df[name].to_numpy()):
            if isinstance(value, list | dict | tuple | np.ndarray):
                where = {"line": lines[row]} if lines is not None else {}
                raise DataFormatError(
                    f"column '{name}' holds a list or an object (row {row + 1}); a table's "
                    "cells must be single values. Chat data is read as records when each has "
                    "'messages', 'conversations', 'instruction' and 'output', or 'prompt' and "
                    "'response' (prompt-only files are prompts for synthloom complete)",
                    path=path,
                    field=str(name),
                    **where,
                )


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table from CSV, TSV, Parquet, or JSONL/JSON of flat objects."""
    path = Path(path)
    _require_file(path)
    suffix = path.suffix.lower()
    try:
        if suffix in _TABLE_SUFFIXES or suffix == ".txt":
            raw = path.read_bytes()
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = raw[: exc.start].count(b"\n") + 1
                raise DataFormatError(
                    "not UTF-8 text; re-encode the file as UTF-8", path=path, line=line
                ) from exc
            try:
                df = pd.read_csv(io.BytesIO(raw), sep=_sniff_delimiter(path))
            except pd.errors.EmptyDataError as exc:
                raise DataFormatError(
                    "the file is empty; it needs a header and rows", path=path
                ) from exc
            except pd.errors.ParserError as exc:
                msg = str(exc).strip().splitlines()[-1]
                raise DataFormatError(f"malformed CSV ({msg})", path=path) from exc
        elif suffix in _PARQUET_SUFFIXES:
            df = _parquet_file(path).read().to_pandas()
            _refuse_nested_cells(df, path)
        elif suffix in _JSONL_SUFFIXES:
            rows = []
            lines = []
            for lineno, obj in _iter_jsonl_objects(path):
                if not isinstance(obj, Mapping):
                    raise DataFormatError("expected a JSON object per line", path=path, line=lineno)
                rows.append(obj)
                lines.append(lineno)
            df = pd.DataFrame.from_records(rows)
            _refuse_nested_cells(df, path, lines)
        elif suffix == ".json":
            df = pd.DataFrame.from_records(_read_json_array(path))
            _refuse_nested_cells(df, path)
        else:
            raise DataFormatError(
                f"unknown table format '{suffix or '(no suffix)'}'; "
                "use .csv, .tsv, .parquet or .jsonl",
                path=path,
            )
    except MemoryError as exc:  # pragma: no cover - depends on the machine
        raise DataFormatError("too large to load in memory", path=path) from exc
    return df


# --------------------------------------------------------------------------------------------
# Datasets of either kind


@dataclass
class Dataset:
    """A loaded dataset: a table, or a list of instruction records, plus where it came from."""

    path: Path
    kind: DatasetKind
    table: pd.DataFrame | None = None
    records: list[dict[str, Any]] | None = None

    def __len__(self) -> int:
        if self.kind == "table":
            assert self.table is not None
            return len(self.table)
        assert self.records is not None
        return len(self.records)


_INSTRUCTION_KEYS = {"messages", "conversations", "instruction", "chosen", *PROMPT_KEYS}


def text_columns(table: pd.DataFrame) -> list[Any]:
    """The columns that hold text: pandas 2's ``object`` and pandas 3's ``str`` columns alike."""
    return [
        name
        for name in table.columns
        if pd.api.types.is_object_dtype(table[name].dtype)
        or isinstance(table[name].dtype, pd.StringDtype)
    ]


def day_numbers(values: pd.Series) -> pd.Series:
    """Days since 1970-01-01 UTC as floats (NaN where missing or not a time).

    Whatever the unit pandas stores (pandas 3 keeps seconds or microseconds where pandas 2 had
    nanoseconds); naive times are taken as UTC.
    """
    stamps = pd.to_datetime(values, errors="coerce", format="mixed", utc=True)
    days: pd.Series = (stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(days=1)
    return days


def _looks_instruction(keys: Iterable[str]) -> bool:
    keyset = set(keys)
    if "messages" in keyset or "conversations" in keyset:
        return True
    if "instruction" in keyset and "output" in keyset:
        return True
    return bool(keyset & set(PROMPT_KEYS)) and bool(keyset & set(RESPONSE_KEYS))


def detect_kind(path: str | Path) -> DatasetKind:
    """Guess whether a file holds a table or instruction records, from its first record.
    A folder of parts holds instruction records."""
    path = Path(path)
    if path.is_dir():
        record_parts(path)  # raises when the folder holds no data file
        return "instruction"
    _require_file(path)
    suffix = path.suffix.lower()
    if suffix in _TABLE_SUFFIXES:
        return "table"
    if suffix in _PARQUET_SUFFIXES:
        names = _parquet_file(path).schema_arrow.names
        return "instruction" if _looks_instruction(names) else "table"
    if suffix in _JSONL_SUFFIXES:
        for lineno, obj in _iter_jsonl_objects(path):
            if not isinstance(obj, Mapping):
                raise DataFormatError("expected a JSON object per line", path=path, line=lineno)
            return "instruction" if _looks_instruction(obj.keys()) else "table"
        raise DataFormatError("the dataset is empty; it needs at least one record", path=path)
    if suffix == ".json":
        data = _read_json_array(path)
        if not data:
            raise DataFormatError("the dataset is empty; it needs at least one record", path=path)
        first = data[0]
        if isinstance(first, Mapping) and _looks_instruction(first.keys()):
            return "instruction"
        return "table"
    raise DataFormatError(
        f"unknown format '{suffix or '(no suffix)'}'; use .jsonl, .json, .parquet, .csv or .tsv",
        path=path,
    )


def expected_records(path: Path) -> int | None:
    """About how many records a JSONL or Parquet file (or folder of parts) holds, cheaply: its
    lines (blank ones too) or its rows from the Parquet footer; None for a JSON array."""
    if path.is_dir():
        counts = [expected_records(part) for part in record_parts(path)]
        return None if None in counts else sum(c or 0 for c in counts)
    suffix = path.suffix.lower()
    if suffix in _PARQUET_SUFFIXES:
        return int(_parquet_file(path).metadata.num_rows)
    if suffix not in _JSONL_SUFFIXES:
        return None
    lines, last = 0, b"\n"
    with path.open("rb") as fh:  # newlines only: far quicker than parsing the JSON
        while block := fh.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")


def counted_records(path: Path, on_count: OnCount | None) -> Iterator[dict[str, Any]]:
    """:func:`read_records`, telling ``on_count(done, total)`` the records read as they are
    read, of the :func:`expected_records` (the last count is the records there were); a JSON
    array tells nothing."""
    total = expected_records(path) if on_count is not None else None
    tally = Tally(on_count if total is not None else None, total or 0)
    tally.start()
    for record in read_records(path):
        yield record
        tally.add()
    if on_count is not None and total is not None and tally.done != total:
        on_count(tally.done, tally.done)  # blank lines were counted as records to come


def load_dataset(
    path: str | Path, kind: DatasetKind | None = None, *, on_count: OnCount | None = None
) -> Dataset:
    """Load a whole dataset (table or instruction records); raises DataFormatError if empty.

    ``on_count(done, total)`` is told the instruction records read as they are read, of the
    :func:`expected_records` (the last count is the records there were); a table, or a JSON
    array, is read at once and tells nothing."""
    path = Path(path)
    kind = kind or detect_kind(path)
    if kind == "table":
        table = read_table(path)
        if table.shape[0] == 0 or table.shape[1] == 0:
            raise DataFormatError("the dataset is empty; it needs a header and rows", path=path)
        return Dataset(path=path, kind="table", table=table)
    records = list(counted_records(path, on_count))
    if not records:
        raise DataFormatError("the dataset is empty; it needs at least one record", path=path)
    return Dataset(path=path, kind="instruction", records=records)


# --------------------------------------------------------------------------------------------
# Writers


def _to_arrow_rows(records: Iterable[Mapping[str, Any]], preference: bool) -> dict[str, list[Any]]:
    cols: dict[str, list[Any]] = {"id": [], "messages": [], "meta": [], "tools": []}
    if preference:
        cols["chosen"], cols["rejected"] = [], []
    for rec in records:
        cols["id"].append(rec["id"])
        cols["messages"].append(rec["messages"])
        cols["meta"].append(json.dumps(rec.get("meta") or {}, ensure_ascii=False, sort_keys=True))
        tools = rec.get("tools")
        cols["tools"].append(json.dumps(tools, ensure_ascii=False) if tools else None)
        if preference:
            cols["chosen"].append(rec.get("chosen"))
            cols["rejected"].append(rec.get("rejected"))
    return cols


def records_to_table(records: Iterable[Mapping[str, Any]], preference: bool = False) -> pa.Table:
    """Convert records to an Arrow table with the canonical schema."""
    return pa.Table.from_pydict(
        _to_arrow_rows(records, preference), schema=records_schema(preference)
    )


def write_parquet(records: Iterable[Mapping[str, Any]], path: str | Path) -> int:
    """Write records to one Parquet file (atomically: a temp file renamed into place)."""
    records = list(records)
    preference = any("chosen" in r for r in records)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = records_to_table(records, preference)
    write_with(path, lambda tmp: pq.write_table(table, tmp))
    return len(records)


def write_jsonl(records: Iterable[Mapping[str, Any]], path: str | Path) -> int:
    """Write records as JSONL, one object per line (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> int:
        n = 0
        with tmp.open("w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(json.dumps(dict(rec), ensure_ascii=False) + "\n")
                n += 1
        return n

    return write_with(path, write)


def write_records(records: Iterable[Mapping[str, Any]], path: str | Path) -> int:
    """Write records in the format the path's suffix names (.jsonl or .parquet)."""
    suffix = Path(path).suffix.lower()
    if suffix in _JSONL_SUFFIXES:
        return write_jsonl(records, path)
    if suffix in _PARQUET_SUFFIXES:
        return write_parquet(records, path)
    raise DataFormatError(f"cannot write '{suffix}'; use .jsonl or .parquet", path=path)


class ParquetShardWriter:
    """Stream records into numbered Parquet shards (``part-00000.parquet`` ...).

    Each shard is written to a temporary name and renamed when complete, so a crash never
    leaves a half-written shard that looks finished.
    """

    def __init__(
        self,
        directory: str | Path,
        rows_per_shard: int = 10_000,
        preference: bool = False,
        prefix: str = "part",
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.rows_per_shard = rows_per_shard
        self.preference = preference
        self.prefix = prefix
        self._buffer: list[Mapping[str, Any]] = []
        existing = sorted(self.directory.glob(f"{prefix}-*.parquet"))
        self._next_index = len(existing)
        self.rows_written = 0

    def write(self, record: Mapping[str, Any]) -> None:
        self._buffer.append(record)
        if len(self._buffer) >= self.rows_per_shard:
            self.flush()

    def flush(self) -> Path | None:
        if not self._buffer:
            return None
        path = self.directory / f"{self.prefix}-{self._next_index:05d}.parquet"
        table = records_to_table(self._buffer, self.preference)
        write_with(path, lambda tmp: pq.write_table(table, tmp))
        self._next_index += 1
        self.rows_written += len(self._buffer)
        self._buffer = []
        return path

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> ParquetShardWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
