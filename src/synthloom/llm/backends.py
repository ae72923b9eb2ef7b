"""Teacher backends: one method, ``send(request) -> Completion``, like an httpx transport.

``OpenAIHTTPBackend`` speaks the OpenAI-compatible protocol (``/chat/completions`` and the legacy
``/completions``) directly over aiohttp: vLLM, NIM, Ollama, llama.cpp's server, TGI, LM Studio
and hosted APIs all answer it. Talking to aiohttp ourselves, rather than through the official
client, costs a fraction of the CPU per call (see benchmarks/bench_complete.py), which matters
when a large deployment answers hundreds of requests a second. ``OpenAIClientBackend`` wraps the
official ``openai`` client for servers that need its extras.

Backends translate every third-party failure once, here, into synthloom.llm.errors.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from typing import Any, ClassVar, TypedDict, Unpack

from synthloom.errors import BackendError, InputError
from synthloom.llm.errors import MalformedResponse, RequestRejected, TransientError
from synthloom.llm.retry import DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, parse_retry_after
from synthloom.llm.types import Completion, Request, Usage
from synthloom.redact import redact, redact_values, remember_secret

__all__ = [
    "Backend",
    "OpenAIClientBackend",
    "OpenAIHTTPBackend",
    "ServerBackend",
    "ServerOptions",
    "Timeouts",
    "api_key_from_env",
    "parse_completion",
    "raise_for_status",
]

_MAX_SHOWN = 200


class Backend(ABC):
    """Sends one request to a model and returns its answer, or raises a synthloom.llm error."""

    @abstractmethod
    async def send(self, request: Request) -> Completion:
        """Answer ``request``; raise TransientError / RequestRejected / MalformedResponse /
        BackendError (fatal) on failure."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release connections."""


def api_key_from_env(env_var: str | None) -> str | None:
    """The API key from ``env_var`` (None if unset). Keys are only ever read from the env.

    The value is remembered by ``synthloom.redact`` so that no server can echo it into our
    messages or files. A value that cannot be an HTTP header (a line break, a space, a non-ASCII
    character: a pasting mistake) is an InputError that names the variable, never the value.
    """
    if not env_var:
        return None
    value = os.environ.get(env_var)
    if not value:
        return None
    remember_secret(value)
    for i, char in enumerate(value):
        if "!" <= char <= "~":
            continue
        if char in "\r\n":
            what = "a line break"
        elif char in " \t":
            what = "a space"
        elif ord(char) > 127:
            what = "a non-ASCII character"
        else:
            what = "a control character"
        if i == len(value) - 1:
            where = f"ends with {what}:"
        else:
            where = f"holds {what} (character {i + 1} of {len(value)}):"
        raise InputError(
            f"${env_var} {where} an API key is one line of printable ASCII; "
            f"set ${env_var} again without it"
        )
    return value


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _server_message(body: bytes) -> str:
    """The human part of an error body (``{"error": {"message": ...}}`` and its cousins), one
    line, with no secret in it: this is where a server's error text enters our messages."""
    return redact(_error_text(body))


def _error_text(body: bytes) -> str:
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _one_line(body.decode("utf-8", "replace"))
    if isinstance(obj, dict):
        err = obj.get("error", obj.get("detail", obj.get("message")))
        if isinstance(err, dict):
            err = err.get("message", err)
        if err is not None:
            return _one_line(str(err))
    return _one_line(str(obj))


def _choice_text(choice: dict[str, Any], endpoint: str) -> tuple[str, str | None]:
    """One choice's text, and why there is none when the server sent no string.

    Raises KeyError/TypeError/AttributeError for what is not an OpenAI choice at all.
    """
    if endpoint != "chat":
        text = choice["text"]
        if text is None:
            return "", "text null"
        if not isinstance(text, str):
            raise TypeError(f"text is a {type(text).__name__}")
        return text, None
    message = choice["message"]
    content = message.get("content")
    if isinstance(content, str):
        return content, None
    if isinstance(content, list):
        # Content parts ({"type": "text", "text": ...}), as some servers answer.
        parts = [p["text"] for p in content if isinstance(p, dict) and p.get("type") == "text"]
        if parts and all(isinstance(p, str) for p in parts):
            return "".join(parts), None
        return "", "no text among the content parts"
    if content is not None:
        raise TypeError(f"content is a {type(content).__name__}")
    if message.get("tool_calls") or message.get("function_call"):
        return "", "tool calls only"
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal.strip():
        return "", f"refused ({_one_line(refusal)})"
    if message.get("reasoning_content") or message.get("reasoning"):
        return "", "content null, reasoning only"
    return "", "content null"


def parse_completion(body: bytes, endpoint: str) -> Completion:
    """Turn an OpenAI-style response body into a Completion, or raise MalformedResponse.

    A body that is no completion (bad JSON, no choices, no message) is malformed; a choice the
    server sent without text (``content: null``, tool calls only, a refusal) is a real answer,
    returned with the reason in ``Completion.missing`` for the client to reject.
    """
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedResponse(
            "the server's answer is not valid JSON", body.decode("utf-8", "replace")
        ) from exc
    choices = obj.get("choices") if isinstance(obj, dict) else None
    if not isinstance(choices, list) or not choices:
        raise MalformedResponse(
            "the server's answer has no choices", body.decode("utf-8", "replace")
        )
    texts: list[str] = []
    missing: list[str | None] = []
    reasons: list[str | None] = []
    try:
        for choice in sorted(choices, key=lambda c: c.get("index", 0)):
            text, why = _choice_text(choice, endpoint)
            # An answer that repeats our key must not carry it into the dataset.
            texts.append(redact_values(text))
            missing.append(why)
            reasons.append(choice.get("finish_reason"))
        usage = obj.get("usage") or {}
        return Completion(
            texts=tuple(texts),
            finish_reasons=tuple(reasons),
            usage=Usage(
                int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
            ),
            model=str(obj.get("model") or ""),
            missing=tuple(missing) if any(w is not None for w in missing) else (),
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise MalformedResponse(
            f"the server's answer is not an OpenAI {endpoint} completion "
            f"({type(exc).__name__}: {exc})",
            body.decode("utf-8", "replace"),
        ) from exc


def raise_for_status(
    status: int,
    body: bytes,
    headers: Any,
    request: Request,
    *,
    base_url: str,
    api_key_env: str | None,
) -> None:
    """Translate a non-200 answer into our errors: retry, fail the item, or stop the run."""
    said = _server_message(body)
    if status == 429 or status == 408 or status >= 500:
        retry_after = parse_retry_after(headers.get("Retry-After"), headers.get("retry-after-ms"))
        raise TransientError(f"HTTP {status}: {said}", retry_after=retry_after)
    if status in (401, 403):
        where = f"${api_key_env}" if api_key_env else "the API key"
        raise BackendError(
            f"{base_url} refused the request (HTTP {status}: {said}); check the key in {where}"
        )
    path = "/chat/completions" if request.endpoint == "chat" else "/completions"
    if status == 404:
        if "model" in said.lower():
            raise BackendError(
                f"model {request.model!r} not found at {base_url} ({said}); check --model"
            )
        raise BackendError(
            f"{base_url}{path} does not exist (HTTP 404); check --base-url "
            "(an OpenAI-compatible API root usually ends in /v1)"
        )
    if status in (405, 501):
        raise BackendError(
            f"{base_url} does not speak the OpenAI API (HTTP {status} on {path}); check --base-url"
        )
    raise RequestRejected(f"HTTP {status}: {said}")


class Timeouts(TypedDict, total=False):
    """A server's two timeouts, as keyword arguments (see :class:`ServerBackend`)."""

    timeout: float
    connect_timeout: float


class ServerOptions(Timeouts, total=False):
    """How a :class:`ServerBackend` reaches its server, past the URL (its keyword arguments)."""

    api_key_env: str | None


class ServerBackend(Backend):
    """A backend that talks to one server: its API root (checked: ``http://`` or
    ``https://``), the environment variable its key is read from, and two timeouts.

    The key is read at once (a bad key is a usage error before any work, not a failure
    mid-run) and kept only in memory. ``url_setting`` is the setting a message tells the user
    to check, ``server_prefix`` how a message names the server before its URL.
    """

    url_setting: ClassVar[str] = "--base-url"
    server_prefix: ClassVar[str] = ""

    def __init__(
        self,
        base_url: str,
        *,
        api_key_env: str | None = "OPENAI_API_KEY",
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise InputError(
                f"base URL {base_url!r} must start with http:// or https://",
                field=self.url_setting,
            )
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._api_key = api_key_from_env(api_key_env)

    def __repr__(self) -> str:  # never the key
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def cannot_connect(self, why: str) -> TransientError:
        """The error for a server that cannot be reached (``why``: within how long, or the
        reason), saying what to check."""
        return TransientError(
            f"cannot connect to {self.server_prefix}{self.base_url} {why}; "
            f"check {self.url_setting} and that the server is running"
        )

    def no_answer(self) -> TransientError:
        """The error for a server that went silent for longer than the read timeout."""
        return TransientError(f"no answer within {self.timeout:g}s (the read timeout)")


class OpenAIHTTPBackend(ServerBackend):
    """An OpenAI-compatible server reached over HTTP with aiohttp.

    ``base_url`` is the API root (usually ending in ``/v1``). The key is read from the
    environment variable ``api_key_env`` and kept only in memory, in the Authorization header.
    ``connect_timeout`` bounds opening a connection, ``timeout`` the silence while waiting for
    an answer (the read timeout); the client's RetryPolicy bounds a request's sends together.
    ``max_connections``: open connections at most (0: no limit); ``headers``: sent with every
    request.
    """

    def __init__(
        self,
        base_url: str,
        *,
        max_connections: int = 0,
        headers: dict[str, str] | None = None,
        **server: Unpack[ServerOptions],
    ) -> None:
        super().__init__(base_url, **server)
        self.max_connections = max_connections
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        if self._api_key is not None:
            self._headers["Authorization"] = f"Bearer {self._api_key}"
        self._session: Any = None
        self._urls = {
            "chat": f"{self.base_url}/chat/completions",
            "completions": f"{self.base_url}/completions",
        }

    def _open(self) -> Any:
        import aiohttp

        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.max_connections, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector,
                # No total: a server that trickles bytes is bounded by the client's
                # max_request_time, and a slow answer that keeps coming is not cut off.
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=self.connect_timeout, sock_read=self.timeout
                ),
                headers=self._headers,
                # The default serialiser is never used (we send bytes) and cookies are noise.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def post(self, endpoint: str, request: Request) -> bytes:
        """POST ``request`` to ``endpoint`` (chat or completions); the body of a 200 answer,
        else the synthloom.llm error the failure stands for."""
        import aiohttp

        session = self._open()
        data = json.dumps(request.payload(), ensure_ascii=False).encode("utf-8")
        try:
            async with session.post(self._urls[endpoint], data=data) as resp:
                body: bytes = await resp.read()
                status = resp.status
                headers = resp.headers
        except aiohttp.ConnectionTimeoutError as exc:
            raise self.cannot_connect(f"within {self.connect_timeout:g}s") from exc
        except TimeoutError as exc:
            raise self.no_answer() from exc
        except aiohttp.ClientConnectorError as exc:
            raise self.cannot_connect(f"({exc.os_error.strerror or exc.os_error})") from exc
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise TransientError(f"connection dropped ({type(exc).__name__})") from exc
        if status != 200:
            raise_for_status(
                status, body, headers, request, base_url=self.base_url, api_key_env=self.api_key_env
            )
        return body

    async def send(self, request: Request) -> Completion:
        return parse_completion(await self.post(request.endpoint, request), request.endpoint)

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


class OpenAIClientBackend(ServerBackend):
    """The official ``openai`` async client as a backend (slower per call; full feature set)."""

    _client: Any = None

    def _open(self) -> Any:
        if self._client is None:
            try:
                import openai
            except ImportError as exc:  # pragma: no cover - openai is a core dependency
                raise BackendError("the openai backend needs: pip install openai") from exc
            self._client = openai.AsyncOpenAI(
                base_url=self.base_url,
                api_key=self._api_key or "none",
                timeout=openai.Timeout(self.timeout, connect=self.connect_timeout),
                max_retries=0,  # our client retries, with our policy and accounting
            )
        return self._client

    async def send(self, request: Request) -> Completion:
        import openai

        client = self._open()
        body = request.payload()
        try:
            if request.endpoint == "chat":
                raw = await client.chat.completions.with_raw_response.create(**body)
            else:
                raw = await client.completions.with_raw_response.create(**body)
            content = raw.content
        except openai.APITimeoutError as exc:
            # The cause is the HTTP library's ConnectTimeout (httpx or httpx2, by version).
            if type(exc.__cause__).__name__ == "ConnectTimeout":
                raise self.cannot_connect(f"within {self.connect_timeout:g}s") from exc
            raise self.no_answer() from exc
        except openai.APIConnectionError as exc:
            raise self.cannot_connect(f"({exc})") from exc
        except openai.APIStatusError as exc:
            resp = exc.response
            raise_for_status(
                resp.status_code,
                resp.content,
                resp.headers,
                request,
                base_url=self.base_url,
                api_key_env=self.api_key_env,
            )
            raise AssertionError("unreachable") from exc  # pragma: no cover
        return parse_completion(content, request.endpoint)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
        self._client = None
