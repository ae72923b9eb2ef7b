"""Atomic result folders (synthloom.atomic): old or new, never a mix, even under kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synthloom import atomic
from synthloom.assay.run import RESULT_FILES as ASSAY_RESULTS
from synthloom.atomic import clean_leftovers, publish_dir, staging_dir

# What an assay publishes together (metrics, report, and the unmasked PII file of --show-pii).
RESULTS = ("metrics.json", "report.html", "pii_examples.jsonl")


def _result(folder: Path, generation: int) -> None:
    (folder / "metrics.json").write_text(json.dumps({"generation": generation}))
    (folder / "report.html").write_text(f"<p>generation {generation}</p>")
    (folder / "pii_examples.jsonl").write_text(json.dumps({"generation": generation}) + "\n")


def _generation(folder: Path) -> int:
    metrics = json.loads((folder / "metrics.json").read_text())["generation"]
    assert (folder / "report.html").read_text() == f"<p>generation {metrics}</p>"
    examples = json.loads((folder / "pii_examples.jsonl").read_text())["generation"]
    assert examples == metrics
    return int(metrics)


@pytest.fixture(params=[True, False], ids=["exchange", "two-renames"])
def exchange(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    if not request.param:
        monkeypatch.setattr(atomic, "_libc_exchange", lambda source, target: False)
    return bool(request.param)


def test_publish_creates_then_replaces_and_keeps_what_it_did_not_write(
    tmp_path: Path, exchange: bool
) -> None:
    out = tmp_path / "report"
    staging = staging_dir(out)
    _result(staging, 1)
    publish_dir(staging, out, RESULTS)
    assert _generation(out) == 1 and not staging.exists()
    (out / "cache").mkdir()
    (out / "cache" / "vectors.npy").write_bytes(b"cached")
    (out / "notes.txt").write_text("the user's own file")
    staging = staging_dir(out)
    _result(staging, 2)
    publish_dir(staging, out, RESULTS)
    assert _generation(out) == 2
    assert (out / "cache" / "vectors.npy").read_bytes() == b"cached"
    assert (out / "notes.txt").read_text() == "the user's own file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_a_new_result_without_a_report_leaves_no_old_report(tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.mkdir()
    _result(out, 1)
    staging = staging_dir(out)
    (staging / "metrics.json").write_text(json.dumps({"generation": 2}))
    publish_dir(staging, out, RESULTS)
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json"]


def test_leftovers_of_each_kill_point_are_tidied(tmp_path: Path) -> None:
    out = tmp_path / "report"
    # Killed before the swap: the old result is whole, the staging folder goes.
    out.mkdir()
    _result(out, 1)
    (out / "notes.txt").write_text("mine")
    before = staging_dir(out)
    _result(before, 2)
    clean_leftovers(out, RESULTS)
    assert _generation(out) == 1 and not before.exists()
    # Killed between the two renames of the fallback: no folder at the path; put back.
    old = tmp_path / f".report.old-{os.getpid()}"
    os.replace(out, old)
    clean_leftovers(out, RESULTS)
    assert _generation(out) == 1 and (out / "notes.txt").read_text() == "mine"
    # Killed after the exchange, before the user's files moved over: they come back.
    leftover = staging_dir(out)
    for name in ("metrics.json", "report.html", "notes.txt"):
        os.replace(out / name, leftover / name)
    _result(out, 2)
    clean_leftovers(out, RESULTS)
    assert _generation(out) == 2 and (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


_PUBLISHER = """
import sys
from pathlib import Path
from synthloom.atomic import publish_dir, staging_dir
out, results = Path(sys.argv[1]), tuple(sys.argv[2].split(","))
generation = 0
while True:
    generation += 1
    staging = staging_dir(out)
    (staging / results[0]).write_text('{"generation": %d}' % generation)
    (staging / results[1]).write_text("<p>generation %d</p>" % generation)
    (staging / results[2]).write_text('{"generation": %d}' % generation)
    publish_dir(staging, out, results)
"""


def test_kill_9_at_random_moments_of_publishing_leaves_old_or_new(tmp_path: Path) -> None:
    # A process that does nothing but publish assay results; killed 30 times at random
    # moments, most of them during a swap. After each kill (and the next run's tidying) the
    # folder holds one whole generation, and the user's file beside it is never lost.
    out = tmp_path / "report"
    out.mkdir()
    _result(out, 0)
    (out / "notes.txt").write_text("mine")
    assert ASSAY_RESULTS == RESULTS
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    seen = 0
    rng = __import__("random").Random(7)
    for _ in range(30):
        proc = subprocess.Popen(
            [sys.executable, "-c", _PUBLISHER, str(out), ",".join(RESULTS)], env=env
        )
        time.sleep(0.3 + rng.random() * 0.2)  # start-up, then some hundreds of swaps
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        clean_leftovers(out, RESULTS)
        generation = _generation(out)  # raises on a mix of two generations
        assert (out / "notes.txt").read_text() == "mine"
        seen = max(seen, generation)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    assert seen > 10  # the kills did land while it was publishing
