"""Teacher-call throughput and memory: synthloom ``complete`` against its peers.

Against the fake teacher (tests/fakeserver/server.py) in its own process, answering at once:

  (a) a bare aiohttp loop posting the same JSON under a semaphore (the ceiling here)
  (b) a bare ``openai.AsyncOpenAI`` loop
  (c) synthloom ``complete`` with the SQLite cache and Parquet output on
  (d) distilabel 1.5.3 TextGeneration + OpenAILLM, run by the python of its own venv
      (``--distilabel-python``; skipped with a note when absent)

then (a) and (c) with 200 ms of server latency and 128 in flight against the ideal 128 / 0.2 s
(the bare loop shows what this machine can reach with the server on the same cores), then
synthloom's peak memory (RSS) over growing prompt counts, extrapolated to 1,000,000.

    python benchmarks/bench_complete.py [--requests 20000] [--distilabel-requests 2000] \
        [--distilabel-python .bench/venv/bin/python]

It prints a table; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "tests" / "fakeserver" / "server.py"


class Server:
    def __init__(self, latency: float = 0.0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER), "--port", "0", "--latency", str(latency)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        self.url = f"http://127.0.0.1:{int(line[1])}/v1"

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def write_prompts(path: Path, count: int) -> Path:
    with path.open("w") as fh:
        for i in range(count):
            fh.write(
                json.dumps(
                    {"messages": [{"role": "user", "content": f"Write a haiku about item {i}."}]}
                )
                + "\n"
            )
    return path


def bodies(count: int) -> list[bytes]:
    return [
        json.dumps(
            {
                "model": "m",
                "messages": [{"role": "user", "content": f"Write a haiku about item {i}."}],
            }
        ).encode()
        for i in range(count)
    ]


async def bare_aiohttp(url: str, count: int, in_flight: int) -> float:
    import aiohttp

    payloads = bodies(count)
    sem = asyncio.Semaphore(in_flight)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one(body: bytes) -> None:
            async with (
                sem,
                session.post(
                    f"{url}/chat/completions",
                    data=body,
                    headers={"Content-Type": "application/json"},
                ) as resp,
            ):
                json.loads(await resp.read())

        start = time.perf_counter()
        await asyncio.gather(*(one(b) for b in payloads))
        return count / (time.perf_counter() - start)


async def bare_openai(url: str, count: int, in_flight: int) -> float:
    import openai

    client = openai.AsyncOpenAI(base_url=url, api_key="none", max_retries=0)
    sem = asyncio.Semaphore(in_flight)

    async def one(i: int) -> None:
        async with sem:
            await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": f"Write a haiku about item {i}."}]
            )

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    rate = count / (time.perf_counter() - start)
    await client.close()
    return rate


def synthloom_rate(url: str, prompts: Path, out: Path, in_flight: int) -> tuple[float, dict]:
    from synthloom.engine import CompleteConfig, complete_dataset_sync

    config = CompleteConfig(model="m", base_url=url, max_in_flight=in_flight)
    start = time.perf_counter()
    entry = complete_dataset_sync(prompts, out, config)
    elapsed = time.perf_counter() - start
    return entry["accounting"]["requests"] / elapsed, entry


DISTILABEL_SCRIPT = r"""
import sys, time, json
from distilabel.pipeline import Pipeline
from distilabel.steps import LoadDataFromDicts
from distilabel.steps.tasks import TextGeneration
from distilabel.models import OpenAILLM
url, count, in_flight = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = [{"instruction": f"Write a haiku about item {i}."} for i in range(count)]
with Pipeline(name="bench", cache_dir=sys.argv[4]) as pipe:
    load = LoadDataFromDicts(data=data, batch_size=in_flight)
    gen = TextGeneration(llm=OpenAILLM(model="m", base_url=url, api_key="none", max_retries=0),
                         input_batch_size=in_flight)
    load >> gen
start = time.perf_counter()
ds = pipe.run(use_cache=False)
elapsed = time.perf_counter() - start
n = len(ds["default"]["train"])
print(json.dumps({"rate": n / elapsed, "rows": n}))
"""


def distilabel_rate(python: str, url: str, count: int, in_flight: int, tmp: Path) -> float | None:
    script = tmp / "distilabel_bench.py"
    script.write_text(DISTILABEL_SCRIPT)
    proc = subprocess.run(
        [python, str(script), url, str(count), str(in_flight), str(tmp / "distilabel-cache")],
        capture_output=True,
        text=True,
        env={**os.environ, "DISTILABEL_LOG_LEVEL": "ERROR"},
    )
    if proc.returncode != 0:
        print(f"  (d) distilabel failed: {proc.stderr.strip().splitlines()[-1:]}")
        return None
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["rate"])


PEAK_SCRIPT = r"""
import resource, sys
from synthloom.cli import main
rc = main(sys.argv[1:])
print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, rc)
"""


def peak_memory_mb(url: str, prompts: Path, out: Path) -> float:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            PEAK_SCRIPT,
            "complete",
            str(prompts),
            "--base-url",
            url,
            "--model",
            "m",
            "--out",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
    )
    line = [x for x in proc.stdout.splitlines() if x.startswith("PEAK_KB")][-1].split()
    if line[2] != "0":
        raise RuntimeError(proc.stderr)
    return int(line[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument(
        "--distilabel-python", default=str(ROOT / ".bench" / "venv" / "bin" / "python")
    )
    parser.add_argument(
        "--distilabel-requests",
        type=int,
        default=2000,
        help="requests for (d) (distilabel is slow; its rate is steady by then)",
    )
    parser.add_argument("--latency-requests", type=int, default=128 * 25)
    parser.add_argument("--memory-sizes", default="25000,50000,100000")
    parser.add_argument(
        "--skip", default="", help="comma list of parts to skip: a,b,c,d,latency,memory"
    )
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    rows: list[tuple[str, float | None]] = []

    def record(name: str, rate: float | None) -> None:
        rows.append((name, rate))
        print(f"  {name}: {'failed' if rate is None else f'{rate:.0f} req/s'}", flush=True)

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        prompts = write_prompts(tmp / "prompts.jsonl", args.requests)
        server = Server()
        try:
            print(
                f"{args.requests} single-turn requests, {args.in_flight} in flight, instant server"
            )
            if "a" not in skip:
                rate_a = asyncio.run(bare_aiohttp(server.url, args.requests, args.in_flight))
                record("(a) bare aiohttp loop", rate_a)
            if "b" not in skip:
                rate_b = asyncio.run(bare_openai(server.url, args.requests, args.in_flight))
                record("(b) bare AsyncOpenAI loop", rate_b)
            if "c" not in skip:
                rate, _ = synthloom_rate(server.url, prompts, tmp / "run-c", args.in_flight)
                record("(c) synthloom complete (cache+Parquet)", rate)
            if "d" not in skip:
                if Path(args.distilabel_python).exists():
                    rate_d = distilabel_rate(
                        args.distilabel_python,
                        server.url,
                        args.distilabel_requests,
                        args.in_flight,
                        tmp,
                    )
                    record(f"(d) distilabel 1.5.3 ({args.distilabel_requests} requests)", rate_d)
                else:
                    print(
                        f"  (d) skipped: no python at {args.distilabel_python} "
                        "(python -m venv .bench/venv && "
                        ".bench/venv/bin/pip install 'distilabel[openai]==1.5.3')"
                    )
        finally:
            server.close()
        rates = dict(rows)
        ceiling = rates.get("(a) bare aiohttp loop")
        ours = rates.get("(c) synthloom complete (cache+Parquet)")
        dist = next((r for n, r in rows if n.startswith("(d)")), None)
        print(f"{'client':42s} {'req/s':>8s} {'vs (a)':>7s}")
        for name, rate in rows:
            if rate is None:
                print(f"{name:42s} {'failed':>8s}")
                continue
            ratio = f"{rate / ceiling:.2f}x" if ceiling else "-"
            print(f"{name:42s} {rate:8.0f} {ratio:>7s}")
        if ours and dist:
            print(f"synthloom / distilabel: {ours / dist:.1f}x")

        if "latency" not in skip:
            slow = Server(latency=0.2)
            try:
                p2 = write_prompts(tmp / "prompts-latency.jsonl", args.latency_requests)
                bare = asyncio.run(bare_aiohttp(slow.url, args.latency_requests, 128))
                rate, _ = synthloom_rate(slow.url, p2, tmp / "run-latency", 128)
            finally:
                slow.close()
            print(f"200 ms latency, 128 in flight, {args.latency_requests} requests:")
            print(f"{'client':42s} {'req/s':>8s} {'of 640':>7s} {'vs (a)':>7s}")
            for name, value in (("(a) bare aiohttp loop", bare), ("(c) synthloom complete", rate)):
                print(f"{name:42s} {value:8.0f} {value / 640:7.0%} {value / bare:6.2f}x")

        if "memory" not in skip:
            server = Server()
            try:
                sizes = [int(s) for s in args.memory_sizes.split(",")]
                peaks = []
                for size in sizes:
                    p3 = write_prompts(tmp / f"prompts-{size}.jsonl", size)
                    peak = peak_memory_mb(server.url, p3, tmp / f"run-mem-{size}")
                    peaks.append(peak)
                    print(f"peak RSS for {size:>9,d} prompts: {peak:7.1f} MB")
                if len(sizes) >= 2:
                    slope = (peaks[-1] - peaks[0]) / (sizes[-1] - sizes[0])
                    print(
                        f"extrapolated to 1,000,000 prompts (linear fit of the last and first): "
                        f"{peaks[-1] + slope * (1_000_000 - sizes[-1]):.1f} MB "
                        f"({slope * 1e6 / 1e3:.2f} KB more per 1,000 prompts)"
                    )
            finally:
                server.close()


if __name__ == "__main__":
    main()
