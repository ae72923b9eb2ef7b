"""The teacher-model client: OpenAI-compatible backends, retries, limits, cache, accounting.

    Request ──TeacherClient.run──▶ cache? ──RateLimiter──▶ Backend.send ──retry──▶ Result
                                     ▲                                    │
                                     └──────── ResponseCache.put ◀────────┘

A backend is one method (``send(request) -> Completion``); ``OpenAIHTTPBackend`` is the real one.
``TeacherSettings`` is the one teacher configuration; ``make_teacher_client`` builds every client.
Errors are described in ``synthloom.llm.errors``.
"""

from __future__ import annotations

from synthloom.llm.accounting import Accounting
from synthloom.llm.backends import (
    Backend,
    OpenAIClientBackend,
    OpenAIHTTPBackend,
    api_key_from_env,
    parse_completion,
)
from synthloom.llm.cache import ResponseCache
from synthloom.llm.client import ParseHook, Result, TeacherClient, estimate_tokens
from synthloom.llm.errors import (
    MalformedResponse,
    RequestRejected,
    RetriesExhausted,
    TransientError,
)
from synthloom.llm.limits import RateLimiter, TokenBucket
from synthloom.llm.retry import RetryPolicy, parse_retry_after
from synthloom.llm.settings import (
    Sampling,
    SeededSampling,
    TeacherSettings,
    make_backend,
    make_retry_policy,
    make_teacher_client,
)
from synthloom.llm.types import Completion, Request, SamplingParams, Usage, cache_key

__all__ = [
    "Accounting",
    "Backend",
    "Completion",
    "MalformedResponse",
    "OpenAIClientBackend",
    "OpenAIHTTPBackend",
    "ParseHook",
    "RateLimiter",
    "Request",
    "RequestRejected",
    "ResponseCache",
    "Result",
    "RetriesExhausted",
    "RetryPolicy",
    "Sampling",
    "SamplingParams",
    "SeededSampling",
    "TeacherClient",
    "TeacherSettings",
    "TokenBucket",
    "TransientError",
    "Usage",
    "api_key_from_env",
    "cache_key",
    "estimate_tokens",
    "make_backend",
    "make_retry_policy",
    "make_teacher_client",
    "parse_completion",
    "parse_retry_after",
]
