"""Verbatim overlap: synthetic text that repeats a private source character for character.

Every ``span``-character window of the (normalised) texts is hashed with two polynomial hashes
modulo primes below 2**31, computed with numpy over chunks of the concatenated texts; shared
windows are then extended to the longest shared run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from synthloom.assay.privacy.copies import MAX_EXAMPLES, text_key
from synthloom.errors import InputError

__all__ = ["verbatim_overlap"]

# Characters of an overlap quoted as its example.
_EXAMPLE_CHARS = 200
# The two polynomial window hashes: primes below 2**31 and their bases.
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
        "examples": [example(d) for d in flagged[:MAX_EXAMPLES]],
    }
