"""The assay's privacy section: does the synthetic data copy or expose real data?

This module owns the privacy measurements of a dataset:

* exact copies of reference records (:func:`exact_copies`, with keys from :func:`record_key`
  for chat records: system turns dropped, whitespace and case normalised; :func:`row_keys` for
  table rows), naming which record copies which;
* verbatim overlap of synthetic text with private sources, character-level
  (:func:`verbatim_overlap`);
* personal data found in synthetic text (:func:`pii_summary`, detectors from
  :mod:`synthloom.pii`);
* for tables, distance to the closest record compared with a held-out real baseline
  (:func:`distance_to_closest_record`) and a distance-based membership-inference attack
  (:func:`membership_inference_auc`).

Every function returns plain numbers, lists and dicts, ready for ``metrics.json``.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from synthloom.errors import DataFormatError, InputError
from synthloom.pii import PiiScanner

__all__ = [
    "content_text",
    "distance_to_closest_record",
    "exact_copies",
    "membership_inference_auc",
    "pii_summary",
    "record_key",
    "row_keys",
    "split_holdout",
    "text_key",
    "verbatim_overlap",
]

_MAX_EXAMPLES = 10
_EXAMPLE_CHARS = 200

# --------------------------------------------------------------------------------------------
# Exact copies


def text_key(text: str) -> str:
    """A text's identity for exact-copy checks: Unicode NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def content_text(record: Mapping[str, Any]) -> str:
    """A record's turns without its system prompts, joined: what a copy would carry over.

    ``mix`` and most trainers' templates add or change the system prompt; a record whose user
    and assistant turns are those of a reference record is a copy whatever its system prompt.
    """
    return "\n".join(
        str(m.get("content") or "") for m in record["messages"] if m.get("role") != "system"
    )


def record_key(record: Mapping[str, Any]) -> str:
    """A chat record's identity for exact-copy checks: its non-system turns, each through
    :func:`text_key` (so whitespace, case and the system prompt do not hide a copy)."""
    return "\x1e".join(
        text_key(str(m.get("content") or ""))
        for m in record["messages"]
        if m.get("role") != "system"
    )


_NULL_HASH = np.uint64(0x9E3779B97F4A7C15)
_STRING_TAG = np.uint64(0x632BE59BD9B4E019)
_TIME_TAG = np.uint64(0x85EBCA77C2B2AE63)
_ROW_MULT = np.uint64(0x100000001B3)


def _column_hashes(series: pd.Series) -> npt.NDArray[np.uint64]:
    """64-bit hash per cell, equal for equal values whatever the column's dtype.

    Numbers (any int, float or nullable dtype, and numbers inside object columns) hash as
    float64, so 3, 3.0 and Int64 3 agree; datetimes (column or object values) as UTC
    nanoseconds, naive ones taken as UTC; everything else, booleans included, as its string.
    Every kind of missing value (None, NaN, NaT, pd.NA) hashes alike.
    """
    values = series.astype(object).to_numpy()
    null = pd.isna(series).to_numpy()
    out = np.full(len(values), _NULL_HASH, dtype=np.uint64)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        out[~null] = pd.util.hash_array(_utc_nanoseconds(series[~null])) ^ _TIME_TAG
        return out
    # Booleans go the string way below, so a bool column and an object column of bools agree.
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        nums = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        out[~null] = pd.util.hash_array(nums[~null] + 0.0)  # + 0.0 folds -0.0 into 0.0
        return out
    is_number = np.fromiter(
        (isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in values),
        dtype=bool,
        count=len(values),
    )
    numeric = is_number & ~null
    if numeric.any():
        nums = np.array([float(v) for v in values[numeric]], dtype=np.float64)
        out[numeric] = pd.util.hash_array(nums + 0.0)
    is_time = np.fromiter(
        (isinstance(v, datetime | np.datetime64) for v in values), dtype=bool, count=len(values)
    )
    timed = is_time & ~null
    if timed.any():
        out[timed] = pd.util.hash_array(_utc_nanoseconds(pd.Series(values[timed]))) ^ _TIME_TAG
    other = ~is_number & ~is_time & ~null
    if other.any():
        strings = np.array([str(v) for v in values[other]], dtype=object)
        out[other] = pd.util.hash_array(strings, categorize=False) ^ _STRING_TAG
    return out


def _utc_nanoseconds(series: pd.Series) -> npt.NDArray[np.int64]:
    """Nanoseconds since the epoch, UTC (naive times taken as UTC) of a column without NaT."""
    stamps = pd.to_datetime(series, utc=True).dt.tz_convert(None).dt.as_unit("ns")
    return stamps.to_numpy().view(np.int64)


def row_keys(df: pd.DataFrame) -> list[str]:
    """One key per row: equal rows (same column names and values) give equal keys.

    Columns are taken in name order, so two tables with the same columns in a different order
    agree. A key is a 64-bit hash of the canonical row in hex (distinct rows collide with
    probability about 2**-64).
    """
    if df.columns.duplicated().any():
        dup = ", ".join(map(str, df.columns[df.columns.duplicated()]))
        raise DataFormatError(f"duplicate column names ({dup}); rename them", field=dup)
    h = np.zeros(len(df), dtype=np.uint64)
    for name in sorted(df.columns, key=str):
        col = _column_hashes(df[name])
        # Mix each column into the row hash in order, with the column name, so the hash of
        # (a, b) differs from (b, a) and a value in column x differs from the same value in y.
        name_hash = pd.util.hash_array(np.array([str(name)], dtype=object))[0]
        h = (h * _ROW_MULT) ^ col ^ name_hash
        h = pd.util.hash_array(h)
    return [f"{int(v):016x}" for v in h]


def exact_copies(
    reference_keys: Sequence[str],
    synthetic_keys: Sequence[str],
    *,
    reference_names: Sequence[str] | None = None,
    synthetic_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Synthetic records whose key also belongs to a reference record.

    Returns ``{"count": synthetic records that copy a reference record, "share": count / number of
    synthetic records (0.0 when there are none), "examples": their first 10 indices (0-based),
    "copies": the first 10 as {"synthetic_index", "synthetic", "reference_index",
    "reference"}}``: which record copies which, named by ``*_names`` (default "record N",
    1-based) so a reader can find both.
    """
    first_of: dict[str, int] = {}
    for i, key in enumerate(reference_keys):
        first_of.setdefault(key, i)
    copied = [i for i, key in enumerate(synthetic_keys) if key in first_of]
    n = len(synthetic_keys)

    def name(names: Sequence[str] | None, i: int) -> str:
        return names[i] if names is not None else f"record {i + 1}"

    return {
        "count": len(copied),
        "share": len(copied) / n if n else 0.0,
        "examples": copied[:_MAX_EXAMPLES],
        "copies": [
            {
                "synthetic_index": i,
                "synthetic": name(synthetic_names, i),
                "reference_index": first_of[synthetic_keys[i]],
                "reference": name(reference_names, first_of[synthetic_keys[i]]),
            }
            for i in copied[:_MAX_EXAMPLES]
        ],
    }


# --------------------------------------------------------------------------------------------
# Verbatim overlap: every `span`-character window hashed with two polynomial hashes modulo
# primes below 2**31, computed with numpy over chunks of the concatenated texts.

_PRIMES = (2_147_483_629, 2_147_483_587)
_BASES = (1_000_003, 911_382_323)
_CHUNK = 1 << 21  # characters per chunk: keeps every prefix sum below 2**53
# The longest-span search pairs each shared synthetic window with up to 64 of its private
# occurrences, fewer when that would exceed the pair budget (pairs grow with the product of
# copying and repetition inside the private texts).
_MAX_OCCURRENCES = 64
_PAIR_BUDGET = 4_000_000


def _normalise(text: str) -> str:
    # The exact-copy normalisation: a copy re-cased or re-wrapped is still a copy.
    return text_key(text)


@dataclass
class _Corpus:
    """Texts joined into one string, with each text's start offset."""

    text: str
    starts: npt.NDArray[np.int64]
    lengths: npt.NDArray[np.int64]
    index: list[int] = field(default_factory=list)  # original index of each text

    @classmethod
    def build(cls, texts: Sequence[str], index: list[int]) -> _Corpus:
        lengths = np.array([len(t) for t in texts], dtype=np.int64)
        starts = np.zeros(len(texts), dtype=np.int64)
        if len(texts):
            starts[1:] = np.cumsum(lengths)[:-1]
        return cls("".join(texts), starts, lengths, index)

    def doc_of(self, positions: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return np.searchsorted(self.starts, positions, side="right").astype(np.int64) - 1


def _powers(base: int, prime: int, n: int) -> npt.NDArray[np.int64]:
    """base**k mod prime for k < n, by doubling: the powers [m, 2m) are those of [0, m) times
    base**m, one vectorised product per doubling."""
    out = np.ones(max(n, 1), dtype=np.int64)
    if n > 1:
        out[1] = base % prime
    m = 2
    while m < n:
        step = out[m // 2] * out[m // 2] % prime  # base**m
        stop = min(n, 2 * m)
        out[m:stop] = out[: stop - m] * step % prime
        m *= 2
    return out[:n]


class _WindowHasher:
    def __init__(self, span: int, longest: int) -> None:
        self.span = span
        # The common exponent every window hash is scaled to: past the end of any chunk.
        self.top = min(_CHUNK, longest) + span
        self.powers = [_powers(b, p, self.top + 1) for b, p in zip(_BASES, _PRIMES, strict=True)]

    def hashes(self, corpus: _Corpus) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
        """(hash, start position) of every window that lies inside one text."""
        span = self.span
        valid_len = np.maximum(corpus.lengths - span + 1, 0)
        total = int(valid_len.sum())
        if total == 0:
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
        # Window starts: for each text, start .. start + len - span.
        doc = np.repeat(np.arange(len(corpus.lengths)), valid_len)
        first = np.cumsum(valid_len) - valid_len
        positions = corpus.starts[doc] + (np.arange(total) - first[doc])
        codes_all = np.frombuffer(corpus.text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        out = np.empty(total, dtype=np.uint64)
        n = len(codes_all)
        for lo in range(0, n, _CHUNK):
            hi = min(n, lo + _CHUNK)  # windows starting in [lo, hi)
            left = np.searchsorted(positions, lo)
            right = np.searchsorted(positions, hi)
            if right == left:
                continue
            codes = codes_all[lo : min(n, hi + span - 1)].astype(np.int64)
            local = positions[left:right] - lo
            combined = np.zeros(right - left, dtype=np.uint64)
            for prime, power in zip(_PRIMES, self.powers, strict=True):
                terms = codes * power[: len(codes)] % prime
                prefix = np.zeros(len(codes) + 1, dtype=np.int64)
                np.cumsum(terms, out=prefix[1:])
                sums = (prefix[local + span] - prefix[local]) % prime
                # sum c[j] * B**j over the window, times B**(top - i): the same for equal text
                # wherever it starts.
                scaled = sums * power[self.top - local] % prime
                combined = (combined << np.uint64(31)) | scaled.astype(np.uint64)
            out[left:right] = combined
        return out, positions


def _dedupe(texts: Sequence[str]) -> tuple[list[str], list[int]]:
    seen: dict[str, int] = {}
    for i, t in enumerate(texts):
        seen.setdefault(t, i)
    return list(seen), list(seen.values())


def _shared_runs(
    syn_hash: npt.NDArray[np.uint64],
    syn_pos: npt.NDArray[np.int64],
    priv_sorted: npt.NDArray[np.uint64],
    priv_pos_sorted: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Maximal shared stretches as (synthetic start, private start, number of windows)."""
    # A bitmap over the low hash bits rules out most synthetic windows with one lookup each,
    # far cheaper than a binary search per window.
    bits = int(np.clip(np.ceil(np.log2(max(len(priv_sorted), 1) * 16)), 12, 26))
    low = np.uint64((1 << bits) - 1)
    bitmap = np.zeros(1 << bits, dtype=bool)
    bitmap[(priv_sorted & low).astype(np.int64)] = True
    maybe = bitmap[(syn_hash & low).astype(np.int64)]
    syn_hash, syn_pos = syn_hash[maybe], syn_pos[maybe]
    # A hash table over the distinct private hashes: much faster than a binary search per
    # window when most windows are shared.
    distinct, first, occurrences = np.unique(priv_sorted, return_index=True, return_counts=True)
    found = pd.Index(distinct).get_indexer(pd.Index(syn_hash))
    hit = found >= 0
    found, spos = found[hit], syn_pos[hit]
    cap = int(np.clip(_PAIR_BUDGET // max(len(found), 1), 1, _MAX_OCCURRENCES))
    lo = first[found]
    count = np.minimum(occurrences[found], cap)
    if len(spos) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    # Every (synthetic window, private window) pair with equal hashes.
    offsets = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    pair_syn = np.repeat(spos, count)
    pair_priv = priv_pos_sorted[np.repeat(lo, count) + offsets]
    # Consecutive pairs on one diagonal (private - synthetic offset) form one shared stretch.
    diagonal = pair_priv - pair_syn
    order = np.lexsort((pair_syn, diagonal))
    pair_syn, diagonal = pair_syn[order], diagonal[order]
    new_run = np.ones(len(pair_syn), dtype=bool)
    new_run[1:] = (diagonal[1:] != diagonal[:-1]) | (pair_syn[1:] != pair_syn[:-1] + 1)
    run_start = np.flatnonzero(new_run)
    run_len = np.diff(np.append(run_start, len(pair_syn)))
    syn_start = pair_syn[run_start]
    return syn_start, syn_start + diagonal[run_start], run_len


def _extend(
    syn: _Corpus, doc: int, priv: _Corpus, pdoc: int, a: int, p: int, n: int
) -> tuple[int, int, int]:
    """Grow the shared stretch syn[a:a+n] == priv[p:p+n] both ways inside its two texts."""
    s_lo, s_hi = int(syn.starts[doc]), int(syn.starts[doc] + syn.lengths[doc])
    p_lo, p_hi = int(priv.starts[pdoc]), int(priv.starts[pdoc] + priv.lengths[pdoc])
    step = 64
    while True:  # forward, a block at a time, then a character at a time
        room = min(s_hi - (a + n), p_hi - (p + n))
        if room >= step and syn.text[a + n : a + n + step] == priv.text[p + n : p + n + step]:
            n += step
        elif room > 0 and syn.text[a + n] == priv.text[p + n]:
            n += 1
        else:
            break
    while True:  # backward
        room = min(a - s_lo, p - p_lo)
        if room >= step and syn.text[a - step : a] == priv.text[p - step : p]:
            a, p, n = a - step, p - step, n + step
        elif room > 0 and syn.text[a - 1] == priv.text[p - 1]:
            a, p, n = a - 1, p - 1, n + 1
        else:
            break
    return a, p, n


def verbatim_overlap(
    synthetic_texts: Sequence[str],
    private_texts: Sequence[str],
    *,
    span: int = 50,
    synthetic_names: Sequence[str] | None = None,
    private_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """How much synthetic text copies private text verbatim, character by character.

    Texts are compared as :func:`text_key` leaves them (Unicode NFKC, case-folded, whitespace
    runs collapsed to one space), so re-cased or re-wrapped copies count; shared texts are shown
    in that form. A synthetic record shares a span when some ``span``-character stretch of it
    appears in a private text. Each example names its records: ``"synthetic"`` and
    ``"private"`` from ``synthetic_names``/``private_names`` (default "record N" and
    "source N", 1-based).

    Returns ``{"span", "records_sharing_span": synthetic records sharing at least one span,
    "share": that / number of synthetic records, "longest_shared_span": longest stretch (in
    characters) any synthetic record shares with any private text, 0 when none reaches
    ``span``, "longest_example": {"synthetic_index", "private_index", "text"} or None,
    "examples": up to 10 of {"synthetic_index", "private_index", "text"}, the longest shared
    text of each of the first flagged records}``; texts are cut to 200 characters.

    The counts are exact up to hash collisions (two 31-bit polynomial hashes; every reported
    stretch is also checked against the text). The longest spans are exact unless a shared
    window occurs in the private texts more often than the search follows (64 occurrences,
    fewer when the synthetic set shares millions of windows): then they may be shorter than the
    truth, never longer.
    """
    if span < 1:
        raise InputError("must be at least 1", field="span")
    syn_norm = [_normalise(t) for t in synthetic_texts]
    priv_unique, priv_index = _dedupe([_normalise(t) for t in private_texts])
    syn = _Corpus.build(syn_norm, list(range(len(syn_norm))))
    priv = _Corpus.build(priv_unique, priv_index)
    hasher = _WindowHasher(span, max(len(syn.text), len(priv.text)))
    priv_hash, priv_pos = hasher.hashes(priv)
    order = np.argsort(priv_hash, kind="stable")
    priv_sorted, priv_pos_sorted = priv_hash[order], priv_pos[order]
    syn_hash, syn_pos = hasher.hashes(syn)
    syn_start, priv_start, windows = _shared_runs(syn_hash, syn_pos, priv_sorted, priv_pos_sorted)

    # Best (longest verified) stretch per synthetic record: runs sorted by record, longest first.
    best: dict[int, tuple[int, int, int, int]] = {}  # record -> (length, syn, priv, priv doc)
    lengths = windows + span - 1
    syn_docs = syn.doc_of(syn_start)
    order = np.lexsort((-lengths, syn_docs))
    firsts = np.flatnonzero(np.diff(syn_docs[order], prepend=-1) != 0)
    ends = np.append(firsts[1:], len(order)) if len(order) else firsts
    for first, end in zip(firsts.tolist(), ends.tolist(), strict=True):
        for k in order[first:end].tolist():
            a, p, n = int(syn_start[k]), int(priv_start[k]), int(lengths[k])
            if syn.text[a : a + n] != priv.text[p : p + n]:
                continue  # a hash collision, not shared text
            doc, pdoc = int(syn_docs[k]), int(priv.doc_of(np.array([p]))[0])
            # Where the search followed fewer occurrences, a stretch may continue past the
            # windows it paired: extend it along its diagonal to its full length.
            a, p, n = _extend(syn, doc, priv, pdoc, a, p, n)
            best[doc] = (n, a, p, pdoc)
            break

    def example(doc: int) -> dict[str, Any]:
        n, a, _, pdoc = best[doc]
        private_index = priv.index[pdoc]
        return {
            "synthetic_index": doc,
            "private_index": private_index,
            "synthetic": synthetic_names[doc] if synthetic_names else f"record {doc + 1}",
            "private": private_names[private_index]
            if private_names
            else f"source {private_index + 1}",
            "text": syn.text[a : a + min(n, _EXAMPLE_CHARS)],
        }

    flagged = sorted(best)
    longest_doc = max(flagged, key=lambda d: (best[d][0], -d)) if flagged else None
    n_syn = len(syn_norm)
    return {
        "span": span,
        "records_sharing_span": len(flagged),
        "share": len(flagged) / n_syn if n_syn else 0.0,
        "longest_shared_span": best[longest_doc][0] if longest_doc is not None else 0,
        "longest_example": example(longest_doc) if longest_doc is not None else None,
        "examples": [example(d) for d in flagged[:_MAX_EXAMPLES]],
    }


# --------------------------------------------------------------------------------------------
# Personal data


def _preview(value: str) -> str:
    """The value with its middle masked: enough to find it, not enough to re-publish it."""
    if len(value) <= 2:
        return "*" * len(value)
    if len(value) <= 4:
        return value[0] + "*" * (len(value) - 1)
    return value[0] + "*" * (len(value) - 2) + value[-1]


def pii_summary(
    texts: Sequence[str],
    *,
    scanner: PiiScanner,
    locations: Sequence[str] | None = None,
    max_examples: int = 20,
    reveal: bool = False,
) -> dict[str, Any]:
    """Personal data found in ``texts``, by type, with the first locations.

    Returns ``{"total": matches, "by_type": {TYPE: matches} for every type the scanner looks
    for (zeros included, so the paths are stable), "records_with_pii": texts with at least one
    match, "ner": whether names and places were searched with the NER model, "examples": up to
    ``max_examples`` of {"type", "location", "start", "end", "text"}}``. ``location`` is
    ``locations[i]`` (default ``"record i"``); ``start``/``end`` are character offsets in that
    text. ``text`` keeps the first and last character and masks the rest with ``*`` of the same
    length, so the report does not re-publish what it warns about; ``reveal=True`` keeps it.
    """
    if locations is not None and len(locations) != len(texts):
        raise InputError(
            f"{len(locations)} locations for {len(texts)} texts; give one per text",
            field="locations",
        )
    by_type = {t: 0 for t in sorted(scanner.types)}
    examples: list[dict[str, Any]] = []
    records_with_pii = 0
    for i, matches in enumerate(scanner.iter_scan(texts)):
        if not matches:
            continue
        records_with_pii += 1
        for m in matches:
            by_type[m.type] += 1
            if len(examples) < max_examples:
                examples.append(
                    {
                        "type": m.type,
                        "location": locations[i] if locations is not None else f"record {i}",
                        "start": m.start,
                        "end": m.end,
                        "text": m.text if reveal else _preview(m.text),
                    }
                )
    return {
        "total": sum(by_type.values()),
        "by_type": by_type,
        "records_with_pii": records_with_pii,
        "ner": scanner.ner_available,
        "examples": examples,
    }


# --------------------------------------------------------------------------------------------
# Tables: distance to closest record and membership inference

# Pairs of rows compared per block: small enough to stay in cache, large enough for numpy.
_BLOCK_PAIRS = 1 << 19


def split_holdout(
    df: pd.DataFrame, frac: float = 0.2, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, holdout): a seeded random ``frac`` of the rows held out, both re-indexed."""
    if not 0.0 < frac < 1.0:
        raise InputError(f"holdout fraction {frac} must be between 0 and 1", field="frac")
    n_holdout = round(len(df) * frac)
    if n_holdout < 1 or n_holdout >= len(df):
        raise DataFormatError(
            f"{len(df)} rows cannot be split into train and a {frac:.0%} holdout; "
            "give more reference rows"
        )
    rng = np.random.default_rng(seed)
    held = np.zeros(len(df), dtype=bool)
    held[rng.choice(len(df), size=n_holdout, replace=False)] = True
    return df[~held].reset_index(drop=True), df[held].reset_index(drop=True)


@dataclass
class _Table:
    """Columns ready for Gower distances: floats (NaN = missing) or category codes."""

    numeric: list[npt.NDArray[np.float64]]
    codes: list[npt.NDArray[np.int64]]
    rows: int


def _encode(
    frames: Sequence[pd.DataFrame], columns: list[Any], kinds: dict[str, str]
) -> list[_Table]:
    """Encode several tables alike: one category code space per column across all of them."""
    tables = [_Table([], [], len(f)) for f in frames]
    for col in columns:
        kind = kinds.get(str(col)) or _infer_kind(frames[0][col])
        if kind == "numeric":
            for table, frame in zip(tables, frames, strict=True):
                table.numeric.append(_as_float(frame[col], col))
        else:
            # Missing values form one category of their own, so two missing values are equal.
            joined = pd.concat([_as_categories(f[col]) for f in frames], ignore_index=True)
            codes, _ = pd.factorize(joined.astype(str))
            offset = 0
            for table in tables:
                table.codes.append(codes[offset : offset + table.rows].astype(np.int64))
                offset += table.rows
    return tables


def _gower_nearest(query: _Table, reference: _Table) -> npt.NDArray[np.float64]:
    """Distance of each query row to its closest reference row, SDMetrics' DCR conventions.

    Per numeric column ``min(|x - y| / range, 1)`` with the range of the reference rows (a
    zero range counts any difference as 1), 1 when exactly one side is missing, 0 when both are;
    per categorical column 0 when equal, else 1; the mean over columns.
    """
    n_cols = len(query.numeric) + len(query.codes)
    inv_ranges: list[float | None] = []
    for values in reference.numeric:
        finite = values[~np.isnan(values)]
        span = float(finite.max() - finite.min()) if len(finite) else 0.0
        inv_ranges.append(1.0 / span if span > 0 else None)
    has_missing = [
        bool(np.isnan(q).any() or np.isnan(r).any())
        for q, r in zip(query.numeric, reference.numeric, strict=True)
    ]
    out = np.empty(query.rows)

    def block_min(lo: int, hi: int) -> None:
        total = np.zeros((hi - lo, reference.rows))
        for q_all, r, inv, nan in zip(
            query.numeric, reference.numeric, inv_ranges, has_missing, strict=True
        ):
            q = q_all[lo:hi, None]
            diff = q - r[None, :]
            np.abs(diff, out=diff)
            if inv is None:
                diff = (diff > 0).astype(np.float64)
            else:
                diff *= inv
                np.minimum(diff, 1.0, out=diff)
            if nan:
                missing = np.isnan(diff)
                diff[missing] = (np.isnan(q) != np.isnan(r)[None, :])[missing]
            total += diff
        for qc, rc in zip(query.codes, reference.codes, strict=True):
            total += qc[lo:hi, None] != rc[None, :]
        out[lo:hi] = total.min(axis=1) / n_cols

    # numpy releases the GIL in these loops, so threads share the blocks out over the cores.
    block = max(1, _BLOCK_PAIRS // max(reference.rows, 1))
    starts = range(0, query.rows, block)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for future in [pool.submit(block_min, lo, min(query.rows, lo + block)) for lo in starts]:
            future.result()
    return out


_MISSING = "\x00<missing>"


def _as_categories(series: pd.Series) -> pd.Series:
    """Values as objects, every kind of missing value as one category of its own."""
    obj = series.astype(object)
    return obj.where(series.notna().to_numpy(), _MISSING)


def _infer_kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series.dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(
        series.dtype
    ):
        return "numeric"
    return "categorical"


def _as_float(series: pd.Series, col: str) -> npt.NDArray[np.float64]:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        out = np.full(len(series), np.nan)
        present = series.notna().to_numpy()
        out[present] = _utc_nanoseconds(series[present]).astype(np.float64)
        return out
    values = pd.to_numeric(series, errors="coerce")
    bad = values.isna() & series.notna()
    if bad.any():
        raise DataFormatError(
            f"value {series[bad].iloc[0]!r} is not a number; fix it or declare the column "
            "categorical in kinds",
            field=str(col),
        )
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def _prepare(
    real_train: pd.DataFrame,
    real_holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: dict[str, str] | None,
    max_rows: int,
    seed: int,
) -> tuple[_Table, _Table, _Table]:
    """Encoded (train, holdout, synthetic), each subsampled to ``max_rows`` rows."""
    for name, frame in (("train", real_train), ("holdout", real_holdout), ("synthetic", synthetic)):
        if len(frame) == 0:
            raise DataFormatError(f"the {name} table has no rows; distances need at least one")
    columns = list(real_train.columns)
    if not columns:
        raise DataFormatError("the real table has no columns")
    for name, frame in (("holdout", real_holdout), ("synthetic", synthetic)):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise DataFormatError(
                f"the {name} table lacks column(s) of the real table: "
                f"{', '.join(map(str, missing))}",
                field=str(missing[0]),
            )
    kinds = dict(kinds or {})
    unknown = [c for c in kinds if c not in map(str, columns)]
    if unknown:
        raise InputError(
            f"kinds names column(s) not in the data: {', '.join(unknown)}", field="kinds"
        )
    for col, kind in kinds.items():
        if kind not in ("numeric", "categorical"):
            raise InputError(f"kind {kind!r}; use numeric or categorical", field=f"kinds.{col}")
    if max_rows < 1:
        raise InputError("must be at least 1", field="max_rows")
    rng = np.random.default_rng(seed)

    def sample(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame[columns]
        if len(frame) > max_rows:
            frame = frame.iloc[np.sort(rng.choice(len(frame), size=max_rows, replace=False))]
        return frame.reset_index(drop=True)

    train, holdout, synth = _encode(
        [sample(real_train), sample(real_holdout), sample(synthetic)], columns, kinds
    )
    return train, holdout, synth


def distance_to_closest_record(
    real_train: pd.DataFrame,
    real_holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    kinds: dict[str, str] | None = None,
    max_rows: int = 20000,
    seed: int = 0,
) -> dict[str, Any]:
    """Distance of synthetic rows to the closest training row, against a held-out baseline.

    The distance is SDMetrics' DCR distance (a Gower distance): the mean over columns of
    ``min(|x - y| / range, 1)`` for numbers and datetimes, with the range of the rows searched,
    and of 0/1 (equal or not) for categories; a missing value is 1 from any value and 0 from
    another missing one. ``kinds`` maps a column to ``"numeric"`` or ``"categorical"`` where the
    dtype would mislead. Each table is subsampled to ``max_rows`` rows (seeded). A generator
    that copies its training rows puts synthetic rows much closer to them than fresh real rows
    (the holdout) are.

    Returns:
        synthetic_median: median distance of a synthetic row to its closest training row
        holdout_median: the same for holdout rows (the baseline)
        synthetic_p5, holdout_p5: 5th percentiles of the two
        synthetic_share_closer_than_holdout_p5: share of synthetic rows closer to train than
            the holdout's 5th percentile (about 0.05 without copying, near 1 for copies)
        share_synthetic_closer_to_train_than_holdout: share of synthetic rows strictly closer to
            their nearest training row than to their nearest holdout row (SDMetrics'
            DCROverfittingProtection ``closer_to_training``; 1.0 for copies)
        share_expected_without_copying: what that share is for a generator that does not copy
            (ties aside): n_train / (n_train + n_holdout), 0.5 with equal sizes
        synthetic_share_exact_match, holdout_share_exact_match: share at distance 0
        n_train, n_holdout, n_synthetic, n_columns: the sizes used
    """
    train, holdout, synth = _prepare(real_train, real_holdout, synthetic, kinds, max_rows, seed)
    d_syn = _gower_nearest(synth, train)
    d_hold = _gower_nearest(holdout, train)
    d_syn_hold = _gower_nearest(synth, holdout)
    hold_p5 = float(np.percentile(d_hold, 5))
    return {
        "synthetic_median": float(np.median(d_syn)),
        "holdout_median": float(np.median(d_hold)),
        "synthetic_p5": float(np.percentile(d_syn, 5)),
        "holdout_p5": hold_p5,
        "synthetic_share_closer_than_holdout_p5": float(np.mean(d_syn < hold_p5)),
        "share_synthetic_closer_to_train_than_holdout": float(np.mean(d_syn < d_syn_hold)),
        "share_expected_without_copying": train.rows / (train.rows + holdout.rows),
        "synthetic_share_exact_match": float(np.mean(d_syn == 0.0)),
        "holdout_share_exact_match": float(np.mean(d_hold == 0.0)),
        "n_train": train.rows,
        "n_holdout": holdout.rows,
        "n_synthetic": synth.rows,
        "n_columns": len(train.numeric) + len(train.codes),
    }


def membership_inference_auc(
    real_train: pd.DataFrame,
    real_holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    kinds: dict[str, str] | None = None,
    max_rows: int = 20000,
    seed: int = 0,
) -> float:
    """AUC of a distance-based membership-inference attack (0.5 = no leakage, 1.0 = copies).

    The attacker sees only the synthetic data and scores each real row by how close the nearest
    synthetic row is; the AUC is how well that score tells training rows (members) from
    holdout rows (non-members). Distances and options as in :func:`distance_to_closest_record`.
    """
    from sklearn.metrics import roc_auc_score

    train, holdout, synth = _prepare(real_train, real_holdout, synthetic, kinds, max_rows, seed)
    scores = -np.concatenate([_gower_nearest(train, synth), _gower_nearest(holdout, synth)])
    labels = np.concatenate([np.ones(train.rows), np.zeros(holdout.rows)])
    return float(roc_auc_score(labels, scores))
