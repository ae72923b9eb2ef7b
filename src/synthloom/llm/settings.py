"""One teacher configuration and one factory for its client, for every command and recipe.

    TeacherSettings ──make_backend──▶ Backend ──make_teacher_client──▶ TeacherClient
                    (connection)                 (retries, rate limits, cache, accounting)

``synthloom complete`` (its ``CompleteConfig.teacher_settings()``), the LAB pipeline's
``teacher:`` section and the Nemotron pipeline's ``teacher:`` section are all this model, with the
same names as the ``complete`` flags (``--retry-base-delay`` is ``retry_base_delay``, ``--rpm`` is
``rpm``). Older YAML names (``base_delay``, ``max_delay``, ``requests_per_minute``,
``tokens_per_minute``) are still read.

``max_in_flight`` is the most requests the run has in flight at once, whatever the executor:
the recipes share it between their steps (see docs/recipes.md); on Ray each actor has
``per_actor_in_flight`` in place of it, so a run has at most ``actors x per_actor_in_flight``.

Sampling is not part of the teacher: it belongs to each use (``Sampling`` /
``SeededSampling`` here; a LAB recipe step, Nemotron's prompts and responses).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Self

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from synthloom.llm.accounting import Accounting
from synthloom.llm.backends import Backend, OpenAIClientBackend, OpenAIHTTPBackend
from synthloom.llm.cache import ResponseCache
from synthloom.llm.client import TeacherClient
from synthloom.llm.limits import RateLimiter
from synthloom.llm.retry import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_REQUEST_TIME,
    DEFAULT_TIMEOUT,
    RetryPolicy,
)
from synthloom.llm.types import SamplingParams

__all__ = [
    "DEFAULT_BASE_URL",
    "OLD_NAMES",
    "Sampling",
    "SeededSampling",
    "TeacherSettings",
    "make_backend",
    "make_retry_policy",
    "make_teacher_client",
]

#: A vLLM (or any OpenAI-compatible) server on this machine, where ``vllm serve`` listens.
DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"

#: Older YAML names of teacher settings -> today's name (the LAB pipeline's names until 2026-12).
OLD_NAMES: Mapping[str, str] = {
    "base_delay": "retry_base_delay",
    "max_delay": "retry_max_delay",
    "requests_per_minute": "rpm",
    "tokens_per_minute": "tpm",
}


def _also(name: str) -> AliasChoices:
    """Read a field under its name and under its older name."""
    old = [key for key, new in OLD_NAMES.items() if new == name]
    return AliasChoices(name, *old)


class TeacherSettings(BaseModel):
    """How to reach the teacher and how hard to push it; the ``teacher:`` section of a pipeline.

    ``max_in_flight`` bounds the requests in flight of the whole run (see the module docstring);
    ``rpm`` / ``tpm`` are requests and tokens per minute (unset: no limit); ``max_attempts``
    counts sends per request, with waits drawn below ``retry_base_delay * 2**k`` capped at
    ``retry_max_delay``; ``max_parse_attempts`` counts answers per request before it is
    rejected. ``api_key_env`` names the environment variable holding the key (never the key).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    base_url: str = DEFAULT_BASE_URL
    model: str = Field(..., min_length=1)
    api_key_env: str | None = "OPENAI_API_KEY"
    backend: Literal["http", "openai"] = "http"
    max_in_flight: int = Field(default=64, ge=1)
    connect_timeout: float = Field(default=DEFAULT_CONNECT_TIMEOUT, gt=0)
    timeout: float = Field(default=DEFAULT_TIMEOUT, gt=0)
    max_request_time: float | None = Field(default=DEFAULT_MAX_REQUEST_TIME, gt=0)
    max_attempts: int = Field(default=6, ge=1)
    retry_base_delay: float = Field(default=0.5, ge=0, validation_alias=_also("retry_base_delay"))
    retry_max_delay: float = Field(default=30.0, ge=0, validation_alias=_also("retry_max_delay"))
    rpm: float | None = Field(default=None, gt=0, validation_alias=_also("rpm"))
    tpm: float | None = Field(default=None, gt=0, validation_alias=_also("tpm"))
    max_parse_attempts: int = Field(default=3, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _one_name_each(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            for old, new in OLD_NAMES.items():
                if old in value and new in value:
                    raise ValueError(f"{old!r} is the older name of {new!r}; give only {new!r}")
        return value

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with ``update`` applied and checked (older names are read too).

        pydantic's own ``model_copy`` checks nothing, so ``update={"base_delay": 0}`` would
        leave ``retry_base_delay`` as it was; a copy that validates cannot go wrong that way.
        """
        if not update:
            return super().model_copy(deep=deep)
        changes = {OLD_NAMES.get(key, key): value for key, value in update.items()}
        return type(self).model_validate({**self.model_dump(), **changes})


class Sampling(BaseModel):
    """How the teacher samples for one use (a recipe step); unset values are the server's."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)

    def params(self, seed: int | None) -> SamplingParams:
        return SamplingParams(
            temperature=self.temperature, top_p=self.top_p, max_tokens=self.max_tokens, seed=seed
        )


class SeededSampling(Sampling):
    """Sampling with a seed of its own; draw ``k`` of a request is sent ``seed + k``."""

    seed: int | None = 0

    def seeded(self, salt: int = 0) -> SamplingParams:
        return self.params(None if self.seed is None else self.seed + salt)


def make_retry_policy(settings: TeacherSettings) -> RetryPolicy:
    """The retry policy ``settings`` describe."""
    return RetryPolicy(
        max_attempts=settings.max_attempts,
        base_delay=settings.retry_base_delay,
        max_delay=settings.retry_max_delay,
        max_request_time=settings.max_request_time,
    )


def make_backend(settings: TeacherSettings) -> Backend:
    """The backend ``settings`` name; reads (and checks) the API key from ``api_key_env``."""
    cls = OpenAIClientBackend if settings.backend == "openai" else OpenAIHTTPBackend
    return cls(
        settings.base_url,
        api_key_env=settings.api_key_env,
        timeout=settings.timeout,
        connect_timeout=settings.connect_timeout,
    )


def make_teacher_client(
    settings: TeacherSettings,
    cache: ResponseCache | None,
    accounting: Accounting | None,
    backend: Backend | None = None,
) -> TeacherClient:
    """The one way a teacher client is built: ``backend`` (else ``make_backend(settings)``)
    with the retries and rate limits of ``settings``, the run's cache and its accounting.

    Also used for servers that are not the teacher but behave like one (a reward endpoint, an
    LLM judge): pass their backend and the settings they are reached with.
    """
    limited = settings.rpm is not None or settings.tpm is not None
    return TeacherClient(
        backend if backend is not None else make_backend(settings),
        cache=cache,
        retry=make_retry_policy(settings),
        limiter=RateLimiter(requests_per_minute=settings.rpm, tokens_per_minute=settings.tpm)
        if limited
        else None,
        accounting=accounting,
    )
