"""``synthloom complete``: answer every prompt of a dataset with a teacher model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from synthloom.cli import app
from synthloom.cli.options import (
    non_negative_float,
    positive_float,
    positive_int,
    unit_interval,
)
from synthloom.llm.retry import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_REQUEST_TIME,
    DEFAULT_TIMEOUT,
)


def _progress_bar(quiet: bool) -> Any:
    """A rich progress bar on stderr (None in quiet mode)."""
    if quiet:
        return None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]complete"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "cached {task.fields[cached]} · failed {task.fields[failed]} · "
            "rejected {task.fields[rejected]} · {task.fields[rps]:.0f} req/s · "
            "{task.fields[tps]:.0f} tok/s"
        ),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )


def _complete_on_ray(
    prompts: str,
    out: str,
    config: Any,
    address: str | None,
    actors: int,
    per_actor_in_flight: int,
    shard_size: int,
) -> int:
    from synthloom.engine.ray_executor import RayOptions, complete_dataset_ray

    options = RayOptions(
        address=address,
        actors=actors,
        per_actor_in_flight=per_actor_in_flight,
        shard_size=shard_size,
    )
    entry = complete_dataset_ray(prompts, out, config, options=options)
    acc = entry["accounting_total"]
    print(
        f"synthloom complete (ray): {entry['records']} records in {entry['output']} "
        f"({entry['shards']} shards: {entry['shards_run']} run, {entry['shards_skipped']} "
        f"already done, {entry['shard_retries']} retried; {acc['cache_hits']} from cache, "
        f"{entry['failures']} failed; {acc['requests']} requests, {acc['total_tokens']} tokens)",
    )
    return 0


@app.command()
def complete(
    prompts: str = typer.Argument(
        ...,
        help="Prompts: JSONL, JSON or Parquet records of any shape (with --executor ray, "
        "also an fsspec URL such as s3://bucket/prompts.jsonl).",
    ),
    base_url: str = typer.Option(
        ..., "--base-url", help="OpenAI-compatible API root, e.g. http://localhost:8000/v1."
    ),
    model: str = typer.Option(..., "--model", help="Model name the server knows."),
    out: str = typer.Option(
        ...,
        "--out",
        "-o",
        help="Run directory (re-run the same command to resume); with --executor ray, also "
        "an object store through fsspec, such as s3://bucket/runs/x.",
    ),
    n: int = typer.Option(
        1, "--n", parser=positive_int(), metavar="INTEGER", help="Samples per prompt."
    ),
    max_in_flight: int = typer.Option(
        64,
        "--max-in-flight",
        parser=positive_int(),
        metavar="INTEGER",
        help="Most requests in flight at once.",
    ),
    temperature: float | None = typer.Option(
        None, "--temperature", parser=non_negative_float(), metavar="FLOAT"
    ),
    top_p: float | None = typer.Option(None, "--top-p", parser=unit_interval(), metavar="FLOAT"),
    max_tokens: int | None = typer.Option(
        None, "--max-tokens", parser=positive_int(), metavar="INTEGER"
    ),
    stop: list[str] = typer.Option([], "--stop", help="Stop sequence (repeatable)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed; sample k is sent seed + k."),
    json_mode: bool = typer.Option(False, "--json", help="Ask for JSON answers; reject non-JSON."),
    endpoint: str = typer.Option("chat", "--endpoint", help="chat | completions (legacy)."),
    backend: str = typer.Option(
        "http", "--backend", help="http (aiohttp) | openai (official client)."
    ),
    api_key_env: str = typer.Option(
        "OPENAI_API_KEY", "--api-key-env", help="Environment variable holding the API key."
    ),
    rpm: float | None = typer.Option(
        None,
        "--rpm",
        parser=positive_float(),
        metavar="FLOAT",
        help="Requests-per-minute limit (> 0; leave it out for no limit).",
    ),
    tpm: float | None = typer.Option(
        None,
        "--tpm",
        parser=positive_float(),
        metavar="FLOAT",
        help="Tokens-per-minute limit (> 0; leave it out for no limit).",
    ),
    connect_timeout: float = typer.Option(
        DEFAULT_CONNECT_TIMEOUT,
        "--connect-timeout",
        parser=positive_float(),
        metavar="FLOAT",
        help="Seconds to open a connection.",
    ),
    timeout: float = typer.Option(
        DEFAULT_TIMEOUT,
        "--timeout",
        parser=positive_float(),
        metavar="FLOAT",
        help="Seconds of silence before one send is given up.",
    ),
    max_request_time: float = typer.Option(
        DEFAULT_MAX_REQUEST_TIME,
        "--max-request-time",
        parser=positive_float(),
        metavar="FLOAT",
        help="Seconds one request may take, all sends and waits together.",
    ),
    max_attempts: int = typer.Option(
        6,
        "--max-attempts",
        parser=positive_int(),
        metavar="INTEGER",
        help="Sends per request before it fails.",
    ),
    retry_base_delay: float = typer.Option(
        0.5,
        "--retry-base-delay",
        parser=non_negative_float(),
        metavar="FLOAT",
        help="First backoff ceiling, s.",
    ),
    retry_max_delay: float = typer.Option(
        30.0,
        "--retry-max-delay",
        parser=non_negative_float(),
        metavar="FLOAT",
        help="Largest backoff, s.",
    ),
    max_parse_attempts: int = typer.Option(
        3,
        "--max-parse-attempts",
        parser=positive_int(),
        metavar="INTEGER",
        help="Answers per request before it is rejected.",
    ),
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Do not replay stored answers (still store new ones)."
    ),
    shard_rows: int = typer.Option(
        10_000,
        "--shard-rows",
        parser=positive_int(),
        metavar="INTEGER",
        help="Records per Parquet shard.",
    ),
    price_prompt: float | None = typer.Option(
        None,
        "--price-per-1k-prompt",
        parser=non_negative_float(),
        metavar="FLOAT",
        help="Price per 1k prompt tokens.",
    ),
    price_completion: float | None = typer.Option(
        None,
        "--price-per-1k-completion",
        parser=non_negative_float(),
        metavar="FLOAT",
        help="Price per 1k completion tokens.",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Render and count requests; call no model, write nothing."
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="No progress bar; print only the summary line."
    ),
    executor: str = typer.Option(
        "local", "--executor", help="local | ray (shards of --shard-rows records on actors)."
    ),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Ray cluster to join (default: RAY_ADDRESS, else local)."
    ),
    actors: int = typer.Option(
        2, "--actors", parser=positive_int(), metavar="INTEGER", help="Ray: teacher-client actors."
    ),
    per_actor_in_flight: int = typer.Option(
        16,
        "--per-actor-in-flight",
        parser=positive_int(),
        metavar="INTEGER",
        help="Ray: requests in flight per actor.",
    ),
    shard_size: int = typer.Option(
        1000,
        "--shard-size",
        parser=positive_int(),
        metavar="INTEGER",
        help="Ray: prompts per shard (the unit of retry and resume).",
    ),
) -> int:
    """Answer every prompt in PROMPTS with the teacher, N samples each, into OUT."""
    from synthloom.engine import CompleteConfig, complete_dataset_sync
    from synthloom.engine import dry_run as render
    from synthloom.errors import InputError

    if endpoint not in ("chat", "completions"):
        raise InputError("must be chat or completions", field="--endpoint")
    if backend not in ("http", "openai"):
        raise InputError("must be http or openai", field="--backend")
    config = CompleteConfig(
        model=model,
        base_url=base_url,
        n=n,
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        stop=tuple(stop) or None,
        seed=seed,
        json_mode=json_mode,
        endpoint=endpoint,  # type: ignore[arg-type]
        backend=backend,  # type: ignore[arg-type]
        api_key_env=api_key_env or None,
        max_in_flight=max_in_flight,
        requests_per_minute=rpm,
        tokens_per_minute=tpm,
        connect_timeout=connect_timeout,
        timeout=timeout,
        max_request_time=max_request_time,
        max_attempts=max_attempts,
        base_delay=retry_base_delay,
        max_delay=retry_max_delay,
        max_parse_attempts=max_parse_attempts,
        use_cache=not no_cache,
        shard_rows=shard_rows,
        price_per_1k_prompt=price_prompt,
        price_per_1k_completion=price_completion,
    )
    if executor not in ("local", "ray"):
        raise InputError("must be local or ray", field="--executor")
    from synthloom.engine.storage import is_url

    if is_url(prompts) and (executor != "ray" or dry_run):
        raise InputError(
            f"{prompts}: an object-store location needs --executor ray (the local executor "
            "and --dry-run read a path)",
            field="PROMPTS",
        )
    if is_url(out) and executor != "ray" and not dry_run:
        raise InputError(
            f"{out}: an object-store location needs --executor ray (the local executor writes "
            "to a path)",
            field="--out",
        )
    if not dry_run:
        from synthloom.engine.storage import check_output_dir

        check_output_dir(out)
    if dry_run:
        plan = render(Path(prompts.removeprefix("file://")), config)
        typer.echo(json.dumps(plan, indent=2, ensure_ascii=False))
        return 0
    if executor == "ray":
        from synthloom.engine.ray_executor import quiet_ray

        quiet_ray(quiet)
        return _complete_on_ray(
            prompts, out, config, ray_address, actors, per_actor_in_flight, shard_size
        )

    bar = _progress_bar(quiet)
    on_progress = None
    if bar is not None:
        task = bar.add_task(
            "complete", total=None, cached=0, failed=0, rejected=0, rps=0.0, tps=0.0
        )

        def on_progress(snap: dict[str, Any]) -> None:
            # Shown from the first report on, so that an input refused before the run
            # starts leaves only its one error line on the terminal.
            if not bar.live.is_started:
                bar.start()
            elapsed = max(snap["elapsed"], 1e-9)
            bar.update(
                task,
                total=snap["total"] or None,
                completed=snap["done"],
                cached=snap["cached"],
                failed=snap["failed"],
                rejected=snap["rejected"],
                rps=snap["requests"] / elapsed,
                tps=snap["tokens"] / elapsed,
            )

    try:
        entry = complete_dataset_sync(
            Path(prompts.removeprefix("file://")),
            Path(out.removeprefix("file://")),
            config,
            on_progress=on_progress,
        )
    finally:
        if bar is not None and bar.live.is_started:
            bar.stop()
    acc = entry["accounting"]
    cost = f", cost {acc['cost']:.4f}" if acc.get("cost") is not None else ""
    if entry.get("outputs_reset"):
        print(
            f"synthloom complete: outputs rebuilt ({entry['outputs_reset']}); stored answers "
            "to unchanged requests came from the cache"
        )
    print(
        f"synthloom complete: {entry['records']} records in {entry['output']} "
        f"({acc['ok']} new, {entry['skipped']} already done, {acc['cache_hits']} from cache, "
        f"{acc['failures']} failed, {acc['rejects']} rejected; {acc['requests']} requests, "
        f"{acc['total_tokens']} tokens{cost})",
    )
    return 0
