"""Fixtures for the Ray tests: one local Ray for the whole session, and the fake teacher."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_TESTS = Path(__file__).resolve().parents[1]


def _import_real_ray() -> Any:
    """The installed ray (or None): other conftests put tests/ first on sys.path, where this
    folder, tests/ray, would shadow it; once imported, the real module stays in sys.modules."""
    saved = list(sys.path)
    sys.path[:] = [p for p in saved if Path(p or ".").resolve() != _TESTS]
    try:
        import ray
    except ImportError:
        return None
    finally:
        sys.path[:] = saved
    if not hasattr(ray, "init"):
        return None
    return ray


_RAY = _import_real_ray()
sys.path.insert(0, str(_TESTS))

from fakeserver import FakeServer  # noqa: E402


@pytest.fixture(scope="session")
def ray_session() -> Iterator[Any]:
    ray = _RAY
    if ray is None:
        pytest.fail("the Ray tests need the extra: pip install -e '.[ray]'")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="synthloom")
    yield ray
    ray.shutdown()


@pytest.fixture()
def server() -> Iterator[FakeServer]:
    with FakeServer(latency=0.02) as srv:
        yield srv
