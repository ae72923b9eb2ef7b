"""Benchmark: Nemotron pipeline, prompts -> 4 responses -> NIM-style reward -> pairs.

Runs against the fake OpenAI-compatible server (tests/fakeserver) in its own process, answering
at once, so the figures measure synthloom's own overhead. The peer in the same run is
``synthloom complete`` (the engine's response-distillation stage) asked for the same 4
responses per prompt without scoring: the difference is what reward scoring, selection and
export cost. Prints a table; asserts nothing about time.

    python benchmarks/bench_nemotron.py --prompts 10000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from synthloom.engine import CompleteConfig, complete_dataset_sync
from synthloom.recipes.nemotron import load_pipeline, run_pipeline_sync

ROOT = Path(__file__).resolve().parents[1]


def start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "fakeserver" / "server.py"),
            "--port",
            "0",
            "--reward-model",
            "fake-reward",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, f"http://127.0.0.1:{int(line.split()[1])}/v1"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=10_000)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--max-in-flight", type=int, default=64)
    args = parser.parse_args()
    proc, url = start_server()
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            prompts = work / "prompts.jsonl"
            with prompts.open("w") as fh:
                for i in range(args.prompts):
                    msg = {"role": "user", "content": f"Question {i}: explain topic {i % 997}."}
                    fh.write(json.dumps({"messages": [msg]}) + "\n")

            # The peer: the same responses with the engine's complete stage, no scoring.
            cpu0, t0 = cpu_seconds(), time.perf_counter()
            complete_dataset_sync(
                prompts,
                work / "peer",
                CompleteConfig(
                    model="fake-teacher",
                    base_url=url,
                    n=args.k,
                    api_key_env=None,
                    max_in_flight=args.max_in_flight,
                ),
            )
            wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
            rows.append(("complete (peer, responses only)", args.prompts * args.k, wall, cpu))

            config = {
                "teacher": {
                    "base_url": url,
                    "model": "fake-teacher",
                    "api_key_env": None,
                    "max_in_flight": args.max_in_flight,
                },
                "families": {"prompts_file": {"path": str(prompts)}},
                "responses": {"k": args.k},
                "reward": {"backend": "nim", "model": "fake-reward"},
                "preference": {"min_margin": 0.25},
            }
            path = work / "pipeline.yaml"
            path.write_text(yaml.safe_dump(config))
            cpu0, t0 = cpu_seconds(), time.perf_counter()
            entry = run_pipeline_sync(load_pipeline(path), work / "run")
            wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
            requests = (
                entry["teacher_accounting"]["requests"] + entry["reward_accounting"]["requests"]
            )
            rows.append(("nemotron (responses+reward+pairs)", requests, wall, cpu))
            counts = entry["counts"]
    finally:
        proc.terminate()
        proc.wait(10)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"prompts={args.prompts} k={args.k} max_in_flight={args.max_in_flight} "
        f"(server: separate process, instant answers)"
    )
    print(f"{'run':<36}{'requests':>10}{'wall s':>9}{'req/s':>9}{'client CPU share':>18}")
    for name, n, wall, cpu in rows:
        print(f"{name:<36}{n:>10}{wall:>9.1f}{n / wall:>9.0f}{cpu / wall:>17.0%}")
    print(
        f"pairs={counts['pairs']} sft={counts['sft']} scored={counts['scored']} "
        f"peak RSS of the client process={peak_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
