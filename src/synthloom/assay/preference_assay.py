"""The assay of preference data: the same numbers for the synthetic set and, when a reference
(a human preference set) is given, for it, side by side under ``preference.*``.

The numbers themselves live in :mod:`synthloom.assay.preference.metrics`; this module runs each
item through :class:`~synthloom.assay.options.Sections` (one failing item never fails the
report), gathers the flags, and hands the report the arrays its plots need.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from synthloom.assay import diversity
from synthloom.assay.options import AssayOptions, Sections
from synthloom.assay.preference.metrics import (
    answer_checks,
    distinct_prompts,
    format_preference,
    length_bias,
    margins,
    prompt_counts,
    side_by_side_similarity,
)
from synthloom.assay.preference.pairs import PreferenceSet, answer_text
from synthloom.embed import embed_pair
from synthloom.text import tokenize

__all__ = ["assay_preference", "preference_flags"]


def preference_flags(side: dict[str, Any]) -> list[dict[str, str]]:
    """The findings of one side's numbers, each ``{name, message}``, in the report's order."""
    flags: list[dict[str, str]] = []

    def add(name: str, message: str) -> None:
        flags.append({"name": name, "message": message})

    length = side.get("length") or {}
    if length.get("flagged"):
        add(
            "length_bias",
            f"the chosen answer is the longer one in {length['chosen_longer_share']:.0%} of the "
            f"pairs of different length ({length['chosen_longer']} of "
            f"{length['chosen_longer'] + length['rejected_longer']}); DPO on them learns verbosity",
        )
    margin = side.get("margins") or {}
    if margin.get("flagged"):
        add(
            "low_margins",
            f"{margin['low']} of {margin['pairs_with_margin']} pairs have a reward margin below "
            f"{margin['low_threshold']:.4g} ({margin['ties']} ties, {margin['inverted']} "
            "inverted): the reward model could hardly tell their answers apart",
        )
    similarity = side.get("similarity") or {}
    if similarity.get("flagged"):
        add(
            "near_identical_pairs",
            f"{similarity['near_identical']} pairs have near-identical answers "
            f"({similarity['identical']} identical): they teach nothing",
        )
    answers = side.get("answers") or {}
    if answers.get("empty_flagged"):
        add(
            "empty_answers",
            f"{answers['pairs_with_empty']} pairs have an empty answer ({answers['chosen_empty']} "
            f"chosen, {answers['rejected_empty']} rejected)",
        )
    if answers.get("refusal_flagged"):
        add(
            "refusals",
            f"{answers['pairs_with_refusal']} pairs have a refusal ({answers['chosen_refusal']} "
            f"chosen, {answers['rejected_refusal']} rejected)",
        )
    for marker, numbers in (side.get("format_markers") or {}).items():
        if numbers.get("flagged"):
            discordant = numbers["chosen_only"] + numbers["rejected_only"]
            add(
                f"format_bias.{marker}",
                f"{marker.replace('_', ' ')}: where only one answer has one, it is the chosen "
                f"answer in {numbers['chosen_only_share']:.0%} of {discordant} pairs",
            )
    prompts = side.get("prompts") or {}
    if prompts.get("flagged"):
        add(
            "duplicated_prompts",
            f"{prompts['duplicated']} prompt(s) come back, carrying "
            f"{prompts['pairs_on_duplicated']} of {prompts['pairs']} pairs "
            f"(at most {prompts['pairs_per_prompt_max']} on one prompt)",
        )
    return flags


def _side(
    data: PreferenceSet,
    name: str,
    options: AssayOptions,
    sections: Sections,
    prompt_vectors: np.ndarray | None,
    plots: dict[str, Any],
) -> dict[str, Any]:
    pairs = data.pairs
    chosen = [answer_text(p.chosen) for p in pairs]
    rejected = [answer_text(p.rejected) for p in pairs]
    chosen_lengths = [len(tokenize(t)) for t in chosen]
    rejected_lengths = [len(tokenize(t)) for t in rejected]

    def item(key: str, fn: Callable[[], Any]) -> Any:
        return sections.run(f"preference.{name}.{key}", fn)

    side: dict[str, Any] = {
        "pairs": len(pairs),
        "format": data.format,
        "score_field": data.score_field,
    }
    side["length"] = item(
        "length",
        lambda: length_bias(chosen_lengths, rejected_lengths),
    )
    side["margins"] = item("margins", lambda: margins(pairs))
    similarity = item(
        "similarity", lambda: side_by_side_similarity(chosen, rejected, [p.where for p in pairs])
    )
    if similarity is not None:
        plots["jaccard"] = similarity.pop("jaccard_values")
    side["similarity"] = similarity
    side["answers"] = item("answers", lambda: answer_checks(chosen, rejected))
    side["format_markers"] = item("format_markers", lambda: format_preference(chosen, rejected))
    prompts = item("prompts", lambda: prompt_counts(pairs))
    if prompts is not None:
        plots["per_prompt"] = prompts.pop("per_prompt_counts")
        # Over distinct prompts: repeats are counted above, and must not count twice.
        prompts["diversity"] = item(
            "prompts.diversity",
            lambda: diversity.diversity(
                distinct_prompts(pairs),
                prompt_vectors,
                seed=options.seed,
                sample_size=options.sample_size,
            ),
        )
    side["prompts"] = prompts
    plots["log2_ratio"] = np.log2(
        (np.asarray(chosen_lengths, dtype=np.float64) + 1)
        / (np.asarray(rejected_lengths, dtype=np.float64) + 1)
    )
    plots["margins"] = np.asarray([p.margin for p in pairs if p.margin is not None])
    side["flags"] = preference_flags(side)
    side["flag_count"] = len(side["flags"])
    return side


def assay_preference(
    synthetic: PreferenceSet,
    reference: PreferenceSet | None,
    options: AssayOptions,
    sections: Sections,
    out: Path,
    extras: dict[str, Any],
) -> dict[str, Any]:
    """``{"preference": {"synthetic": ..., "reference": ... or None}}``; ``extras`` gets the
    arrays the report plots (``preference_plots``) and the embedder used for prompt diversity."""
    distinct = {
        side: distinct_prompts(data.pairs)
        for side, data in (("synthetic", synthetic), ("reference", reference))
        if data is not None
    }
    vectors: dict[str, np.ndarray | None] = {"synthetic": None, "reference": None}
    embedded = sections.run(
        "preference.embeddings",
        lambda: embed_pair(
            distinct.get("reference", []),
            distinct["synthetic"],
            method=options.embedder,
            cache_dir=out / "cache",
        ),
    )
    if embedded is not None:
        vectors["reference"], vectors["synthetic"], extras["embedder"] = embedded
        if reference is None:
            vectors["reference"] = None
    plots: dict[str, dict[str, Any]] = {"synthetic": {}, "reference": {}}
    result: dict[str, Any] = {
        "synthetic": _side(
            synthetic, "synthetic", options, sections, vectors["synthetic"], plots["synthetic"]
        ),
        "reference": None,
    }
    if reference is not None:
        result["reference"] = _side(
            reference, "reference", options, sections, vectors["reference"], plots["reference"]
        )
    extras["preference_plots"] = plots
    return {"preference": result}
