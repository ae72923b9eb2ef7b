"""The assay's verdict: the problems its metrics show, worst first, one line each.

Every rule reads metrics.json (nothing else), compares one number with a threshold named
below, and yields a :class:`Finding` that says what is wrong, by how much, and which
metrics.json path holds the evidence. The thresholds are chosen so that two random halves of
one realistic dataset give no finding above ``info`` (tests/assay/test_findings.py checks it):
shifts must exceed what sampling noise gives at the data's size, and the rules that already
carry a support or noise rule (lost tails, rare n-grams, flagged groups) are taken as they are.

Severities: ``error`` (the data leaks what it must not: copies, personal data, private text),
``warning`` (the data is measurably unlike the reference), ``info`` (worth a look, not a
verdict: NER hits, a rare copy, an item that could not be computed).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = [
    "BIAS_MIN_GROUP_MENTIONS",
    "CLASSIFIER_AUC_MAX",
    "COPY_SHARE_ERROR",
    "DUPLICATE_EXCESS",
    "EMBEDDING_RECALL_MIN",
    "FIDELITY_OVERALL_MIN",
    "MEMBERSHIP_AUC_MAX",
    "MIN_HOLDOUT_FOR_MEMBERSHIP",
    "MIN_SHAPE_GAP",
    "SHIFT_ALPHA",
    "SHIFT_ERROR_GAP",
    "TVD_NOISE_FACTOR",
    "Finding",
    "Findings",
    "find_problems",
    "metric_at",
]

Severity = Literal["error", "warning", "info"]
_RANK: dict[str, int] = {"error": 0, "warning": 1, "info": 2}

#: A column's shape differs beyond noise when its KS statistic exceeds the two-sample critical
#: value at this significance level, c(a) * sqrt((n + m) / (n m)) with c(a) = sqrt(-ln(a/2) / 2)
#: (1.95 at 0.001): 0.19 for 200 values a side, 0.09 for 1,000.
SHIFT_ALPHA = 0.001
#: ...and a categorical column's TVD exceeds TVD_NOISE_FACTOR * sqrt((k - 1) (1/n + 1/m)) for k
#: reference categories: about three times the TVD two samples of one population show.
TVD_NOISE_FACTOR = 1.2
#: Below this KS or TVD no shift is reported, however large the samples (a 5% shift of a
#: million rows is significant and harmless).
MIN_SHAPE_GAP = 0.1
#: A shift this large is reported as an error, not a warning.
SHIFT_ERROR_GAP = 0.3
#: ``fidelity.overall`` below this is a warning.
FIDELITY_OVERALL_MIN = 0.8
#: A classifier telling the two sets apart with a cross-validated AUC above this (0.5 = chance).
CLASSIFIER_AUC_MAX = 0.75
#: Embedding recall below this: the synthetic set covers less of the reference's space.
EMBEDDING_RECALL_MIN = 0.5
#: Exact copies of reference records: an error from this share of the synthetic set up; fewer
#: are shown as info (two halves of one realistic population share 0.5-1% of their records:
#: short chat records repeat).
COPY_SHARE_ERROR = 0.05
#: Distance-based membership inference above this AUC, with at least this many held-out rows.
MEMBERSHIP_AUC_MAX = 0.6
MIN_HOLDOUT_FOR_MEMBERSHIP = 30
#: A flagged group (the bias module's own support and interval rules) is a warning only with at
#: least this many reference mentions; below, info: a group mentioned 8 times is under-shown
#: by chance in one fair split in a few.
BIAS_MIN_GROUP_MENTIONS = 10
#: Synthetic (near-)duplicate share above the reference's by more than this.
DUPLICATE_EXCESS = 0.05

# The pattern detectors had no false positive on half a million characters of clean prose
# (issue 13); NER and URLs do (capitalised nouns, documentation links), so those are info.
_SURE_PII = {
    "EMAIL": ("email", "emails"),
    "PHONE": ("phone", "phones"),
    "CREDIT_CARD": ("card number", "card numbers"),
    "IBAN": ("IBAN", "IBANs"),
    "US_SSN": ("SSN", "SSNs"),
    "IP_ADDRESS": ("IP address", "IP addresses"),
}
_UNSURE_PII = {
    "PERSON": ("name", "names"),
    "LOCATION": ("place", "places"),
    "URL": ("URL", "URLs"),
}
# Instruction features under the names a reader knows them by.
_FEATURE_LABELS = {
    "prompt_chars": "prompt length",
    "response_chars": "response length",
    "prompt_words": "prompt word count",
    "response_words": "response word count",
    "response_ttr": "response type-token ratio",
    "response_root_ttr": "response root type-token ratio",
    "turns": "number of turns",
    "has_system": "share with a system prompt",
}


@dataclass(frozen=True)
class Finding:
    """One problem: how bad, which rule, one line for a person, its number, its metrics path."""

    severity: Severity
    check: str
    message: str
    value: float | int | None
    where: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Findings:
    """The findings worst first, and how many checks were made to find them."""

    items: list[Finding]
    checks: int

    def counts(self) -> dict[str, int]:
        return {s: sum(f.severity == s for f in self.items) for s in _RANK}

    def to_metrics(self) -> dict[str, Any]:
        """What metrics.json holds: the list, and counts a gate can test
        (``finding_counts.error == 0``)."""
        return {
            "findings": [f.as_dict() for f in self.items],
            "finding_counts": {**self.counts(), "checks": self.checks},
        }

    def headline(self) -> str:
        """One line for a reader: what was found, or that nothing was."""
        if not self.items:
            return f"no problem found by {self.checks} checks"
        counts = self.counts()
        parts = [f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n]
        return f"{', '.join(parts)} found by {self.checks} checks"


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if math.isnan(value) else float(value)


def _plural(n: int, names: tuple[str, str]) -> str:
    return f"{n} {names[0] if n == 1 else names[1]}"


class _Checker:
    """Collects findings and counts each comparison made, found or not."""

    def __init__(self) -> None:
        self.items: list[Finding] = []
        self.checks = 0

    def check(self, found: bool, finding: Finding | None = None) -> None:
        self.checks += 1
        if found and finding is not None:
            self.items.append(finding)


def _shift_bound(kind: str, real: Mapping[str, Any], synthetic: Mapping[str, Any]) -> float | None:
    n, m = _num(real.get("count")), _num(synthetic.get("count"))
    if not n or not m:
        return None
    if kind in ("numerical", "datetime"):
        c_alpha = math.sqrt(-math.log(SHIFT_ALPHA / 2) / 2)
        return c_alpha * math.sqrt((n + m) / (n * m))
    categories = _num(real.get("distinct")) or 2.0
    return TVD_NOISE_FACTOR * math.sqrt(max(categories - 1, 1) * (1 / n + 1 / m))


def _shift_detail(kind: str, real: Mapping[str, Any], synthetic: Mapping[str, Any]) -> str:
    if kind == "numerical":
        a, b = _num(real.get("mean")), _num(synthetic.get("mean"))
        if a is not None and b is not None:
            return f", mean {a:.4g} → {b:.4g}"
    return ""


def _fidelity(metrics: Mapping[str, Any], out: _Checker) -> None:
    fidelity = metrics.get("fidelity") or {}
    summary = fidelity.get("summary") or {}
    shifts: list[Finding] = []
    for column, item in (fidelity.get("columns") or {}).items():
        score = _num(item.get("score"))
        sides = summary.get(column) or {}
        if score is None or not sides.get("real") or not sides.get("synthetic"):
            continue
        kind = str(item.get("kind"))
        gap = 1.0 - score
        bound = _shift_bound(kind, sides["real"], sides["synthetic"])
        if bound is None:
            continue
        stat = "KS" if kind in ("numerical", "datetime") else "TVD"
        label = _FEATURE_LABELS.get(column, column)
        named = f" ({column})" if label != column else ""
        out.checks += 1
        if gap >= MIN_SHAPE_GAP and gap > bound:
            detail = _shift_detail(kind, sides["real"], sides["synthetic"])
            shifts.append(
                Finding(
                    "error" if gap >= SHIFT_ERROR_GAP else "warning",
                    "fidelity.column_shift",
                    f"{label}{named} shifted: {stat} {gap:.2f} (noise level {bound:.2f}{detail})",
                    round(gap, 4),
                    f"fidelity.columns.{column}",
                )
            )
    out.items.extend(sorted(shifts, key=lambda f: -(f.value or 0)))


@dataclass(frozen=True)
class _Limit:
    """A warning when the number at ``path`` is above (or below) ``limit``, judged only where
    the number at ``support`` reaches its minimum."""

    check: str
    path: str
    limit: float
    above: bool
    message: str  # formatted with value and limit
    support: tuple[str, float] | None = None


_LIMITS = (
    _Limit(
        "fidelity.overall",
        "fidelity.overall",
        FIDELITY_OVERALL_MIN,
        False,
        "overall fidelity {value:.2f} (below {limit})",
    ),
    _Limit(
        "fidelity.classifier_auc",
        "fidelity.embedding.classifier_auc",
        CLASSIFIER_AUC_MAX,
        True,
        "a classifier tells synthetic from reference: AUC {value:.2f} (0.5 = alike)",
    ),
    _Limit(
        "fidelity.embedding_recall",
        "fidelity.embedding.recall",
        EMBEDDING_RECALL_MIN,
        False,
        "synthetic texts cover {value:.0%} of the reference's embedding space (recall)",
    ),
    _Limit(
        "privacy.membership_inference",
        "privacy.membership_inference_auc",
        MEMBERSHIP_AUC_MAX,
        True,
        "training rows are identifiable from the synthetic rows: membership AUC {value:.2f}",
        ("privacy.dcr.n_holdout", MIN_HOLDOUT_FOR_MEMBERSHIP),
    ),
)


def metric_at(metrics: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted metrics.json path (None where any part is missing)."""
    node: Any = metrics
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _limits(metrics: Mapping[str, Any], out: _Checker) -> None:
    for rule in _LIMITS:
        value = _num(metric_at(metrics, rule.path))
        if value is None:
            continue
        if rule.support is not None:
            support = _num(metric_at(metrics, rule.support[0]))
            if support is None or support < rule.support[1]:
                continue
        out.check(
            value > rule.limit if rule.above else value < rule.limit,
            Finding(
                "warning",
                rule.check,
                rule.message.format(value=value, limit=rule.limit),
                value,
                rule.path,
            ),
        )


def _copies(privacy: Mapping[str, Any], out: _Checker) -> None:
    copies = privacy.get("exact_copies") or {}
    count, share = _num(copies.get("count")), _num(copies.get("share"))
    if count is None or share is None:
        return
    named = [str(c.get("synthetic")) for c in copies.get("copies") or []]
    which = ", ".join(named[:3]) + (", …" if count > 3 else "")
    what = "record is an exact copy" if count == 1 else "records are exact copies"
    out.check(
        count > 0,
        Finding(
            "error" if share >= COPY_SHARE_ERROR else "info",
            "privacy.exact_copies",
            f"{int(count)} synthetic {what} of the reference ({share:.1%}): {which}",
            int(count),
            "privacy.exact_copies",
        ),
    )


def _verbatim(privacy: Mapping[str, Any], out: _Checker) -> None:
    verbatim = privacy.get("verbatim") or {}
    records = _num(verbatim.get("records_sharing_span"))
    if records is None:
        return
    longest = int(_num(verbatim.get("longest_shared_span")) or 0)
    source = (verbatim.get("longest_example") or {}).get("private") or "a private source"
    out.check(
        records > 0,
        Finding(
            "error",
            "privacy.verbatim",
            f"a {longest}-character passage copied from {source} ("
            + _plural(int(records), ("synthetic record shares", "synthetic records share"))
            + f" {verbatim.get('span')}+ characters with private sources)",
            longest,
            "privacy.verbatim",
        ),
    )


def _pii(privacy: Mapping[str, Any], out: _Checker) -> None:
    pii = privacy.get("pii") or {}
    by_type = pii.get("by_type") or {}
    if not by_type:
        return
    examples: list[dict[str, Any]] = pii.get("examples") or []
    first = examples[0].get("location") if examples else None
    where = f" (first: {first})" if first else ""
    rules: tuple[tuple[dict[str, tuple[str, str]], Severity, str], ...] = (
        (_SURE_PII, "error", "privacy.pii"),
        (_UNSURE_PII, "info", "privacy.pii_ner"),
    )
    for types, severity, check in rules:
        found = {t: int(by_type.get(t) or 0) for t in types if t in by_type}
        if not found:
            continue
        total = sum(found.values())
        listed = ", ".join(_plural(n, types[t]) for t, n in found.items() if n)
        note = "; check the examples, NER and URLs are not always personal data"
        out.check(
            total > 0,
            Finding(
                severity,
                check,
                f"{listed} in the synthetic data{where}"
                + (note if check == "privacy.pii_ner" else ""),
                total,
                "privacy.pii",
            ),
        )


def _tails(metrics: Mapping[str, Any], out: _Checker) -> None:
    tails = metrics.get("tails") or {}
    numeric = (tails.get("numeric") or {}).get("columns") or {}
    for column, item in numeric.items():
        for side, beyond in (("lower", "below"), ("upper", "above")):
            if f"{side}_lost" not in item:
                continue
            cut = item.get(f"{side}_cut")
            shown = f"{cut:.4g}" if isinstance(cut, float) else str(cut)
            label = _FEATURE_LABELS.get(column, column)
            out.check(
                bool(item.get(f"{side}_lost")),
                Finding(
                    "warning",
                    "tails.numeric",
                    f"{side} tail of {label} lost: {item.get(f'synthetic_{side}_share', 0):.1%}"
                    f" of synthetic values {beyond} {shown} (reference "
                    f"{item.get(f'reference_{side}_share', 0):.1%})",
                    _num(item.get(f"{side}_coverage")),
                    f"tails.numeric.columns.{column}",
                ),
            )
    ngrams = tails.get("ngrams") or {}
    coverage = _num(ngrams.get("coverage"))
    if coverage is not None and "lost" in ngrams:
        expected = _num(ngrams.get("expected_coverage"))
        fair = f" (a fair sample of this size: {expected:.0%})" if expected is not None else ""
        out.check(
            bool(ngrams.get("lost")),
            Finding(
                "warning",
                "tails.ngrams",
                f"rare n-grams lost: {coverage:.0%} kept{fair}",
                coverage,
                "tails.ngrams.coverage",
            ),
        )


def _bias(metrics: Mapping[str, Any], out: _Checker) -> None:
    bias = metrics.get("bias") or {}
    judged = [a for a in (bias.get("axes") or {}).values() if a.get("supported")]
    judged += [s for s in (bias.get("sensitive") or {}).values() if s.get("supported")]
    out.checks += len(judged)
    for group in bias.get("flagged") or []:
        axis = group.get("axis") or group.get("column")
        source = (bias.get("axes") or bias.get("sensitive") or {}).get(axis) or {}
        ref = _num(group.get("reference_share"))
        syn = _num(group.get("synthetic_share"))
        if ref is None:
            ref = _num((source.get("reference_share") or {}).get(group.get("group")))
            syn = _num((source.get("synthetic_share") or {}).get(group.get("group")))
        shares = f": {ref:.1%} → {syn:.1%}" if ref is not None and syn is not None else ""
        kind = "bias.axes" if group.get("axis") else "bias.sensitive"
        # Tables count rows per category, instruction data mentions per group.
        counts = source.get("reference") or {}
        mentions = _num(counts.get(group.get("group")))
        if mentions is None and ref is not None:
            mentions = ref * (_num((source.get("mentions") or {}).get("reference")) or 0)
        sure = mentions is not None and mentions >= BIAS_MIN_GROUP_MENTIONS
        out.items.append(
            Finding(
                "warning" if sure else "info",
                "bias.group",
                f"{group.get('group')} ({axis}) under-represented{shares}"
                + ("" if sure else f" (only {mentions or 0:.0f} reference mentions)"),
                syn,
                f"{kind}.{axis}",
            )
        )


def _diversity(metrics: Mapping[str, Any], out: _Checker) -> None:
    diversity = metrics.get("diversity") or {}
    syn, ref = diversity.get("synthetic") or {}, diversity.get("reference") or {}
    for key, label in (
        ("near_duplicate_rate", "near-duplicate"),
        ("duplicate_row_share", "duplicate-row"),
    ):
        s, r = _num(syn.get(key)), _num(ref.get(key))
        if s is None or r is None:
            continue
        out.check(
            s - r > DUPLICATE_EXCESS,
            Finding(
                "warning",
                f"diversity.{key}",
                f"{label} share {s:.1%} in the synthetic data (reference {r:.1%})",
                s,
                f"diversity.synthetic.{key}",
            ),
        )


def _preference(metrics: Mapping[str, Any], out: _Checker) -> None:
    """Preference data: each flag the preference assay raised on the synthetic side (its own
    documented rules: binomial test and effect size, shares of low margins, near-identical
    pairs, refusals) is a warning; the reference side's flags are context on its page."""
    side = (metrics.get("preference") or {}).get("synthetic")
    if not side:
        return
    flags = side.get("flags") or []
    out.check(False)  # the side was checked even when it raised nothing
    for flag in flags:
        out.check(
            True,
            Finding(
                "warning",
                f"preference.{flag['name']}",
                str(flag["message"]),
                None,
                "preference.synthetic.flags",
            ),
        )


def _errors(metrics: Mapping[str, Any]) -> Iterator[Finding]:
    for item, message in (metrics.get("errors") or {}).items():
        yield Finding("info", "not_computed", f"{item} not computed: {message}", None, item)


def find_problems(metrics: Mapping[str, Any]) -> Findings:
    """The findings of one assay's metrics (as metrics.json holds them), worst first."""
    out = _Checker()
    privacy = metrics.get("privacy") or {}
    _copies(privacy, out)
    _verbatim(privacy, out)
    _pii(privacy, out)
    _fidelity(metrics, out)
    _limits(metrics, out)
    _tails(metrics, out)
    _bias(metrics, out)
    _diversity(metrics, out)
    _preference(metrics, out)
    out.items.extend(_errors(metrics))
    # Stable: within a severity the rules keep their order (leaks, then fidelity, tails, bias).
    ranked = sorted(out.items, key=lambda f: _RANK[f.severity])
    return Findings(ranked, out.checks)
