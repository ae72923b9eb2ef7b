"""The value types every teacher call is made of: sampling parameters, a request, a completion.

They are plain frozen dataclasses so that a recipe can build thousands of them cheaply, hash them
into cache keys, and hand them between the client, the cache and the executor unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Completion", "Request", "SamplingParams", "Usage", "cache_key"]

Endpoint = Literal["chat", "completions"]


@dataclass(frozen=True, slots=True)
class SamplingParams:
    """The OpenAI sampling options we send; ``None`` means "leave it to the server"."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    n: int = 1
    stop: tuple[str, ...] | None = None
    seed: int | None = None
    #: ``{"type": "json_object"}`` or a JSON-schema response format, sent as is.
    response_format: Mapping[str, Any] | None = None

    def to_payload(self) -> dict[str, Any]:
        """The fields as they go into the request body (unset ones left out)."""
        out: dict[str, Any] = {}
        if self.temperature is not None:
            out["temperature"] = self.temperature
        if self.top_p is not None:
            out["top_p"] = self.top_p
        if self.max_tokens is not None:
            out["max_tokens"] = self.max_tokens
        if self.n != 1:
            out["n"] = self.n
        if self.stop:
            out["stop"] = list(self.stop)
        if self.seed is not None:
            out["seed"] = self.seed
        if self.response_format is not None:
            out["response_format"] = dict(self.response_format)
        return out


@dataclass(frozen=True, slots=True)
class Request:
    """One call to the teacher.

    ``messages`` for chat completions, or ``prompt`` for legacy completions. ``sample`` tells
    apart independent draws of the same input (it is part of the cache key, never sent);
    ``metadata`` rides along to the result untouched and is not part of the cache key.
    """

    model: str
    messages: Sequence[Mapping[str, str]] | None = None
    prompt: str | None = None
    params: SamplingParams = field(default_factory=SamplingParams)
    sample: int = 0
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.messages is None) == (self.prompt is None):
            raise ValueError(
                "a Request needs exactly one of messages (chat) or prompt (completions)"
            )

    @property
    def endpoint(self) -> Endpoint:
        return "chat" if self.messages is not None else "completions"

    def payload(self) -> dict[str, Any]:
        """The JSON body of the HTTP request."""
        body: dict[str, Any] = {"model": self.model}
        if self.messages is not None:
            body["messages"] = [dict(m) for m in self.messages]
        else:
            body["prompt"] = self.prompt
        body.update(self.params.to_payload())
        return body

    def prompt_chars(self) -> int:
        if self.messages is not None:
            return sum(len(m.get("content", "")) for m in self.messages)
        return len(self.prompt or "")


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Completion:
    """What the teacher answered: one text per choice (``n`` of them).

    A choice whose message held no text (``content: null``, only ``tool_calls``, a refusal)
    has ``""`` in ``texts`` and says why in ``missing``; ``empty_reason`` sums that up.
    """

    texts: tuple[str, ...]
    finish_reasons: tuple[str | None, ...]
    usage: Usage
    model: str = ""
    #: True when this answer came from the cache rather than the server.
    cached: bool = False
    #: Per choice, why the server sent no text ("content null", "tool calls only", ...), or
    #: None where it sent a string. Empty when every choice had one.
    missing: tuple[str | None, ...] = ()

    @property
    def text(self) -> str:
        """The first choice's text."""
        return self.texts[0]

    @property
    def empty_reason(self) -> str | None:
        """Why this answer holds no usable text, or None when every choice has some.

        A blank text counts as empty too: an empty assistant turn is never training data.
        """
        for i, text in enumerate(self.texts):
            why = self.missing[i] if i < len(self.missing) else None
            if why is None and text.strip():
                continue
            why = why or ("blank content" if text else "empty content")
            finish = self.finish_reasons[i] if i < len(self.finish_reasons) else None
            which = f"choice {i} of {len(self.texts)}: " if len(self.texts) > 1 else ""
            tail = f" (finish_reason {finish})" if finish else ""
            return f"empty answer: {which}{why}{tail}"
        return None

    def to_json(self) -> str:
        """The compact form stored in the cache."""
        data: dict[str, Any] = {
            "texts": list(self.texts),
            "finish_reasons": list(self.finish_reasons),
            "usage": [self.usage.prompt_tokens, self.usage.completion_tokens],
            "model": self.model,
        }
        if any(why is not None for why in self.missing):
            data["missing"] = list(self.missing)
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str | bytes) -> Completion:
        obj = json.loads(data)
        prompt_tokens, completion_tokens = obj["usage"]
        return cls(
            texts=tuple(obj["texts"]),
            finish_reasons=tuple(obj["finish_reasons"]),
            usage=Usage(prompt_tokens, completion_tokens),
            model=obj.get("model", ""),
            cached=True,
            missing=tuple(obj.get("missing", ())),
        )


def cache_key(request: Request, attempt: int = 0) -> str:
    """Hash of model, input, sampling parameters, sample index and parse attempt.

    ``attempt`` counts answers that failed the caller's parse hook: a retry after a bad answer
    is a different cache entry, so replaying a run from the cache replays the same sequence.
    """
    ident = [
        request.model,
        request.endpoint,
        request.payload().get("messages", request.prompt),
        request.params.to_payload(),
        request.sample,
        attempt,
    ]
    raw = json.dumps(ident, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()
