"""Bias and representation: which groups of people the data talks about, and how often.

This module counts descriptor mentions in texts with the demographic lexicon
(:mod:`synthloom.assay.lexicon` loads, validates and scans it; ``Lexicon``, ``load_lexicon`` and
``DEFAULT_LEXICON_PATH`` are re-exported here) and compares the representation of groups between
a reference and a synthetic dataset, for text (lexicon mentions) and for tables (categories of
sensitive columns).

The under-representation rule, used for texts and tables alike: within one axis (or column),
a group's *share* is its mentions (rows) divided by all mentions (rows) on that axis. An axis is
*supported* when each side has at least ``min_mentions`` mentions on it (default
:data:`MIN_MENTIONS`, 20); below that, shares move by tens of points between two random halves of
one dataset, so an unsupported axis keeps its numbers but counts in no ``max_tvd`` and flags no
group (it is listed under ``unsupported``). A group of a supported axis is flagged when it has
at least ``min_reference_count`` reference mentions,

    synthetic_share < under_ratio * reference_share

(with the default ``under_ratio=0.5``, a group the reference gives 20% of the mentions is
flagged when the synthetic data gives it less than 10%), and the bootstrap interval of
``synthetic_share - reference_share`` lies wholly below 0, i.e. excludes parity.

Intervals: ``bootstrap`` resamples (default :data:`BOOTSTRAP`, seeded) of each side give 95%
percentile intervals of the TVD and of each group's share difference. Texts are resampled with
Poisson(1) weights (each text keeps its mentions together, as a text that says "she ... her ...
her" is one text); table rows are resampled from their category counts. ``bootstrap=0`` turns
intervals off and flags by the share rule alone.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

import numpy as np
import numpy.typing as npt
import pandas as pd

from synthloom.assay.lexicon import DEFAULT_LEXICON_PATH, Lexicon, load_lexicon
from synthloom.errors import DataFormatError, InputError

__all__ = [
    "BOOTSTRAP",
    "DEFAULT_LEXICON_PATH",
    "MIN_MENTIONS",
    "BiasRule",
    "Lexicon",
    "count_descriptors",
    "load_lexicon",
    "representation",
    "table_representation",
]

#: Mentions (rows) each side needs on an axis (column) for its TVD and flags to count.
MIN_MENTIONS = 20
#: Bootstrap resamples behind the intervals.
BOOTSTRAP = 400
#: Two-sided level of the intervals.
_LEVEL = 0.95
# Bootstrap weights drawn at once (8 bytes each, twice while converted).
_WEIGHT_CELLS = 4_000_000

# ---------------------------------------------------------------------------------------------
# Counting and comparing
# ---------------------------------------------------------------------------------------------


def _empty_counts(lexicon: Lexicon) -> dict[str, dict[str, int]]:
    return {axis: dict.fromkeys(groups, 0) for axis, groups in lexicon.axes.items()}


def _check_text(text: object, position: int) -> str | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise DataFormatError(
            f"text {position} is a {type(text).__name__}, not a string; pass one string per record"
        )
    return text


def count_descriptors(
    texts: Iterable[str], lexicon: Lexicon | None = None
) -> dict[str, dict[str, int]]:
    """Mentions of each group's descriptors over all texts: ``{axis: {group: count}}``.

    Every group of the lexicon appears, with 0 when never mentioned. ``None`` texts are skipped.
    """
    lexicon = lexicon if lexicon is not None else load_lexicon()
    counts = _empty_counts(lexicon)
    for position, raw in enumerate(texts):
        text = _check_text(raw, position)
        if text is None:
            continue
        for axis, groups in lexicon.scan(text):
            axis_counts = counts[axis]
            for group in groups:
                axis_counts[group] += 1
    return counts


def _shares(counts: Mapping[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {g: (c / total if total else 0.0) for g, c in counts.items()}


def _tvd(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    keys = set(p) | set(q)
    return 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in keys)


def _check_rule(
    under_ratio: float, min_reference_count: int, min_mentions: int = 0, bootstrap: int = 0
) -> None:
    if not (math.isfinite(under_ratio) and under_ratio > 0):
        raise InputError(f"must be a positive number, got {under_ratio}", field="under_ratio")
    if min_reference_count < 0:
        raise InputError(
            f"must be 0 or more, got {min_reference_count}", field="min_reference_count"
        )
    if min_mentions < 0:
        raise InputError(f"must be 0 or more, got {min_mentions}", field="min_mentions")
    if bootstrap < 0:
        raise InputError(f"must be 0 or more, got {bootstrap}", field="bootstrap")


FloatArray = npt.NDArray[np.float64]


def _percentiles(samples: FloatArray) -> FloatArray:
    """(2, ...) lower and upper percentile bounds over the first axis."""
    tail = 100 * (1 - _LEVEL) / 2
    return np.asarray(np.percentile(samples, [tail, 100 - tail], axis=0), dtype=np.float64)


def _poisson_shares(rows: FloatArray, rng: np.random.Generator, bootstrap: int) -> FloatArray:
    """(bootstrap, groups) shares of texts resampled with Poisson(1) weights."""
    if rows.shape[0] == 0:
        return np.zeros((bootstrap, rows.shape[1]))
    # The (bootstrap, texts) weights are drawn a block of resamples at a time: a million texts
    # would need 3.2 GB at once. The generator fills in row order, so the blocks hold the very
    # numbers one draw would, and weights times counts are whole numbers, summed exactly.
    totals = np.empty((bootstrap, rows.shape[1]), dtype=np.float64)
    step = max(1, _WEIGHT_CELLS // rows.shape[0])
    for low in range(0, bootstrap, step):
        high = min(bootstrap, low + step)
        weights = rng.poisson(1.0, size=(high - low, rows.shape[0])).astype(np.float64)
        totals[low:high] = weights @ rows
    sums = totals.sum(axis=1, keepdims=True)
    shares = np.divide(totals, sums, out=np.zeros_like(totals), where=sums > 0)
    return np.asarray(shares, dtype=np.float64)


def _multinomial_shares(
    counts: Sequence[int], rng: np.random.Generator, bootstrap: int
) -> FloatArray:
    """(bootstrap, groups) shares of rows resampled from category counts."""
    total = int(sum(counts))
    if total == 0:
        return np.zeros((bootstrap, len(counts)))
    p = np.asarray(counts, dtype=np.float64) / total
    return rng.multinomial(total, p, size=bootstrap).astype(np.float64) / total


@dataclass(frozen=True)
class _Rule:
    under_ratio: float
    min_reference_count: int
    min_mentions: int
    bootstrap: int


class BiasRule(TypedDict, total=False):
    """The support and flagging rule of both representation measures (see the module
    docstring): ``under_ratio`` (default 0.5), ``min_reference_count`` (5), ``min_mentions``
    (:data:`MIN_MENTIONS`), ``bootstrap`` (:data:`BOOTSTRAP` resamples; 0 for none) and the
    ``seed`` of the resamples (0)."""

    under_ratio: float
    min_reference_count: int
    min_mentions: int
    bootstrap: int
    seed: int


def _checked_rule(options: BiasRule) -> tuple[_Rule, np.random.Generator]:
    rule = _Rule(
        options.get("under_ratio", 0.5),
        options.get("min_reference_count", 5),
        options.get("min_mentions", MIN_MENTIONS),
        options.get("bootstrap", BOOTSTRAP),
    )
    _check_rule(rule.under_ratio, rule.min_reference_count, rule.min_mentions, rule.bootstrap)
    return rule, np.random.default_rng(options.get("seed", 0))


def _compare(
    reference_counts: Mapping[str, int],
    synthetic_counts: Mapping[str, int],
    reference_share: Mapping[str, float],
    synthetic_share: Mapping[str, float],
    boot: tuple[FloatArray, FloatArray] | None,
    rule: _Rule,
) -> dict[str, Any]:
    """Support, TVD interval, share-difference intervals and flags of one axis (column).

    ``boot`` holds the (bootstrap, groups) shares of each side, groups in ``reference_counts``
    order, or None without intervals.
    """
    groups = list(reference_counts)
    n_ref, n_syn = sum(reference_counts.values()), sum(synthetic_counts.values())
    supported = n_ref >= max(rule.min_mentions, 1) and n_syn >= max(rule.min_mentions, 1)
    tvd_interval: list[float] | None = None
    differences: dict[str, list[float]] = {}
    if boot is not None and n_ref > 0 and n_syn > 0:
        ref_boot, syn_boot = boot
        tvd_interval = [float(v) for v in _percentiles(0.5 * np.abs(syn_boot - ref_boot).sum(1))]
        bounds = _percentiles(syn_boot - ref_boot)
        differences = {g: [float(bounds[0, i]), float(bounds[1, i])] for i, g in enumerate(groups)}
    flagged: list[tuple[str, float, list[float] | None]] = []
    if supported:
        for group, ref_count in reference_counts.items():
            ref = reference_share.get(group, 0.0)
            syn = synthetic_share.get(group, 0.0)
            if ref_count < max(rule.min_reference_count, 1) or syn >= rule.under_ratio * ref:
                continue
            interval = differences.get(group)
            # Flag only what sampling noise cannot explain: the interval excludes parity.
            if boot is None or (interval is not None and interval[1] < 0):
                flagged.append((group, syn / ref, interval))
    return {
        "mentions": {"reference": n_ref, "synthetic": n_syn},
        "supported": supported,
        "tvd_interval": tvd_interval,
        "share_difference_interval": differences or None,
        "flagged": flagged,
    }


def _rule_summary(rule: _Rule) -> dict[str, Any]:
    return {
        "min_mentions": rule.min_mentions,
        "min_reference_count": rule.min_reference_count,
        "under_ratio": rule.under_ratio,
        "bootstrap": rule.bootstrap,
        "level": _LEVEL if rule.bootstrap else None,
    }


def representation(
    reference_texts: Iterable[str],
    synthetic_texts: Iterable[str],
    *,
    lexicon: Lexicon | None = None,
    scores: Sequence[float] | None = None,
    **options: Unpack[BiasRule],
) -> dict[str, Any]:
    """Compare group representation between reference and synthetic texts.

    Returns::

        {"axes": {axis: {"reference": {group: count}, "synthetic": {group: count},
                         "reference_share": {group: share}, "synthetic_share": {group: share},
                         "mentions": {"reference": int, "synthetic": int},
                         "supported": bool,                 # both sides >= min_mentions
                         "tvd": float | None, "tvd_interval": [lo, hi] | None,
                         "share_difference_interval": {group: [lo, hi]} | None,
                         "flagged": [group, ...]}},
         "flagged": [{"axis", "group", "reference_share", "synthetic_share", "ratio",
                      "interval"}, ...],
         "mean_score_by_group": {axis: {group: float}} | None,
         "max_tvd": float | None,           # over supported axes only
         "unsupported": [axis, ...],        # mentioned, but below min_mentions on a side
         "rule": {"min_mentions", "min_reference_count", "under_ratio", "bootstrap", "level"}}

    Shares are 0.0 on a side with no mention on that axis, and ``tvd`` is then None (there is
    no distribution to compare). The support and flagging rules are in the module docstring;
    ``ratio`` is synthetic share / reference share and ``interval`` the bootstrap interval of
    their difference. ``scores`` (one per synthetic text, e.g. a reward score) gives
    ``mean_score_by_group``: the mean score of the synthetic texts that mention each group at
    least once; groups no scored text mentions are left out, and NaN scores are ignored.
    """
    rule, rng = _checked_rule(options)
    lexicon = lexicon if lexicon is not None else load_lexicon()
    reference = _empty_counts(lexicon)
    synthetic = _empty_counts(lexicon)
    # Per axis, one row of group counts per text that mentions the axis (for the bootstrap),
    # flat in a C int array: a million rows of Python lists would take a gigabyte.
    ref_rows: dict[str, array[int]] = {axis: array("i") for axis in lexicon.axes}
    syn_rows: dict[str, array[int]] = {axis: array("i") for axis in lexicon.axes}
    for position, raw in enumerate(reference_texts):
        text = _check_text(raw, position)
        if text is not None:
            _count_text(text, lexicon, reference, ref_rows)
    score_sum: dict[tuple[str, str], float] = {}
    score_n: dict[tuple[str, str], int] = {}
    n_synthetic = 0
    for position, raw in enumerate(synthetic_texts):
        n_synthetic += 1
        text = _check_text(raw, position)
        if text is None:
            continue
        mentioned = _count_text(text, lexicon, synthetic, syn_rows)
        if scores is not None and position < len(scores):
            score = float(scores[position])
            if math.isfinite(score):
                for key in mentioned:
                    score_sum[key] = score_sum.get(key, 0.0) + score
                    score_n[key] = score_n.get(key, 0) + 1
    if scores is not None and len(scores) != n_synthetic:
        raise DataFormatError(
            f"got {len(scores)} scores for {n_synthetic} synthetic texts; pass one per text",
            field="scores",
        )

    axes_out: dict[str, Any] = {}
    flagged_out: list[dict[str, Any]] = []
    tvds: list[float] = []
    unsupported: list[str] = []
    for axis, groups in lexicon.axes.items():
        ref_share = _shares(reference[axis])
        syn_share = _shares(synthetic[axis])
        both = sum(reference[axis].values()) > 0 and sum(synthetic[axis].values()) > 0
        tvd = _tvd(ref_share, syn_share) if both else None
        boot = None
        if rule.bootstrap and both:
            width = len(groups)
            boot = (
                _poisson_shares(_row_matrix(ref_rows[axis], width), rng, rule.bootstrap),
                _poisson_shares(_row_matrix(syn_rows[axis], width), rng, rule.bootstrap),
            )
        compared = _compare(reference[axis], synthetic[axis], ref_share, syn_share, boot, rule)
        if tvd is not None and compared["supported"]:
            tvds.append(tvd)
        elif sum(reference[axis].values()) + sum(synthetic[axis].values()) > 0:
            unsupported.append(axis)
        flagged = compared.pop("flagged")
        axes_out[axis] = {
            "reference": reference[axis],
            "synthetic": synthetic[axis],
            "reference_share": ref_share,
            "synthetic_share": syn_share,
            "tvd": tvd,
            **compared,
            "flagged": [group for group, _, _ in flagged],
        }
        flagged_out.extend(
            {
                "axis": axis,
                "group": group,
                "reference_share": ref_share[group],
                "synthetic_share": syn_share[group],
                "ratio": ratio,
                "interval": interval,
            }
            for group, ratio, interval in flagged
        )

    mean_scores: dict[str, dict[str, float]] | None = None
    if scores is not None:
        mean_scores = {
            axis: {
                group: score_sum[(axis, group)] / score_n[(axis, group)]
                for group in groups
                if (axis, group) in score_n
            }
            for axis, groups in lexicon.axes.items()
        }
    return {
        "axes": axes_out,
        "flagged": flagged_out,
        "mean_score_by_group": mean_scores,
        "max_tvd": max(tvds) if tvds else None,
        "unsupported": unsupported,
        "rule": _rule_summary(rule),
    }


def _row_matrix(rows: array[int], width: int) -> FloatArray:
    return np.frombuffer(rows, dtype=np.intc).reshape(-1, width).astype(np.float64)


def _count_text(
    text: str,
    lexicon: Lexicon,
    counts: dict[str, dict[str, int]],
    rows: dict[str, array[int]],
) -> set[tuple[str, str]]:
    """Add one text's mentions to ``counts`` and its per-axis count rows to ``rows``."""
    mine: dict[str, dict[str, int]] = {}
    for axis, groups in lexicon.scan(text):
        axis_counts = mine.setdefault(axis, {})
        for group in groups:
            axis_counts[group] = axis_counts.get(group, 0) + 1
    mentioned: set[tuple[str, str]] = set()
    for axis, axis_counts in mine.items():
        rows[axis].extend([axis_counts.get(g, 0) for g in lexicon.axes[axis]])
        for group, n in axis_counts.items():
            counts[axis][group] += n
            mentioned.add((axis, group))
    return mentioned


def _category_counts(column: pd.Series) -> dict[str, int]:
    """Counts per category, keyed by the category's text so 1 and "1" meet across files."""
    counts: dict[str, int] = {}
    for value, count in column.dropna().value_counts(sort=True).items():
        key = str(value)
        counts[key] = counts.get(key, 0) + int(count)
    return counts


def _require_columns(table: pd.DataFrame, columns: Sequence[str], side: str) -> None:
    existing = [str(c) for c in table.columns]
    for column in columns:
        if column not in table.columns:
            raise DataFormatError(
                f"column {column!r} is not in the {side} table; its columns are: "
                + (", ".join(existing) if existing else "(none)"),
                field=column,
            )


def table_representation(
    reference: pd.DataFrame,
    synthetic: pd.DataFrame,
    columns: Sequence[str],
    **options: Unpack[BiasRule],
) -> dict[str, Any]:
    """Representation of the categories of sensitive table columns.

    Returns ``{column: {"reference_share": {category: share}, "synthetic_share": {...},
    "tvd": float, "mentions", "supported", "tvd_interval", "share_difference_interval",
    "flagged": [category, ...]}}``; categories are keyed by their text, missing values are left
    out, and the support and flagging rules are the module's (category rows instead of
    mentions). A column with no values on one side gets ``{"error": str}`` instead. A column
    missing from either table raises :class:`~synthloom.errors.DataFormatError`.
    """
    rule, rng = _checked_rule(options)
    _require_columns(reference, columns, "reference")
    _require_columns(synthetic, columns, "synthetic")
    out: dict[str, Any] = {}
    for column in columns:
        ref_counts = _category_counts(reference[column])
        syn_counts = _category_counts(synthetic[column])
        if not ref_counts or not syn_counts:
            side = "reference" if not ref_counts else "synthetic"
            out[column] = {"error": f"column {column!r} has no values in the {side} data"}
            continue
        # Categories only the synthetic data has still count in its shares and the TVD.
        for category in syn_counts:
            ref_counts.setdefault(category, 0)
        syn_aligned = {c: syn_counts.get(c, 0) for c in ref_counts}
        ref_share = _shares(ref_counts)
        syn_share = _shares(syn_aligned)
        boot = None
        if rule.bootstrap:
            boot = (
                _multinomial_shares(list(ref_counts.values()), rng, rule.bootstrap),
                _multinomial_shares(list(syn_aligned.values()), rng, rule.bootstrap),
            )
        compared = _compare(ref_counts, syn_aligned, ref_share, syn_share, boot, rule)
        flagged = compared.pop("flagged")
        out[column] = {
            "reference_share": ref_share,
            "synthetic_share": syn_share,
            "tvd": _tvd(ref_share, syn_share),
            **compared,
            "flagged": [category for category, _, _ in flagged],
        }
    return out
