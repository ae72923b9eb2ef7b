"""Tail coverage: how much of the reference's rare content the synthetic data still covers.

Losing the tails is the dataset-level symptom of model collapse (Shumailov et al., 2024): a
model trained on model output reproduces the common modes and forgets the rare ones. This module
owns four views of it, each a share in [0, 1] where 1 means every rare item is still present:

* rare n-grams: the reference's n-grams seen at least 3 times and in the bottom decile of
  frequency among those (:func:`synthloom.text.rare_ngrams` with ``min_count``; the collapse
  lab uses the same function on its larger reference with ``min_count=1``), with a 95%
  interval and the coverage a fair sample would reach, so a small set is not reported as
  having lost what it never could have held;
* rare embedding clusters: the smallest k-means clusters of the reference embeddings;
* numeric tails: values beyond the reference's 5th and 95th percentiles, each side on its own
  (a column's coverage is that of its worse tail);
* rare categories: categories in the bottom decile of the reference's category counts
  (:func:`synthloom.text.rare_cutoff`, the n-gram rule applied to category counts).

Every function survives bad input: an empty dataset, a NaN-only or constant column, or a column
that is missing gives that item an ``"error"`` string and a ``None`` coverage instead of raising.
Only option values a caller gets wrong (a quantile outside [0, 1]) raise
:class:`~synthloom.errors.InputError`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from synthloom.errors import InputError
from synthloom.ngram_hashes import HashTally, NgramTable, ngram_hash_batches
from synthloom.text import RARE_QUANTILE, rare_cutoff

__all__ = [
    "LOST_NGRAM_RATIO",
    "LOST_TAIL_RATIO",
    "MAX_CLUSTERS",
    "MAX_FIT_POINTS",
    "MIN_CLUSTERS",
    "MIN_REFERENCE_COUNT",
    "NGRAM_ORDER",
    "default_cluster_count",
    "numeric_tail_coverage",
    "rare_category_coverage",
    "rare_cluster_coverage",
    "rare_ngram_coverage",
    "wilson_interval",
]

#: Bounds on the default number of k-means clusters (sqrt(n / 2) in between).
MIN_CLUSTERS = 2
MAX_CLUSTERS = 50
#: k-means is fitted on at most this many reference points (all are then assigned).
MAX_FIT_POINTS = 4000
#: How many missing rare categories a result lists by name (the counts are always complete).
_MAX_LISTED = 20
#: A numeric tail is *lost* when even the upper end of the 95% Wilson interval of its synthetic
#: share is below this fraction of the reference share: a sampling dip (5 values where 10 were
#: expected, common in a fair split of 200 rows) is not a loss, an empty or near-empty tail is.
LOST_TAIL_RATIO = 0.5
#: Rare n-grams must occur at least this often in the reference (see rare_ngram_coverage).
MIN_REFERENCE_COUNT = 3
#: The n-gram order rare n-gram coverage looks at by default: word bigrams.
NGRAM_ORDER = 2
#: Rare n-grams are *lost* when the upper end of their coverage interval is below this share of
#: the coverage a fair sample would reach. Not 1: n-grams of one text are not independent, so
#: the Wilson interval is narrower than the truth.
LOST_NGRAM_RATIO = 0.8
#: z of a two-sided 95% interval.
_Z95 = 1.959963984540054


def _check_share(value: float, name: str) -> None:
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise InputError(f"must be between 0 and 1, got {value}", field=name)


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


# ---------------------------------------------------------------------------------------------
# Rare n-grams
# ---------------------------------------------------------------------------------------------


def rare_ngram_coverage(
    reference_texts: Iterable[str],
    synthetic_texts: Iterable[str],
    *,
    n: int = NGRAM_ORDER,
    quantile: float = RARE_QUANTILE,
    min_count: int = MIN_REFERENCE_COUNT,
    reference_ngrams: NgramTable | None = None,
    synthetic_ngrams: NgramTable | None = None,
) -> dict[str, Any]:
    """Share of the reference's rare n-grams that appear anywhere in the synthetic texts.

    ``reference_ngrams`` (with counts) and ``synthetic_ngrams``: the order-``n``
    :class:`~synthloom.ngram_hashes.NgramTable` of a side when a pass over its texts kept it
    already (the assay's distinct-n pass); that side's texts are then not read again.

    Returns ``{"n", "quantile", "min_reference_count", "rare_cutoff", "rare_reference",
    "covered", "coverage", "interval", "expected_coverage", "lost", "common_reference",
    "common_covered", "common_coverage", "below_min_count"}``:

    * rare n-grams are :func:`synthloom.text.rare_ngrams` of the reference counts with
      ``min_count`` (default :data:`MIN_REFERENCE_COUNT`, 3): seen at least that often in the
      reference and at most ``rare_cutoff`` times; n-grams seen fewer times are chance at the
      sizes an assay sees (``below_min_count`` of them) and count nowhere; the common ones are
      those above the cut-off;
    * ``coverage`` = covered / rare_reference, with its 95% Wilson ``interval`` (n-grams taken
      as independent trials, so the interval is if anything too narrow);
    * ``expected_coverage``: what a sample of the reference's own population would cover, an
      n-gram seen c times being present with probability 1 - exp(-c * t_syn / t_ref) (Poisson,
      t = tokens on each side), so a smaller synthetic set is not blamed for being smaller;
    * ``lost``: even the upper end of the interval is below :data:`LOST_NGRAM_RATIO` (80%) of
      the expected coverage (two random halves of 400 chat records cover 0.91-0.96 against an
      expected 0.96-0.97, so they are not lost; a set that misses a third of the rare n-grams
      is);
    * ``common_coverage``, the same share for the common n-grams, for contrast (a collapsed set
      loses the rare ones first).

    On bad input the dict has an ``"error"`` string and ``None`` coverages.
    """
    if n < 1:
        raise InputError(f"must be 1 or more, got {n}", field="n")
    if min_count < 1:
        raise InputError(f"must be 1 or more, got {min_count}", field="min_count")
    _check_share(quantile, "quantile")
    result: dict[str, Any] = {
        "n": n,
        "quantile": quantile,
        "min_reference_count": min_count,
        "rare_cutoff": None,
        "rare_reference": 0,
        "covered": 0,
        "coverage": None,
        "interval": None,
        "expected_coverage": None,
        "lost": None,
        "common_reference": 0,
        "common_covered": 0,
        "common_coverage": None,
        "below_min_count": 0,
    }
    # N-grams are counted as 64-bit hashes (synthloom.ngram_hashes): exact up to hash
    # collisions, 16 bytes per distinct reference n-gram instead of a tuple in a Counter.
    for side, table in (("reference", reference_ngrams), ("synthetic", synthetic_ngrams)):
        if table is not None and table.n != n:
            raise InputError(f"holds {table.n}-grams, not {n}-grams", field=f"{side}_ngrams")
    if reference_ngrams is not None and reference_ngrams.counts is not None:
        keys, counts = reference_ngrams.keys, reference_ngrams.counts
    elif reference_ngrams is not None:
        raise InputError("must keep counts (counted=True)", field="reference_ngrams")
    else:
        tally = HashTally(counts=True)
        for batch in ngram_hash_batches(reference_texts, (n,)):
            tally.add(batch.hashes[n])
        keys, counts = tally.keys(), tally.counts()
    if not keys.size:
        result["error"] = f"the reference texts hold no {n}-grams (empty, or every text too short)"
        return result
    result["below_min_count"] = int(np.count_nonzero(counts < min_count))
    kept = counts >= min_count
    if not kept.any():
        result["error"] = (
            f"no {n}-gram occurs {min_count} or more times in the reference; too little text "
            "to tell rare content from chance"
        )
        return result
    # The rule of synthloom.text.rare_ngrams, on the counts.
    cutoff = rare_cutoff(counts[kept], quantile, floor=min_count)
    rare = kept & (counts <= cutoff)
    common = counts > cutoff
    # Only n-grams the reference has can count, so the synthetic side marks just those.
    seen = np.zeros(keys.size, dtype=bool)
    if synthetic_ngrams is not None:
        n_synthetic, synthetic_grams = synthetic_ngrams.texts, synthetic_ngrams.total
        grams = synthetic_ngrams.keys
        where = np.minimum(np.searchsorted(keys, grams), keys.size - 1)
        seen[where[keys[where] == grams]] = True
    else:
        n_synthetic = 0
        synthetic_grams = 0
        for batch in ngram_hash_batches(synthetic_texts, (n,)):
            n_synthetic += batch.texts
            grams = batch.hashes[n]
            synthetic_grams += grams.size
            where = np.minimum(np.searchsorted(keys, grams), keys.size - 1)
            seen[where[keys[where] == grams]] = True
    covered = int(np.count_nonzero(rare & seen))
    common_covered = int(np.count_nonzero(common & seen))
    scale = synthetic_grams / int(counts.sum())
    # One exp per distinct count (rare counts are few small integers), weighted by how many
    # rare n-grams have it.
    values, times = np.unique(counts[rare], return_counts=True)
    presence = [1 - math.exp(-int(value) * scale) for value in values]
    rare_total = int(np.count_nonzero(rare))
    expected = float(np.dot(presence, times) / rare_total)
    common_total = int(np.count_nonzero(common))
    low, high = wilson_interval(covered, rare_total)
    result.update(
        rare_cutoff=cutoff,
        rare_reference=rare_total,
        covered=covered,
        coverage=covered / rare_total,
        interval=[low, high],
        expected_coverage=expected,
        lost=high < LOST_NGRAM_RATIO * expected,
        common_reference=common_total,
        common_covered=common_covered,
        common_coverage=common_covered / common_total if common_total else None,
    )
    if n_synthetic == 0:
        result.update(
            coverage=None,
            common_coverage=None,
            interval=None,
            lost=None,
            error="the synthetic data has no texts",
        )
    return result


# ---------------------------------------------------------------------------------------------
# Rare embedding clusters
# ---------------------------------------------------------------------------------------------


def default_cluster_count(n_points: int) -> int:
    """sqrt(n / 2) clusters, kept within [MIN_CLUSTERS, MAX_CLUSTERS] (a common rule of thumb)."""
    return int(min(MAX_CLUSTERS, max(MIN_CLUSTERS, round(math.sqrt(n_points / 2)))))


def _as_matrix(values: Any, name: str) -> tuple[npt.NDArray[np.float64] | None, str | None]:
    try:
        matrix = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return None, f"{name} embeddings are not a numeric matrix"
    if matrix.ndim != 2:
        return None, f"{name} embeddings must be a 2-D matrix (rows x dimensions)"
    if matrix.shape[0] == 0:
        return None, f"{name} embeddings are empty"
    if not np.isfinite(matrix).all():
        return None, f"{name} embeddings contain NaN or infinite values"
    return matrix, None


def rare_cluster_coverage(
    reference_emb: Any,
    synthetic_emb: Any,
    *,
    clusters: int | None = None,
    seed: int = 0,
    min_ratio: float = 0.25,
    rare_share: float = RARE_QUANTILE,
) -> dict[str, Any]:
    """Share of the reference's rare embedding clusters the synthetic data still reaches.

    k-means (scikit-learn, ``random_state=seed``, so deterministic) clusters the reference
    embeddings into ``clusters`` groups (default :func:`default_cluster_count`; fitted on a
    seeded sample of at most ``MAX_FIT_POINTS`` points, then every point is assigned). Clusters are
    renumbered from largest to smallest reference size. The *rare* clusters are the smallest
    ones whose sizes add up to at most ``rare_share`` (10%) of the reference points, and always
    at least the smallest one. Each synthetic point goes to its nearest centroid; a rare cluster
    is *covered* when its synthetic share is at least ``min_ratio`` times its reference share.

    Returns ``{"clusters", "rare_clusters": [cluster ids], "rare_reference_share",
    "rare_synthetic_share", "covered", "coverage", "min_ratio", "cluster_sizes_reference",
    "cluster_sizes_synthetic"}`` (sizes indexed by cluster id), or the same keys with ``None``
    values and an ``"error"`` string on bad input.
    """
    _check_share(rare_share, "rare_share")
    if not (math.isfinite(min_ratio) and min_ratio >= 0):
        raise InputError(f"must be 0 or more, got {min_ratio}", field="min_ratio")
    result: dict[str, Any] = {
        "clusters": None,
        "rare_clusters": [],
        "rare_reference_share": None,
        "rare_synthetic_share": None,
        "covered": 0,
        "coverage": None,
        "min_ratio": min_ratio,
        "cluster_sizes_reference": [],
        "cluster_sizes_synthetic": [],
    }
    reference, problem = _as_matrix(reference_emb, "reference")
    synthetic, problem_syn = _as_matrix(synthetic_emb, "synthetic")
    problem = problem or problem_syn
    if (
        problem is None
        and reference is not None
        and synthetic is not None
        and reference.shape[1] != synthetic.shape[1]
    ):
        problem = (
            f"reference embeddings have {reference.shape[1]} dimensions and synthetic "
            f"ones {synthetic.shape[1]}; embed both with the same model"
        )
    if problem is not None or reference is None or synthetic is None:
        result["error"] = problem
        return result
    if clusters is not None and clusters < MIN_CLUSTERS:
        raise InputError(f"must be {MIN_CLUSTERS} or more, got {clusters}", field="clusters")
    # k-means cannot make more clusters than there are distinct points (it warns and merges).
    distinct = len(np.unique(reference, axis=0))
    if distinct < MIN_CLUSTERS:
        result["error"] = "the reference embeddings are all identical; nothing to cluster"
        return result
    k = min(clusters if clusters is not None else default_cluster_count(len(reference)), distinct)

    from sklearn.cluster import KMeans

    # Fit on a fixed-size sample (k-means on 10k x 384 takes seconds), then assign every
    # reference point to its centroid; the sample depends only on the seed.
    fit_on = reference
    if len(reference) > MAX_FIT_POINTS:
        pick = np.random.default_rng(seed).choice(len(reference), MAX_FIT_POINTS, replace=False)
        fit_on = reference[np.sort(pick)]
    model = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(fit_on)
    raw_labels = np.asarray(model.predict(reference), dtype=np.int64)
    raw_sizes = np.bincount(raw_labels, minlength=k)
    # Renumber largest first; a stable sort keeps ties in k-means' own order (deterministic).
    order = np.argsort(-raw_sizes, kind="stable")
    renumber = np.empty(k, dtype=np.int64)
    renumber[order] = np.arange(k)
    sizes_ref = raw_sizes[order]
    syn_labels = renumber[np.asarray(model.predict(synthetic), dtype=np.int64)]
    sizes_syn = np.bincount(syn_labels, minlength=k)

    n_ref, n_syn = len(reference), len(synthetic)
    rare: list[int] = []
    total = 0
    for cluster in range(k - 1, -1, -1):  # smallest first
        size = int(sizes_ref[cluster])
        if rare and (total + size) > rare_share * n_ref:
            break
        rare.append(cluster)
        total += size
    share_ref = sizes_ref / n_ref
    share_syn = sizes_syn / n_syn
    covered = [c for c in rare if share_syn[c] >= min_ratio * share_ref[c]]
    result.update(
        clusters=k,
        rare_clusters=sorted(rare),
        rare_reference_share=float(share_ref[rare].sum()),
        rare_synthetic_share=float(share_syn[rare].sum()),
        covered=len(covered),
        coverage=len(covered) / len(rare),
        cluster_sizes_reference=[int(s) for s in sizes_ref],
        cluster_sizes_synthetic=[int(s) for s in sizes_syn],
    )
    return result


# ---------------------------------------------------------------------------------------------
# Numeric tails
# ---------------------------------------------------------------------------------------------


def _numeric_values(series: pd.Series) -> tuple[npt.NDArray[np.float64] | None, bool, str | None]:
    """(values without missing ones, is_datetime, problem)."""
    if pd.api.types.is_bool_dtype(series):
        return None, False, "is boolean; use rare_category_coverage for it"
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(series):
        kept = series.dropna()
        nanos = kept.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        return nanos.astype(np.float64), True, None
    if not pd.api.types.is_numeric_dtype(series):
        return None, False, f"is not numeric (dtype {series.dtype})"
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    return values[np.isfinite(values)], False, None


def _cut_value(value: float, is_datetime: bool) -> float | str:
    if is_datetime:
        # Dates went through float64 nanoseconds; microseconds are all that survive exactly.
        return pd.Timestamp(round(value), unit="ns").round("us").isoformat()
    return float(value)


def wilson_interval(successes: int, trials: int, z: float = _Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default); (0, 1) with no trials."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _lost(synthetic_count: int, n_synthetic: int, reference_share: float) -> bool | None:
    if reference_share <= 0:
        return None
    return wilson_interval(synthetic_count, n_synthetic)[1] < LOST_TAIL_RATIO * reference_share


def _ratio(synthetic: float, reference: float) -> float | None:
    return min(1.0, synthetic / reference) if reference > 0 else None


def _numeric_column_tails(
    reference: pd.Series, synthetic: pd.Series, lower: float, upper: float
) -> dict[str, Any]:
    ref, is_datetime, problem = _numeric_values(reference)
    syn, syn_is_datetime, syn_problem = _numeric_values(synthetic)
    if problem is not None or ref is None:
        return {"error": f"reference column {problem}"}
    if syn_problem is not None or syn is None:
        return {"error": f"synthetic column {syn_problem}"}
    if is_datetime != syn_is_datetime:
        return {"error": "one side holds dates and the other numbers; convert them alike"}
    if len(ref) < 2:
        return {"error": "the reference column has fewer than 2 values"}
    if len(syn) == 0:
        return {"error": "the synthetic column has no values"}
    if ref.min() == ref.max():
        return {"error": "the reference column is constant; it has no tails"}
    lower_cut, upper_cut = (float(q) for q in np.quantile(ref, [lower, upper]))
    # Strictly beyond the cuts: data clipped at a percentile must not count as reaching it.
    ref_lower, ref_upper = float(np.mean(ref < lower_cut)), float(np.mean(ref > upper_cut))
    syn_lower, syn_upper = float(np.mean(syn < lower_cut)), float(np.mean(syn > upper_cut))
    ref_tail, syn_tail = ref_lower + ref_upper, syn_lower + syn_upper
    if ref_tail == 0:
        return {"error": "no reference value lies beyond the cuts (too few distinct values)"}
    lower_coverage = _ratio(syn_lower, ref_lower)
    upper_coverage = _ratio(syn_upper, ref_upper)
    # The headline is the worse side: summing the sides would let an inflated lower tail hide
    # a lost upper one (0.0 upper coverage shown as 1.0).
    sides = [c for c in (lower_coverage, upper_coverage) if c is not None]
    return {
        "lower_cut": _cut_value(lower_cut, is_datetime),
        "upper_cut": _cut_value(upper_cut, is_datetime),
        "reference_tail_share": ref_tail,
        "synthetic_tail_share": syn_tail,
        "reference_lower_share": ref_lower,
        "reference_upper_share": ref_upper,
        "synthetic_lower_share": syn_lower,
        "synthetic_upper_share": syn_upper,
        "coverage": min(sides),
        "lower_coverage": lower_coverage,
        "upper_coverage": upper_coverage,
        "lower_lost": _lost(int(np.sum(syn < lower_cut)), len(syn), ref_lower),
        "upper_lost": _lost(int(np.sum(syn > upper_cut)), len(syn), ref_upper),
    }


def numeric_tail_coverage(
    reference: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: Sequence[str],
    *,
    lower: float = 0.05,
    upper: float = 0.95,
) -> dict[str, Any]:
    """How much of the mass beyond the reference's percentiles the synthetic data keeps.

    Per column: ``lower_cut``/``upper_cut`` are the reference's ``lower``/``upper`` quantiles
    (ISO strings for dates); a value is in a tail when it lies strictly beyond a cut;
    ``reference_tail_share`` (about 0.10 by default) and ``synthetic_tail_share`` are the shares
    of each side's non-missing values in either tail (``reference_lower_share``,
    ``reference_upper_share``, ``synthetic_lower_share``, ``synthetic_upper_share`` per side);
    ``lower_coverage``/``upper_coverage`` = min(1, synthetic / reference share) of that tail
    (None when the reference has nothing in it), and the headline ``coverage`` is the smaller of
    the two, so one lost tail shows however full the other is. ``lower_lost``/``upper_lost``
    say whether that tail is *lost* beyond sampling noise: the upper end of the 95% Wilson
    interval of the synthetic share is below :data:`LOST_TAIL_RATIO` (half) of the reference
    share; ``lost`` lists them as ``"column (lower)"``/``"column (upper)"``. Returns
    ``{"columns": {column: {...} or {"error": str}}, "mean_coverage": float | None,
    "lost": [str], "lower", "upper"}``.
    """
    _check_share(lower, "lower")
    _check_share(upper, "upper")
    if lower >= upper:
        raise InputError(f"lower ({lower}) must be below upper ({upper})", field="lower")
    out = _per_column(
        reference,
        synthetic,
        columns,
        lambda real, syn: _numeric_column_tails(real, syn, lower, upper),
    )
    lost = [
        f"{column} ({side})"
        for column, item in out.items()
        for side in ("lower", "upper")
        if item.get(f"{side}_lost")
    ]
    return {
        "columns": out,
        "mean_coverage": _mean(item.get("coverage") for item in out.values()),
        "lost": lost,
        "lower": lower,
        "upper": upper,
    }


def _per_column(
    reference: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: Sequence[str],
    measure: Callable[[pd.Series, pd.Series], dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """``measure`` of each column's two sides; ``{"error"}`` for a column one side lacks, so one
    odd column does not cost the others their numbers."""
    out: dict[str, dict[str, Any]] = {}
    for column in columns:
        lacking = [
            side
            for side, table in (("reference", reference), ("synthetic", synthetic))
            if column not in table.columns
        ]
        out[column] = (
            {"error": f"column {column!r} is not in the {lacking[0]} data"}
            if lacking
            else measure(reference[column], synthetic[column])
        )
    return out


# ---------------------------------------------------------------------------------------------
# Rare categories
# ---------------------------------------------------------------------------------------------


def _category_counts(series: pd.Series) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value, count in series.dropna().value_counts().items():
        key = str(value)  # so 1 and "1" from different file formats are one category
        counts[key] = counts.get(key, 0) + int(count)
    return counts


def _category_column_coverage(
    reference: pd.Series, synthetic: pd.Series, quantile: float
) -> dict[str, Any]:
    ref_counts = _category_counts(reference)
    if not ref_counts:
        return {"error": "the reference column has no values"}
    syn_counts = _category_counts(synthetic)
    if not syn_counts:
        return {"error": "the synthetic column has no values"}
    cutoff = rare_cutoff(ref_counts.values(), quantile)
    rare = [c for c, count in ref_counts.items() if count <= cutoff]
    missing = sorted((c for c in rare if c not in syn_counts), key=lambda c: (-ref_counts[c], c))
    covered = len(rare) - len(missing)
    return {
        "categories": len(ref_counts),
        "rare_cutoff": cutoff,
        "rare_reference": len(rare),
        "covered": covered,
        "coverage": covered / len(rare),
        "missing": missing[:_MAX_LISTED],
    }


def rare_category_coverage(
    reference: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: Sequence[str],
    *,
    quantile: float = RARE_QUANTILE,
) -> dict[str, Any]:
    """Share of each column's rare reference categories present in the synthetic data.

    A category is rare when its reference count is at or below the ``quantile`` of the
    reference's category counts (at least 1), the rule :func:`synthloom.text.rare_ngrams` uses.
    Categories compare by their text; missing values are ignored. Returns ``{"columns":
    {column: {"categories", "rare_cutoff", "rare_reference", "covered", "coverage", "missing":
    [up to 20 absent rare categories, most frequent first]} or {"error": str}},
    "mean_coverage": float | None, "quantile"}``.
    """
    _check_share(quantile, "quantile")
    out = _per_column(
        reference,
        synthetic,
        columns,
        lambda real, syn: _category_column_coverage(real, syn, quantile),
    )
    return {
        "columns": out,
        "mean_coverage": _mean(item.get("coverage") for item in out.values()),
        "quantile": quantile,
    }
