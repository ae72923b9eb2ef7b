"""The numbers of one preference dataset: length bias, margins, near-identical pairs, refusals
and empty answers, format markers, prompt coverage.

Each function takes a :class:`~synthloom.assay.preference.pairs.PreferenceSet` (or what it was
turned into) and returns plain numbers for metrics.json. A *flag* is raised where a number
passes the documented threshold beside it; the gate can use the numbers themselves.

Shares of pairs where one side "wins" (chosen longer, chosen alone with a list...) are binomial
proportions: each comes with the Wilson score 95% interval (the tail coverage's
:func:`~synthloom.assay.tails.wilson_interval`, the interval scipy's
``binomtest(...).proportion_ci(method="wilson")`` gives) and the exact
two-sided binomial test of "no preference" (p = 0.5) from scipy. Ties (pairs of equal length,
or where both or neither side has a marker) say nothing about a preference and are left out.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from synthloom.assay.preference.markers import FORMAT_MARKERS
from synthloom.assay.preference.measures import (
    PairMeasures,
    edit_similarity,
    normalised_text,
    pair_similarity,
)
from synthloom.assay.preference.pairs import PreferencePair, answer_text
from synthloom.assay.tails import wilson_interval

__all__ = [
    "BIAS_MIN_EFFECT",
    "BIAS_P_VALUE",
    "LENGTH_RATIO_BINS",
    "LOW_MARGIN_FLAG_SHARE",
    "LOW_MARGIN_SHARE",
    "NEAR_IDENTICAL_EDIT",
    "NEAR_IDENTICAL_FLAG_SHARE",
    "NEAR_IDENTICAL_JACCARD",
    "REFUSAL_FLAG_SHARE",
    "answer_checks",
    "distinct_prompts",
    "edit_similarity",
    "format_preference",
    "length_bias",
    "margins",
    "prompt_counts",
    "prompt_key",
    "side_by_side_similarity",
    "similarity_summary",
]

#: A one-sided preference (length, a format marker) is flagged when the exact binomial test
#: rejects "no preference" at this level...
BIAS_P_VALUE = 0.01
#: ... and the winning share is at least this far from one half (a large set makes a tiny,
#: harmless lean significant).
BIAS_MIN_EFFECT = 0.1
#: Bins of the length-controlled view: the longer answer's length over the shorter one's.
LENGTH_RATIO_BINS = (1.0, 1.1, 1.5, 2.0, 3.0, math.inf)
#: A margin below this share of the score range (largest minus smallest score of either side;
#: without scores, of the largest absolute margin) teaches little: the reward model could not
#: tell the answers apart.
LOW_MARGIN_SHARE = 0.05
#: Low margins are flagged when at least this share of the scored pairs has one.
LOW_MARGIN_FLAG_SHARE = 0.1
#: A pair is near-identical when its character 5-gram Jaccard similarity reaches this ...
NEAR_IDENTICAL_JACCARD = 0.8
#: ... or its word-level edit similarity (1 - Levenshtein distance / longer length) does.
NEAR_IDENTICAL_EDIT = 0.9
#: Near-identical pairs are flagged when they are at least this share of the set.
NEAR_IDENTICAL_FLAG_SHARE = 0.01
#: Refusals are flagged when at least this share of pairs has one on either side.
REFUSAL_FLAG_SHARE = 0.05
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
_QUANTILES = {"q05": 0.05, "q25": 0.25, "median": 0.5, "q75": 0.75, "q95": 0.95}


def _proportion(name: str, successes: int, trials: int) -> dict[str, Any]:
    """``<name>_share`` with its interval (``_ci_low``, ``_ci_high``), its p-value against one
    half (``_p_value``), and ``flagged``: the p-value below :data:`BIAS_P_VALUE` and the share
    at least :data:`BIAS_MIN_EFFECT` from one half."""
    if trials <= 0:
        values: list[float | None] = [None, None, None, None]
        flagged = False
    else:
        interval = wilson_interval(successes, trials)
        share = successes / trials
        p_value = float(stats.binomtest(successes, trials, 0.5).pvalue)
        values = [share, interval[0], interval[1], p_value]
        flagged = p_value < BIAS_P_VALUE and abs(share - 0.5) >= BIAS_MIN_EFFECT
    keys = ("share", "ci_low", "ci_high", "p_value")
    return {**{f"{name}_{k}": v for k, v in zip(keys, values, strict=True)}, "flagged": flagged}


def _summary(values: npt.NDArray[np.float64]) -> dict[str, float | None]:
    if values.size == 0:
        return {"mean": None, "std": None, "min": None, **dict.fromkeys(_QUANTILES), "max": None}
    out: dict[str, float | None] = {
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
        "min": float(values.min()),
    }
    for name, q in _QUANTILES.items():
        out[name] = float(np.quantile(values, q))
    out["max"] = float(values.max())
    return out


def length_bias(chosen_lengths: Sequence[int], rejected_lengths: Sequence[int]) -> dict[str, Any]:
    """Is the chosen answer longer more often than chance, overall and at each length ratio?

    Lengths are in tokens (:func:`synthloom.text.tokenize`). ``log2_ratio`` summarises
    log2((chosen + 1) / (rejected + 1)) (0: the same length; 1: chosen twice as long). ``bins``
    is the length-controlled view: pairs grouped by how much longer the longer answer is
    (:data:`LENGTH_RATIO_BINS`), each with the share in which the longer one is the chosen one;
    a fair set stays near one half in every bin, a length-biased one climbs with the ratio.
    """
    chosen = np.asarray(chosen_lengths, dtype=np.float64)
    rejected = np.asarray(rejected_lengths, dtype=np.float64)
    chosen_longer = int(np.sum(chosen > rejected))
    rejected_longer = int(np.sum(chosen < rejected))
    ratio = (np.maximum(chosen, rejected) + 1) / (np.minimum(chosen, rejected) + 1)
    bins = []
    for low, high in itertools.pairwise(LENGTH_RATIO_BINS):
        inside = (ratio >= low) & (ratio < high) & (chosen != rejected)
        wins = int(np.sum(inside & (chosen > rejected)))
        trials = int(np.sum(inside))
        interval = wilson_interval(wins, trials) if trials else None
        bins.append(
            {
                "low": low,
                "high": None if math.isinf(high) else high,
                "pairs": trials,
                "chosen_longer": wins,
                "share": wins / trials if trials else None,
                "ci_low": interval[0] if interval else None,
                "ci_high": interval[1] if interval else None,
            }
        )
    return {
        "unit": "tokens",
        "chosen_mean": float(chosen.mean()) if chosen.size else None,
        "rejected_mean": float(rejected.mean()) if rejected.size else None,
        "chosen_longer": chosen_longer,
        "rejected_longer": rejected_longer,
        "equal": int(chosen.size - chosen_longer - rejected_longer),
        **_proportion("chosen_longer", chosen_longer, chosen_longer + rejected_longer),
        "log2_ratio": _summary(np.log2((chosen + 1) / (rejected + 1))),
        "bins": bins,
    }


def margins(pairs: Sequence[PreferencePair]) -> dict[str, Any] | None:
    """The reward margins (chosen minus rejected score) of the pairs that carry one; None if
    none does. ``low`` counts margins below :data:`LOW_MARGIN_SHARE` of the score range,
    ``ties`` margins of zero, ``inverted`` pairs whose chosen answer scored lower."""
    values = np.asarray([p.margin for p in pairs if p.margin is not None], dtype=np.float64)
    if values.size == 0:
        return None
    scores = np.asarray(
        [
            s
            for p in pairs
            for s in (p.chosen_score, p.rejected_score)
            if s is not None and p.margin is not None
        ],
        dtype=np.float64,
    )
    scale = float(scores.max() - scores.min()) if scores.size else float(np.abs(values).max())
    threshold = LOW_MARGIN_SHARE * scale
    # Rounding in the writer (Nemotron rounds to 6 places) must not turn a tie into a margin.
    tie_tolerance = 1e-9 * max(1.0, scale)
    ties = int(np.sum(np.abs(values) <= tie_tolerance))
    low = int(np.sum(values < threshold)) if threshold > 0 else ties
    low_share = low / values.size
    return {
        "pairs_with_margin": int(values.size),
        "scale": scale,
        "low_threshold": threshold,
        "low": low,
        "low_share": low_share,
        "ties": ties,
        "tie_share": ties / values.size,
        "inverted": int(np.sum(values < -tie_tolerance)),
        "flagged": low_share >= LOW_MARGIN_FLAG_SHARE,
        **_summary(values),
    }


def similarity_summary(
    jaccard: FloatArray,
    identical: BoolArray,
    edit: FloatArray,
    wheres: Sequence[str],
) -> dict[str, Any]:
    """How alike each pair's two answers are, from :func:`~.measures.pair_similarity`'s
    values: ``identical`` counts pairs equal up to case and whitespace; ``near_identical``
    those reaching :data:`NEAR_IDENTICAL_JACCARD` or :data:`NEAR_IDENTICAL_EDIT` (identical
    ones included); ``examples`` names the five most alike of them by ``wheres``."""
    n = jaccard.size
    near = (
        identical
        | (jaccard >= NEAR_IDENTICAL_JACCARD)
        | (np.nan_to_num(edit) >= NEAR_IDENTICAL_EDIT)
    )
    share = float(near.mean()) if n else 0.0
    order = np.argsort(-np.maximum(jaccard, np.nan_to_num(edit)), kind="stable")
    return {
        "jaccard": _summary(jaccard),
        "identical": int(identical.sum()),
        "near_identical": int(near.sum()),
        "near_identical_share": share,
        "flagged": bool(near.any()) and share >= NEAR_IDENTICAL_FLAG_SHARE,
        "examples": [
            {
                "where": wheres[int(i)],
                "jaccard": float(jaccard[i]),
                "edit_similarity": None if math.isnan(edit[i]) else float(edit[i]),
            }
            for i in order[:5]
            if near[i]
        ],
        "jaccard_values": jaccard,
    }


def side_by_side_similarity(
    chosen_texts: Sequence[str], rejected_texts: Sequence[str], wheres: Sequence[str]
) -> dict[str, Any]:
    """:func:`similarity_summary` of two lists of answers (character 5-gram Jaccard, and
    word-level edit similarity where the Jaccard is at least 0.5)."""
    return similarity_summary(*pair_similarity(chosen_texts, rejected_texts), wheres)


def answer_checks(measures: PairMeasures) -> dict[str, Any]:
    """Empty answers and refusals on each side (see :mod:`.markers`)."""
    n = len(measures)
    c_empty, r_empty = measures.chosen_empty, measures.rejected_empty
    c_refusal, r_refusal = measures.chosen_refusal, measures.rejected_refusal
    counts = {
        "chosen_empty": c_empty,
        "rejected_empty": r_empty,
        "pairs_with_empty": c_empty | r_empty,
        "chosen_refusal": c_refusal,
        "rejected_refusal": r_refusal,
        "refusal_chosen_only": c_refusal & ~r_refusal,
        "refusal_rejected_only": r_refusal & ~c_refusal,
        "pairs_with_refusal": c_refusal | r_refusal,
    }
    out: dict[str, Any] = {name: int(np.sum(values)) for name, values in counts.items()}
    out["empty_share"] = out["pairs_with_empty"] / n if n else 0.0
    out["refusal_share"] = out["pairs_with_refusal"] / n if n else 0.0
    out["empty_flagged"] = out["pairs_with_empty"] > 0
    out["refusal_flagged"] = out["refusal_share"] >= REFUSAL_FLAG_SHARE
    return out


def format_preference(measures: PairMeasures) -> dict[str, dict[str, Any]]:
    """For each markdown marker: how often each side uses it, and among the pairs where only
    one side does, the share where that side is the chosen one (flagged as for length)."""
    n = len(measures)
    out: dict[str, dict[str, Any]] = {}
    for column, name in enumerate(FORMAT_MARKERS):
        c = measures.chosen_markers[:, column]
        r = measures.rejected_markers[:, column]
        chosen_only = int(np.sum(c & ~r))
        rejected_only = int(np.sum(r & ~c))
        out[name] = {
            "chosen_share": float(c.mean()) if n else 0.0,
            "rejected_share": float(r.mean()) if n else 0.0,
            "chosen_only": chosen_only,
            "rejected_only": rejected_only,
            **_proportion("chosen_only", chosen_only, chosen_only + rejected_only),
        }
    return out


def prompt_key(prompt: Sequence[dict[str, Any]]) -> str:
    """A prompt's identity for counting: its turns' roles and text, case and runs of
    whitespace ignored (a copy with a trailing newline is the same prompt)."""
    return "\n".join(f"{m['role']}: {normalised_text(str(m.get('content') or ''))}" for m in prompt)


def distinct_prompts(pairs: Sequence[PreferencePair]) -> list[str]:
    """The text of each distinct prompt (by :func:`prompt_key`), in order of first appearance."""
    first: dict[str, str] = {}
    for pair in pairs:
        first.setdefault(prompt_key(pair.prompt), answer_text(pair.prompt))
    return list(first.values())


def prompt_counts(pairs: Sequence[PreferencePair]) -> dict[str, Any]:
    """Pairs per prompt and the prompts that come back (``top``: the ten most repeated, their
    text cut to 160 characters). ``per_prompt_counts`` is an array for the report's plot."""
    keys = [prompt_key(p.prompt) for p in pairs]
    counts = Counter(keys)
    first: dict[str, str] = {}
    for pair, key in zip(pairs, keys, strict=True):
        first.setdefault(key, answer_text(pair.prompt))
    per_prompt = np.asarray(list(counts.values()), dtype=np.float64)
    duplicated = {k: c for k, c in counts.items() if c > 1}
    pairs_on_duplicated = sum(duplicated.values())
    return {
        "pairs": len(pairs),
        "distinct": len(counts),
        "pairs_per_prompt_mean": float(per_prompt.mean()) if per_prompt.size else None,
        "pairs_per_prompt_max": int(per_prompt.max()) if per_prompt.size else None,
        "duplicated": len(duplicated),
        "pairs_on_duplicated": pairs_on_duplicated,
        "duplicated_share": pairs_on_duplicated / len(pairs) if pairs else 0.0,
        "flagged": bool(duplicated),
        "top": [
            {"prompt": first[k][:160], "pairs": c}
            for k, c in sorted(duplicated.items(), key=lambda kv: -kv[1])[:10]
        ],
        "per_prompt_counts": per_prompt,
    }
