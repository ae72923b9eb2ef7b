"""How a teacher call can fail, as the client's retry loop sees it.

    BackendError (synthloom.errors)     fatal: the user must fix something (key, URL, model)
    ├── TransientError                  worth retrying: 429, 5xx, timeout, dropped connection
    ├── RequestRejected                 this one request is bad (400/413/422): record, go on
    ├── MalformedResponse               the body is not a usable answer (bad JSON, no choices)
    └── RetriesExhausted                every send of one request failed transiently

Backends raise these; the client decides to retry, record a failure, or stop the run. What a
server sent goes through ``synthloom.redact.redact`` before it enters one of them.
"""

from __future__ import annotations

from synthloom.errors import BackendError
from synthloom.redact import redact

__all__ = ["MalformedResponse", "RequestRejected", "RetriesExhausted", "TransientError"]


class TransientError(BackendError):
    """A failure worth retrying after a pause (``retry_after`` seconds when the server said)."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        self.reason = reason
        self.retry_after = retry_after
        super().__init__(reason)


class RequestRejected(BackendError):
    """The server refused this request (not the run): it becomes a failed item."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class MalformedResponse(BackendError):
    """The server answered, but not with a usable completion; ``raw`` keeps what it sent."""

    def __init__(self, reason: str, raw: str) -> None:
        # ``raw`` is the server's body as sent: it is stored in rejects/, so no secret in it.
        self.reason = redact(reason)
        self.raw = redact(raw)
        super().__init__(self.reason)


class RetriesExhausted(BackendError):
    """Every send of one request failed with a transient error; ``reason`` is the last one."""

    def __init__(self, reason: str, attempts: int) -> None:
        self.reason = reason
        self.attempts = attempts
        super().__init__(f"{reason} (after {attempts} attempts)")
