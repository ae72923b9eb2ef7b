"""The numeric paths an assay's metrics.json can hold, known before anything is computed.

A gate rule naming a path outside this schema is a configuration error found right after the
datasets are read, not after a long assay. Paths are patterns: ``<column>`` stands for one of
the compared columns (a table's columns; for instruction data the per-record features and the
``meta.*`` fields both sides carry, whose names hold dots), ``<sensitive>`` for a ``--sensitive``
column, and ``*`` for a key that only the data decides (a PII type, a category, a lexicon axis
or group), which may hold dots too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = ["metric_path_patterns", "schema_matcher"]

_INTERVAL = "value|low|high|confidence|estimate"
_SUMMARY = "count|missing|distinct|mean|variance|min|q05|q25|median|q75|q95|max"
_COMMON = (
    "dataset.synthetic.rows",
    "dataset.reference.rows",
    "dataset.private_sources",
    "fidelity.overall",
    "fidelity.column_shapes",
    "fidelity.column_pair_trends",
    "fidelity.boundary_adherence",
    "fidelity.category_adherence",
    "fidelity.columns.<column>.(score|boundary_adherence|category_adherence)",
    f"fidelity.summary.<column>.(real|synthetic).({_SUMMARY})",
    "fidelity.summary.<column>.(real|synthetic).top.*",
    "privacy.exact_copies.(count|share)",
    "privacy.pii.(total|records_with_pii)",
    "privacy.pii.by_type.*",
    "privacy.pii.ner_dropped.total",
    "privacy.pii.ner_dropped.by_reason.*",
    "privacy.verbatim.(span|records_sharing_span|share|longest_shared_span)",
    "tails.numeric.columns.<column>.(lower_cut|upper_cut|reference_tail_share"
    "|synthetic_tail_share|coverage|lower_coverage|upper_coverage|reference_lower_share"
    "|reference_upper_share|synthetic_lower_share|synthetic_upper_share)",
    "tails.numeric.(mean_coverage|lower|upper)",
    "tails.categories.columns.<column>.(categories|rare_cutoff|rare_reference|covered|coverage)",
    "tails.categories.(mean_coverage|quantile)",
    "bias.max_tvd",
    "bias.rule.*",
    "seconds.*",
    "gate.passed",
    "finding_counts.(error|warning|info|checks)",
)
_TABLE = (
    "diversity.(synthetic|reference).duplicate_row_share",
    "privacy.dcr.*",
    "privacy.membership_inference_auc",
    "bias.sensitive.<sensitive>.tvd",
    "bias.sensitive.<sensitive>.mentions.(reference|synthetic)",
    "bias.sensitive.<sensitive>.(reference_share|synthetic_share).*",
)
_INSTRUCTION = (
    "dataset.embedder.(dim|max_tokens)",
    "fidelity.embedding.(frechet_distance|precision|recall|density|coverage|classifier_auc"
    "|k|n_real|n_synthetic)",
    "diversity.(synthetic|reference).(distinct_1|distinct_2|distinct_3|compression_ratio"
    "|self_bleu|near_duplicate_rate|vendi_score|n)",
    "bias.axes.*.tvd",
    "bias.axes.*.mentions.(reference|synthetic)",
    "bias.axes.*.(reference|synthetic|reference_share|synthetic_share).*",
    "bias.mean_score_by_group.*",
    "tails.ngrams.(n|quantile|rare_cutoff|rare_reference|covered|coverage|common_reference"
    "|common_covered|common_coverage|below_min_count|expected_coverage|min_reference_count)",
    "tails.clusters.(clusters|rare_reference_share|rare_synthetic_share|covered|coverage"
    "|min_ratio)",
    # Sampling (assay/sampling.py): what was sampled, and the interval beside each number.
    "sampling.(size|seed|resamples)",
    "sampling.(reference|synthetic).(rows|n)",
    "fidelity.embedding.(frechet_distance|precision|recall|density|coverage|classifier_auc)"
    f"_interval.({_INTERVAL}|n_real|n_synthetic)",
    f"diversity.(synthetic|reference).(self_bleu|vendi_score)_interval.({_INTERVAL}|n)",
    f"privacy.pii.(total|records_with_pii)_interval.({_INTERVAL}|n)",
    f"privacy.pii.by_type_interval.*.({_INTERVAL}|n)",
    f"privacy.pii.ner_dropped.total_interval.({_INTERVAL}|n)",
    f"privacy.pii.ner_dropped.by_reason_interval.*.({_INTERVAL}|n)",
    "privacy.pii.ner_sample.(records|of|messages)",
    "privacy.pii.ner_sample.by_type.*",
)


_PREF_SIDE = "preference.(synthetic|reference)"
_PREF_SUMMARY = "mean|std|min|q05|q25|median|q75|q95|max"
_PROPORTION = "share|ci_low|ci_high|p_value"
# A preference assay has no fidelity, privacy, bias or tail section: only the dataset sizes,
# its own numbers and the timings.
_PREFERENCE = (
    "dataset.synthetic.rows",
    "dataset.reference.rows",
    "seconds.*",
    "gate.passed",
    f"{_PREF_SIDE}.(pairs|flag_count)",
    f"{_PREF_SIDE}.length.(chosen_mean|rejected_mean|chosen_longer|rejected_longer|equal"
    f"|chosen_longer_({_PROPORTION}))",
    f"{_PREF_SIDE}.length.log2_ratio.({_PREF_SUMMARY})",
    f"{_PREF_SIDE}.margins.(pairs_with_margin|scale|low_threshold|low|low_share|ties|tie_share"
    f"|inverted|{_PREF_SUMMARY})",
    f"{_PREF_SIDE}.similarity.(identical|near_identical|near_identical_share)",
    f"{_PREF_SIDE}.similarity.jaccard.({_PREF_SUMMARY})",
    f"{_PREF_SIDE}.answers.(chosen_empty|rejected_empty|pairs_with_empty|chosen_refusal"
    "|rejected_refusal|refusal_chosen_only|refusal_rejected_only|pairs_with_refusal"
    "|empty_share|refusal_share)",
    f"{_PREF_SIDE}.format_markers.(bullet_list|numbered_list|code_block|header|bold|table)"
    f".(chosen_share|rejected_share|chosen_only|rejected_only|chosen_only_({_PROPORTION}))",
    f"{_PREF_SIDE}.prompts.(pairs|distinct|pairs_per_prompt_mean|pairs_per_prompt_max"
    "|duplicated|pairs_on_duplicated|duplicated_share)",
    f"{_PREF_SIDE}.prompts.diversity.(distinct_1|distinct_2|distinct_3|compression_ratio"
    "|self_bleu|near_duplicate_rate|vendi_score|n)",
)


def metric_path_patterns(kind: str) -> tuple[str, ...]:
    """The path patterns of one kind of assay ("table", "instruction" or "preference"), for
    messages and docs."""
    if kind == "preference":
        return _PREFERENCE
    return _COMMON + (_TABLE if kind == "table" else _INSTRUCTION)


def _alternatives(names: Iterable[str]) -> str:
    # Longest first, so that "meta.score" wins over a column named "meta".
    escaped = sorted((re.escape(n) for n in names), key=len, reverse=True)
    return "(?:" + "|".join(escaped) + ")" if escaped else "(?!)"


def schema_matcher(
    kind: str, columns: Sequence[str], sensitive: Sequence[str] = ()
) -> re.Pattern[str]:
    """One regular expression that matches exactly the numeric paths of this assay."""
    parts = []
    for pattern in metric_path_patterns(kind):
        text = re.escape(pattern)
        # re.escape turned the pattern syntax into literals; give it back its meaning.
        for escaped, plain in (("\\(", "(?:"), ("\\)", ")"), ("\\|", "|")):
            text = text.replace(escaped, plain)
        text = text.replace("<column>", _alternatives(columns))
        text = text.replace("<sensitive>", _alternatives(sensitive))
        text = text.replace("\\*", ".+")
        parts.append(text)
    return re.compile("^(?:" + "|".join(f"(?:{p})" for p in parts) + ")$")
