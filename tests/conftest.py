"""Fixtures every folder shares: the scripted fake teacher (``tests/fakeserver``) on 127.0.0.1.

``tests/`` goes on ``sys.path`` here, once, so tests import the server as ``fakeserver``.
It is appended, not put first: ``tests/ray`` would otherwise shadow the installed ``ray``.

A folder says how its server starts by overriding ``server_options`` (its ``conftest.py``);
``server`` is one server started that way, and ``make_server`` starts more, each with the
folder's options and any given on top. Every server started is stopped after the test.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.append(_TESTS)

from fakeserver import FakeServer  # noqa: E402

Responder = Callable[[dict[str, Any], str], "str | dict[str, Any] | None"]


@pytest.fixture()
def server_options() -> dict[str, Any]:
    """The fake server's settings for this folder: a "slow" request takes 0.5 s (not 2 s) so
    timeout tests stay short; folders override this fixture."""
    return {"slow_seconds": 0.5}


@pytest.fixture()
def make_server(server_options: dict[str, Any]) -> Iterator[Callable[..., FakeServer]]:
    """Start a fake server: ``make_server(responder, **options)`` on top of the folder's."""
    servers: list[FakeServer] = []

    def make(responder: Responder | None = None, **options: Any) -> FakeServer:
        settings = {**server_options, **options}
        if responder is not None:
            settings["responder"] = responder
        server = FakeServer(**settings).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture()
def server(make_server: Callable[..., FakeServer]) -> FakeServer:
    """One fake server started with the folder's ``server_options``."""
    return make_server()
