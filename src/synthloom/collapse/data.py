"""The real data a collapse run starts from: loading, sentence splitting, numeric features, splits.

A run needs either a text corpus (for the language-model families) or a numeric matrix (for the
distribution families). Both can come from the same file:

* no file: the English prose in CPython's ``pydoc_data.topics`` (about 65,000 words, on every
  machine with Python), split into sentences;
* ``.txt``: a plain text corpus, split into sentences;
* instruction records (JSONL / JSON / Parquet): every turn's text, split into sentences;
* tables (CSV / TSV / Parquet / JSONL of flat objects): numeric columns for the numeric
  families, one text column for the language-model families.

When a numeric family is run on text, each sentence becomes a point with two features, the log
of its token count and the mean characters per word token, so the default corpus serves every
family.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from synthloom.errors import DataFormatError
from synthloom.records import detect_kind, read_records, read_table, text_columns
from synthloom.text import record_text, tokenize

__all__ = [
    "DEFAULT_CORPUS_NAME",
    "LoadedData",
    "RealData",
    "default_corpus_text",
    "load_real_data",
    "read_real_data",
    "sentence_features",
    "split_sentences",
]

DataKind = Literal["text", "numeric"]

DEFAULT_CORPUS_NAME = "pydoc_data.topics"

# A sentence ends at . ! or ? followed by white space and something that can start a sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])")
# Underlines of reStructuredText headings ("*****", "=====", "-----").
_RULE = re.compile(r"^\s*([*=\-~^\"#+])\1{2,}\s*$")
# Rows of reStructuredText grid tables ("+----+", "| a | b |"), which are layout, not prose.
_TABLE_ROW = re.compile(r"^\s*(\+[-=+]+|\|.*\|)\s*$")
_FEATURE_NAMES = ("log_tokens", "mean_word_chars")


@dataclass
class RealData:
    """Real data, split once into a training part and a held-out part.

    ``kind == "text"``: ``train_sentences`` / ``holdout_sentences`` hold token lists.
    ``kind == "numeric"``: ``train_values`` / ``holdout_values`` hold float matrices (rows x
    features) and ``feature_names`` names the columns.
    """

    source: str
    kind: DataKind
    train_sentences: list[list[str]] = field(default_factory=list)
    holdout_sentences: list[list[str]] = field(default_factory=list)
    train_values: npt.NDArray[np.float64] = field(
        default_factory=lambda: np.zeros((0, 0), dtype=np.float64)
    )
    holdout_values: npt.NDArray[np.float64] = field(
        default_factory=lambda: np.zeros((0, 0), dtype=np.float64)
    )
    feature_names: tuple[str, ...] = ()

    def describe(self) -> dict[str, object]:
        """A JSON-ready summary for metrics.json."""
        if self.kind == "text":
            return {
                "source": self.source,
                "kind": "text",
                "train_sentences": len(self.train_sentences),
                "holdout_sentences": len(self.holdout_sentences),
                "train_tokens": sum(len(s) for s in self.train_sentences),
                "holdout_tokens": sum(len(s) for s in self.holdout_sentences),
            }
        return {
            "source": self.source,
            "kind": "numeric",
            "features": list(self.feature_names),
            "train_rows": int(self.train_values.shape[0]),
            "holdout_rows": int(self.holdout_values.shape[0]),
        }


def split_sentences(text: str, *, skip_indented: bool = False) -> list[str]:
    """Split prose into sentences: paragraphs at blank lines, then at sentence-final punctuation.

    With ``skip_indented`` paragraphs whose first line is indented (code, grammar rules and
    literal blocks in reStructuredText) are dropped, as are heading underlines and grid-table
    rows.
    """
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        if not paragraph.strip():
            continue
        if skip_indented and paragraph[:1].isspace():
            continue
        lines = paragraph.splitlines()
        if skip_indented:
            lines = [ln for ln in lines if not _RULE.match(ln) and not _TABLE_ROW.match(ln)]
        joined = " ".join(ln.strip() for ln in lines).strip()
        if joined:
            sentences.extend(s.strip() for s in _SENTENCE_END.split(joined) if s.strip())
    return sentences


def default_corpus_text() -> str:
    """The English text of CPython's ``pydoc_data.topics``, topics in a fixed (sorted) order."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key] for key in sorted(topics))


def sentence_features(sentences: Sequence[Sequence[str]]) -> npt.NDArray[np.float64]:
    """Two numeric features per tokenised sentence: log token count, mean characters per word.

    Punctuation tokens count towards the length but not towards the word length.
    """
    rows = np.empty((len(sentences), 2), dtype=np.float64)
    for i, tokens in enumerate(sentences):
        words = [t for t in tokens if t[0].isalnum() or t[0] == "_"]
        rows[i, 0] = math.log(len(tokens))
        rows[i, 1] = sum(map(len, words)) / len(words) if words else 0.0
    return rows


def _tokenised(sentences: Iterable[str]) -> list[list[str]]:
    return [toks for toks in (tokenize(s) for s in sentences) if toks]


def _text_from_table_column(path: Path, text_column: str | None) -> list[str]:
    table = read_table(path)
    text_cols = text_columns(table)
    if text_column is not None:
        if text_column not in table.columns:
            raise DataFormatError(
                f"no column '{text_column}'; columns are: {', '.join(map(str, table.columns))}",
                path=path,
                field="text_column",
            )
        column = text_column
    else:
        if not text_cols:
            raise DataFormatError(
                "no text column for a language-model family; pass --text-column", path=path
            )
        # The column with the most text per row is the one worth modelling.
        column = max(text_cols, key=lambda c: table[c].astype(str).str.len().mean())
    return [str(v) for v in table[column].dropna()]


def _is_number_column(column: pd.Series) -> bool:
    return bool(is_numeric_dtype(column.dtype) and not is_bool_dtype(column.dtype))


def _numeric_from_table(
    path: Path, columns: Sequence[str]
) -> tuple[npt.NDArray[np.float64], tuple[str, ...]]:
    table = read_table(path)
    if table.shape[0] == 0:
        raise DataFormatError("empty corpus: the table has no rows", path=path)
    if columns:
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise DataFormatError(
                f"no column(s) {', '.join(missing)}; columns are: "
                f"{', '.join(map(str, table.columns))}",
                path=path,
                field="columns",
            )
        chosen = list(columns)
        non_numeric = [c for c in chosen if not _is_number_column(table[c])]
        if non_numeric:
            raise DataFormatError(
                f"column(s) {', '.join(non_numeric)} are not numeric", path=path, field="columns"
            )
    else:
        chosen = [str(c) for c in table.columns if _is_number_column(table[c])]
        if not chosen:
            raise DataFormatError(
                "no numeric columns for a numeric family; use a text family or name one "
                "with --column",
                path=path,
            )
    values = table[chosen].to_numpy(dtype=np.float64)
    values = values[np.isfinite(values).all(axis=1)]
    return values, tuple(chosen)


def _read_sentences(path: Path | None, text_column: str | None) -> tuple[str, list[str]]:
    if path is None:
        return DEFAULT_CORPUS_NAME, split_sentences(default_corpus_text(), skip_indented=True)
    if not path.exists():
        raise DataFormatError("file not found; check the path", path=path)
    if path.is_dir():
        raise DataFormatError("is a directory; give a data file", path=path)
    if path.suffix.lower() == ".txt":
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DataFormatError("not UTF-8 text; re-encode the file as UTF-8", path=path) from exc
        return str(path), split_sentences(text)
    if detect_kind(path) == "instruction":
        texts = [record_text(rec) for rec in read_records(path)]
    else:
        texts = _text_from_table_column(path, text_column)
    return str(path), [s for t in texts for s in split_sentences(t)]


def _split_index(
    n: int, holdout: float, seed: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    order = np.random.default_rng([seed, 7919]).permutation(n)
    n_holdout = max(1, round(n * holdout))
    return order[n_holdout:], order[:n_holdout]


@dataclass
class LoadedData:
    """Real data as read, before any split: each seed of a run splits it its own way.

    ``kind == "text"``: ``sentences`` holds token lists. ``kind == "numeric"``: ``values`` holds
    one row per sentence or table row, with ``feature_names``.
    """

    source: str
    kind: DataKind
    sentences: list[list[str]] = field(default_factory=list)
    values: npt.NDArray[np.float64] = field(
        default_factory=lambda: np.zeros((0, 0), dtype=np.float64)
    )
    feature_names: tuple[str, ...] = ()

    def split(self, *, holdout: float = 0.1, seed: int = 0) -> RealData:
        """A seeded random split into training and held-out parts."""
        if self.kind == "text":
            train_idx, hold_idx = _split_index(len(self.sentences), holdout, seed)
            return RealData(
                source=self.source,
                kind="text",
                train_sentences=[self.sentences[i] for i in train_idx],
                holdout_sentences=[self.sentences[i] for i in hold_idx],
            )
        train_idx, hold_idx = _split_index(self.values.shape[0], holdout, seed)
        return RealData(
            source=self.source,
            kind="numeric",
            train_values=self.values[train_idx],
            holdout_values=self.values[hold_idx],
            feature_names=self.feature_names,
        )


def read_real_data(
    path: str | Path | None,
    kind: DataKind,
    *,
    columns: Sequence[str] = (),
    text_column: str | None = None,
) -> LoadedData:
    """Read the real data for a family of the given kind (``path=None``: the default corpus).

    Raises ``DataFormatError`` for empty or unreadable data.
    """
    path = Path(path) if path is not None else None
    where = str(path) if path is not None else DEFAULT_CORPUS_NAME
    if path is not None and kind == "numeric" and path.suffix.lower() != ".txt":
        if not path.exists():
            raise DataFormatError("file not found; check the path", path=path)
        if detect_kind(path) == "table":
            values, names = _numeric_from_table(path, columns)
            if values.shape[0] == 0:
                raise DataFormatError("empty corpus: no complete numeric rows", path=path)
            return LoadedData(source=where, kind="numeric", values=values, feature_names=names)
    source, sentences = _read_sentences(path, text_column)
    tokenised = _tokenised(sentences)
    if not tokenised:
        raise DataFormatError(
            "empty corpus: no text found; give a file with some prose", path=where
        )
    if kind == "text":
        return LoadedData(source=source, kind="text", sentences=tokenised)
    return LoadedData(
        source=source,
        kind="numeric",
        values=sentence_features(tokenised),
        feature_names=_FEATURE_NAMES,
    )


def load_real_data(
    path: str | Path | None,
    kind: DataKind,
    *,
    holdout: float = 0.1,
    seed: int = 0,
    columns: Sequence[str] = (),
    text_column: str | None = None,
) -> RealData:
    """Load the real data for a family of the given kind and split off a held-out part.

    ``path=None`` uses the default corpus. The split is a seeded random permutation of the
    sentences (text) or rows (numeric). Raises ``DataFormatError`` for empty or unreadable data.
    """
    loaded = read_real_data(path, kind, columns=columns, text_column=text_column)
    return loaded.split(holdout=holdout, seed=seed)
