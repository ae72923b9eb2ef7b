"""Instruction records read in batches into the compact form the assay measures.

A million chat records held as Python dicts take several gigabytes; the assay needs far less of
each record: its text (every turn joined), where each turn lies in that text (for the PII scan),
its id (to name it in findings), an exact-copy key, a row of per-record features and the score
fields of its ``meta``. :func:`read_instruction_data` reads the records in batches (JSONL lines,
Parquet row groups, the parts of a folder), derives those per batch and drops the dicts. The
texts are kept once, as Arrow string arrays (UTF-8 bytes and offsets, no per-string object), and
read back through :class:`TextColumn`, a ``Sequence[str]`` that the metrics iterate chunk by
chunk.
"""

from __future__ import annotations

import bisect
import hashlib
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from synthloom.assay.features import finish_features, raw_features
from synthloom.assay.privacy import content_text, record_key
from synthloom.counting import OnCount
from synthloom.errors import DataFormatError
from synthloom.memory import release_free_memory
from synthloom.messages import message_text
from synthloom.records import counted_records

__all__ = [
    "BATCH_RECORDS",
    "SCORE_FIELDS",
    "InstructionData",
    "MessageLocations",
    "MessageTexts",
    "RecordNames",
    "TextColumn",
    "read_instruction_data",
]

#: Records read, turned into texts and features, and dropped at a time.
BATCH_RECORDS = 10_000
#: Score fields looked for in ``meta`` to report mean quality per demographic group.
SCORE_FIELDS = ("score", "reward", "quality", "judge_score", "rating")


# Text columns are allocated by the C library's malloc rather than Arrow's default pool
# (mimalloc), which keeps the pages freed between batches to itself: measured on 100,000
# corpus records (76 MB of texts and arrays), the process grew 127 MB with mimalloc and 98 MB
# this way once the freed memory is handed back (:func:`synthloom.memory.release_free_memory`).
_TEXT_POOL = pa.system_memory_pool()


class _Derived(Sequence[str]):
    """A read-only ``Sequence[str]`` whose items are computed when asked for: subclasses give
    ``__len__`` and :meth:`_item` (a non-negative index), and may read a slice faster.
    (No callable is stored: a column is pickled to the process that reads the other side.)"""

    @abstractmethod
    def _item(self, index: int) -> str:
        """The item at ``index`` (0 to ``len - 1``)."""

    def _range(self, start: int, stop: int) -> list[str]:
        return [self._item(i) for i in range(start, stop)]

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self._item(i) for i in range(start, stop, step)]
            return self._range(start, stop) if start < stop else []
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._item(index)


class TextColumn(_Derived):
    """Strings kept as Arrow arrays (one per batch read); a read-only ``Sequence[str]``.

    Iterating converts one chunk at a time to Python strings, so a metric that walks every
    text holds one chunk of them, not the collection twice.
    """

    def __init__(self, chunks: Sequence[pa.Array] = ()) -> None:
        self._chunks = [c for c in chunks if len(c)]
        self._starts = [0]
        for chunk in self._chunks:
            self._starts.append(self._starts[-1] + len(chunk))

    @classmethod
    def of(cls, texts: Sequence[str]) -> TextColumn:
        """A column holding ``texts`` (a copy)."""
        return cls([pa.array(list(texts), type=pa.large_string(), memory_pool=_TEXT_POOL)])

    def append(self, texts: Sequence[str]) -> None:
        """Add a batch of strings at the end."""
        if texts:
            self._chunks.append(
                pa.array(list(texts), type=pa.large_string(), memory_pool=_TEXT_POOL)
            )
            self._starts.append(self._starts[-1] + len(texts))

    def __len__(self) -> int:
        return self._starts[-1]

    @property
    def nbytes(self) -> int:
        """Bytes the column holds (UTF-8 text and offsets)."""
        return sum(c.nbytes for c in self._chunks)

    def _item(self, index: int) -> str:
        k = bisect.bisect_right(self._starts, index) - 1
        value = self._chunks[k][index - self._starts[k]].as_py()
        assert isinstance(value, str)
        return value

    def _range(self, start: int, stop: int) -> list[str]:
        """The strings from ``start`` to ``stop``, converted a chunk's piece at a time."""
        out: list[str] = []
        if start >= stop:
            return out
        k = bisect.bisect_right(self._starts, start) - 1
        while k < len(self._chunks) and self._starts[k] < stop:
            lo = max(start, self._starts[k]) - self._starts[k]
            hi = min(stop, self._starts[k + 1]) - self._starts[k]
            out.extend(self._chunks[k].slice(lo, hi - lo).to_pylist())
            k += 1
        return out

    def __iter__(self) -> Iterator[str]:
        for chunk in self._chunks:
            yield from chunk.to_pylist()

    def take(self, indices: npt.ArrayLike) -> list[str]:
        """The strings at ``indices``, in that order."""
        wanted = np.asarray(indices, dtype=np.int64)
        if wanted.size == 0:
            return []
        # Chunk by chunk: Arrow's take on a chunked array first joins every chunk into one
        # (hundreds of MB at a million texts, for each call).
        out: list[str] = [""] * wanted.size
        chunk_of = np.searchsorted(self._starts, wanted, side="right") - 1
        order = np.argsort(chunk_of, kind="stable")
        bounds = np.searchsorted(chunk_of[order], np.arange(len(self._chunks) + 1))
        for k in np.flatnonzero(np.diff(bounds)):
            positions = order[bounds[k] : bounds[k + 1]]
            local = pa.array(wanted[positions] - self._starts[k])
            for position, value in zip(
                positions.tolist(), self._chunks[k].take(local).to_pylist(), strict=True
            ):
                out[position] = str(value)
        return out


class _PerTurn(_Derived):
    """One item per turn of an :class:`InstructionData`, in record order."""

    def __init__(self, data: InstructionData) -> None:
        self._data = data

    def __len__(self) -> int:
        return len(self._data.message_record)


class MessageTexts(_PerTurn):
    """Each turn's text (:func:`synthloom.messages.message_text`), read as a slice of its
    record's text: a record's text is its turns joined by newlines, so no second copy is kept."""

    def _item(self, index: int) -> str:
        data = self._data
        text = data.texts[int(data.message_record[index])]
        return text[int(data.message_start[index]) : int(data.message_end[index])]

    def _range(self, start: int, stop: int) -> list[str]:
        data = self._data
        first = int(data.message_record[start])
        texts = data.texts[first : int(data.message_record[stop - 1]) + 1]
        return [
            texts[r - first][a:b]
            for r, a, b in zip(
                data.message_record[start:stop].tolist(),
                data.message_start[start:stop].tolist(),
                data.message_end[start:stop].tolist(),
                strict=True,
            )
        ]

    def __iter__(self) -> Iterator[str]:
        data = self._data
        owner = data.message_record.tolist()
        start, end = data.message_start.tolist(), data.message_end.tolist()
        k, total = 0, len(owner)
        # A record's turns are consecutive, in record order.
        for record, text in enumerate(data.texts):
            while k < total and owner[k] == record:
                yield text[start[k] : end[k]]
                k += 1


class MessageLocations(_PerTurn):
    """``record N (id X), message M (role)`` of each turn, formatted when asked for."""

    def _item(self, index: int) -> str:
        data = self._data
        record = int(data.message_record[index])
        role = data.roles[int(data.message_role[index])]
        turn = int(data.message_turn[index])
        return f"record {record + 1} (id {data.ids[record]}), message {turn + 1} ({role})"


class RecordNames(_Derived):
    """``record N (id X)`` of each record, formatted when asked for."""

    def __init__(self, ids: Sequence[str]) -> None:
        self._ids = ids

    def __len__(self) -> int:
        return len(self._ids)

    def _item(self, index: int) -> str:
        return f"record {index + 1} (id {self._ids[index]})"


@dataclass
class InstructionData:
    """One side of an instruction assay, in the compact form the metrics read.

    ``texts``: each record's text (:func:`synthloom.text.record_text`); ``ids``; per turn
    (``message_*``, in record order): its record, start and end in that record's text, role
    (an index into ``roles``) and position in the record; ``keys``: a 16-byte BLAKE2b digest
    of each record's exact-copy key (:func:`synthloom.assay.privacy.record_key`);
    ``features``: the per-record features with every meta field this side has
    (:func:`synthloom.assay.features.raw_features`, to be finished against the other side's
    fields); ``scores``: each of :data:`SCORE_FIELDS` as floats, NaN where a record lacks
    it; ``content``: the records' :func:`synthloom.assay.privacy.content_text`, kept only
    when asked for (the verbatim check against private sources reads it).
    """

    path: Path
    texts: TextColumn
    ids: TextColumn
    message_record: npt.NDArray[np.int64]
    message_start: npt.NDArray[np.int64]
    message_end: npt.NDArray[np.int64]
    message_role: npt.NDArray[np.int8]
    message_turn: npt.NDArray[np.int32]
    roles: list[str]
    keys: npt.NDArray[np.bytes_]
    features: pd.DataFrame
    scores: dict[str, npt.NDArray[np.float64]]
    content: TextColumn | None = None
    kind: Literal["instruction"] = field(default="instruction")

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def meta_columns(self) -> list[str]:
        """The ``meta.*`` feature columns this side has, in order of first appearance."""
        return [str(c) for c in self.features.columns if str(c).startswith("meta.")]

    @property
    def messages(self) -> MessageTexts:
        return MessageTexts(self)

    @property
    def message_locations(self) -> MessageLocations:
        return MessageLocations(self)

    @property
    def names(self) -> RecordNames:
        return RecordNames(self.ids)

    def finished_features(self, meta_columns: Sequence[str]) -> pd.DataFrame:
        """The feature table with just ``meta_columns`` (those both sides share)."""
        return finish_features(self.features, meta_columns=meta_columns)

    def meta_scores(self) -> list[float] | None:
        """The first of :data:`SCORE_FIELDS` that every record's ``meta`` holds as a number."""
        for name in SCORE_FIELDS:
            values = self.scores[name]
            if len(values) and not np.isnan(values).any():
                return [float(v) for v in values]
        return None


def _score(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return float("nan")


def read_instruction_data(
    path: str | Path,
    *,
    keep_content: bool = False,
    batch_records: int = BATCH_RECORDS,
    features: Callable[[Sequence[Mapping[str, Any]]], pd.DataFrame] = raw_features,
    on_count: OnCount | None = None,
) -> InstructionData:
    """Read the instruction records at ``path`` in batches of ``batch_records`` into an
    :class:`InstructionData`; raises ``DataFormatError`` when there is no record.

    ``features``: how a batch's feature rows are computed (:func:`raw_features`, or its Ray
    version); ``keep_content``: keep each record's content text too; ``on_count(done,
    total)``: the records read so far (:func:`synthloom.records.counted_records`).
    """
    path = Path(path)
    texts, ids = TextColumn(), TextColumn()
    content = TextColumn() if keep_content else None
    frames: list[pd.DataFrame] = []
    parts: dict[str, list[npt.NDArray[Any]]] = {
        k: [] for k in ("record", "start", "end", "role", "turn")
    }
    # Per batch as arrays, not lists of Python objects kept to the end: a million records'
    # bytes and floats would take ten times their size and leave the small-object heap
    # fragmented when freed.
    keys: list[npt.NDArray[np.bytes_]] = []
    scores: dict[str, list[npt.NDArray[np.float64]]] = {name: [] for name in SCORE_FIELDS}
    roles: dict[str, int] = {}
    batch: list[dict[str, Any]] = []
    done = 0

    def flush() -> None:
        nonlocal done
        batch_texts: list[str] = []
        batch_keys: list[bytes] = []
        batch_scores: dict[str, list[float]] = {name: [] for name in SCORE_FIELDS}
        record, start, end, role, turn = [], [], [], [], []
        for i, rec in enumerate(batch):
            pieces = [message_text(m) for m in rec["messages"]]
            offset = 0
            for j, (msg, piece) in enumerate(zip(rec["messages"], pieces, strict=True)):
                record.append(done + i)
                start.append(offset)
                end.append(offset + len(piece))
                role.append(roles.setdefault(msg["role"], len(roles)))
                turn.append(j)
                offset += len(piece) + 1  # the newline that joins two turns
            batch_texts.append("\n".join(pieces))
            batch_keys.append(hashlib.blake2b(record_key(rec).encode(), digest_size=16).digest())
            meta = rec.get("meta") or {}
            for name in SCORE_FIELDS:
                batch_scores[name].append(_score(meta.get(name)))
        keys.append(np.asarray(batch_keys, dtype="S16"))
        for name in SCORE_FIELDS:
            scores[name].append(np.asarray(batch_scores[name], dtype=np.float64))
        texts.append(batch_texts)
        ids.append([str(r["id"]) for r in batch])
        if content is not None:
            content.append([content_text(r) for r in batch])
        for name, values in (
            ("record", record),
            ("start", start),
            ("end", end),
            ("role", role),
            ("turn", turn),
        ):
            parts[name].append(np.asarray(values, dtype=np.int64))
        frames.append(features(batch))
        done += len(batch)
        batch.clear()

    for rec in counted_records(path, on_count):
        batch.append(rec)
        if len(batch) >= batch_records:
            flush()
    if batch:
        flush()
    if not done:
        raise DataFormatError("the dataset is empty; it needs at least one record", path=path)
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    frames.clear()
    data = InstructionData(
        path=path,
        texts=texts,
        ids=ids,
        message_record=np.concatenate(parts["record"]),
        message_start=np.concatenate(parts["start"]),
        message_end=np.concatenate(parts["end"]),
        message_role=np.concatenate(parts["role"]).astype(np.int8),
        message_turn=np.concatenate(parts["turn"]).astype(np.int32),
        roles=list(roles),
        keys=np.concatenate(keys),
        features=frame,
        scores={k: np.concatenate(v) for k, v in scores.items()},
        content=content,
    )
    # The batches' pieces now live on in the concatenated arrays only.
    for pieces in (*parts.values(), keys, *scores.values()):
        pieces.clear()
    release_free_memory()
    return data
