"""Fixtures for the LAB tests: the fake teacher server answering with the LAB responder."""

from __future__ import annotations

from typing import Any

import pytest

from fakeserver import FakeServer
from tests.recipes.lab.responder import lab_responder


@pytest.fixture()
def server_options() -> dict[str, Any]:
    return {"responder": lab_responder}


@pytest.fixture()
def lab_server(server: FakeServer) -> FakeServer:
    return server
