"""Fixtures for the reward tests: the fake server, with a NIM-style reward model."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakeserver import FakeServer


@pytest.fixture()
def server() -> Iterator[FakeServer]:
    with FakeServer(slow_seconds=0.5, reward_models={"fake-reward"}) as srv:
        yield srv
