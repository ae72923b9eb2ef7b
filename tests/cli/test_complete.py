"""``synthloom complete``: bad input, the API key, and kill -9 at random points then resume."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from fakeserver import FakeServer
from synthloom.cli import main
from synthloom.llm import Request, cache_key

FAST = ["--max-attempts", "2", "--retry-base-delay", "0.01", "--retry-max-delay", "0.02", "--quiet"]


def _prompts(path: Path, n: int) -> Path:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(
                json.dumps({"messages": [{"role": "user", "content": f"prompt number {i}"}]}) + "\n"
            )
    return path


def _dataset(run: Path) -> list[tuple[str, str, str]]:
    rows = []
    for shard in sorted((run / "complete").glob("part-*.parquet")):
        for row in pq.read_table(shard).to_pylist():
            rows.append((row["id"], json.dumps(row["messages"]), row["meta"]))
    return sorted(rows)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_complete_writes_records_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 12)
    with FakeServer() as srv:
        rc = main(
            [
                "complete",
                str(prompts),
                "--base-url",
                srv.url,
                "--model",
                "m",
                "--out",
                str(tmp_path / "run"),
                "--n",
                "2",
            ]
        )
    assert rc == 0
    out = capsys.readouterr().out
    assert "24 records" in out and "24 new" in out
    assert len(_dataset(tmp_path / "run")) == 24
    stage = json.loads((tmp_path / "run" / "run.json").read_text())["stages"]["complete"]
    assert stage["status"] == "done" and stage["accounting"]["requests"] == 24


def test_dry_run_prints_the_plan_and_calls_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 7)
    with FakeServer() as srv:
        rc = main(
            [
                "complete",
                str(prompts),
                "--base-url",
                srv.url,
                "--model",
                "m",
                "--out",
                str(tmp_path / "run"),
                "--dry-run",
                "--max-tokens",
                "10",
            ]
        )
        assert srv.requests == 0
    assert rc == 0 and not (tmp_path / "run").exists()
    plan = json.loads(capsys.readouterr().out)
    assert plan["requests"] == 7 and plan["max_completion_tokens"] == 70


@pytest.mark.parametrize(
    ("case", "expect"),
    [
        pytest.param("unreachable", "cannot connect", id="unreachable"),
        pytest.param("model", "--model", id="wrong-model"),
        pytest.param("key", "$TEACHER_KEY", id="401"),
        pytest.param("html", "does not seem to speak the OpenAI API", id="not-the-api"),
        pytest.param("path", "--base-url", id="wrong-path"),
        pytest.param("scheme", "must start with http://", id="no-scheme"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(
    case: str,
    expect: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "sk-wrong-key-0000"
    monkeypatch.setenv("TEACHER_KEY", secret)
    prompts = _prompts(tmp_path / "p.jsonl", 20)
    server = FakeServer(
        models={"real"} if case == "model" else None,
        api_key="sk-right" if case == "key" else None,
        not_api=case == "html",
    )
    with server:
        url = {
            "unreachable": f"http://127.0.0.1:{_free_port()}/v1",
            "path": server.url[:-3],
            "scheme": server.url.removeprefix("http://"),
        }.get(case, server.url)
        rc = main(
            [
                "complete",
                str(prompts),
                "--base-url",
                url,
                "--model",
                "m",
                "--out",
                str(tmp_path / "run"),
                "--api-key-env",
                "TEACHER_KEY",
                *FAST,
            ]
        )
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("synthloom: error:") and err.count("\n") == 1 and expect in err
    assert secret not in err
    assert not (tmp_path / "run").exists()


def _start(prompts: Path, url: str, out: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "synthloom",
        "complete",
        str(prompts),
        "--base-url",
        url,
        "--model",
        "m",
        "--out",
        str(out),
        "--max-in-flight",
        "8",
        "--shard-rows",
        "16",
        "--api-key-env",
        "TEACHER_KEY",
        *FAST,
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _stored_keys(cache: Path) -> set[str]:
    if not cache.exists():
        return set()
    db = sqlite3.connect(cache)
    try:
        return {row[0] for row in db.execute("SELECT key FROM responses")}
    finally:
        db.close()


@pytest.mark.slow
def test_kill_9_at_random_points_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    secret = "sk-kill-test-7777"
    env = {**os.environ, "TEACHER_KEY": secret}
    prompts = _prompts(tmp_path / "p.jsonl", 120)
    rng = random.Random(1234)
    logs: list[bytes] = []
    with FakeServer(latency=0.004, api_key=secret) as srv:
        ref = _start(prompts, srv.url, tmp_path / "ref", env)
        out, err = ref.communicate(timeout=120)
        assert ref.returncode == 0, err
        logs += [out, err]
        reference = _dataset(tmp_path / "ref")
        assert len(reference) == 120

        run = tmp_path / "run"
        stored: set[str] = set()
        kills = 0
        for _ in range(3):
            srv.reset_counters()
            proc = _start(prompts, srv.url, run, env)
            target = rng.randint(10, 35)
            while srv.requests < target and proc.poll() is None:
                time.sleep(0.002)
            proc.send_signal(signal.SIGKILL)
            out, err = proc.communicate(timeout=30)
            kills += proc.returncode == -signal.SIGKILL
            logs += [out, err]
            # Nothing the resumed runs ask may be an answer that was stored before this kill.
            for body in srv.log:
                assert cache_key(Request(model="m", messages=body["messages"])) not in stored
            stored = _stored_keys(run / "cache.sqlite")
        assert kills == 3 and stored  # every run really died mid-way, after storing answers

        srv.reset_counters()
        final = _start(prompts, srv.url, run, env)
        out, err = final.communicate(timeout=120)
        assert final.returncode == 0, err
        logs += [out, err]
        for body in srv.log:
            assert cache_key(Request(model="m", messages=body["messages"])) not in stored
        asked = [json.dumps(body["messages"]) for body in srv.log]
        assert len(asked) == len(set(asked))

    assert _dataset(run) == reference
    stage = json.loads((run / "run.json").read_text())["stages"]["complete"]
    assert stage["status"] == "done" and stage["records"] == 120 and stage["invocations"] == 4
    for path in [*run.rglob("*"), *(tmp_path / "ref").rglob("*")]:
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    assert all(secret.encode() not in log for log in logs)


@pytest.mark.parametrize("backend", ["http", "openai"])
def test_a_401_that_echoes_the_key_prints_no_key(
    backend: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "sk-wrong-but-real-looking-31337"
    monkeypatch.setenv("TEACHER_KEY", secret)
    prompts = _prompts(tmp_path / "p.jsonl", 3)
    with FakeServer(api_key="sk-the-right-one", echo_headers=True) as srv:
        argv = ["complete", str(prompts), "--base-url", srv.url, "--model", "m", *FAST]
        argv += ["--backend", backend]
        rc = main([*argv, "--out", str(tmp_path / "run"), "--api-key-env", "TEACHER_KEY"])
        assert srv.headers_seen[0]["Authorization"] == f"Bearer {secret}"  # it was echoed
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert "HTTP 401" in err and "Bearer [REDACTED]" in err and secret not in err


@pytest.mark.parametrize(
    ("backend", "key", "expect"),
    [
        pytest.param("http", "sk-abc123\n", "ends with a line break", id="http-trailing-newline"),
        pytest.param("http", "sk-abc\r\n123", "holds a line break (character 7", id="http-crlf"),
        pytest.param(
            "openai", "sk-abc–123xyz", "holds a non-ASCII character (character 7", id="openai-dash"
        ),
        pytest.param("openai", "Bearer sk-abc123", "holds a space", id="openai-bearer-prefix"),
    ],
)
def test_a_key_that_cannot_be_a_header_is_a_usage_error(
    backend: str,
    key: str,
    expect: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEACHER_KEY", key)
    prompts = _prompts(tmp_path / "p.jsonl", 3)
    with FakeServer() as srv:
        rc = main(
            [
                "complete",
                str(prompts),
                "--base-url",
                srv.url,
                "--model",
                "m",
                "--out",
                str(tmp_path / "run"),
                "--api-key-env",
                "TEACHER_KEY",
                "--backend",
                backend,
                *FAST,
            ]
        )
        assert srv.requests == 0
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("synthloom: error: $TEACHER_KEY") and expect in err
    assert err.count("\n") == 1 and "abc" not in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("hang_from", "expect"),
    [
        pytest.param(0, "no answer within 0.6s (the limit for one request)", id="from-the-start"),
        pytest.param(6, "the server has answered nothing for", id="mid-run"),
    ],
)
def test_a_hanging_server_ends_the_run_with_one_line(
    hang_from: int,
    expect: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prompts = tmp_path / "p.jsonl"
    with prompts.open("w") as fh:
        for i in range(40):
            text = f"prompt number {i}" + (" [fault:hang*99]" if i >= hang_from else "")
            fh.write(json.dumps({"messages": [{"role": "user", "content": text}]}) + "\n")
    limits = ["--timeout", "0.25", "--max-request-time", "0.6", "--connect-timeout", "2"]
    with FakeServer() as srv:
        started = time.monotonic()
        rc = main(
            [
                "complete",
                str(prompts),
                "--base-url",
                srv.url,
                "--model",
                "m",
                "--out",
                str(tmp_path / "run"),
                "--max-in-flight",
                "4",
                "--max-attempts",
                "6",
                "--retry-base-delay",
                "0.01",
                "--quiet",
                *limits,
            ]
        )
        took = time.monotonic() - started
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("synthloom: error:") and err.count("\n") == 1
    assert expect in err and "Traceback" not in err
    # 40 prompts x 6 sends x 0.25 s would be a minute at 4 in flight; the run ends in about
    # one request time (a little more mid-run, where the last answer came after the start).
    assert took < 3.0
    if hang_from:
        run_json = json.loads((tmp_path / "run" / "run.json").read_text())
        stage = run_json["stages"]["complete"]
        assert stage["status"] == "failed" and expect in stage["error"]
        # The answers received before the server hung are kept, and a rerun resumes.
        assert len(_dataset(tmp_path / "run")) == hang_from
    else:
        assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        pytest.param("--max-request-time", "0", id="zero-request-time"),
        pytest.param("--timeout", "nan", id="nan-timeout"),
        pytest.param("--connect-timeout", "-1", id="negative-connect"),
        pytest.param("--max-request-time", "inf", id="infinite-request-time"),
    ],
)
def test_a_time_limit_that_is_not_a_positive_number_is_a_usage_error(
    option: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = _prompts(tmp_path / "p.jsonl", 2)
    argv = ["complete", str(prompts), "--base-url", "http://127.0.0.1:9/v1", "--model", "m"]
    rc = main([*argv, "--out", str(tmp_path / "run"), option, value, "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert f"'{option}': '{value}' is not a finite number > 0" in err
    assert not (tmp_path / "run").exists()
