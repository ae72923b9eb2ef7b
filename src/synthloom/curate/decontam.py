"""Benchmark decontamination: drop (or flag) records that share long n-grams with eval sets.

A record is contaminated when one of its turns shares a word n-gram (default 13 tokens, the
GPT-3 / Llama convention) with an item of a benchmark the user supplies. Tokens are
:func:`synthloom.text.tokenize`'s (lower-cased words and punctuation), so case and spacing do
not hide a leak. A benchmark item shorter than n tokens can never share an n-gram; it is matched
whole instead when it has at least ``min_item_tokens`` tokens (shorter ones would match common
phrases). Every match names the benchmark, the item and the turn it was found in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from synthloom.curate.base import Stage, StageLog
from synthloom.errors import ConfigError, DataFormatError
from synthloom.messages import message_text
from synthloom.records import read_table
from synthloom.text import ngrams, tokenize

__all__ = ["Benchmark", "Decontaminate", "load_benchmark"]

Record = dict[str, Any]
Action = Literal["drop", "flag"]


@dataclass(frozen=True)
class Benchmark:
    """An evaluation set: a name, and its items' ids and texts (one text per item and field)."""

    name: str
    item_ids: Sequence[str]
    texts: Sequence[str]


def load_benchmark(
    path: str | Path,
    *,
    fields: Sequence[str] = ("text",),
    id_field: str | None = None,
    name: str | None = None,
) -> Benchmark:
    """Read a benchmark from JSONL, Parquet or CSV; every named field's text is checked.

    Items are identified by ``id_field`` when given (and present), else by their row number
    (starting at 0). Raises :class:`DataFormatError` naming the file when a field is missing.
    """
    path = Path(path)
    table = read_table(path)
    missing = [f for f in fields if f not in table.columns]
    if missing:
        cols = ", ".join(map(str, table.columns)) or "none"
        raise DataFormatError(
            f"benchmark has no text field '{missing[0]}' (columns: {cols}); "
            "name the field with --bench-field",
            path=path,
            field=missing[0],
        )
    if id_field is not None and id_field not in table.columns:
        raise DataFormatError(f"benchmark has no id field '{id_field}'", path=path, field=id_field)
    ids = (
        table[id_field].astype(str).tolist()
        if id_field is not None
        else [str(i) for i in range(len(table))]
    )
    item_ids: list[str] = []
    texts: list[str] = []
    for f in fields:
        column = table[f]
        for item, value in zip(ids, column.tolist(), strict=True):
            if isinstance(value, str) and value.strip():
                item_ids.append(item)
                texts.append(value)
            elif not (value is None or (isinstance(value, float) and pd.isna(value))):
                # Lists of choices and numbers are text to a model too.
                item_ids.append(item)
                texts.append(str(value))
    return Benchmark(name=name or path.stem, item_ids=item_ids, texts=texts)


class Decontaminate(Stage):
    """Drop or flag records sharing an n-gram with any benchmark item.

    ``roles``: which turns to check (default all: prompts and responses). ``action="flag"``
    keeps the record and adds ``meta["contamination"]`` (a list of matches); it is reported as
    a change instead of a reject.
    """

    name = "decontaminate"

    def __init__(
        self,
        benchmarks: Sequence[Benchmark],
        *,
        ngram: int = 13,
        min_item_tokens: int = 8,
        roles: Iterable[str] | None = None,
        action: Action = "drop",
    ) -> None:
        if ngram < 1:
            raise ConfigError(f"n-gram size must be >= 1, got {ngram}", field="ngram")
        if action not in ("drop", "flag"):
            raise ConfigError(f"unknown action {action!r}; use drop or flag", field="action")
        self.benchmarks = list(benchmarks)
        self.ngram = ngram
        self.min_item_tokens = min_item_tokens
        self.roles = frozenset(roles) if roles is not None else None
        self.action: Action = action
        # n-gram -> (benchmark index, item id) of the first item that has it.
        self._index: dict[tuple[str, ...], tuple[int, str]] = {}
        self._short_lengths: set[int] = set()
        self._matched_items: list[set[str]] = [set() for _ in self.benchmarks]
        self._matched_records = [0] * len(self.benchmarks)
        self._build()

    def _build(self) -> None:
        for b, bench in enumerate(self.benchmarks):
            for item, text in zip(bench.item_ids, bench.texts, strict=True):
                tokens = tokenize(text)
                if len(tokens) >= self.ngram:
                    for gram in ngrams(tokens, self.ngram):
                        self._index.setdefault(gram, (b, item))
                elif len(tokens) >= self.min_item_tokens:
                    self._index.setdefault(tuple(tokens), (b, item))
                    self._short_lengths.add(len(tokens))

    def matches(self, record: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every (benchmark, item) a record shares an n-gram with, once each, with the turn."""
        return list(self._match(record).values())

    def _match(self, record: Mapping[str, Any]) -> dict[tuple[int, str], dict[str, Any]]:
        found: dict[tuple[int, str], dict[str, Any]] = {}
        lengths = [self.ngram, *sorted(self._short_lengths)]
        for turn, message in enumerate(record["messages"]):
            if self.roles is not None and message["role"] not in self.roles:
                continue
            tokens = tokenize(message_text(message))
            for n in lengths:
                for gram in ngrams(tokens, n) if len(tokens) >= n else ():
                    hit = self._index.get(gram)
                    if hit is None:
                        continue
                    entry = found.get(hit)
                    if entry is None:
                        found[hit] = {
                            "benchmark": self.benchmarks[hit[0]].name,
                            "item": hit[1],
                            "turn": turn,
                            "role": message["role"],
                            "ngram": " ".join(gram),
                            "shared_ngrams": 1,
                        }
                    else:
                        entry["shared_ngrams"] += 1
        return found

    def run(self, records: Iterable[Record], log: StageLog) -> Iterator[Record]:
        for rec in records:
            hits = self._match(rec)
            if not hits:
                yield rec
                continue
            for b in {b for b, _ in hits}:
                self._matched_records[b] += 1
            for b, item in hits:
                self._matched_items[b].add(item)
            found = list(hits.values())
            if self.action == "drop":
                first = found[0]
                log.drop(
                    rec,
                    f"shares a {self.ngram}-gram with benchmark {first['benchmark']}",
                    benchmark=first["benchmark"],
                    item=first["item"],
                    matches=found,
                )
            else:
                meta = dict(rec.get("meta") or {})
                already = meta.get("contamination")
                flagged = [{"benchmark": m["benchmark"], "item": m["item"]} for m in found]
                if already == flagged:
                    # Flagged by an earlier run: nothing changes, so nothing to report.
                    yield rec
                    continue
                meta["contamination"] = flagged
                log.change(
                    rec, f"shares a {self.ngram}-gram with a benchmark (flagged)", matches=found
                )
                yield {**rec, "meta": meta}

    def summary(self) -> dict[str, Any]:
        return {
            "ngram": self.ngram,
            "action": self.action,
            "benchmarks": {
                bench.name: {
                    "items": len(set(bench.item_ids)),
                    "items_matched": len(self._matched_items[b]),
                    "records_matched": self._matched_records[b],
                    "matched_item_ids": sorted(self._matched_items[b])[:1000],
                }
                for b, bench in enumerate(self.benchmarks)
            },
        }
