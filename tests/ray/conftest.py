"""Fixtures for the Ray tests: one local Ray for the whole session, the fake teacher's options,
and an S3-compatible object store (moto's server on 127.0.0.1) for the fsspec run storage."""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_TESTS = Path(__file__).resolve().parents[1]


def _import_real_ray() -> Any:
    """The installed ray (or None): a test module that puts tests/ first on sys.path would
    have this folder, tests/ray, shadow it; once imported, the real module stays in
    sys.modules."""
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


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 API on 127.0.0.1 (moto); s3fs finds it through AWS_ENDPOINT_URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line a request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ACCESS_KEY_ID": "synthloom-test",
        "AWS_SECRET_ACCESS_KEY": "synthloom-test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env["AWS_ENDPOINT_URL"]
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def ray_session(request: pytest.FixtureRequest) -> Iterator[Any]:
    if importlib.util.find_spec("moto") is not None:
        # The object-store environment (.venv-s3): the S3 endpoint first, as Ray's workers
        # inherit the environment Ray was started with.
        request.getfixturevalue("s3_endpoint")
    ray = _RAY
    if ray is None:
        pytest.fail("the Ray tests need the extra: pip install -e '.[ray]'")
    # address="local": a new Ray of our own, whatever cluster another process started here.
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        namespace="synthloom",
    )
    yield ray
    ray.shutdown()


@pytest.fixture()
def server_options() -> dict[str, Any]:
    """A little latency, so requests overlap across Ray actors as they would on a network."""
    return {"latency": 0.02}
