"""Exact and near-duplicate dedup stages, and the view of a record's text they compare.

* :class:`ExactDedup` hashes a normalised text (which turns, case, whitespace, punctuation are
  configurable in :class:`TextView`) and keeps one record per hash.
* :class:`NearDedup` finds clusters of near-duplicates with MinHash + LSH, verified by their
  exact Jaccard similarity (all of it from :mod:`synthloom.minhash`), and keeps one record per
  cluster.

In both, the survivor of a group is the record with the highest score in its meta (the
``score_key``), then the first in input order, so the choice never depends on anything but the
data. Both consume their whole input before yielding (a duplicate may come last) and park the
records in a :class:`~synthloom.curate.base.RecordSpill` meanwhile.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from synthloom.curate.base import RecordSpill, Stage, StageLog, score_of
from synthloom.errors import ConfigError
from synthloom.hashing import run_starts
from synthloom.messages import ROLES, message_text
from synthloom.minhash import (
    NearDuplicates,
    ShingleKind,
    near_duplicate_clusters,
    pair_jaccard,
    shingle_hash_sets,
)

__all__ = ["ExactDedup", "GroupDedup", "NearDedup", "TextView", "group_representatives"]

Record = dict[str, Any]
_SPACES = re.compile(r"\s+")


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith("P")


@dataclass(frozen=True)
class TextView:
    """Which text of a record a dedup stage compares, and how it is normalised.

    ``roles``: the message roles to include (None: every turn). The turns are joined with a
    role marker, so that a prompt moved into the answer is not an exact duplicate.
    """

    roles: frozenset[str] | None = None
    lowercase: bool = True
    collapse_whitespace: bool = True
    strip_punctuation: bool = False

    def __post_init__(self) -> None:
        if self.roles is not None:
            unknown = sorted(set(self.roles) - ROLES)
            if unknown:
                raise ConfigError(
                    f"unknown role(s) {', '.join(unknown)}; use system, user, assistant, tool",
                    field="roles",
                )

    def raw(self, record: Mapping[str, Any]) -> str:
        """The selected turns (tool calls included), joined with newlines, not normalised."""
        return "\n".join(
            message_text(m)
            for m in record["messages"]
            if self.roles is None or m["role"] in self.roles
        )

    def normalise(self, text: str) -> str:
        # NFKC first, so full-width letters and ligatures compare equal to their plain forms.
        text = unicodedata.normalize("NFKC", text)
        if self.lowercase:
            text = text.casefold()
        if self.strip_punctuation:
            text = "".join(c for c in text if not _is_punctuation(c))
        if self.collapse_whitespace:
            text = _SPACES.sub(" ", text).strip()
        return text

    def key_text(self, record: Mapping[str, Any]) -> str:
        """The normalised text with each turn's role, for exact comparison."""
        parts = [
            # Tool calls are part of a turn: two answers calling different tools differ.
            f"{m['role']}\x1f{self.normalise(message_text(m))}"
            for m in record["messages"]
            if self.roles is None or m["role"] in self.roles
        ]
        return "\x1e".join(parts)


def group_representatives(groups: npt.ArrayLike, scores: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """For each item, the index of its group's survivor: highest score, then smallest index."""
    group_arr = np.asarray(groups, dtype=np.int64)
    score_arr = np.asarray(scores, dtype=np.float64)
    index = np.arange(group_arr.size, dtype=np.int64)
    if group_arr.size == 0:
        return index
    # lexsort sorts by the last key first: group, then score descending, then input order.
    order = np.lexsort((index, -score_arr, group_arr))
    sorted_groups = group_arr[order]
    heads = run_starts(sorted_groups)
    head_of_run = np.repeat(order[heads], np.diff(np.append(heads, group_arr.size)))
    reps = np.empty_like(index)
    reps[order] = head_of_run
    return reps


class ExactDedup(Stage):
    """Drop records whose normalised text equals an earlier (or better-scored) record's."""

    name = "exact"

    def __init__(self, *, view: TextView | None = None, score_key: str = "score") -> None:
        self.view = view or TextView()
        self.score_key = score_key
        self._groups = 0

    def run(self, records: Iterable[Record], log: StageLog) -> Iterator[Record]:
        group_ids: dict[bytes, int] = {}
        groups: list[int] = []
        scores: list[float] = []
        ids: list[str] = []
        with RecordSpill() as spill:
            for rec in records:
                digest = hashlib.blake2b(
                    self.view.key_text(rec).encode("utf-8"), digest_size=16
                ).digest()
                groups.append(group_ids.setdefault(digest, len(group_ids)))
                scores.append(score_of(rec, self.score_key))
                ids.append(rec["id"])
                spill.append(rec)
            self._groups = len(group_ids)
            del group_ids
            reps = group_representatives(groups, scores)
            for i, rec in enumerate(spill):
                rep = int(reps[i])
                if rep == i:
                    yield rec
                else:
                    log.drop(rec, "exact duplicate", matched_id=ids[rep])

    def summary(self) -> dict[str, Any]:
        return {"distinct_texts": self._groups}


class GroupDedup(Stage):
    """A dedup stage that groups alike records and keeps one of each group (its survivor).

    It reads its whole input first (a duplicate may come last), parking the records in a
    :class:`~synthloom.curate.base.RecordSpill`; a subclass finds the groups in the texts
    (:meth:`survivors`) and names the reason a dropped record is logged with and the measure
    of its likeness to the survivor (``similarity``, a key of the reject line).
    """

    reason: str
    similarity: str

    def __init__(self, *, view: TextView | None, score_key: str, seed: int) -> None:
        self.view = view or TextView()
        self.score_key = score_key
        self.seed = seed
        self._info: dict[str, Any] = {}

    @abstractmethod
    def survivors(
        self, texts: Sequence[str], scores: Sequence[float]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.floating[Any]], dict[str, Any]]:
        """For each text, the index of its group's survivor (its own for a survivor) and its
        similarity to it; and what the stage found, for :meth:`summary`."""

    def run(self, records: Iterable[Record], log: StageLog) -> Iterator[Record]:
        texts: list[str] = []
        scores: list[float] = []
        ids: list[str] = []
        with RecordSpill() as spill:
            for rec in records:
                texts.append(self.view.raw(rec))
                scores.append(score_of(rec, self.score_key))
                ids.append(rec["id"])
                spill.append(rec)
            reps, similarity, self._info = self.survivors(texts, scores)
            del texts
            for i, rec in enumerate(spill):
                rep = int(reps[i])
                if rep == i:
                    yield rec
                else:
                    detail = {self.similarity: round(float(similarity[i]), 4)}
                    log.drop(rec, self.reason, matched_id=ids[rep], **detail)

    def summary(self) -> dict[str, Any]:
        return dict(self._info)


class NearDedup(GroupDedup):
    """Drop near-duplicates: MinHash + LSH candidates whose exact Jaccard >= ``threshold``.

    Clusters are connected components of the verified pairs, so a chain a~b~c is one cluster
    even when a and c are further apart; the reject line gives the Jaccard similarity to the
    survivor itself, which can then be below the threshold.
    """

    name = "minhash"
    reason = "near duplicate"
    similarity = "jaccard"

    def __init__(
        self,
        *,
        threshold: float = 0.8,
        num_perm: int = 128,
        shingle: ShingleKind = "char",
        ngram: int = 5,
        view: TextView | None = None,
        score_key: str = "score",
        seed: int = 0,
        clusters: Callable[..., NearDuplicates] | None = None,
    ) -> None:
        # ``clusters``: a drop-in for near_duplicate_clusters (the Ray executor passes its own).
        if not 0.0 < threshold <= 1.0:
            raise ConfigError(f"threshold must be in (0, 1], got {threshold}", field="threshold")
        if shingle not in ("char", "word"):
            raise ConfigError(
                f"unknown shingle kind {shingle!r}; use char or word", field="shingle"
            )
        if ngram < 1:
            raise ConfigError(f"n-gram size must be >= 1, got {ngram}", field="ngram")
        self.threshold = threshold
        self.num_perm = num_perm
        self.shingle: ShingleKind = shingle
        self.ngram = ngram
        self.clusters = clusters or near_duplicate_clusters
        super().__init__(view=view, score_key=score_key, seed=seed)

    def survivors(
        self, texts: Sequence[str], scores: Sequence[float]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], dict[str, Any]]:
        found = self.clusters(
            texts,
            threshold=self.threshold,
            num_perm=self.num_perm,
            kind=self.shingle,
            n=self.ngram,
            seed=self.seed,
        )
        reps = group_representatives(found.labels, scores)
        similarity = np.ones(len(texts), dtype=np.float64)
        dropped = np.flatnonzero(reps != np.arange(len(texts)))
        if dropped.size:
            # The Jaccard to the survivor itself (the verified pairs may have linked them
            # through a chain): one more exact pass over just the dropped records and survivors.
            involved, local = np.unique(
                np.stack([dropped, reps[dropped]], axis=1), return_inverse=True
            )
            sets = shingle_hash_sets(
                [texts[int(i)] for i in involved], kind=self.shingle, n=self.ngram
            )
            similarity[dropped] = pair_jaccard(sets, local.reshape(-1, 2))
        info = {
            "threshold": self.threshold,
            "num_perm": self.num_perm,
            "bands": found.bands,
            "rows": found.rows,
            "shingle": f"{self.shingle} {self.ngram}-grams",
            "candidate_pairs": found.num_candidates,
            "verified_pairs": len(found.pairs),
            "clusters_with_duplicates": int(np.unique(found.labels[found.duplicated]).size),
        }
        return reps, similarity, info
