"""What ``synthloom complete`` does with its options: the run's configuration, the checks of
where it reads and writes, the call into :mod:`synthloom.engine`, and the summary line.

The library returns a run.json stage entry (a dict, unchanged for Python users);
:class:`CompleteSummary` is the part of it the command prints, read in one place.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from synthloom.cli.options import ExecutorFlags
from synthloom.cli.progress import complete_progress
from synthloom.engine import CompleteConfig
from synthloom.errors import InputError
from synthloom.llm.accounting import Accounting

__all__ = ["CompleteSummary", "ShardCounts", "complete_config", "run_complete"]

# Options whose CompleteConfig field has another name (the flags are documented as they are).
_RENAMED = {
    "price_prompt": "price_per_1k_prompt",
    "price_completion": "price_per_1k_completion",
}
# Options that are not part of the run's configuration.
_NOT_CONFIG = {"prompts", "out", "dry_run", "quiet", "no_cache", "stop", "api_key_env"}
_NOT_CONFIG |= set(ExecutorFlags.__dataclass_fields__)


def complete_config(options: Mapping[str, Any]) -> CompleteConfig:
    """The run's configuration from the command's options (by their parameter names)."""
    fields = {
        _RENAMED.get(name, name): value
        for name, value in options.items()
        if name not in _NOT_CONFIG
    }
    return CompleteConfig(
        **fields,
        stop=tuple(options.get("stop") or ()) or None,
        api_key_env=options.get("api_key_env") or None,
        use_cache=not options.get("no_cache", False),
    )


@dataclass(frozen=True)
class ShardCounts:
    """How a Ray run's shards went."""

    shards: int
    run: int
    skipped: int
    retried: int


@dataclass(frozen=True)
class CompleteSummary:
    """The numbers ``complete`` prints, from the stage entry the library returns."""

    records: int
    output: str
    accounting: Accounting
    #: Requests an earlier run of the same command already answered (local executor).
    skipped: int = 0
    #: Requests given up (the Ray executor counts them over its shards' markers).
    failures: int = 0
    cost: float | None = None
    outputs_reset: str | None = None
    shards: ShardCounts | None = None

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> CompleteSummary:
        on_ray = "shards_run" in entry
        acc = entry["accounting_total" if on_ray else "accounting"]
        accounting = Accounting.from_dict(acc)
        shards = None
        if on_ray:
            shards = ShardCounts(
                int(entry["shards"]),
                int(entry["shards_run"]),
                int(entry["shards_skipped"]),
                int(entry["shard_retries"]),
            )
        return cls(
            records=int(entry["records"]),
            output=str(entry["output"]),
            accounting=accounting,
            skipped=int(entry.get("skipped", 0)),
            failures=int(entry.get("failures", accounting.failures)),
            cost=acc.get("cost"),
            outputs_reset=entry.get("outputs_reset") or None,
            shards=shards,
        )

    @property
    def tokens(self) -> int:
        return self.accounting.prompt_tokens + self.accounting.completion_tokens

    def lines(self) -> list[str]:
        acc, out = self.accounting, []
        if self.shards is not None:
            s = self.shards
            return [
                f"synthloom complete (ray): {self.records} records in {self.output} "
                f"({s.shards} shards: {s.run} run, {s.skipped} already done, {s.retried} "
                f"retried; {acc.cache_hits} from cache, {self.failures} failed; "
                f"{acc.requests} requests, {self.tokens} tokens)"
            ]
        if self.outputs_reset:
            out.append(
                f"synthloom complete: outputs rebuilt ({self.outputs_reset}); stored answers "
                "to unchanged requests came from the cache"
            )
        cost = f", cost {self.cost:.4f}" if self.cost is not None else ""
        out.append(
            f"synthloom complete: {self.records} records in {self.output} "
            f"({acc.ok} new, {self.skipped} already done, {acc.cache_hits} from cache, "
            f"{acc.failures} failed, {acc.rejects} rejected; {acc.requests} requests, "
            f"{self.tokens} tokens{cost})"
        )
        return out


def _check_places(prompts: str, out: str, flags: ExecutorFlags, dry_run: bool) -> None:
    """Object-store locations only where the Ray executor reads or writes them."""
    from synthloom.engine.storage import check_output_dir, is_url

    if is_url(prompts) and (not flags.on_ray or dry_run):
        raise InputError(
            f"{prompts}: an object-store location needs --executor ray (the local executor "
            "and --dry-run read a path)",
            field="PROMPTS",
        )
    if is_url(out) and not flags.on_ray and not dry_run:
        raise InputError(
            f"{out}: an object-store location needs --executor ray (the local executor writes "
            "to a path)",
            field="--out",
        )
    if not dry_run:
        check_output_dir(out)


def _local_path(place: str) -> Path:
    return Path(place.removeprefix("file://"))


def run_complete(
    prompts: str,
    out: str,
    config: CompleteConfig,
    flags: ExecutorFlags,
    *,
    dry_run: bool = False,
    quiet: bool = False,
    echo: Callable[[str], None] = typer.echo,
) -> int:
    """Check, run (or only render, with ``dry_run``) and print the summary; the exit code."""
    _check_places(prompts, out, flags, dry_run)
    if dry_run:
        from synthloom.engine import dry_run as render

        echo(json.dumps(render(_local_path(prompts), config), indent=2, ensure_ascii=False))
        return 0
    if flags.on_ray:
        from synthloom.engine.ray_executor import RayOptions, complete_dataset_ray, quiet_ray

        quiet_ray(quiet)
        given: dict[str, Any] = {
            "address": flags.ray_address,
            "actors": flags.actors,
            "per_actor_in_flight": flags.per_actor_in_flight,
            "shard_size": flags.shard_size,
        }
        options = RayOptions(**{k: v for k, v in given.items() if v is not None})
        entry = complete_dataset_ray(prompts, out, config, options=options)
    else:
        from synthloom.engine import complete_dataset_sync

        with complete_progress(quiet) as on_progress:
            entry = complete_dataset_sync(
                _local_path(prompts), _local_path(out), config, on_progress=on_progress
            )
    for line in CompleteSummary.from_entry(entry).lines():
        echo(line)
    from synthloom.card import export_card

    export_card(_local_path(out) / config.stage)  # README.md: the dataset card of the data
    return 0
