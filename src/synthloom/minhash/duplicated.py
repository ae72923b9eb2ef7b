"""Which texts have a near-duplicate: the flags of :func:`near_duplicate_clusters` with less
work and with memory that does not grow with the candidate pairs.

Clusters (what dedup needs) take every verified pair. A near-duplicate *rate* takes one bit a
text, and :func:`near_duplicated` computes it so:

1. **Copies first.** Texts with the same normalised text
   (:func:`~synthloom.minhash.shingles.normalised_text`: what their shingles are made of) have
   the same shingles, so each of them is a duplicate as soon as there are two (an empty text is
   never anyone's duplicate). They are grouped by a 128-bit hash of that text, and MinHash runs
   on the first text of each group only.
2. **Band keys only.** ``bands`` 64-bit keys per distinct text (128 bytes at the default 16
   bands), never the ``num_perm`` signatures.
3. **Candidates band by band, bucket neighbours first.** In each band, the texts of a bucket
   are compared with the next one in the bucket, then with the one two places on, and so on: a
   bucket of near-copies is settled by the first round, in linear time. A pair is verified only
   while one of its texts is not yet known to be duplicated, and never twice.
4. **Verification in bounded blocks.** A round's pairs are verified in blocks of about
   ``block_chars`` characters; shingle sets are kept in a bounded cache, since a text is met
   again in the next round and the next bands.

A text is flagged exactly when ``near_duplicate_clusters`` would flag it, except that a bucket of
more than ``max_bucket_size`` texts is compared with its first text only (as there) after copies
are collapsed: a bucket that was oversized only because of copies now has every pair compared,
so a few more true near-duplicates can be found, never fewer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from synthloom.hashing import (
    IntArray,
    UInt32Array,
    UInt64Array,
    gather_ranges,
    slices,
    sorted_unique,
    string_hashes,
)
from synthloom.minhash.clusters import pair_jaccard_flat
from synthloom.minhash.lsh import MinHasher, lsh_bands, shard_band_keys
from synthloom.minhash.shingles import (
    ShingleKind,
    flatten_sets,
    normalised_text,
    shingle_hash_sets,
)

__all__ = [
    "BLOCK_CHARS",
    "CACHE_SHINGLES",
    "CopyGroups",
    "NearDuplicateSettings",
    "copy_groups",
    "near_duplicated",
]

BoolArray = npt.NDArray[np.bool_]

#: Characters of text one verification block compares (about 150 MB of temporary arrays).
BLOCK_CHARS = 1 << 22
#: Shingles (4 bytes each) the cache of shingle sets holds at most: 128 MB.
CACHE_SHINGLES = 1 << 25


@dataclass(frozen=True)
class CopyGroups:
    """Texts grouped by their normalised text.

    ``group_of[i]``: the group of text i (groups numbered in the order of their first text), or
    -1 when its normalised text is empty; ``first[g]``: the index of group g's first text;
    ``size[g]``: how many texts it holds; ``length[g]``: the length of its normalised text.
    """

    group_of: IntArray
    first: IntArray
    size: IntArray
    length: IntArray


def copy_groups(
    texts: Sequence[str], kind: ShingleKind = "char", chunk: int = 20_000
) -> CopyGroups:
    """Group texts that are the same once normalised (same shingles), by a 128-bit hash of the
    normalised text (two different texts share one with probability about 2**-128)."""
    digests: list[UInt64Array] = []
    lengths: list[IntArray] = []
    for piece in slices(texts, chunk):
        normalised = [normalised_text(t, kind) for t in piece]
        digests.append(string_hashes(normalised, words=2).reshape(-1, 2))
        lengths.append(np.fromiter(map(len, normalised), dtype=np.int64, count=len(normalised)))
    num_texts = len(texts)
    digest = np.concatenate(digests) if digests else np.empty((0, 2), dtype=np.uint64)
    length = np.concatenate(lengths) if lengths else np.empty(0, dtype=np.int64)
    kept = np.flatnonzero(length > 0)
    # lexsort is stable: within a group, texts stay in index order, so a group starts with its
    # first text.
    order = kept[np.lexsort((digest[kept, 1], digest[kept, 0]))]
    ordered = digest[order]
    new_group = np.ones(order.size, dtype=bool)
    new_group[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    starts = np.flatnonzero(new_group)
    sizes = np.diff(np.append(starts, order.size))
    firsts = order[starts]
    # Number groups by their first text, so group order is text order.
    rank = np.argsort(firsts, kind="stable")
    number = np.empty(rank.size, dtype=np.int64)
    number[rank] = np.arange(rank.size, dtype=np.int64)
    group_of = np.full(num_texts, -1, dtype=np.int64)
    group_of[order] = np.repeat(number, sizes)
    return CopyGroups(
        group_of=group_of, first=firsts[rank], size=sizes[rank], length=length[firsts[rank]]
    )


@dataclass(frozen=True)
class NearDuplicateSettings:
    """What counts as a near-duplicate and how candidates are found: the arguments of
    :func:`~synthloom.minhash.near_duplicate_clusters` of the same names, in one value.

    ``threshold``: the shingle Jaccard similarity at or above which two texts are
    near-duplicates; ``num_perm``: MinHash permutations; ``kind`` and ``n``: the shingles
    (character or word n-grams); ``seed``: of the hash functions; ``max_bucket_size``: a bucket
    with more texts is compared with its first text only; ``false_negative_weight``: how the
    LSH bands trade missed pairs against extra candidates (:func:`lsh_bands`).
    """

    threshold: float = 0.8
    num_perm: int = 128
    kind: ShingleKind = "char"
    n: int = 5
    seed: int = 0
    max_bucket_size: int = 256
    false_negative_weight: float = 0.95


def near_duplicated(
    texts: Sequence[str],
    settings: NearDuplicateSettings | None = None,
    *,
    chunk_docs: int = 20_000,
    block_chars: int = BLOCK_CHARS,
    cache_shingles: int = CACHE_SHINGLES,
) -> BoolArray:
    """True for each text with at least one other text of shingle Jaccard >= the threshold:
    ``near_duplicate_clusters(texts, ...).duplicated`` with the same settings, computed as the
    module docstring says.

    Memory: 16 bytes a text for the copy groups, ``bands`` x 8 bytes per distinct text for the
    band keys, 8 bytes per pair found below the threshold, plus ``chunk_docs`` texts being
    MinHashed at once, ``block_chars`` characters of text being verified at once and a cache of
    at most ``cache_shingles`` shingles (4 bytes each) of texts verified recently.
    """
    settings = settings or NearDuplicateSettings()
    groups = copy_groups(texts, settings.kind, chunk_docs)
    keys = _group_band_keys(texts, groups, settings, chunk_docs)
    checker = _PairChecker(texts, groups, settings, block_chars, cache_shingles)
    for band_keys in keys:
        checker.settle_band(band_keys)
    flags = np.zeros(len(texts), dtype=bool)
    grouped = groups.group_of >= 0
    flags[grouped] = checker.known[groups.group_of[grouped]]
    return flags


def _group_band_keys(
    texts: Sequence[str], groups: CopyGroups, settings: NearDuplicateSettings, chunk: int
) -> UInt64Array:
    """A ``(bands, groups)`` matrix of the band keys of each group's first text."""
    bands, rows = lsh_bands(settings.threshold, settings.num_perm, settings.false_negative_weight)
    hasher = MinHasher(settings.num_perm, settings.seed)
    keys = np.empty((bands, groups.first.size), dtype=np.uint64)
    is_first = np.zeros(len(texts), dtype=bool)
    is_first[groups.first] = True
    done = 0
    for start, piece in zip(range(0, len(texts), chunk), slices(texts, chunk), strict=True):
        picked = np.flatnonzero(is_first[start : start + len(piece)])
        if picked.size == 0:
            continue
        chunk_keys, _ = shard_band_keys(
            [piece[int(i)] for i in picked], hasher, settings.kind, settings.n, bands, rows
        )
        keys[:, done : done + picked.size] = chunk_keys.T
        done += picked.size
    return keys


@dataclass
class _PairChecker:
    """Which groups are known to be duplicated, and the pairs already verified below the
    threshold; verifies candidate pairs of groups in bounded blocks."""

    texts: Sequence[str]
    groups: CopyGroups
    settings: NearDuplicateSettings
    block_chars: int
    cache_shingles: int
    known: BoolArray = field(init=False)
    failed: IntArray = field(init=False)
    # Shingle sets of groups verified recently, by group: a group is met again in the next
    # round and the next bands, and shingling is the costly part of a verification.
    cache: dict[int, UInt32Array] = field(init=False, default_factory=dict)
    cached: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.known = self.groups.size >= 2
        self.failed = np.empty(0, dtype=np.int64)

    def settle_band(self, band_keys: UInt64Array) -> None:
        """Verify the pairs this band makes candidates until each bucket is settled."""
        order = np.argsort(band_keys, kind="stable")
        ordered = band_keys[order]
        starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
        sizes = np.diff(np.append(starts, ordered.size))
        shared = sizes >= 2
        starts, sizes = starts[shared], sizes[shared]
        failed_now: list[IntArray] = []
        # A bucket too big for all its pairs is compared with its first text only.
        oversized = sizes > self.settings.max_bucket_size
        if oversized.any():
            big_starts, big_sizes = starts[oversized], sizes[oversized]
            left = order[np.repeat(big_starts, big_sizes - 1)]
            right = order[gather_ranges(big_starts + 1, big_sizes - 1)]
            failed_now.append(self._check(left, right))
        starts, sizes = starts[~oversized], sizes[~oversized]
        gap = 1
        while starts.size:
            # Buckets still holding a text not known to be duplicated, and long enough for gap.
            members = self.known[order[gather_ranges(starts, sizes)]]
            offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
            settled = np.logical_and.reduceat(members, offsets)
            open_ = ~settled & (sizes > gap)
            starts, sizes = starts[open_], sizes[open_]
            if not starts.size:
                break
            positions = gather_ranges(starts, sizes - gap)
            failed_now.append(self._check(order[positions], order[positions + gap]))
            gap += 1
        self.failed = sorted_unique(np.concatenate([self.failed, *failed_now]))

    def _check(self, left: IntArray, right: IntArray) -> IntArray:
        """Verify the pairs (left < right) still worth it; mark the duplicated groups and
        return the codes of the pairs found below the threshold."""
        num_groups = self.known.size
        wanted = ~(self.known[left] & self.known[right])
        left, right = left[wanted], right[wanted]
        codes = left * num_groups + right
        if self.failed.size:
            where = np.minimum(np.searchsorted(self.failed, codes), self.failed.size - 1)
            fresh = self.failed[where] != codes
            left, right, codes = left[fresh], right[fresh], codes[fresh]
        if not codes.size:
            return codes
        similar = self._similarities(left, right) >= self.settings.threshold
        self.known[left[similar]] = True
        self.known[right[similar]] = True
        return codes[~similar]

    def _similarities(self, left: IntArray, right: IntArray) -> npt.NDArray[np.float64]:
        """Exact Jaccard of each pair of groups, a block of about ``block_chars`` at a time."""
        length = self.groups.length
        cost = np.cumsum(length[left] + length[right])
        step = max(1, self.block_chars)
        cuts = np.searchsorted(cost, np.arange(step, int(cost[-1]), step))
        out = np.empty(left.size, dtype=np.float64)
        for block in np.split(np.arange(left.size), np.unique(cuts)):
            if not block.size:
                continue
            pairs = np.stack([left[block], right[block]], axis=1)
            involved = sorted_unique(pairs.ravel())
            values, offsets = flatten_sets(self._shingle_sets(involved))
            local = np.searchsorted(involved, pairs)
            out[block] = pair_jaccard_flat(values, offsets, local, max(step, 1 << 16))
        return out

    def _shingle_sets(self, involved: IntArray) -> list[UInt32Array]:
        """The shingle sets of groups, from the cache or shingled now (and kept)."""
        wanted = [int(g) for g in involved]
        found = {g: self.cache[g] for g in wanted if g in self.cache}
        missing = [g for g in wanted if g not in found]
        if missing:
            firsts = self.groups.first
            sets = shingle_hash_sets(
                _texts_at(self.texts, firsts[missing]),
                kind=self.settings.kind,
                n=self.settings.n,
            )
            fresh = dict(zip(missing, sets, strict=True))
            added = sum(s.size for s in sets)
            if self.cached + added > self.cache_shingles:
                # Rounds go bucket by bucket and band by band, so recent sets are the likely
                # ones again; dropping everything keeps the bound without bookkeeping.
                self.cache.clear()
                self.cached = 0
            self.cache.update(fresh)
            self.cached += added
            found.update(fresh)
        return [found[g] for g in wanted]


def _texts_at(texts: Sequence[str], indices: IntArray) -> list[str]:
    """The texts at ``indices``: in one call where the sequence has a ``take(indices)`` (the
    assay's Arrow-backed columns, where fetching texts one by one costs microseconds each)."""
    take = getattr(texts, "take", None)
    if callable(take):
        return list(take(indices))
    return [texts[int(i)] for i in indices]
