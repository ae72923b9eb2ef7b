"""The card's text: a YAML header as the Hugging Face Hub's dataset card spec has it, and a
Markdown body with the provenance and the assay.

Header keys: ``license`` (a placeholder the user must fill: synthloom cannot know the terms of
the seeds, the documents or the teacher's outputs), ``language`` when known, ``task_categories``,
``tags``, ``annotations_creators`` / ``language_creators`` (machine-generated),
``size_categories`` (the Hub's buckets, from the record count) and ``configs`` with one
``train`` split per config, whose ``data_files`` are relative to the card.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import yaml

from synthloom.card.model import AssaySummary, DataConfig, Provenance, Step

__all__ = ["LICENSE_PLACEHOLDER", "MARKER", "render_card", "size_category"]

LICENSE_PLACEHOLDER = "unknown"
#: The last line of every card synthloom writes: how a rerun knows the file is its own.
MARKER = (
    "<!-- synthloom card: written by synthloom; rerunning replaces it, keeping license and "
    "language -->"
)

# The Hub's size buckets, as its dataset cards and search filters name them.
_BUCKETS = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
    (10_000_000_000, "1B<n<10B"),
    (100_000_000_000, "10B<n<100B"),
    (1_000_000_000_000, "100B<n<1T"),
)


def size_category(rows: int) -> str:
    """The Hub's ``size_categories`` bucket of ``rows`` records."""
    for limit, name in _BUCKETS:
        if rows < limit:
            return name
    return "n>1T"


def _cell(value: object) -> str:
    text = " ".join(str(value).split())
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _table(head: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _default_config(configs: Sequence[DataConfig]) -> str | None:
    if len(configs) == 1:
        return configs[0].name
    for config in configs:
        if config.kind == "sft":
            return config.name
    return configs[0].name if configs else None


def header(
    configs: Sequence[DataConfig],
    provenance: Sequence[Provenance],
    *,
    license_id: str | None,
    language: Sequence[str],
    pretty_name: str,
) -> str:
    """The YAML front matter, between ``---`` lines."""
    kinds = {c.kind for c in configs}
    tags = ["synthetic", "synthloom"]
    for prov in _all(provenance):
        tags += [t for t in prov.tags if t not in tags]
    if "preference" in kinds:
        tags += [t for t in ("preference", "dpo") if t not in tags]
    if "sft" in kinds:
        tags += [t for t in ("sft", "instruction-tuning") if t not in tags]
    default = _default_config(configs)
    meta: dict[str, object] = {
        "license": license_id or LICENSE_PLACEHOLDER,
        **({"language": list(language)} if language else {}),
        "pretty_name": pretty_name,
        "task_categories": ["text-generation"],
        "tags": tags,
        "annotations_creators": ["machine-generated"],
        "language_creators": ["machine-generated"],
        "size_categories": [size_category(sum(c.rows for c in configs))],
        "configs": [
            {
                "config_name": c.name,
                **({"default": True} if c.name == default and len(configs) > 1 else {}),
                "data_files": [{"split": "train", "path": c.pattern}],
            }
            for c in configs
        ],
    }
    text = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    if not license_id:
        # A comment the Hub ignores; the body says the same to readers of the rendered card.
        text = text.replace(
            f"license: {LICENSE_PLACEHOLDER}\n",
            f"license: {LICENSE_PLACEHOLDER}  # FILL IN: the license of this data (synthloom "
            "cannot know your seeds' and the teacher's terms)\n",
            1,
        )
    return f"---\n{text}---\n"


def _all(provenance: Sequence[Provenance]) -> list[Provenance]:
    out: list[Provenance] = []
    for prov in provenance:
        out.append(prov)
        out += _all(prov.upstream)
    return out


def _steps(steps: Sequence[Step]) -> list[str]:
    changed = any(s.changed for s in steps)
    head = ["step", "records in", "kept", "dropped", *(["changed"] if changed else []), "note"]
    rows = [
        [
            s.name,
            _count(s.records_in),
            _count(s.kept),
            _count(s.dropped),
            *([_count(s.changed)] if changed else []),
            s.note,
        ]
        for s in steps
    ]
    return _table(head, rows)


def _provenance(prov: Provenance, level: int) -> list[str]:
    mark = "#" * level
    lines = [f"{mark} {prov.recipe}", "", _cell(prov.summary) + ".", ""]
    facts = [
        ("status", prov.status),
        ("synthloom version", prov.synthloom_version),
        ("finished", prov.created),
    ]
    lines += [f"- {name}: {_cell(v)}" for name, v in facts if v]
    lines.append("")
    if prov.endpoints:
        lines += [f"{mark}# Models", ""]
        lines += _table(
            ["role", "model", "reached at"], [(e.role, e.model, e.where) for e in prov.endpoints]
        )
    if prov.sources:
        lines += [f"{mark}# Sources", ""]
        lines += _table(["source", "what"], prov.sources)
    if prov.settings:
        lines += [f"{mark}# Settings that change the data", ""]
        lines += _table(["setting", "value"], prov.settings)
    if prov.steps:
        lines += [f"{mark}# Steps", ""]
        lines += _steps(prov.steps)
    lines += [f"{mark}# Rejected, by reason", ""]
    if prov.rejects:
        lines += _table(
            ["stage: reason", "records"],
            prov.rejects.most_common(),
        )
    else:
        lines += ["Nothing was rejected.", ""]
    if prov.usage:
        lines += [f"{mark}# Requests", ""]
        lines += _table(["what", "count"], prov.usage)
    for upstream in prov.upstream:
        lines += [f"{mark}# Made from", ""]
        lines += _provenance(upstream, min(level + 2, 5))  # Markdown has six levels
    return lines


def _assay(assay: AssaySummary | None) -> list[str]:
    lines = ["## Assay", ""]
    if assay is None:
        return [
            *lines,
            "No assay was found for these files. Run `synthloom assay DATA --reference REAL "
            "--out DIR` and `synthloom card ... --assay DIR` to add its numbers here.",
            "",
        ]
    rows = (
        f"{assay.synthetic_rows} synthetic records against {assay.reference_rows} reference records"
    )
    lines += [f"From the assay in `{_cell(assay.folder)}` ({assay.kind or 'data'}: {rows}).", ""]
    if assay.note:
        lines += [f"**Note:** {_cell(assay.note)}.", ""]
    if assay.gate_passed is None:
        lines += ["Gate: none was given to this assay.", ""]
    else:
        lines += [f"**Gate: {'passed' if assay.gate_passed else 'NOT passed'}.**", ""]
        lines += _table(
            ["rule", "value", "met"],
            [(r, v, "yes" if ok else "no") for r, v, ok in assay.gate_rules],
        )
    lines += _table(["metric", "value"], assay.headline)
    return lines


def render_card(
    configs: Sequence[DataConfig],
    provenance: Sequence[Provenance],
    assay: AssaySummary | None,
    *,
    license_id: str | None,
    language: Sequence[str],
    pretty_name: str,
) -> str:
    """The whole card: YAML header, body, and the closing marker line."""
    lines = [
        header(
            configs, provenance, license_id=license_id, language=language, pretty_name=pretty_name
        )
    ]
    lines += [f"# {_cell(pretty_name)}", ""]
    made = ", ".join(p.recipe for p in provenance) or "unknown means (no run record was found)"
    lines += [
        "Synthetic data made with [synthloom](https://pypi.org/project/synthloom/): "
        f"{_cell(made)}.",
        "",
    ]
    if not license_id:
        lines += [
            "> **License: not set.** `license: unknown` in the header is a placeholder: replace it "
            "with the license of this data, which depends on your seeds and documents and on the "
            "terms of the teacher model's outputs (`synthloom card --license ID` sets it).",
            "",
        ]
    lines += ["## Contents", ""]
    lines += _table(
        ["config", "files", "records", "format"],
        [(c.name, c.pattern, _count(c.rows), _FORMATS[c.kind]) for c in configs],
    )
    default = _default_config(configs)
    named = "" if len(configs) == 1 else f', "{default}"'
    lines += [
        "```python",
        "from datasets import load_dataset",
        f'data = load_dataset("path/to/this/folder"{named}, split="train")',
        "```",
        "",
        "## How it was made",
        "",
    ]
    if not provenance:
        lines += [
            "No run record (run.json) was found beside these files, so how they were made is "
            "not described.",
            "",
        ]
    for prov in provenance:
        lines += _provenance(prov, 3)
    lines += _assay(assay)
    lines += [
        "## Limitations",
        "",
        "Every record was written by a model and may be wrong, biased or copied from its "
        "training data; the steps and the assay above say what was checked. Review the license "
        "terms of the teacher model before you publish or train on this data.",
        "",
        MARKER,
        "",
    ]
    return "\n".join(lines)


_FORMATS = {
    "sft": "chat messages (SFT)",
    "preference": "prompt / chosen / rejected (DPO)",
    "data": "records",
}
