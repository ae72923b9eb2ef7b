"""The settings of a ``complete`` run (:class:`CompleteConfig`) and the backend they name.

Only names of secrets are kept here: the API key is read from ``api_key_env`` when a backend is
made, and never stored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import InitVar, asdict, dataclass, fields
from typing import Any, Literal

from synthloom.errors import InputError
from synthloom.llm.backends import Backend, api_key_from_env
from synthloom.llm.retry import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_REQUEST_TIME,
    DEFAULT_TIMEOUT,
)
from synthloom.llm.settings import OLD_NAMES, TeacherSettings
from synthloom.llm.settings import make_backend as make_teacher_backend
from synthloom.llm.types import SamplingParams

__all__ = ["CompleteConfig", "ProgressCallback", "make_backend"]

#: Called about every ``progress_interval`` seconds with a snapshot (see ``_snapshot``).
ProgressCallback = Callable[[dict[str, Any]], None]


def _at_least(value: float | None, low: float) -> bool:
    """True for None or a finite number >= low (NaN and infinities are never a setting)."""
    return value is None or (math.isfinite(value) and value >= low)


def _positive_or_none(value: float | None) -> bool:
    return value is None or (math.isfinite(value) and value > 0)


@dataclass(frozen=True, kw_only=True)
class CompleteConfig:
    """Everything that defines a ``complete`` run. Only names of secrets are kept here.

    The teacher fields are those of ``synthloom.llm.settings.TeacherSettings``, under the same
    names (``rpm``, ``tpm``, ``retry_base_delay``, ``retry_max_delay``: the flags' names);
    ``teacher_settings()`` gives them as one, and the run's client is built from it by the
    shared factory. The older names (``requests_per_minute``, ``tokens_per_minute``,
    ``base_delay``, ``max_delay``) are still accepted as keyword arguments.
    ``max_in_flight`` is the most requests in flight of the run (on Ray each actor has
    ``per_actor_in_flight`` in its place).
    """

    model: str
    base_url: str
    n: int = 1
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] | None = None
    seed: int | None = None
    #: Ask for ``response_format={"type": "json_object"}`` and reject answers that are not JSON.
    json_mode: bool = False
    endpoint: Literal["chat", "completions"] = "chat"
    backend: Literal["http", "openai"] = "http"
    api_key_env: str | None = "OPENAI_API_KEY"
    max_in_flight: int = 64
    rpm: float | None = None
    tpm: float | None = None
    #: Seconds to open a connection / of silence while waiting for one answer (read timeout).
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    timeout: float = DEFAULT_TIMEOUT
    #: Seconds one request may take across all its sends and backoff waits (None: no limit).
    max_request_time: float | None = DEFAULT_MAX_REQUEST_TIME
    max_attempts: int = 6
    retry_base_delay: float = 0.5
    retry_max_delay: float = 30.0
    max_parse_attempts: int = 3
    use_cache: bool = True
    shard_rows: int = 10_000
    flush_seconds: float = 30.0
    price_per_1k_prompt: float | None = None
    price_per_1k_completion: float | None = None
    stage: str = "complete"
    # The names these settings had until 2026-12, kept so that Python callers' code still runs;
    # never stored (they are init-only), and giving an old and a new name at once is an error.
    requests_per_minute: InitVar[float | None] = None
    tokens_per_minute: InitVar[float | None] = None
    base_delay: InitVar[float | None] = None
    max_delay: InitVar[float | None] = None

    def __post_init__(
        self,
        requests_per_minute: float | None,
        tokens_per_minute: float | None,
        base_delay: float | None,
        max_delay: float | None,
    ) -> None:
        older = {
            "requests_per_minute": requests_per_minute,
            "tokens_per_minute": tokens_per_minute,
            "base_delay": base_delay,
            "max_delay": max_delay,
        }
        defaults = {f.name: f.default for f in fields(self)}
        for old, value in older.items():
            if value is None:
                continue
            new = OLD_NAMES[old]
            if getattr(self, new) != defaults[new]:
                raise InputError(f"'{old}' is the older name of '{new}'; give one", field=old)
            object.__setattr__(self, new, value)

    def validate(self) -> None:
        checks = [
            (self.n >= 1, "--n", "must be >= 1"),
            (self.max_in_flight >= 1, "--max-in-flight", "must be >= 1"),
            (self.max_attempts >= 1, "--max-attempts", "must be >= 1"),
            (self.max_parse_attempts >= 1, "--max-parse-attempts", "must be >= 1"),
            (self.shard_rows >= 1, "--shard-rows", "must be >= 1"),
            (0 < self.timeout < math.inf, "--timeout", "must be a number > 0"),
            (0 < self.connect_timeout < math.inf, "--connect-timeout", "must be a number > 0"),
            (
                self.max_request_time is None or 0 < self.max_request_time < math.inf,
                "--max-request-time",
                "must be a number > 0",
            ),
            (_positive_or_none(self.rpm), "--rpm", "must be > 0 (or unset)"),
            (_positive_or_none(self.tpm), "--tpm", "must be > 0 (or unset)"),
            (_at_least(self.retry_base_delay, 0), "--retry-base-delay", "must be a number >= 0"),
            (_at_least(self.retry_max_delay, 0), "--retry-max-delay", "must be a number >= 0"),
            (_at_least(self.temperature, 0), "--temperature", "must be a number >= 0"),
            (_at_least(self.top_p, 0) and (self.top_p or 0) <= 1, "--top-p", "must be in [0, 1]"),
            (_at_least(self.price_per_1k_prompt, 0), "--price-per-1k-prompt", "must be >= 0"),
            (
                _at_least(self.price_per_1k_completion, 0),
                "--price-per-1k-completion",
                "must be >= 0",
            ),
            (bool(self.model), "--model", "must not be empty"),
            (self.endpoint in ("chat", "completions"), "--endpoint", "must be chat or completions"),
            (self.backend in ("http", "openai"), "--backend", "must be http or openai"),
        ]
        for ok, name, message in checks:
            if not ok:
                raise InputError(message, field=name)
        # A key that cannot be a header is refused here, before any work, on every executor;
        # reading it also has this process scrub it from what remote workers report.
        api_key_from_env(self.api_key_env)

    def teacher_settings(self) -> TeacherSettings:
        """The teacher part of this config, as every recipe names it."""
        return TeacherSettings(
            base_url=self.base_url,
            model=self.model,
            api_key_env=self.api_key_env,
            backend=self.backend,
            max_in_flight=self.max_in_flight,
            connect_timeout=self.connect_timeout,
            timeout=self.timeout,
            max_request_time=self.max_request_time,
            max_attempts=self.max_attempts,
            retry_base_delay=self.retry_base_delay,
            retry_max_delay=self.retry_max_delay,
            rpm=self.rpm,
            tpm=self.tpm,
            max_parse_attempts=self.max_parse_attempts,
        )

    def sampling(self, sample: int = 0) -> SamplingParams:
        """Sampling parameters for one sample; a given seed is offset by the sample index so
        that the ``n`` samples of a prompt are different draws."""
        return SamplingParams(
            temperature=self.temperature,
            top_p=self.top_p,
            max_tokens=self.max_tokens,
            stop=self.stop,
            seed=None if self.seed is None else self.seed + sample,
            response_format={"type": "json_object"} if self.json_mode else None,
        )

    def snapshot(self) -> dict[str, Any]:
        data = asdict(self)
        data["stop"] = list(self.stop) if self.stop else None
        return data

    def defining(self) -> dict[str, Any]:
        """The settings that decide what the outputs are (a resumed run must match them)."""
        return {
            "model": self.model,
            "n": self.n,
            "endpoint": self.endpoint,
            "params": self.sampling().to_payload(),
            "seed": self.seed,
        }


def make_backend(config: CompleteConfig | TeacherSettings) -> Backend:
    """The backend a config names, reading the API key from its ``api_key_env``."""
    if isinstance(config, CompleteConfig):
        config = config.teacher_settings()
    return make_teacher_backend(config)
