"""What ``complete`` does with its options: every option reaches the run's configuration, and
the summary it prints is read from what the library returns, as typed numbers."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakeserver import FakeServer
from synthloom.cli import app, main
from synthloom.cli.complete_job import CompleteSummary, complete_config
from synthloom.engine import CompleteConfig

# Fields of CompleteConfig no flag sets (a library caller's knobs).
NOT_FLAGS = {"flush_seconds", "stage"}


def _complete_params() -> dict[str, Any]:
    group: Any = typer.main.get_command(app)
    ctx = group.make_context("synthloom", [], resilient_parsing=True)
    command = group.get_command(ctx, "complete")
    return {p.name: p for p in command.params}


def _unusual(name: str, default: Any) -> Any:
    """A value for an option that no default has."""
    if name in ("endpoint",):
        return "completions"
    if name == "backend":
        return "openai"
    if isinstance(default, bool):
        return not default
    if name == "stop":
        return ["###"]
    if name in ("top_p",):
        return 0.37
    if isinstance(default, float) or name in ("temperature", "rpm", "tpm"):
        return 41.5
    if name.startswith("price"):
        return 0.25
    if isinstance(default, int) or name in ("max_tokens", "seed", "actors"):
        return 37
    return f"value-of-{name}"


def test_every_option_reaches_the_configuration() -> None:
    params = _complete_params()
    options = {name: _unusual(name, p.default) for name, p in params.items()}
    config = complete_config(options)
    default = CompleteConfig(model="m", base_url="u")
    unset = [
        f.name
        for f in dataclasses.fields(CompleteConfig)
        if f.name not in NOT_FLAGS and getattr(config, f.name) == getattr(default, f.name)
    ]
    assert unset == [], f"options that do not reach CompleteConfig: {unset}"
    assert config.rpm == 41.5 and config.retry_base_delay == 41.5
    assert config.stop == ("###",) and config.use_cache is (not options["no_cache"])
    assert config.api_key_env == "value-of-api_key_env"


def test_the_defaults_are_the_library_defaults() -> None:
    params = _complete_params()
    options = {name: p.default for name, p in params.items()}
    options.update(prompts="p.jsonl", base_url="http://x/v1", model="m", out="o")
    config = complete_config(options)
    assert config == CompleteConfig(model="m", base_url="http://x/v1")


@pytest.mark.parametrize("again", [False, True], ids=["first-run", "resumed"])
def test_the_summary_is_the_library_entry_read_as_numbers(
    again: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        "".join(
            json.dumps({"prompt": f"Tip number {i} for a tidy desk?"}) + "\n" for i in range(7)
        ),
        encoding="utf-8",
    )
    argv = ["complete", str(prompts), "--model", "m", "--out", str(tmp_path / "run"), "-q"]
    with FakeServer() as srv:
        runs = 2 if again else 1
        for _ in range(runs):
            capsys.readouterr()
            assert main([*argv, "--base-url", srv.url, "--n", "2"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    entry = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    stage = {**entry["stages"]["complete"], "output": str(tmp_path / "run" / "complete")}
    summary = CompleteSummary.from_entry(stage)
    assert summary.records == 14 and summary.shards is None
    assert summary.accounting.ok == stage["accounting"]["ok"] == (0 if again else 14)
    assert summary.skipped == (14 if again else 0)
    assert summary.accounting.requests == stage["accounting"]["requests"]
    assert summary.lines() == printed


def test_a_ray_entry_reads_its_shard_counts() -> None:
    entry = {
        "records": 2000,
        "output": "s3://bucket/runs/x/complete",
        "failures": 3,
        "shards": 4,
        "shards_run": 3,
        "shards_skipped": 1,
        "shard_retries": 2,
        "accounting_total": {"requests": 2100, "cache_hits": 40, "prompt_tokens": 900},
    }
    summary = CompleteSummary.from_entry(entry)
    assert summary.shards is not None and summary.shards.retried == 2
    assert summary.failures == 3 and summary.accounting.cache_hits == 40 and summary.tokens == 900
    (line,) = summary.lines()
    assert line.startswith("synthloom complete (ray): 2000 records in s3://bucket/runs/x/")
    assert "4 shards: 3 run, 1 already done, 2 retried; 40 from cache, 3 failed" in line
