"""Fixtures for the reward tests: the fake server also serves a NIM-style reward model."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture()
def server_options(server_options: dict[str, Any]) -> dict[str, Any]:
    return {**server_options, "reward_models": {"fake-reward"}}
