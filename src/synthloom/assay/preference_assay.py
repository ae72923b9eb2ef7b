"""The assay of preference data: the same numbers for the synthetic set and, when a reference
(a human preference set) is given, for it, side by side under ``preference.*``.

The numbers themselves live in :mod:`synthloom.assay.preference.metrics`; this module runs each
item through :class:`~synthloom.assay.options.Sections` (one failing item never fails the
report), gathers the flags, and hands the report the arrays its plots need.

With ``--executor ray`` the per-pair phase (:mod:`synthloom.assay.preference.measures`: token
counts, chosen/rejected similarity, refusals and empty answers, format markers) runs as Ray
tasks over shards of pairs, and the MiniLM vectors of the distinct prompts as Ray tasks over
shards of prompts (as for instruction data); reading the pairs, the summaries, margins and the
prompt counts and diversity run here, on the driver. The numbers are the local run's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from synthloom.assay import diversity
from synthloom.assay.instruction_assay import embed_both
from synthloom.assay.options import AssayOptions, Sections
from synthloom.assay.preference.measures import PairMeasures, measure_pairs, measure_pairs_ray
from synthloom.assay.preference.metrics import (
    answer_checks,
    distinct_prompts,
    format_preference,
    length_bias,
    margins,
    prompt_counts,
    similarity_summary,
)
from synthloom.assay.preference.pairs import PreferenceSet, answer_text

__all__ = ["assay_preference", "preference_flags"]


# (flag name, section of the side's numbers, the boolean that raises it, its message: a format
# string over the section's numbers)
_FLAGS = (
    (
        "length_bias",
        "length",
        "flagged",
        "the chosen answer is the longer one in {chosen_longer_share:.0%} of the pairs of "
        "different length ({chosen_longer} chosen longer, {rejected_longer} rejected longer); "
        "DPO on them learns verbosity",
    ),
    (
        "low_margins",
        "margins",
        "flagged",
        "{low} of {pairs_with_margin} pairs have a reward margin below {low_threshold:.4g} "
        "({ties} ties, {inverted} inverted): the reward model could hardly tell their answers "
        "apart",
    ),
    (
        "near_identical_pairs",
        "similarity",
        "flagged",
        "{near_identical} pairs have near-identical answers ({identical} identical): they "
        "teach nothing",
    ),
    (
        "empty_answers",
        "answers",
        "empty_flagged",
        "{pairs_with_empty} pairs have an empty answer ({chosen_empty} chosen, "
        "{rejected_empty} rejected)",
    ),
    (
        "refusals",
        "answers",
        "refusal_flagged",
        "{pairs_with_refusal} pairs have a refusal ({chosen_refusal} chosen, "
        "{rejected_refusal} rejected)",
    ),
    (
        "duplicated_prompts",
        "prompts",
        "flagged",
        "{duplicated} prompt(s) come back, carrying {pairs_on_duplicated} of {pairs} pairs "
        "(at most {pairs_per_prompt_max} on one prompt)",
    ),
)
_MARKER_FLAG = (
    "{marker}: where only one answer has one, it is the chosen answer in "
    "{chosen_only_share:.0%} of the pairs ({chosen_only} chosen, {rejected_only} rejected)"
)


def preference_flags(side: dict[str, Any]) -> list[dict[str, str]]:
    """The findings of one side's numbers, each ``{name, message}``, in the report's order."""
    flags = [
        {"name": name, "message": message.format_map(side[section])}
        for name, section, key, message in _FLAGS
        if (side.get(section) or {}).get(key)
    ]
    for marker, numbers in (side.get("format_markers") or {}).items():
        if numbers.get("flagged"):
            text = _MARKER_FLAG.format_map({**numbers, "marker": marker.replace("_", " ")})
            flags.append({"name": f"format_bias.{marker}", "message": text})
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

    def item(key: str, fn: Callable[[], Any]) -> Any:
        return sections.run(f"preference.{name}.{key}", fn)

    answers = [(answer_text(p.chosen), answer_text(p.rejected)) for p in pairs]
    measure: Callable[[list[tuple[str, str]]], PairMeasures] = (
        measure_pairs_ray if options.executor == "ray" else measure_pairs
    )
    # The per-pair values every item below summarises; if they fail, each of those items is
    # null with the error in its own row, so the report's section says why.
    measures: PairMeasures | None = item("pair_measures", lambda: measure(answers))

    def of_pairs(key: str, fn: Callable[[PairMeasures], Any]) -> Any:
        def summarise() -> Any:
            if measures is None:
                failed = sections.errors.get(f"preference.{name}.pair_measures")
                raise RuntimeError(f"the per-pair values failed: {failed}")
            return fn(measures)

        return item(key, summarise)

    side: dict[str, Any] = {
        "pairs": len(pairs),
        "format": data.format,
        "score_field": data.score_field,
    }
    side["length"] = of_pairs(
        "length", lambda m: length_bias(m.chosen_tokens.tolist(), m.rejected_tokens.tolist())
    )
    side["margins"] = item("margins", lambda: margins(pairs))
    similarity = of_pairs(
        "similarity",
        lambda m: similarity_summary(m.jaccard, m.identical, m.edit, [p.where for p in pairs]),
    )
    if similarity is not None:
        plots["jaccard"] = similarity.pop("jaccard_values")
    side["similarity"] = similarity
    side["answers"] = of_pairs("answers", answer_checks)
    side["format_markers"] = of_pairs("format_markers", format_preference)
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
    plots["log2_ratio"] = measures.log2_ratio if measures is not None else np.empty(0)
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
        lambda: embed_both(
            distinct.get("reference", []), distinct["synthetic"], options, out / "cache"
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
