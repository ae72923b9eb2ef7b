"""Joining a real Ray cluster started with ``ray start`` and token authentication on.

The head runs in its own processes (``ray start --head --block``, its own temp folder and
home), as on a cluster; ``synthloom complete --executor ray --ray-address`` joins it from a
separate process, first without the cluster's token (one line naming what to set, exit 2,
nothing written), then with it (the run completes on the cluster).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakeserver import FakeServer
from synthloom.records import read_records, write_jsonl
from tests.ray.helpers import complete_argv

pytestmark = pytest.mark.slow

RAY = str(Path(sys.executable).with_name("ray"))
HEAD_OPTIONS = [
    "--node-ip-address",
    "127.0.0.1",
    "--num-cpus",
    "2",
    "--include-dashboard=false",
    "--disable-usage-stats",
    "--temp-dir",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "PYTEST"))}
    return {**env, "HOME": str(home), **extra}


@pytest.fixture()
def head(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A Ray head with token authentication on: (address, token file)."""
    home = tmp_path / "head-home"
    token = home / ".ray" / "auth_token"
    token.parent.mkdir(parents=True)
    token.write_text(secrets.token_hex(32))
    port = _free_port()
    # Ray's socket paths must stay short: a temp folder directly under /tmp.
    temp = tempfile.mkdtemp(prefix="rh", dir="/tmp")
    proc = subprocess.Popen(
        [RAY, "start", "--head", "--block", "--port", str(port), *HEAD_OPTIONS, temp],
        env=_env(home, RAY_AUTH_MODE="token"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert _listening(port, 90), "the Ray head did not start"
        yield f"127.0.0.1:{port}", token
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        finally:
            # Whatever the head left running belongs to its own temp folder.
            subprocess.run(["pkill", "-9", "-f", temp], check=False)
            subprocess.run(["rm", "-rf", temp], check=False)


def test_joining_a_token_cluster_names_the_token_then_runs_with_it(
    head: tuple[str, Path], tmp_path: Path
) -> None:
    address, token = head
    prompts = tmp_path / "p.jsonl"
    write_jsonl([{"prompt": f"question {i}", "response": "old"} for i in range(40)], prompts)
    out = tmp_path / "run"
    driver_home = tmp_path / "driver-home"
    driver_home.mkdir()
    with FakeServer() as server:
        argv = [sys.executable, "-m", "synthloom", *complete_argv(prompts, server.url)]
        argv += ["--out", str(out), "--executor", "ray", "--ray-address", address]
        argv += ["--actors", "2", "--per-actor-in-flight", "4", "--shard-size", "10", "-q"]
        refused = subprocess.run(
            argv, env=_env(driver_home), capture_output=True, text=True, timeout=300
        )
        assert refused.returncode == 2, refused.stderr
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in refused.stderr, refused.stderr
        assert "refused this process's authentication token" in lines[0]
        assert "RAY_AUTH_TOKEN_PATH" in lines[0] and address in lines[0]
        assert token.read_text() not in refused.stderr
        assert not out.exists() and server.requests == 0
        joined = subprocess.run(
            argv,
            env=_env(driver_home, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token)),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert joined.returncode == 0, joined.stderr
    records = list(read_records(out / "complete"))
    assert len(records) == 40 and server.requests == 40
