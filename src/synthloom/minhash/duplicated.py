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
3. **Neighbours first, all bands at once.** In every band, the groups of a bucket are compared
   with the next one in the bucket (a bucket of near-copies is settled by this alone, in
   linear time), and an oversized bucket's groups with its first; these pairs, of all bands and
   each once, are verified in the reverse Cuthill-McKee order of the graph they make, where a
   group's pairs lie close together.
4. **Then the rest, bucket by bucket.** Buckets still holding a group not known to be
   duplicated have their pairs two places apart verified, then three, ..., while that holds;
   the buckets of all bands in the order of their groups' places above, a chunk at a time with
   every round of a chunk before the next. A pair is verified only while one of its groups is
   not yet known to be duplicated, and not again once found below the threshold (two buckets of
   one chunk sharing a pair can each compare it); a pair whose smaller shingle set is less
   than the threshold times the larger cannot reach it and is not compared.
5. **Verification in bounded blocks.** Pairs are verified in blocks of about ``block_chars``
   characters; shingle sets are kept in an arena of at most ``cache_shingles`` values, and in
   the orders above a text is met again soon after it was shingled, so it is shingled about
   once (at 1,000,000 texts: 1.1 million shingled for 630,000 groups met, where band by band
   took 2.5 million).

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
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import reverse_cuthill_mckee

from synthloom.hashing import (
    IntArray,
    UInt32Array,
    UInt64Array,
    gather_ranges,
    mix64,
    run_starts,
    slices,
    sorted_unique,
    starts_of,
    string_hashes,
)
from synthloom.minhash.clusters import pair_jaccard_flat
from synthloom.minhash.lsh import MinHasher, lsh_bands, shard_band_keys
from synthloom.minhash.shingles import (
    ShingleKind,
    normalised_text,
    shingle_flat,
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
    band keys and 24 for the cache's index and the verification order, 8 bytes per pair found
    below the threshold, about 40 bytes per distinct neighbour pair of the bands (at most
    ``bands`` per text; 1.8 million pairs at 1,000,000 texts) and 8 per group of a bucket still
    open after them, plus ``chunk_docs`` texts being MinHashed at once, ``block_chars``
    characters of text being verified at once and an arena of at most ``cache_shingles``
    shingles (4 bytes each) of texts verified recently.
    """
    settings = settings or NearDuplicateSettings()
    groups = copy_groups(texts, settings.kind, chunk_docs)
    keys = _group_band_keys(texts, groups, settings, chunk_docs)
    checker = _PairChecker(texts, groups, settings, block_chars, cache_shingles)
    checker.settle_neighbours(keys)
    checker.settle_rest(keys)
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
    # Shingle sets of groups verified recently, flat in one arena of at most cache_shingles
    # values: group g's set is arena[start_of[g] : start_of[g] + size_of[g]] when start_of[g]
    # >= 0. Shingling is the costly part of a verification, and the verification order
    # (below) meets a group again soon after its first pair.
    arena: UInt32Array = field(init=False)
    used: int = field(init=False, default=0)
    start_of: IntArray = field(init=False)
    size_of: IntArray = field(init=False)
    resident: list[IntArray] = field(init=False, default_factory=list)
    #: Each group's place in the order :meth:`settle_neighbours` verified its pairs in.
    place: IntArray = field(init=False)
    #: Texts shingled for verification so far (a group shingled twice counts twice).
    shingled: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.known = self.groups.size >= 2
        self.failed = np.empty(0, dtype=np.int64)
        self.arena = np.empty(0, dtype=np.uint32)
        self.start_of = np.full(self.known.size, -1, dtype=np.int64)
        self.size_of = np.zeros(self.known.size, dtype=np.int64)
        self.place = np.arange(self.known.size, dtype=np.int64)

    def settle_neighbours(self, keys: UInt64Array) -> None:
        """Verify the first round of every band at once: each pair of neighbours in a bucket,
        and each pair of an oversized bucket's star, once however many bands make it.

        The pairs are verified in the reverse Cuthill-McKee order of the graph they form (each
        pair at the later of its two groups' places): a group's pairs then lie close together,
        so its text is shingled about once (the arena keeps it) rather than once per band.
        """
        num_groups = self.known.size
        codes = np.empty(0, dtype=np.int64)
        for band_keys in keys:
            starts, sizes, order = _buckets(band_keys)
            oversized = sizes > self.settings.max_bucket_size
            big_starts, big_sizes = starts[oversized], sizes[oversized]
            left = order[np.repeat(big_starts, big_sizes - 1)]
            right = order[gather_ranges(big_starts + 1, big_sizes - 1)]
            positions = gather_ranges(starts[~oversized], sizes[~oversized] - 1)
            # Members of a bucket are in group order (stable sort), so left < right.
            band_codes = np.concatenate(
                (left * num_groups + right, order[positions] * num_groups + order[positions + 1])
            )
            codes = sorted_unique(np.concatenate((codes, band_codes)))
        left, right = np.divmod(codes, num_groups)
        self.place = place = _graph_order(left, right, num_groups)
        walk = np.lexsort(
            (np.minimum(place[left], place[right]), np.maximum(place[left], place[right]))
        )
        self._record(self._check(left[walk], right[walk]))

    def settle_rest(self, keys: UInt64Array) -> None:
        """Verify the pairs further apart than neighbours in every band's buckets, round by
        round (two places apart, then three, ...) while a bucket holds a group not known to be
        duplicated. Run after :meth:`settle_neighbours`, which verified every neighbour pair
        and every oversized bucket's star: what is left of a bucket of at most
        ``max_bucket_size`` groups is its pairs two places apart or more, and only in buckets
        where a group is still not known to be duplicated.

        Those buckets, of all bands, are settled in the order of their groups' places in the
        neighbour graph (the same text is in up to one bucket a band; in this order those
        buckets come together), a chunk of about ``block_chars`` characters at a time with
        every round of a chunk done before the next, so a text is shingled about once for all
        its buckets' rounds. A bucket met in several bands (the same groups) is settled once.
        """
        found: list[IntArray] = []
        sizes_found: list[IntArray] = []
        for band_keys in keys:
            starts, sizes, order = _buckets(band_keys)
            kept = (sizes > 2) & (sizes <= self.settings.max_bucket_size)
            starts, sizes = starts[kept], sizes[kept]
            if not starts.size:
                continue
            members = order[gather_ranges(starts, sizes)]
            offsets = starts_of(sizes)
            open_ = ~np.logical_and.reduceat(self.known[members], offsets)
            found.append(members[np.repeat(open_, sizes)])
            sizes_found.append(sizes[open_])
        sizes = np.concatenate(sizes_found) if sizes_found else np.empty(0, dtype=np.int64)
        if not sizes.size:
            return
        members = np.concatenate(found)
        offsets = starts_of(sizes)
        # One bucket per member list (a bucket's members are in group order in every band).
        fingerprint = np.add.reduceat(mix64(members.astype(np.uint64)), offsets)
        first_place = np.minimum.reduceat(self.place[members], offsets)
        walk = np.lexsort((fingerprint, sizes, first_place))
        distinct = np.ones(walk.size, dtype=bool)
        distinct[1:] = (
            (first_place[walk[1:]] != first_place[walk[:-1]])
            | (sizes[walk[1:]] != sizes[walk[:-1]])
            | (fingerprint[walk[1:]] != fingerprint[walk[:-1]])
        )
        # A bucket is dropped only when its members equal those of the one before it, not on
        # a fingerprint alone: two different buckets never share a settling.
        alike = np.flatnonzero(~distinct)
        if alike.size:
            later, earlier = walk[alike], walk[alike - 1]
            differs = (
                members[gather_ranges(offsets[later], sizes[later])]
                != members[gather_ranges(offsets[earlier], sizes[earlier])]
            )
            at = starts_of(sizes[later])
            distinct[alike[np.logical_or.reduceat(differs, at)]] = True
        walk = walk[distinct]
        members = members[gather_ranges(offsets[walk], sizes[walk])]
        sizes = sizes[walk]
        starts = starts_of(sizes)
        chars = np.add.reduceat(self.groups.length[members], starts)
        cuts = np.searchsorted(
            np.cumsum(chars), np.arange(self.block_chars, int(chars.sum()), self.block_chars)
        )
        for chunk in np.split(np.arange(starts.size), np.unique(cuts)):
            if chunk.size:
                self._record(*self._settle_buckets(members, starts[chunk], sizes[chunk]))

    def _settle_buckets(self, order: IntArray, starts: IntArray, sizes: IntArray) -> list[IntArray]:
        """The rounds of :meth:`settle_rest` on some buckets (members ``order[start : start +
        size]``), from two places apart; the codes of the pairs found below the threshold."""
        failed_now: list[IntArray] = []
        gap = 2
        while starts.size:
            # Buckets still holding a group not known to be duplicated, and long enough for gap.
            members = self.known[order[gather_ranges(starts, sizes)]]
            offsets = starts_of(sizes)
            settled = np.logical_and.reduceat(members, offsets)
            open_ = ~settled & (sizes > gap)
            starts, sizes = starts[open_], sizes[open_]
            if not starts.size:
                break
            positions = gather_ranges(starts, sizes - gap)
            failed_now.append(self._check(order[positions], order[positions + gap]))
            gap += 1
        return failed_now

    def _record(self, *failed_now: IntArray) -> None:
        """Add the codes of pairs found below the threshold to :attr:`failed` (sorted)."""
        fresh = sorted_unique(np.concatenate(failed_now)) if failed_now else np.empty(0, np.int64)
        if fresh.size:
            self.failed = np.insert(self.failed, np.searchsorted(self.failed, fresh), fresh)

    def _check(self, left: IntArray, right: IntArray) -> IntArray:
        """Verify the pairs (left < right) in order, a block of about ``block_chars``
        characters at a time, each block skipping the pairs no longer worth it (both groups
        known to be duplicated, or verified before); mark the duplicated groups and return the
        codes of the pairs found below the threshold."""
        num_groups = self.known.size
        found: list[IntArray] = []
        length = self.groups.length
        cost = np.cumsum(length[left] + length[right])
        step = max(1, self.block_chars)
        cuts = np.searchsorted(cost, np.arange(step, int(cost[-1]) if cost.size else 0, step))
        for block in np.split(np.arange(left.size), np.unique(cuts)):
            block_left, block_right = left[block], right[block]
            wanted = ~(self.known[block_left] & self.known[block_right])
            block_left, block_right = block_left[wanted], block_right[wanted]
            codes = block_left * num_groups + block_right
            if self.failed.size:
                where = np.minimum(np.searchsorted(self.failed, codes), self.failed.size - 1)
                fresh = self.failed[where] != codes
                block_left, block_right, codes = block_left[fresh], block_right[fresh], codes[fresh]
            if not codes.size:
                continue
            similar = self._similar(block_left, block_right)
            self.known[block_left[similar]] = True
            self.known[block_right[similar]] = True
            found.append(codes[~similar])
        return np.concatenate(found) if found else np.empty(0, dtype=np.int64)

    def _similar(self, left: IntArray, right: IntArray) -> BoolArray:
        """Whether each pair of groups of one block has a shingle Jaccard of at least the
        threshold. A pair whose smaller set is less than ``threshold`` times the larger cannot
        (the intersection is at most the smaller set, the union at least the larger), so only
        the other pairs have their sets compared."""
        involved = sorted_unique(np.concatenate((left, right)))
        values, offsets = self._shingle_sets(involved)
        local = np.stack(
            (np.searchsorted(involved, left), np.searchsorted(involved, right)), axis=1
        )
        sizes = np.diff(offsets)[local]
        # Both sides of the bound in floating point: fl(i / u) <= fl(min / max) whenever
        # i <= min and u >= max, as division is correctly rounded and so monotone.
        possible = sizes.min(axis=1) / np.maximum(sizes.max(axis=1), 1) >= self.settings.threshold
        similar = np.zeros(left.size, dtype=bool)
        similar[possible] = (
            pair_jaccard_flat(values, offsets, local[possible], max(self.block_chars, 1 << 16))
            >= self.settings.threshold
        )
        return similar

    def _shingle_sets(self, involved: IntArray) -> tuple[UInt32Array, IntArray]:
        """The shingle sets of ``involved`` (group numbers), flat (values, start offsets): from
        the arena, or shingled now and kept there."""
        start = self.start_of[involved]
        hit = start >= 0
        missing = involved[~hit]
        if missing.size:
            hashes, fresh_offsets = shingle_flat(
                _texts_at(self.texts, self.groups.first[missing]),
                self.settings.kind,
                self.settings.n,
            )
            fresh = hashes.astype(np.uint32)
        else:
            fresh, fresh_offsets = np.empty(0, dtype=np.uint32), np.zeros(1, dtype=np.int64)
        self.shingled += missing.size
        sizes = np.empty(involved.size, dtype=np.int64)
        sizes[hit] = self.size_of[involved[hit]]
        sizes[~hit] = np.diff(fresh_offsets)
        offsets = np.zeros(involved.size + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        values = np.empty(int(offsets[-1]), dtype=np.uint32)
        values[gather_ranges(offsets[:-1][hit], sizes[hit])] = self.arena[
            gather_ranges(start[hit], sizes[hit])
        ]
        values[gather_ranges(offsets[:-1][~hit], sizes[~hit])] = fresh
        self._keep(missing, fresh, fresh_offsets)
        return values, offsets

    def _keep(self, groups: IntArray, values: UInt32Array, offsets: IntArray) -> None:
        """Put freshly shingled sets in the arena; when they do not fit, empty it first (the
        verification order makes recent sets the likely ones again)."""
        if not groups.size or values.size > self.cache_shingles:
            return
        if self.used + values.size > self.cache_shingles:
            for resident in self.resident:
                self.start_of[resident] = -1
            self.resident.clear()
            self.used = 0
        if self.used + values.size > self.arena.size:
            grown = np.empty(
                min(self.cache_shingles, max(2 * self.arena.size, self.used + values.size)),
                dtype=np.uint32,
            )
            grown[: self.used] = self.arena[: self.used]
            self.arena = grown
        self.arena[self.used : self.used + values.size] = values
        self.start_of[groups] = self.used + offsets[:-1]
        self.size_of[groups] = np.diff(offsets)
        self.resident.append(groups)
        self.used += values.size


def _buckets(band_keys: UInt64Array) -> tuple[IntArray, IntArray, IntArray]:
    """The buckets of one band holding two groups or more: their starts and sizes in
    ``order``, the groups sorted (stably) by their key."""
    order = np.argsort(band_keys, kind="stable")
    ordered = band_keys[order]
    starts = run_starts(ordered)
    sizes = np.diff(np.append(starts, ordered.size))
    shared = sizes >= 2
    return starts[shared], sizes[shared], order


def _graph_order(left: IntArray, right: IntArray, num_groups: int) -> IntArray:
    """Each group's place in the reverse Cuthill-McKee order of the graph whose edges are the
    pairs: an order of small bandwidth, so a pair's two groups have nearby places."""
    if not left.size:
        return np.arange(num_groups, dtype=np.int64)
    graph = csr_matrix(
        (
            np.ones(2 * left.size, dtype=np.int8),
            (np.concatenate((left, right)), np.concatenate((right, left))),
        ),
        shape=(num_groups, num_groups),
    )
    order = reverse_cuthill_mckee(graph, symmetric_mode=True)
    place = np.empty(num_groups, dtype=np.int64)
    place[order] = np.arange(num_groups, dtype=np.int64)
    return place


def _texts_at(texts: Sequence[str], indices: IntArray) -> list[str]:
    """The texts at ``indices``: in one call where the sequence has a ``take(indices)`` (the
    assay's Arrow-backed columns, where fetching texts one by one costs microseconds each)."""
    take = getattr(texts, "take", None)
    if callable(take):
        return list(take(indices))
    return [texts[int(i)] for i in indices]
