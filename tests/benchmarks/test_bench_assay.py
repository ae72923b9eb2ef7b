"""What the whole-assay benchmark (``benchmarks/bench_assay.py``) rests on: its corpora are
deterministic, of the asked size, valid records, and rebuilt when a cached file is not what it
claims; its per-child peak memory is each child's own; its remainder leaves metrics.json's
``total`` out of the sum of items."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from synthloom.records import read_records

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
MB = 2**20


@pytest.fixture()
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("bench_assay")


def test_corpus_is_deterministic_and_holds_valid_records(bench: ModuleType, tmp_path: Path) -> None:
    ref_a, syn_a, reused_a = bench.ensure_corpus(tmp_path / "a", 300)
    ref_b, syn_b, reused_b = bench.ensure_corpus(tmp_path / "b", 300)
    assert (reused_a, reused_b) == (False, False)
    assert ref_a.read_bytes() == ref_b.read_bytes()
    assert syn_a.read_bytes() == syn_b.read_bytes()
    assert ref_a.read_bytes() != syn_a.read_bytes()
    for path in (ref_a, syn_a):
        records = list(read_records(path))
        assert len(records) == 300
        assert len({r["id"] for r in records}) == 300
        assert all([m["role"] for m in r["messages"]] == ["user", "assistant"] for r in records)
        assert all(m["content"].strip() for r in records for m in r["messages"])


def truncate(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")


def drop_manifest(path: Path) -> None:
    path.with_suffix(".json").unlink()


def other_generator(path: Path) -> None:
    manifest = path.with_suffix(".json")
    known = json.loads(manifest.read_text(encoding="utf-8"))
    manifest.write_text(json.dumps({**known, "generator": "an-older-one"}), encoding="utf-8")


def test_corpus_is_reused_when_unchanged(bench: ModuleType, tmp_path: Path) -> None:
    ref, syn, _ = bench.ensure_corpus(tmp_path, 200)
    stamps = (ref.stat().st_mtime_ns, syn.stat().st_mtime_ns)
    assert bench.ensure_corpus(tmp_path, 200) == (ref, syn, True)
    assert (ref.stat().st_mtime_ns, syn.stat().st_mtime_ns) == stamps
    # Another size is another pair of files; the first stays as it was.
    ref_400, _, reused = bench.ensure_corpus(tmp_path, 400)
    assert not reused and ref_400 != ref
    assert ref.stat().st_mtime_ns == stamps[0]


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(truncate, id="file-cut-short"),
        pytest.param(drop_manifest, id="no-manifest"),
        pytest.param(other_generator, id="other-generator"),
    ],
)
def test_corpus_is_rebuilt_when_not_what_it_claims(
    bench: ModuleType, tmp_path: Path, spoil: object
) -> None:
    ref, syn, _ = bench.ensure_corpus(tmp_path, 200)
    whole = ref.read_bytes()
    spoil(ref)  # type: ignore[operator]
    assert bench.ensure_corpus(tmp_path, 200) == (ref, syn, False)
    assert ref.read_bytes() == whole
    assert len(list(read_records(ref))) == 200


def test_peak_memory_is_each_childs_own(bench: ModuleType, tmp_path: Path) -> None:
    # b"x" * n writes every page (a zeroed bytearray might never be touched).
    big = bench.run_measured(
        [sys.executable, "-c", f"block = b'x' * {300 * MB}; raise SystemExit(3)"],
        stdout=tmp_path / "out",
        stderr=tmp_path / "err",
    )
    small = bench.run_measured(
        [sys.executable, "-c", "pass"], stdout=tmp_path / "out", stderr=tmp_path / "err"
    )
    assert big.returncode == 3 and small.returncode == 0
    assert big.peak_bytes >= 300 * MB
    # Measured after the big one, the small child still reads its own few megabytes.
    assert small.peak_bytes < 100 * MB


def test_remainder_leaves_the_in_process_total_out(bench: ModuleType) -> None:
    seconds = {"embeddings": 6.0, "privacy.pii": 2.5, "total": 9.0}
    shares = dict(bench.item_shares(seconds, 12.0))
    assert "total" not in shares
    assert shares[bench.REST] == pytest.approx(3.5)
    assert sum(shares.values()) == pytest.approx(12.0)
