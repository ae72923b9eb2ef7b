"""The mixing recipe: final training files as messages JSONL from phase datasets, leaf
datasets, replayed seed examples and real data the user supplies.

Each output file draws ``count`` records (or ``ratio`` x the source's size; more than the source
holds repeats it whole and samples the rest) from each of its sources with a seeded RNG, adds the
optional system prompt, shuffles, and writes ``{"messages": [...]}`` lines (with ``tools`` for
tool-use records; turns keep their tool calls), the format trainers read (TRL, axolotl,
InstructLab training). Files are written under a temporary name and renamed.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from synthloom.atomic import clean_leftovers, publish_dir, staging_dir
from synthloom.errors import ConfigError
from synthloom.recipes.lab.config import MixConfig, MixSource
from synthloom.recipes.lab.recipes import with_context
from synthloom.records import read_records
from synthloom.taxonomy.load import load_taxonomy, require_valid
from synthloom.taxonomy.model import Issue

__all__ = ["PHASES", "dataset_path", "mix", "seed_records"]

PHASES = ("knowledge", "knowledge_distractors", "skills")


def dataset_path(run: Path, dataset: str) -> Path:
    """Where a phase (``skills``...) or a leaf (``compositional_skills/...``) dataset lives."""
    if dataset in PHASES:
        return run / "lab" / "phases" / f"{dataset}.parquet"
    return run / "lab" / "leaves" / dataset.strip("/").replace("/", "__") / "samples.parquet"


def seed_records(
    taxonomy: Path,
    leaves: str = "*",
    *,
    skip_invalid: bool = False,
    invalid: list[Issue] | None = None,
) -> Iterator[dict[str, Any]]:
    """The human seed examples of the leaves matching ``leaves`` (a glob) as records (context
    first when there is one). Only those leaves are read; an invalid one is a ConfigError, or
    with ``skip_invalid`` left out (its errors appended to ``invalid``)."""
    tax = load_taxonomy(taxonomy, check_documents=False, leaves=[leaves])
    if not skip_invalid:
        require_valid(tax)
    if invalid is not None:
        invalid.extend(tax.errors)
    for leaf in tax.leaves:
        for seed in leaf.seeds:
            yield {
                "messages": [
                    {"role": "user", "content": with_context(seed.context, seed.question)},
                    {"role": "assistant", "content": seed.answer},
                ],
                "meta": {"leaf": leaf.path, "kind": leaf.kind, "seed": True},
            }


def _load(
    source: MixSource,
    base: Path,
    run: Path | None,
    where: str,
    skip_invalid: bool,
    invalid: list[Issue],
) -> list[dict[str, Any]]:
    if source.dataset is not None:
        if source.run is None and run is None:
            raise ConfigError(
                "needs 'run' (the run directory) outside synthloom generate", path=where
            )
        root = base / source.run if source.run is not None else run
        assert root is not None
        path = dataset_path(root, source.dataset)
        if not path.exists():
            raise ConfigError(
                f"dataset {source.dataset!r} not found at {path}; run synthloom generate first "
                f"or use one of {', '.join(PHASES)} or a leaf path",
                path=where,
            )
        return list(read_records(path))
    if source.seeds is not None:
        return list(
            seed_records(
                base / source.seeds, source.leaves, skip_invalid=skip_invalid, invalid=invalid
            )
        )
    assert source.file is not None
    return list(read_records(base / source.file))


def _take(records: list[dict[str, Any]], n: int, rng: random.Random) -> list[dict[str, Any]]:
    if not records:
        return []
    whole, rest = divmod(n, len(records))
    return records * whole + rng.sample(records, rest)


def _describe(source: MixSource) -> str:
    if source.dataset is not None:
        return f"dataset:{source.dataset}" + (f"@{source.run}" if source.run else "")
    if source.seeds is not None:
        return f"seeds:{source.seeds}:{source.leaves}"
    return f"file:{source.file}"


def mix(
    config: MixConfig,
    out_dir: str | Path,
    *,
    base_dir: str | Path = ".",
    run: str | Path | None = None,
    source_name: str = "mix",
    skip_invalid: bool = False,
) -> dict[str, Any]:
    """Write one messages-JSONL file per output into ``out_dir``.

    Returns ``{"outputs": {name: {"path": str, "records": int, "sources": [{"source": str,
    "available": int, "taken": int}]}}, "invalid_leaves": [str]}``. Paths in the config are
    relative to ``base_dir``; ``run`` is the run directory used by sources that name no ``run``.
    Seed sources read only the leaves their glob names; with ``skip_invalid`` invalid ones are
    left out and listed in ``invalid_leaves`` (each once) instead of stopping the mix.
    """
    base = Path(base_dir)
    out = Path(out_dir)
    results = [f"{output.name}.jsonl" for output in config.outputs]
    clean_leftovers(out, results)
    # Every output is written into a staging folder and swapped in with the others at once.
    staging = staging_dir(out)
    try:
        summary = _write_outputs(config, base, out, staging, run, source_name, skip_invalid)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    publish_dir(staging, out, results)
    return summary


def _write_outputs(
    config: MixConfig,
    base: Path,
    out: Path,
    staging: Path,
    run: str | Path | None,
    source_name: str,
    skip_invalid: bool,
) -> dict[str, Any]:
    default_run = Path(run) if run is not None else None
    summary: dict[str, Any] = {"outputs": {}}
    invalid: list[Issue] = []
    for o_index, output in enumerate(config.outputs):
        rows: list[dict[str, Any]] = []
        sources = []
        for s_index, source in enumerate(output.sources):
            where = f"{source_name}, outputs[{o_index}].sources[{s_index}]"
            records = _load(source, base, default_run, where, skip_invalid, invalid)
            n = (
                source.count
                if source.count is not None
                else round((source.ratio or 0) * len(records))
            )
            rng = random.Random(f"{config.seed}|{output.name}|{s_index}")
            taken = _take(records, n, rng)
            sources.append(
                {"source": _describe(source), "available": len(records), "taken": len(taken)}
            )
            rows.extend(taken)
        if output.shuffle:
            random.Random(f"{config.seed}|{output.name}|shuffle").shuffle(rows)
        path = out / f"{output.name}.jsonl"
        with (staging / path.name).open("w", encoding="utf-8") as fh:
            for row in rows:
                messages = row["messages"]
                if config.system_prompt:
                    # The mix's system prompt replaces the record's own; without one, a
                    # record's system turn (ShareGPT's top-level system...) is kept.
                    messages = [
                        {"role": "system", "content": config.system_prompt},
                        *(m for m in messages if m["role"] != "system"),
                    ]
                line: dict[str, Any] = {"messages": messages}
                if row.get("tools"):
                    # Tool-use examples need their tool definitions, as trainers read them.
                    line["tools"] = row["tools"]
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")
        summary["outputs"][output.name] = {
            "path": str(path),
            "records": len(rows),
            "sources": sources,
        }
    summary["invalid_leaves"] = list(dict.fromkeys(str(issue) for issue in invalid))
    return summary
