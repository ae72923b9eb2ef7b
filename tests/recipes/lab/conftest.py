"""Fixtures for the LAB tests: the fake teacher server answering with the LAB responder."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from fakeserver import FakeServer
from tests.recipes.lab.responder import lab_responder


@pytest.fixture()
def lab_server() -> Iterator[FakeServer]:
    with FakeServer(responder=lab_responder) as srv:
        yield srv
