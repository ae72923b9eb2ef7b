"""LAB generation at scale: plan + generate the example taxonomy against an instant local server.

The fake teacher (tests/fakeserver) runs in its own process with the scripted LAB responder,
answering at once, so what is measured is synthloom's own cost: wall time, requests/s, peak
memory (RSS) and CPU time per kept sample (everything that is not waiting for the model).
Counts are scaled so that the kept samples (about 75% of planned ones pass the planted judges)
approach ``--samples``. The named peer in the same run is the engine's floor: the same number of
requests sent through ``run_requests`` alone (cache on, no recipe logic).

    python benchmarks/bench_lab.py [--samples 50000] [--in-flight 128]

It prints a table; it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))


def serve() -> None:
    from tests.recipes.lab.responder import lab_responder

    from fakeserver import FakeServer

    server = FakeServer(responder=lab_responder, log_bodies=False)

    async def run() -> None:
        await server._serve()
        print(f"PORT {server.port}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--in-flight", type=int, default=128)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    from synthloom.engine import run_requests
    from synthloom.llm import OpenAIHTTPBackend, Request, ResponseCache, TeacherClient
    from synthloom.recipes.lab import generate, leaf_chunks, load_pipeline, plan_leaf
    from synthloom.recipes.lab.config import settings_for
    from synthloom.taxonomy import load_taxonomy, require_valid

    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    url = f"http://127.0.0.1:{int(proc.stdout.readline().split()[1])}/v1"
    try:
        per_kind = args.samples // 3
        config = load_pipeline(ROOT / "examples" / "lab_pipeline.yaml")
        taxonomy = ROOT / "examples" / "taxonomy"
        chunks_probe = leaf_chunks(
            next(lf for lf in load_taxonomy(taxonomy).leaves if lf.kind == "knowledge"),
            config.knowledge.chunk_tokens,
        )[0]
        config = config.model_copy(
            update={
                "teacher": config.teacher.model_copy(
                    update={"base_url": url, "api_key_env": None, "max_in_flight": args.in_flight}
                ),
                "overrides": {},
                "mix": None,
                "freeform_skill": config.freeform_skill.model_copy(
                    update={"questions": per_kind, "questions_per_request": 10}
                ),
                "grounded_skill": config.grounded_skill.model_copy(
                    update={"contexts": per_kind // 10, "questions_per_context": 10}
                ),
                "knowledge": config.knowledge.model_copy(
                    update={
                        "seed_sets_per_chunk": max(1, per_kind // (10 * len(chunks_probe))),
                        "pairs_per_request": 10,
                    }
                ),
            }
        )
        t0 = time.perf_counter()
        tax = require_valid(load_taxonomy(taxonomy))
        plans = []
        for leaf in tax.leaves:
            chunks = None
            if leaf.kind == "knowledge":
                chunks = leaf_chunks(leaf, settings_for(config, leaf).chunk_tokens)[0]
            plans.append(plan_leaf(leaf, config, chunks=chunks))
        plan_s = time.perf_counter() - t0
        planned_calls = sum(p["model_calls"] for p in plans)
        planned_samples = sum(p["planned_samples"] for p in plans)
        with tempfile.TemporaryDirectory() as tmp:
            cpu0 = time.process_time()
            t0 = time.perf_counter()
            entry = asyncio.run(generate(taxonomy, config, Path(tmp) / "run"))
            wall = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
            requests = entry["accounting"]["requests"]
            kept = sum(v["samples"] for v in entry["leaves"].values())
            rejected = sum(v["rejects"] for v in entry["leaves"].values())
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

            async def floor() -> float:
                cache = ResponseCache(Path(tmp) / "floor.sqlite")
                client = TeacherClient(OpenAIHTTPBackend(url, api_key_env=None), cache=cache)
                reqs = (
                    Request(model="m", messages=[{"role": "user", "content": f"p {i}"}])
                    for i in range(requests)
                )
                start = time.perf_counter()
                async with client:
                    async for _ in run_requests(reqs, client, max_in_flight=args.in_flight):
                        pass
                cache.close()
                return time.perf_counter() - start

            floor_s = asyncio.run(floor())
    finally:
        proc.terminate()
        proc.wait(10)
    rows = [
        ("plan (3 leaves, no model)", f"{plan_s * 1000:.0f} ms"),
        ("planned samples / calls", f"{planned_samples:,} / {planned_calls:,}"),
        ("kept / rejected samples", f"{kept:,} / {rejected:,}"),
        ("requests sent", f"{requests:,}"),
        ("generate wall time", f"{wall:.1f} s"),
        ("requests/s", f"{requests / wall:,.0f}"),
        ("kept samples/s", f"{kept / wall:,.0f}"),
        ("CPU per kept sample (all of it ours)", f"{cpu / max(kept, 1) * 1000:.2f} ms"),
        ("peak RSS", f"{peak_mb:,.0f} MB"),
        (
            "peer: run_requests alone, same #requests",
            f"{floor_s:.1f} s ({requests / floor_s:,.0f} req/s)",
        ),
        (
            "LAB overhead over the engine floor",
            f"{(wall - floor_s) / max(kept, 1) * 1000:.2f} ms/sample",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
