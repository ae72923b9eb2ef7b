"""The per-pair phase of the preference assay: what is measured on each pair alone.

Every number of the length, similarity, answer and format-marker items is a summary of values
computed one pair at a time (token counts, the chosen/rejected Jaccard and edit similarity,
empty answers, refusals, markdown markers). :func:`measure_pairs` computes them for any run of
pairs and :func:`join_measures` puts runs back together in order, so the values do not depend
on how the pairs were cut: :func:`measure_pairs_ray` maps the same phase over shards of pairs
as Ray tasks (the chosen/rejected similarity is the costly part), and the summaries in
:mod:`.metrics` then give the local run's numbers exactly. Prompt counts need every prompt at
once and stay on the driver.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from synthloom.assay.preference.markers import FORMAT_MARKERS, format_markers, is_empty, is_refusal
from synthloom.engine.ray.assay import map_shards_ray
from synthloom.engine.ray_executor import RayOptions
from synthloom.minhash import pair_similarities
from synthloom.text import tokenize

__all__ = [
    "EDIT_PREFILTER",
    "SHARD_PAIRS",
    "PairMeasures",
    "edit_similarity",
    "join_measures",
    "measure_pairs",
    "measure_pairs_ray",
    "normalised_text",
    "pair_similarity",
]

#: Edit similarity is computed where the Jaccard similarity is at least this: two texts whose
#: 5-gram sets overlap less cannot be 90% the same word sequence, and Levenshtein is quadratic.
EDIT_PREFILTER = 0.5
#: Pairs per Ray task: about a second of work (0.6 ms a pair here), enough to outweigh the cost
#: of shipping a task and its texts.
SHARD_PAIRS = 2_000

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class PairMeasures:
    """One entry per pair, in pair order. ``edit`` is NaN where it was not computed (Jaccard
    below :data:`EDIT_PREFILTER`); the marker matrices have one column per
    :data:`~.markers.FORMAT_MARKERS` entry, in its order."""

    chosen_tokens: IntArray
    rejected_tokens: IntArray
    jaccard: FloatArray
    identical: BoolArray
    edit: FloatArray
    chosen_empty: BoolArray
    rejected_empty: BoolArray
    chosen_refusal: BoolArray
    rejected_refusal: BoolArray
    chosen_markers: BoolArray
    rejected_markers: BoolArray

    def __len__(self) -> int:
        return int(self.chosen_tokens.size)

    @property
    def log2_ratio(self) -> FloatArray:
        """log2((chosen + 1) / (rejected + 1)) tokens: 0 the same length, 1 chosen twice as
        long."""
        chosen = self.chosen_tokens.astype(np.float64)
        rejected = self.rejected_tokens.astype(np.float64)
        return np.asarray(np.log2((chosen + 1) / (rejected + 1)), dtype=np.float64)


def normalised_text(text: str) -> str:
    """``text`` with case and runs of whitespace ignored: what "the same text" means here."""
    return re.sub(r"\s+", " ", text).strip().casefold()


def edit_similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """1 - Levenshtein distance / the longer length, over two token sequences (1.0 if both
    are empty). One row of the dynamic programme at a time, vectorised along it."""
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.0
    vocab: dict[str, int] = {}
    left = np.asarray([vocab.setdefault(t, len(vocab)) for t in a], dtype=np.int64)
    right = np.asarray([vocab.setdefault(t, len(vocab)) for t in b], dtype=np.int64)
    previous = np.arange(len(right) + 1, dtype=np.int64)
    offsets = previous[1:]
    for i, token in enumerate(left, start=1):
        substitution = previous[:-1] + (right != token)
        deletion = previous[1:] + 1
        best = np.minimum(substitution, deletion)
        current = np.empty_like(previous)
        current[0] = i
        # Insertions chain along the row: current[j] = min(best[j-1], current[j-1] + 1), which
        # is a running minimum of (best[k] - k) shifted back by j.
        current[1:] = np.minimum.accumulate(np.concatenate(([i], best - offsets)))[1:] + offsets
        previous = current
    return 1.0 - float(previous[-1]) / max(len(left), len(right))


def pair_similarity(
    chosen_texts: Sequence[str], rejected_texts: Sequence[str]
) -> tuple[FloatArray, BoolArray, FloatArray]:
    """``(jaccard, identical, edit)`` of each pair: character 5-gram Jaccard similarity (the
    verification step of :mod:`synthloom.minhash`, exact on each pair), equality up to case
    and whitespace, and word-level edit similarity where the Jaccard is at least
    :data:`EDIT_PREFILTER` (1.0 for identical pairs, NaN where not computed)."""
    n = len(chosen_texts)
    if n == 0:
        return np.empty(0), np.empty(0, dtype=bool), np.empty(0)
    index = np.arange(n, dtype=np.int64)
    texts = [*chosen_texts, *rejected_texts]
    jaccard = np.asarray(
        pair_similarities(texts, np.stack([index, index + n], axis=1), "char", 5),
        dtype=np.float64,
    )
    identical = np.asarray(
        [
            normalised_text(c) == normalised_text(r)
            for c, r in zip(chosen_texts, rejected_texts, strict=True)
        ],
        dtype=bool,
    )
    edit = np.full(n, np.nan)
    for i in np.flatnonzero((jaccard >= EDIT_PREFILTER) & ~identical).tolist():
        edit[i] = edit_similarity(tokenize(chosen_texts[i]), tokenize(rejected_texts[i]))
    edit[identical] = 1.0
    return jaccard, identical, edit


def _side_checks(texts: Sequence[str]) -> tuple[IntArray, BoolArray, BoolArray, BoolArray]:
    """Token counts, empty answers, refusals (an empty answer is no refusal) and the marker
    matrix of one side."""
    tokens = np.asarray([len(tokenize(t)) for t in texts], dtype=np.int64)
    empty = np.asarray([is_empty(t) for t in texts], dtype=bool)
    refusal = np.asarray(
        [not e and is_refusal(t) for t, e in zip(texts, empty.tolist(), strict=True)], dtype=bool
    )
    markers = np.zeros((len(texts), len(FORMAT_MARKERS)), dtype=bool)
    for row, text in enumerate(texts):
        markers[row] = list(format_markers(text).values())
    return tokens, empty, refusal, markers


def measure_pairs(answers: Sequence[tuple[str, str]]) -> PairMeasures:
    """Every per-pair value of ``(chosen text, rejected text)`` pairs: the phase one Ray task
    runs on a shard (see :func:`measure_pairs_ray`)."""
    chosen = [c for c, _ in answers]
    rejected = [r for _, r in answers]
    c_tokens, c_empty, c_refusal, c_markers = _side_checks(chosen)
    r_tokens, r_empty, r_refusal, r_markers = _side_checks(rejected)
    jaccard, identical, edit = pair_similarity(chosen, rejected)
    return PairMeasures(
        chosen_tokens=c_tokens,
        rejected_tokens=r_tokens,
        jaccard=jaccard,
        identical=identical,
        edit=edit,
        chosen_empty=c_empty,
        rejected_empty=r_empty,
        chosen_refusal=c_refusal,
        rejected_refusal=r_refusal,
        chosen_markers=c_markers,
        rejected_markers=r_markers,
    )


def join_measures(parts: Sequence[PairMeasures]) -> PairMeasures:
    """The measures of consecutive runs of pairs as one, in order (none: no pairs)."""
    if not parts:
        return measure_pairs([])
    return PairMeasures(
        **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(parts[0])}
    )


def measure_pairs_ray(
    answers: Sequence[tuple[str, str]],
    *,
    shard_pairs: int = SHARD_PAIRS,
    options: RayOptions | None = None,
) -> PairMeasures:
    """:func:`measure_pairs` computed by one Ray task per ``shard_pairs`` pairs and joined
    here; equal to the local values (each is computed from its own pair alone). A
    ``shard_pairs`` below 1 is a ``ConfigError`` naming it, before Ray is touched."""
    parts = map_shards_ray(
        measure_pairs,
        answers,
        shard_size=shard_pairs,
        shard_field="shard_pairs",
        options=options,
    )
    return join_measures(parts)
