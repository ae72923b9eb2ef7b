"""``synthloom complete``: answer every prompt of a dataset with a teacher model.

The options are the shared ones of :mod:`synthloom.cli.options` plus a few of its own; what
the command does with them is in :mod:`synthloom.cli.complete_job`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from synthloom.cli import app
from synthloom.cli.command import Command
from synthloom.cli.options import (
    ApiKeyEnv,
    Backend,
    BaseUrl,
    Choice,
    ConnectTimeout,
    ExecutorFlags,
    MaxAttempts,
    MaxInFlight,
    MaxRequestTime,
    MaxTokens,
    Model,
    Quiet,
    RetryBaseDelay,
    RetryMaxDelay,
    Rpm,
    RunOut,
    SampleSeed,
    Stop,
    Temperature,
    Timeout,
    TopP,
    Tpm,
    choice_option,
    executor_options,
    non_negative_float,
    number_option,
    positive_int,
)
from synthloom.llm.retry import DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_REQUEST_TIME, DEFAULT_TIMEOUT


def _price(flag: str, side: str) -> Any:
    help = f"Price per 1k {side} tokens, for the cost in the summary."
    return number_option(non_negative_float(), flag, help)


@app.command(cls=Command)
@executor_options("actors", "per_actor_in_flight", "shard_size")
def complete(
    ctx: typer.Context,
    prompts: Annotated[
        str,
        typer.Argument(
            help="Prompts: JSONL, JSON or Parquet records: chats ('messages'), or one prompt "
            "a record ('prompt', 'instruction' or 'text'); with --executor ray also an "
            "fsspec URL such as s3://bucket/prompts.jsonl.",
        ),
    ],
    base_url: BaseUrl,
    model: Model,
    out: RunOut,
    n: Annotated[int, number_option(positive_int(), "--n", "Samples per prompt.")] = 1,
    max_in_flight: MaxInFlight = 64,
    temperature: Temperature = None,
    top_p: TopP = None,
    max_tokens: MaxTokens = None,
    stop: Stop = None,
    seed: SampleSeed = None,
    json_mode: Annotated[
        bool, typer.Option("--json", help="Ask for JSON answers; reject non-JSON.")
    ] = False,
    endpoint: Annotated[
        str,
        choice_option(
            "--endpoint",
            Choice("chat", "completions"),
            "API: chat (chat completions) or completions (the legacy text API).",
        ),
    ] = "chat",
    backend: Backend = "http",
    api_key_env: ApiKeyEnv = "OPENAI_API_KEY",
    rpm: Rpm = None,
    tpm: Tpm = None,
    connect_timeout: ConnectTimeout = DEFAULT_CONNECT_TIMEOUT,
    timeout: Timeout = DEFAULT_TIMEOUT,
    max_request_time: MaxRequestTime = DEFAULT_MAX_REQUEST_TIME,
    max_attempts: MaxAttempts = 6,
    retry_base_delay: RetryBaseDelay = 0.5,
    retry_max_delay: RetryMaxDelay = 30.0,
    max_parse_attempts: Annotated[
        int,
        number_option(
            positive_int(), "--max-parse-attempts", "Answers per request before it is rejected."
        ),
    ] = 3,
    no_cache: Annotated[
        bool,
        typer.Option("--no-cache", help="Do not replay stored answers (still store new ones)."),
    ] = False,
    shard_rows: Annotated[
        int,
        number_option(positive_int(), "--shard-rows", "Records per Parquet file of the output."),
    ] = 10_000,
    price_prompt: Annotated[float | None, _price("--price-per-1k-prompt", "prompt")] = None,
    price_completion: Annotated[
        float | None, _price("--price-per-1k-completion", "completion")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Render and count requests; call no model, write nothing."),
    ] = False,
    quiet: Quiet = False,
    flags: ExecutorFlags = ExecutorFlags(),
) -> int:
    """Answer every prompt in PROMPTS with a teacher model.

    N samples a prompt into the run directory OUT; run the same command again to resume.
    On --executor ray the prompts are cut into shards answered on an actor pool."""
    from synthloom.cli.complete_job import complete_config, run_complete

    config = complete_config(ctx.params)  # every option above, by its parameter name
    return run_complete(prompts, out, config, flags, dry_run=dry_run, quiet=quiet)
