"""The one fake in the test suite: the teacher model, as a real HTTP server on 127.0.0.1.

It speaks the OpenAI ``/v1/chat/completions`` and ``/v1/completions`` protocol with answers that
are a pure function of the request body (so an interrupted run and an uninterrupted one must
produce the same dataset), and injects faults scripted inside the prompt text:

    [fault:429*2]   the first 2 requests carrying this prompt get 429 + Retry-After
    [fault:500*1]   HTTP 500            [fault:slow*1]   answer after ``slow_seconds``
    [fault:reset*1] connection dropped  [fault:badjson*1] truncated JSON body
    [fault:empty*1] no choices          [fault:wrongformat*1] content that is not JSON
    [fault:400*1]   HTTP 400 (the request itself is refused)
    [fault:null*1]  200 with ``content: null``      [fault:toolcalls*1] only ``tool_calls``
    [fault:refusal*1] ``content: null`` + refusal   [fault:hang*1] never answers (until the
                                                    client hangs up, at most ``hang_seconds``)

``echo_headers=True`` makes every error body (401, 4xx, 5xx, badjson) repeat the request's
headers, Authorization included, as careless proxies and debug servers do.

Models named in ``reward_models`` answer like an NVIDIA NIM reward model: the five HelpSteer2
attribute scores of the last (assistant) turn, as tokens with their values in
``logprobs.content`` and as ``name:value,...`` in the message content. The scores are a pure
function of that turn, or exactly those of a ``[reward:h,c,co,cx,v]`` tag inside it.

It counts requests in flight (and the maximum seen), logs every request body, and can demand a
bearer key, know only some model names, add latency, or pretend not to speak the API at all.
Run ``python tests/fakeserver/server.py --port 0`` to serve from a separate process; it prints
``PORT <n>`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import re
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiohttp import web

_FAULT = re.compile(r"\[fault:(\w+)\*(\d+)\]")
_REWARD = re.compile(r"\[reward:([^\]]+)\]")
REWARD_ATTRIBUTES = ("helpfulness", "correctness", "coherence", "complexity", "verbosity")


def reward_for(text: str) -> list[float]:
    """The five attribute scores the fake reward model gives an assistant turn."""
    tagged = _REWARD.search(text)
    if tagged:
        return [float(v) for v in tagged.group(1).split(",")]
    digest = hashlib.sha1(text.encode()).digest()
    return [round(b / 255 * 4, 4) for b in digest[:5]]


def answer_for(text: str, seed: Any = None) -> str:
    """The deterministic answer the server gives to a prompt text."""
    digest = hashlib.sha1(f"{text}|{seed}".encode()).hexdigest()[:12]
    return f"answer {digest} to: {text[:60]}"


class FakeServer:
    """Serve with ``start()`` (a background thread); ``url`` is the API root."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: set[str] | None = None,
        latency: float = 0.0,
        slow_seconds: float = 2.0,
        retry_after: str = "0",
        not_api: bool = False,
        log_bodies: bool = True,
        port: int = 0,
        responder: Callable[[dict[str, Any], str], str | dict[str, Any] | None] | None = None,
        reward_models: set[str] | None = None,
        echo_headers: bool = False,
        hang_seconds: float = 60.0,
    ) -> None:
        #: Optional script: (request body, endpoint) -> answer text, a whole message dict
        #: (``{"content": None, "tool_calls": [...]}``), or None for the default answer.
        self.responder = responder
        self.api_key = api_key
        self.models = models
        self.latency = latency
        self.slow_seconds = slow_seconds
        self.retry_after = retry_after
        self.not_api = not_api
        self.log_bodies = log_bodies
        self.port = port
        self.reward_models = reward_models or set()
        self.echo_headers = echo_headers
        self.hang_seconds = hang_seconds
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests = 0
        self.answered = 0
        self.log: list[dict[str, Any]] = []
        self.headers_seen: list[dict[str, str]] = []
        self._seen: Counter[str] = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def reset_counters(self) -> None:
        self.in_flight = self.max_in_flight = self.requests = self.answered = 0
        self.log.clear()
        self.headers_seen.clear()

    # ---------------------------------------------------------------------------------- app

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/completions", self._completions)
        app.router.add_get("/v1/models", self._models)
        return app

    async def _models(self, request: web.Request) -> web.Response:
        names = sorted(self.models or {"fake-teacher"})
        return web.json_response({"object": "list", "data": [{"id": n} for n in names]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, "chat")

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, "completions")

    async def _handle(self, request: web.Request, endpoint: str) -> web.StreamResponse:
        self.requests += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            response = await self._answer(request, endpoint)
        finally:
            self.in_flight -= 1
        if response.status == 200:
            self.answered += 1  # an answer the client will be billed for, delivered or not
        return response

    async def _answer(self, request: web.Request, endpoint: str) -> web.StreamResponse:
        if self.not_api:
            return web.Response(
                text="<html><body>It works!</body></html>", content_type="text/html"
            )
        raw = await request.read()
        if self.log_bodies:
            self.headers_seen.append(dict(request.headers))
        if (
            self.api_key is not None
            and request.headers.get("Authorization") != f"Bearer {self.api_key}"
        ):
            return self._error(request, 401, "Incorrect API key provided.")
        body = json.loads(raw)
        if self.log_bodies:
            self.log.append(body)
        model = body.get("model")
        if self.models is not None and model not in self.models:
            return self._error(request, 404, f"The model `{model}` does not exist.")
        text = body["messages"][-1]["content"] if endpoint == "chat" else body["prompt"]
        if self.latency:
            await asyncio.sleep(self.latency)
        if "[fault:" in text:
            key = json.dumps(body, sort_keys=True)
            self._seen[key] += 1
            for kind, times in _FAULT.findall(text):
                if self._seen[key] <= int(times):
                    faulty = await self._fault(kind, request)
                    if faulty is not None:
                        return faulty
        if model in self.reward_models and endpoint == "chat":
            return _reward_answer(model, text)
        seed = body.get("seed")
        n = int(body.get("n", 1))
        wants_json = (body.get("response_format") or {}).get("type") in (
            "json_object",
            "json_schema",
        )
        choices = []
        scripted = self.responder(body, endpoint) if self.responder is not None else None
        for i in range(n):
            if isinstance(scripted, dict):
                # A scripted message as a whole: content null, tool calls, a refusal...
                message = {"role": "assistant", **scripted}
                choice: dict[str, Any] = (
                    {"index": i, "message": message}
                    if endpoint == "chat"
                    else {"index": i, "text": message.get("content")}
                )
                choice["finish_reason"] = "tool_calls" if "tool_calls" in scripted else "stop"
                choices.append(choice)
                continue
            content = (
                scripted
                if scripted is not None
                else answer_for(text, seed if n == 1 else f"{seed}/{i}")
            )
            if wants_json:
                content = json.dumps({"answer": content})
            if endpoint == "chat":
                choice = {
                    "index": i,
                    "message": {"role": "assistant", "content": content},
                }
            else:
                choice = {"index": i, "text": content}
            choice["finish_reason"] = "stop"
            choices.append(choice)
        completion_tokens = sum(
            len((c.get("text") or c.get("message", {}).get("content") or "").split())
            for c in choices
        )
        return web.json_response(
            {
                "id": "cmpl-fake",
                "object": "chat.completion" if endpoint == "chat" else "text_completion",
                "model": model,
                "choices": choices,
                "usage": {
                    "prompt_tokens": len(text.split()),
                    "completion_tokens": completion_tokens,
                    "total_tokens": len(text.split()) + completion_tokens,
                },
            }
        )

    async def _fault(self, kind: str, request: web.Request) -> web.StreamResponse | None:
        if kind == "429":
            resp = self._error(request, 429, "Rate limit reached.")
            resp.headers["Retry-After"] = self.retry_after
            return resp
        if kind in ("500", "502", "503", "400"):
            return self._error(request, int(kind), f"Injected {kind}.")
        if kind in ("null", "toolcalls", "refusal"):
            message: dict[str, Any] = {"role": "assistant", "content": None}
            if kind == "toolcalls":
                message["tool_calls"] = [
                    {
                        "id": "call_0",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": '{"q": "wal"}'},
                    }
                ]
            if kind == "refusal":
                message["refusal"] = "I can't help with that."
            finish = "tool_calls" if kind == "toolcalls" else "stop"
            return web.json_response(
                {
                    "id": "cmpl-fake",
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 7},
                }
            )
        if kind == "hang":
            # Hold the request until the client gives up (it closes the connection).
            waited = 0.0
            while waited < self.hang_seconds:
                transport = request.transport
                if transport is None or transport.is_closing():
                    break
                await asyncio.sleep(0.02)
                waited += 0.02
            return self._error(request, 504, "Gave up hanging.")
        if kind == "slow":
            await asyncio.sleep(self.slow_seconds)
            return None
        if kind == "reset":
            assert request.transport is not None
            request.transport.abort()
            # aiohttp logs handler exceptions; this one is on purpose.
            logging.getLogger("aiohttp.server").disabled = True
            raise ConnectionResetError("injected reset")
        if kind == "badjson":
            headers = json.dumps(dict(request.headers))
            echoed = f', "headers": {headers}' if self.echo_headers else ""
            return web.Response(
                text='{"id": "cmpl-fake"' + echoed + ', "choices": [{"index": 0, "mess',
                content_type="application/json",
            )
        if kind == "empty":
            return web.json_response({"id": "cmpl-fake", "choices": [], "usage": {}})
        if kind == "wrongformat":
            return web.json_response(
                {
                    "id": "cmpl-fake",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "Sure! Here it is: {oops"},
                            "text": "Sure! {oops",
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 4},
                }
            )
        return None

    def _error(self, request: web.Request, status: int, message: str) -> web.Response:
        if self.echo_headers:
            # What careless servers do: repeat the request, headers and all, in the error.
            shown = "; ".join(f"{k}: {v}" for k, v in request.headers.items())
            message = f"{message} Request headers: {shown}"
            body = {
                "error": {"message": message, "type": "fake_error"},
                "request": {"headers": dict(request.headers)},
            }
            return web.json_response(body, status=status)
        return _error(status, message)

    # ------------------------------------------------------------------------------ running

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self._app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, backlog=1024)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()

    def start(self) -> FakeServer:
        """Serve from a daemon thread; returns once listening."""

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self._serve())
            loop.run_forever()
            assert self._runner is not None
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=main, name="fake-teacher", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake teacher server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _reward_answer(model: str, text: str) -> web.Response:
    scores = reward_for(text)
    pairs = list(zip(REWARD_ATTRIBUTES, scores, strict=True))
    return web.json_response(
        {
            "id": "cmpl-fake-reward",
            "object": "chat.completion",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": ",".join(f"{name}:{value}" for name, value in pairs),
                    },
                    "logprobs": {
                        "content": [
                            {"token": name, "logprob": value, "top_logprobs": []}
                            for name, value in pairs
                        ]
                    },
                    "finish_reason": "length",
                }
            ],
            "usage": {"prompt_tokens": len(text.split()), "completion_tokens": 1},
        }
    )


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": "fake_error"}}, status=status)


def _main() -> None:
    parser = argparse.ArgumentParser(description="fake OpenAI-compatible teacher")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument(
        "--reward-model", action="append", default=[], help="answer this model NIM-reward style"
    )
    args = parser.parse_args()
    server = FakeServer(
        latency=args.latency,
        port=args.port,
        log_bodies=False,
        reward_models=set(args.reward_model),
    )

    async def run() -> None:
        await server._serve()
        print(f"PORT {server.port}", flush=True)
        await asyncio.Event().wait()

    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(run())


if __name__ == "__main__":
    _main()
