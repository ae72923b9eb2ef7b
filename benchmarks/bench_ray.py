"""Benchmark: the Ray executor against the local executor on one machine.

1. ``complete`` against the fake teacher answering after 200 ms (run as its own process, as a
   real server would be), at equal total in flight: local ``--max-in-flight A*P`` vs Ray with
   ``A`` actors x ``P`` per actor. The floor is ``requests * latency / in_flight``; what is
   above it is each executor's overhead (for Ray: actor start-up, per-shard tails, the merge
   of each shard into its published part). Ray's own start-up (``ray.init``) is shown apart.
   With ``--s3``, the Ray run once more with its storage (``--out``) in an S3 bucket served by
   moto on 127.0.0.1 (needs the ``test`` extra: moto and s3fs): what the object-store path
   (scratch folders, cache uploads, parts uploaded) costs against a path.
2. MinHash near-duplicate clusters of ``--docs`` documents (the corpus of bench_dedup.py):
   ``synthloom.minhash.near_duplicate_clusters`` vs ``near_duplicate_clusters_ray``, and
   whether the two results are identical.
3. The per-pair phase of the preference assay on ``--pairs`` realistic pairs (the planted-flaw
   sets of the tests: CPython documentation prose, identical pairs, refusals, bullet lists):
   ``measure_pairs`` vs ``measure_pairs_ray`` (shards of 2,000 pairs), and whether every value
   is identical.

Usage::

    python benchmarks/bench_ray.py                       # 2,000 prompts, 100,000 documents
    python benchmarks/bench_ray.py --prompts 5000 --actors 4 --per-actor 32 --docs 200000
    python benchmarks/bench_ray.py --s3 --docs 0         # complete on a path and on S3
    python benchmarks/bench_ray.py --prompts 0 --docs 0 --pairs 10000   # preference pairs only

It prints a small table; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dedup import make_corpus  # noqa: E402


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "fakeserver" / "server.py"),
            "--port",
            "0",
            "--latency",
            str(latency),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, f"http://127.0.0.1:{int(line.split()[1])}/v1"


def bench_complete(args: argparse.Namespace, rows: list[tuple[str, ...]]) -> None:
    from synthloom.engine import CompleteConfig, complete_dataset_sync
    from synthloom.engine.ray_executor import RayOptions, complete_dataset_ray
    from synthloom.records import write_jsonl

    in_flight = args.actors * args.per_actor
    proc, url = start_server(args.latency)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            prompts = Path(tmp) / "prompts.jsonl"
            write_jsonl(
                [
                    {"messages": [{"role": "user", "content": f"prompt {i}"}]}
                    for i in range(args.prompts)
                ],
                prompts,
            )
            config = CompleteConfig(
                model="fake-teacher",
                base_url=url,
                seed=1,
                api_key_env=None,
                max_in_flight=in_flight,
            )
            floor = args.prompts * args.latency / in_flight
            t0 = time.perf_counter()
            local = complete_dataset_sync(prompts, Path(tmp) / "local", config)
            local_s = time.perf_counter() - t0
            rows.append(
                (
                    "complete",
                    f"local, {in_flight} in flight",
                    f"{local_s:.2f}",
                    f"{args.prompts / local_s:.0f} req/s",
                    f"floor {floor:.2f} s",
                    f"{local['records']} records",
                )
            )
            options = RayOptions(
                actors=args.actors, per_actor_in_flight=args.per_actor, shard_size=args.shard_size
            )
            t0 = time.perf_counter()
            entry = complete_dataset_ray(prompts, Path(tmp) / "ray", config, options=options)
            ray_s = time.perf_counter() - t0
            rows.append(
                (
                    "complete",
                    f"ray, {args.actors} actors x {args.per_actor}",
                    f"{ray_s:.2f}",
                    f"{args.prompts / ray_s:.0f} req/s",
                    f"floor {floor:.2f} s",
                    f"{entry['records']} records, {entry['shards']} shards of {args.shard_size}",
                )
            )
            if args.s3:
                import fsspec

                fsspec.filesystem("s3").mkdir("bench")
                t0 = time.perf_counter()
                entry = complete_dataset_ray(prompts, "s3://bench/ray", config, options=options)
                s3_s = time.perf_counter() - t0
                rows.append(
                    (
                        "complete",
                        f"ray, {args.actors} actors x {args.per_actor}, --out on S3 (moto)",
                        f"{s3_s:.2f}",
                        f"{args.prompts / s3_s:.0f} req/s",
                        f"floor {floor:.2f} s",
                        f"{entry['records']} records, {entry['shards']} shards",
                    )
                )
    finally:
        proc.terminate()
        proc.wait()


def bench_dedup(args: argparse.Namespace, rows: list[tuple[str, ...]]) -> None:
    from synthloom.engine.ray import near_duplicate_clusters_ray
    from synthloom.engine.ray_executor import RayOptions
    from synthloom.minhash import near_duplicate_clusters

    texts, _ = make_corpus(args.docs, 0.2, seed=0)
    t0 = time.perf_counter()
    local = near_duplicate_clusters(texts, threshold=0.8)
    local_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    remote = near_duplicate_clusters_ray(
        texts, threshold=0.8, options=RayOptions(actors=args.actors), shard_docs=args.shard_docs
    )
    ray_s = time.perf_counter() - t0
    same = bool(
        np.array_equal(local.labels, remote.labels) and np.array_equal(local.pairs, remote.pairs)
    )
    for name, seconds in (("local", local_s), (f"ray, {args.actors} band groups", ray_s)):
        rows.append(
            (
                "minhash dedup",
                name,
                f"{seconds:.2f}",
                f"{args.docs / seconds:.0f} docs/s",
                f"{len(local.pairs)} pairs",
                f"identical: {same}",
            )
        )


def bench_preference(args: argparse.Namespace, rows: list[tuple[str, ...]]) -> None:
    from dataclasses import fields

    from synthloom.assay.preference.measures import (
        SHARD_PAIRS,
        PairMeasures,
        measure_pairs,
        measure_pairs_ray,
    )

    sys.path.insert(0, str(ROOT))
    from tests.assay.preference_sets import build, fair_plans, flawed_plans

    plans = flawed_plans() + fair_plans(max(0, args.pairs - 40), seed=5)
    answers = [(str(r["chosen"]), str(r["rejected"])) for r in build(plans, seed=2)]
    t0 = time.perf_counter()
    local = measure_pairs(answers)
    local_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    remote = measure_pairs_ray(answers)
    ray_s = time.perf_counter() - t0
    same = all(
        np.array_equal(getattr(local, f.name), getattr(remote, f.name), equal_nan=True)
        for f in fields(PairMeasures)
    )
    shards = -(-len(answers) // SHARD_PAIRS)
    for name, seconds in (("local", local_s), (f"ray, {shards} tasks", ray_s)):
        rows.append(
            (
                "preference pairs",
                name,
                f"{seconds:.2f}",
                f"{len(answers) / seconds:.0f} pairs/s",
                f"{int(local.identical.sum())} identical",
                f"identical: {same}",
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--per-actor", type=int, default=32)
    parser.add_argument("--shard-size", type=int, default=500)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--shard-docs", type=int, default=20_000)
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--s3", action="store_true", help="also run complete with --out on S3")
    args = parser.parse_args()
    moto = None
    if args.s3:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        host, port = moto.get_host_and_port()
        # Set before ray.init: the workers inherit this environment.
        os.environ.update(
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ENDPOINT_URL=f"http://{host}:{port}",
        )

    import ray

    t0 = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    init_s = time.perf_counter() - t0
    rows: list[tuple[str, ...]] = [("ray.init", "local cluster", f"{init_s:.2f}", "", "", "")]
    try:
        if args.prompts:
            bench_complete(args, rows)
        if args.docs:
            bench_dedup(args, rows)
        if args.pairs:
            bench_preference(args, rows)
    finally:
        ray.shutdown()
        if moto is not None:
            moto.stop()
    header = ("task", "executor", "seconds", "rate", "reference", "result")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
