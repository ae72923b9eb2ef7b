"""A reward model served in NVIDIA NIM's format (e.g. nemotron-4-340b-reward).

The request is an ordinary chat completion whose last turn is the assistant response to score.
The answer carries the scores as attribute tokens with their values in the logprob slots::

    "logprobs": {"content": [{"token": "helpfulness", "logprob": 3.1}, ...]}

and, in the message content, the same pairs as ``helpfulness:3.1,correctness:...``.
``NIMRewardBackend`` is a teacher backend (``synthloom.llm.Backend``) that turns that answer into
a Completion whose text is the canonical ``name:value,...`` string, so the teacher client's
cache, retries, rate limits and accounting apply to reward calls unchanged.
"""

from __future__ import annotations

import json
import math
from typing import Unpack

from synthloom.llm.backends import OpenAIHTTPBackend, Timeouts
from synthloom.llm.cache import ResponseCache
from synthloom.llm.errors import MalformedResponse
from synthloom.llm.retry import DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, RetryPolicy
from synthloom.llm.settings import TeacherSettings, make_teacher_client
from synthloom.llm.types import Completion, Request, Usage
from synthloom.reward.base import ATTRIBUTES, ClientReward, Conversation

__all__ = ["NIMReward", "NIMRewardBackend", "parse_attribute_text", "scores_from_nim_body"]


def parse_attribute_text(text: str) -> dict[str, float]:
    """``"helpfulness:3.1,correctness:2.9,..."`` -> a dict with all five attributes.

    Raises ValueError naming what is missing or not a number.
    """
    scores: dict[str, float] = {}
    for part in text.replace("\n", ",").split(","):
        if ":" not in part:
            continue
        name, _, value = part.partition(":")
        name = name.strip().lower()
        if name in ATTRIBUTES:
            try:
                number = float(value.strip())
            except ValueError:
                raise ValueError(f"attribute {name!r} has no number: {value.strip()!r}") from None
            if not math.isfinite(number):
                raise ValueError(f"attribute {name!r} is not finite")
            scores[name] = number
    missing = [a for a in ATTRIBUTES if a not in scores]
    if missing:
        raise ValueError(f"reward answer lacks {', '.join(missing)}")
    return scores


def scores_from_nim_body(body: bytes) -> tuple[dict[str, float], Usage, str]:
    """Scores, usage and model name from a NIM reward answer; raises MalformedResponse."""
    raw = body.decode("utf-8", "replace")
    try:
        obj = json.loads(body)
        choice = obj["choices"][0]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise MalformedResponse("the reward answer is not a chat completion", raw) from exc
    scores: dict[str, float] = {}
    logprobs = choice.get("logprobs") or {}
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if isinstance(content, list):
        for entry in content:
            if isinstance(entry, dict) and str(entry.get("token", "")).lower() in ATTRIBUTES:
                value = entry.get("logprob")
                if isinstance(value, int | float) and not isinstance(value, bool):
                    scores[str(entry["token"]).lower()] = float(value)
    if len(scores) < len(ATTRIBUTES):
        # Some deployments only fill the message content; it holds the same pairs.
        text = ((choice.get("message") or {}).get("content")) or ""
        try:
            scores = parse_attribute_text(text)
        except ValueError as exc:
            raise MalformedResponse(
                f"the reward answer has no attribute scores ({exc})", raw
            ) from exc
    usage = obj.get("usage") or {}
    return (
        scores,
        Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)),
        str(obj.get("model") or ""),
    )


class NIMRewardBackend(OpenAIHTTPBackend):
    """POSTs conversations to ``<base_url>/chat/completions`` of a NIM-style reward model."""

    url_setting = "reward.base_url"
    server_prefix = "the reward model at "

    def __init__(
        self,
        base_url: str,
        *,
        api_key_env: str | None = "NVIDIA_API_KEY",
        **timeouts: Unpack[Timeouts],
    ) -> None:
        # Only the key's variable differs from a teacher's: the reward model is NVIDIA's.
        super().__init__(base_url, api_key_env=api_key_env, **timeouts)

    async def send(self, request: Request) -> Completion:
        scores, usage, model = scores_from_nim_body(await self.post("chat", request))
        text = ",".join(f"{a}:{scores[a]!r}" for a in ATTRIBUTES)
        return Completion(texts=(text,), finish_reasons=("stop",), usage=usage, model=model)


class NIMReward(ClientReward):
    """Nemotron-4-340B-Reward (or any reward model in NIM's format) behind ``RewardModel``."""

    name = "nim"

    @classmethod
    def connect(
        cls,
        base_url: str,
        *,
        model: str,
        api_key_env: str | None = "NVIDIA_API_KEY",
        cache: ResponseCache | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> NIMReward:
        """A NIM reward endpoint behind the shared teacher client factory (one client, the same
        retries and accounting as the teacher's). ``retry``: its sends, waits and request time
        (the defaults of ``TeacherSettings`` when None)."""
        backend = NIMRewardBackend(
            base_url, api_key_env=api_key_env, timeout=timeout, connect_timeout=connect_timeout
        )
        settings = TeacherSettings(
            base_url=base_url,
            model=model,
            api_key_env=api_key_env,
            timeout=timeout,
            connect_timeout=connect_timeout,
        )
        if retry is not None:
            settings = settings.model_copy(
                update={
                    "max_attempts": retry.max_attempts,
                    "retry_base_delay": retry.base_delay,
                    "retry_max_delay": retry.max_delay,
                    "max_request_time": retry.max_request_time,
                }
            )
        return cls(make_teacher_client(settings, cache, None, backend), model=model)

    def request(self, conversation: Conversation) -> Request:
        return Request(model=self.model, messages=[dict(m) for m in conversation])

    def parse_scores(self, completion: Completion, request: Request) -> dict[str, float]:
        # The backend already checked the answer; this reads back its canonical text.
        return parse_attribute_text(completion.text)
