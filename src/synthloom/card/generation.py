"""Provenance of the generation runs: ``complete``, LAB ``generate`` and ``nemotron``, read
from their run.json entries and the audit files beside their data."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from synthloom.card.model import Endpoint, Provenance, Step
from synthloom.card.places import describe_endpoint, public_url, shown_path
from synthloom.card.settings import setting_rows, shown_value
from synthloom.card.sources import count_parquet_reasons, count_rejects, file_digest, git_state
from synthloom.engine.rejects import rejects_dir

__all__ = ["complete_provenance", "lab_provenance", "nemotron_provenance", "usage_rows"]

_API = {"chat": "chat completions API", "completions": "completions API (plain text)"}


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _model(value: Any) -> str:
    # A served model may be named by its folder (vLLM's default): never show the local path.
    return shown_value(value) if value else "not recorded"


def usage_rows(accounting: Mapping[str, Any] | None, label: str = "") -> list[tuple[str, str]]:
    """Requests, tokens and cache hits from a run.json accounting block."""
    if not isinstance(accounting, Mapping):
        return []
    prefix = f"{label} " if label else ""
    rows = [
        (f"{prefix}requests", str(accounting.get("requests", 0))),
        (
            f"{prefix}tokens (prompt / completion)",
            f"{accounting.get('prompt_tokens', 0)} / {accounting.get('completion_tokens', 0)}",
        ),
        (f"{prefix}answers from the cache", str(accounting.get("cache_hits", 0))),
    ]
    if accounting.get("cost") is not None:
        rows.append((f"{prefix}cost", f"{float(accounting['cost']):.4f}"))
    return rows


def _teacher(role: str, settings: Mapping[str, Any], api: str = "chat") -> Endpoint:
    where = describe_endpoint(settings.get("base_url"))
    return Endpoint(role, _model(settings.get("model")), f"{where}, {_API.get(api, api)}")


def _base(
    recipe: str, summary: str, run: Mapping[str, Any], entry: Mapping[str, Any]
) -> Provenance:
    return Provenance(
        recipe=recipe,
        summary=summary,
        status=entry.get("status"),
        synthloom_version=run.get("synthloom_version"),
        created=entry.get("finished_at") or entry.get("updated_at") or run.get("created_at"),
    )


#: The recipes whose config has a ``teacher:`` section: name, what they make, Hub tags.
_RECIPES = {
    "lab": (
        "LAB",
        "LAB (Large-scale Alignment for chatBots) synthetic data from a taxonomy of skills and "
        "knowledge (synthloom generate)",
        ("lab", "instructlab"),
    ),
    "nemotron": (
        "Nemotron-4",
        "Nemotron-4 340B style synthetic prompts, responses scored by a reward model, best-of-k "
        "SFT data and preference pairs (synthloom nemotron)",
        ("nemotron", "preference", "dpo"),
    ),
}


def _recipe(
    stage: str, run: Mapping[str, Any], entry: Mapping[str, Any]
) -> tuple[Provenance, Mapping[str, Any], Mapping[str, Any]]:
    """A recipe run's provenance with its teacher (a ``teacher:`` section of its config);
    also the config and that section."""
    config: Mapping[str, Any] = entry.get("config") or {}
    teacher: Mapping[str, Any] = config.get("teacher") or {}
    recipe, summary, tags = _RECIPES[stage]
    prov = _base(recipe, summary, run, entry)
    prov.tags = tags
    prov.endpoints.append(_teacher("teacher", teacher))
    return prov, config, teacher


def complete_provenance(
    run_dir: Path, stage: str, run: Mapping[str, Any], entry: Mapping[str, Any], inside: Path
) -> Provenance:
    """``synthloom complete``: a teacher's answers to a prompts file."""
    config: Mapping[str, Any] = entry.get("config") or {}
    prov = _base(
        "complete",
        "answers of a teacher model to a file of prompts (synthloom complete)",
        run,
        entry,
    )
    prov.tags = ("distillation",)
    prov.endpoints.append(_teacher("teacher", config, str(config.get("endpoint") or "chat")))
    # The client library (backend) changes no answer; the model shows in its own table.
    prov.settings = setting_rows(config, skip=frozenset({"backend"}), inside=inside)
    source = entry.get("input")
    if source:
        described = shown_path(str(source), inside)
        digest = file_digest(Path(str(source)))
        prov.sources.append(("prompts", described + (f" (sha256 {digest})" if digest else "")))
    samples = _int(config.get("n")) or 1
    total = _int(entry.get("items_total"))
    records = _int(entry.get("records"))
    acc = entry.get("accounting_total") or entry.get("accounting") or {}
    if total is not None:
        prov.steps.append(Step("prompts read", kept=total // samples))
    rejects = count_rejects(rejects_dir(run_dir, stage), stage=stage, prefix="rejected answer")
    failures = count_parquet_reasons(
        run_dir / "failures" / stage, "failed request", ("teacher", "failure")
    )
    prov.rejects = rejects + failures
    prov.steps.append(
        Step(
            f"answers ({samples} a prompt)",
            records_in=total,
            kept=records,
            dropped=sum(rejects.values()) + sum(failures.values()),
            note="rejected answers and failed requests are kept aside in rejects/ and "
            "failures/ of the run, not in the data",
        )
    )
    prov.usage = usage_rows(acc)
    return prov


def _leaf_documents(taxonomy: Path, leaves: list[str]) -> list[tuple[str, str]]:
    """The knowledge documents each chosen leaf names in its qna.yaml (repo and commit)."""
    rows = []
    for leaf in leaves:
        qna = taxonomy / leaf / "qna.yaml"
        try:
            data = yaml.safe_load(qna.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        document = data.get("document") if isinstance(data, dict) else None
        if not isinstance(document, dict):
            continue
        repo = str(document.get("repo") or "")
        shown = public_url(repo) or (shown_path(repo) if repo else "not named")
        commit = document.get("commit")
        patterns = document.get("patterns") or []
        text = f"{shown} at commit {commit}" if commit else f"{shown} (no commit pinned)"
        if patterns:
            text += " (" + ", ".join(str(p) for p in patterns) + ")"
        rows.append((f"documents of {leaf}", text))
    return rows


def _taxonomy_sources(taxonomy: str | None, leaves: list[str]) -> list[tuple[str, str]]:
    if not taxonomy:
        return []
    path = Path(taxonomy)
    state = git_state(path)
    if state is None:
        where = "not a git checkout" if path.is_dir() else "no longer found"
        described = f"{shown_path(taxonomy)} ({where}: no commit recorded)"
    else:
        described = f"{shown_path(taxonomy)} at git commit {state.commit}"
        if state.dirty:
            described += " with uncommitted changes"
        if state.remote:
            described += f" (origin {state.remote})"
        described += "; read when this card was written"
    rows = [("taxonomy", described)]
    if leaves:
        rows.append(("leaves", ", ".join(leaves)))
    return rows + _leaf_documents(path, leaves)


def lab_provenance(
    run_dir: Path, run: Mapping[str, Any], entry: Mapping[str, Any], inside: Path
) -> Provenance:
    """LAB ``synthloom generate``: taxonomy leaves, teacher, judges, phases and their mix."""
    prov, config, teacher = _recipe("lab", run, entry)
    judge = teacher.get("judge_model")
    prov.endpoints.append(
        Endpoint("judge", _model(judge or teacher.get("model")), prov.endpoints[0].where)
    )
    prov.settings = setting_rows(config, skip=frozenset({"teacher"}), inside=inside)
    leaves = [str(x) for x in entry.get("leaves_selected") or entry.get("leaves") or []]
    prov.sources = _taxonomy_sources(entry.get("taxonomy"), leaves)
    by_leaf: Mapping[str, Any] = entry.get("leaves") or {}
    fallback: Counter[str] = Counter()
    for name in sorted(by_leaf):
        info = by_leaf[name] if isinstance(by_leaf[name], Mapping) else {}
        chunks = info.get("chunks")
        prov.steps.append(
            Step(
                f"leaf {name} ({info.get('kind', '?')})",
                kept=_int(info.get("samples")),
                dropped=_int(info.get("rejects")),
                note=f"{chunks} document chunks" if chunks else "",
            )
        )
        for step, count in (info.get("rejects_by_step") or {}).items():
            fallback[str(step)] += int(count)
    # Each leaf's rejects, in this version's layout and the one before it.
    leaf_rejects = sorted(rejects_dir(run_dir, "lab").glob("*/")) + sorted(
        (run_dir / "lab" / "leaves").glob("*/rejects.jsonl")
    )
    prov.rejects = count_rejects(*leaf_rejects, stage="lab") if leaf_rejects else fallback
    for phase, count in sorted((entry.get("phases") or {}).items()):
        prov.steps.append(Step(f"phase {phase}", kept=_int(count)))
    outputs = ((entry.get("export") or {}).get("outputs")) or {}
    for name, info in sorted(outputs.items()):
        sources = ", ".join(
            f"{s.get('source')} {s.get('taken')}/{s.get('available')}"
            for s in info.get("sources") or []
        )
        prov.steps.append(
            Step(
                f"export {name}", kept=_int(info.get("records")), note=f"taken/available: {sources}"
            )
        )
    prov.usage = usage_rows(entry.get("accounting"))
    return prov


def nemotron_provenance(
    run_dir: Path, run: Mapping[str, Any], entry: Mapping[str, Any], inside: Path
) -> Provenance:
    """``synthloom nemotron``: prompts, k responses, reward scores, best-of-k and pairs."""
    prov, config, _ = _recipe("nemotron", run, entry)
    reward: Mapping[str, Any] = config.get("reward") or {}
    backend = str(reward.get("backend") or "nim")
    if backend == "local":
        where = "a local reward model (in process)"
    elif backend == "judge":
        where = f"the teacher as an LLM judge ({prov.endpoints[0].where})"
    else:
        where = f"{describe_endpoint(reward.get('base_url'))}, NIM reward API"
    reward_model = reward.get("model") or reward.get("path") or "not recorded"
    prov.endpoints.append(Endpoint("reward model", _model(reward_model), where))
    # The reward's address and key variable are left out like the teacher's; its backend,
    # model and weights change the data and stay.
    prov.settings = setting_rows(config, skip=frozenset({"teacher"}), inside=inside)
    base = Path(str(config.get("base_dir") or run_dir))
    families: Mapping[str, Any] = config.get("families") or {}
    for family, settings in sorted(families.items()):
        if not isinstance(settings, Mapping):
            if family == "prompts_file" and settings:
                _add_file(prov, "prompts file", base, str(settings))
            continue
        for document in settings.get("documents") or []:
            _add_file(prov, f"{family} document", base, str(document))
        if settings.get("topics_file"):
            _add_file(prov, f"{family} topics", base, str(settings["topics_file"]))
    counts: Mapping[str, Any] = entry.get("counts") or {}
    k = _int((config.get("responses") or {}).get("k"))
    prompts = _int(counts.get("prompts"))
    prov.steps += [
        Step("prompts generated", kept=prompts),
        Step(
            f"responses ({k} a prompt)" if k else "responses",
            records_in=prompts * k if prompts is not None and k else None,
            kept=_int(counts.get("responses")),
            dropped=_int(counts.get("response_failures")),
        ),
        Step(
            "reward scores",
            records_in=_int(counts.get("responses")),
            kept=_int(counts.get("scored")),
            dropped=_int(counts.get("reward_failures")),
        ),
        Step(
            "filter (reward thresholds, instruction constraints)",
            records_in=_int(counts.get("scored")),
            dropped=_int(counts.get("filtered")),
            note="responses that broke their instruction constraints: "
            f"{counts.get('constraint_failures', 0)}",
        ),
        Step("SFT: best response of each prompt", kept=_int(counts.get("sft"))),
        Step("preference pairs (best vs worst)", kept=_int(counts.get("pairs"))),
    ]
    prov.rejects = count_rejects(
        rejects_dir(run_dir, "nemotron"), run_dir / "prompts" / "rejects.jsonl", stage="nemotron"
    )
    if _int(counts.get("filtered")):
        prov.rejects["filter: below the reward thresholds or broke constraints"] += int(
            counts["filtered"]
        )
    for reason, count in sorted((counts.get("pair_skips") or {}).items()):
        prov.rejects[f"pairs: {str(reason).replace('_', ' ')}"] += int(count)
    prov.usage = usage_rows(entry.get("teacher_accounting"), "teacher") + usage_rows(
        entry.get("reward_accounting"), "reward"
    )
    return prov


def _add_file(prov: Provenance, label: str, base: Path, name: str) -> None:
    path = Path(name) if Path(name).is_absolute() else base / name
    digest = file_digest(path)
    prov.sources.append((label, shown_path(name) + (f" (sha256 {digest})" if digest else "")))
