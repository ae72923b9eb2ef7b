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
from typing import Any

from synthloom.errors import InputError
from synthloom.llm.backends import Backend, api_key_from_env, raise_for_status
from synthloom.llm.cache import ResponseCache
from synthloom.llm.errors import MalformedResponse, TransientError
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


class NIMRewardBackend(Backend):
    """POSTs conversations to ``<base_url>/chat/completions`` of a NIM-style reward model."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key_env: str | None = "NVIDIA_API_KEY",
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise InputError(
                f"base URL {base_url!r} must start with http:// or https://",
                field="reward.base_url",
            )
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._headers = {"Content-Type": "application/json"}
        key = api_key_from_env(api_key_env)
        if key is not None:
            self._headers["Authorization"] = f"Bearer {key}"
        self._session: Any = None

    def __repr__(self) -> str:  # the headers hold the key
        return f"NIMRewardBackend(base_url={self.base_url!r})"

    async def send(self, request: Request) -> Completion:
        import aiohttp

        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=self.connect_timeout, sock_read=self.timeout
                ),
                headers=self._headers,
                cookie_jar=aiohttp.DummyCookieJar(),
                connector=aiohttp.TCPConnector(limit=0),
            )
        data = json.dumps(request.payload(), ensure_ascii=False).encode("utf-8")
        try:
            async with self._session.post(f"{self.base_url}/chat/completions", data=data) as resp:
                body = await resp.read()
                status = resp.status
                headers = resp.headers
        except aiohttp.ConnectionTimeoutError as exc:
            raise TransientError(
                f"cannot connect to the reward model at {self.base_url} within "
                f"{self.connect_timeout:g}s; check reward.base_url and that the server is running"
            ) from exc
        except TimeoutError as exc:
            raise TransientError(f"no answer within {self.timeout:g}s (the read timeout)") from exc
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise TransientError(
                f"cannot reach the reward model at {self.base_url} ({type(exc).__name__}); "
                "check reward.base_url and that the server is running"
            ) from exc
        if status != 200:
            raise_for_status(
                status, body, headers, request, base_url=self.base_url, api_key_env=self.api_key_env
            )
        scores, usage, model = scores_from_nim_body(body)
        text = ",".join(f"{a}:{scores[a]!r}" for a in ATTRIBUTES)
        return Completion(texts=(text,), finish_reasons=("stop",), usage=usage, model=model)

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


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
