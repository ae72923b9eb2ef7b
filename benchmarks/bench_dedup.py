"""Benchmark: synthloom's MinHash + LSH near-duplicate dedup vs datasketch's MinHashLSH.

datasketch's ``MinHash`` + ``MinHashLSH`` is what distilabel's ``MinHashDedup`` uses. Both sides
get the same shingles (character 5-grams of the lower-cased text with whitespace collapsed), the
same number of permutations and the same Jaccard threshold. Each runs in its own process so its
peak resident memory (``ru_maxrss``) is its own.

The corpus: documents of 40-100 words drawn from a Zipf-like vocabulary; a share of them are
copies of an earlier document with some words replaced, which plants pairs at Jaccard
similarities from 1.0 down to about 0.3. Ground truth is the exact Jaccard of the planted pairs,
computed on Python sets of shingle strings (independent of either implementation's hashing).

* recall: planted pairs at or above the threshold that end up in one cluster;
* precision (planted): planted pairs put in one cluster that truly are at/above the threshold;
* precision (reported): every pair the method reports (datasketch: LSH query hits; synthloom:
  verified pairs) that truly is at/above the threshold (a sample of 20,000 when there are more).

Usage::

    python benchmarks/bench_dedup.py --docs 100000              # both methods
    python benchmarks/bench_dedup.py --docs 1000000 --only synthloom

It prints a small table; it asserts nothing.
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

import numpy as np

SHINGLE = 5


def make_corpus(num_docs: int, dup_share: float, seed: int) -> tuple[list[str], np.ndarray]:
    """Texts and the planted (original, copy) index pairs."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab_size = 50_000
    lengths = rng.integers(3, 10, vocab_size)
    vocab = np.array(["".join(rng.choice(letters, n)) for n in lengths])
    weights = 1.0 / np.arange(1, vocab_size + 1) ** 0.8
    weights /= weights.sum()
    doc_lengths = rng.integers(40, 101, num_docs)
    words = rng.choice(vocab_size, int(doc_lengths.sum()), p=weights)
    docs = np.split(words, np.cumsum(doc_lengths)[:-1])
    is_copy = rng.random(num_docs) < dup_share
    is_copy[0] = False
    pairs = []
    for i in np.flatnonzero(is_copy):
        source = int(rng.integers(0, i))
        copy = docs[source].copy()
        share = rng.uniform(0.0, 0.4)
        positions = rng.choice(copy.size, int(share * copy.size), replace=False)
        copy[positions] = rng.choice(vocab_size, positions.size, p=weights)
        docs[i] = copy
        pairs.append((source, int(i)))
    texts = [" ".join(vocab[d]) for d in docs]
    return texts, np.array(pairs, dtype=np.int64).reshape(-1, 2)


def shingles(text: str) -> set[str]:
    norm = " ".join(text.lower().split())
    return {norm[i : i + SHINGLE] for i in range(len(norm) - SHINGLE + 1)} or {norm}


def exact_jaccard(texts: list[str], pairs: np.ndarray) -> np.ndarray:
    out = np.empty(len(pairs))
    for k, (a, b) in enumerate(pairs):
        sa, sb = shingles(texts[a]), shingles(texts[b])
        out[k] = len(sa & sb) / len(sa | sb)
    return out


# --------------------------------------------------------------------------------------------
# The two methods; each returns (cluster label per doc, reported pairs)


def run_synthloom(
    texts: list[str], threshold: float, num_perm: int
) -> tuple[np.ndarray, np.ndarray]:
    from synthloom.minhash import near_duplicate_clusters

    found = near_duplicate_clusters(
        texts, threshold=threshold, num_perm=num_perm, kind="char", n=SHINGLE
    )
    return found.labels, found.pairs


def run_datasketch(
    texts: list[str], threshold: float, num_perm: int
) -> tuple[np.ndarray, np.ndarray]:
    from datasketch import MinHash, MinHashLSH

    encoded = [[s.encode("utf-8") for s in shingles(t)] for t in texts]
    hashes = MinHash.bulk(encoded, num_perm=num_perm)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    parent = np.arange(len(texts))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    reported = []
    # distilabel's order: query what is already indexed, then insert.
    for i, mh in enumerate(hashes):
        for j in lsh.query(mh):
            reported.append((int(j), i))
            ra, rb = find(int(j)), find(i)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        lsh.insert(i, mh)
    labels = np.array([find(i) for i in range(len(texts))])
    return labels, np.array(reported, dtype=np.int64).reshape(-1, 2)


def worker(method: str, corpus: Path, threshold: float, num_perm: int, result: Path) -> None:
    texts = json.loads(corpus.read_text())
    # Imports happen before the clock starts: we time the work, not loading numpy or scipy.
    if method == "synthloom":
        import synthloom.minhash  # noqa: F401
    else:
        import datasketch  # noqa: F401
    start = time.perf_counter()
    fn = run_synthloom if method == "synthloom" else run_datasketch
    labels, pairs = fn(texts, threshold, num_perm)
    seconds = time.perf_counter() - start
    np.savez(result, labels=labels, pairs=pairs)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--dup-share", type=float, default=0.1)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["synthloom", "datasketch"], default=None)
    parser.add_argument("--worker", choices=["synthloom", "datasketch"], help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.corpus, args.threshold, args.num_perm, args.result)
        return

    t0 = time.perf_counter()
    texts, planted = make_corpus(args.docs, args.dup_share, args.seed)
    truth = exact_jaccard(texts, planted)
    positives = truth >= args.threshold
    print(
        f"{args.docs:,} docs, {len(planted):,} planted pairs ({int(positives.sum()):,} at "
        f"Jaccard >= {args.threshold}), char {SHINGLE}-grams, {args.num_perm} permutations; "
        f"corpus built in {time.perf_counter() - t0:.1f}s"
    )
    methods = [args.only] if args.only else ["synthloom", "datasketch"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.json"
        corpus.write_text(json.dumps(texts))
        for method in methods:
            result = Path(tmp) / f"{method}.npz"
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    method,
                    "--corpus",
                    str(corpus),
                    "--result",
                    str(result),
                    "--threshold",
                    str(args.threshold),
                    "--num-perm",
                    str(args.num_perm),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            measured = json.loads(proc.stdout.strip().splitlines()[-1])
            data = np.load(result)
            labels, reported = data["labels"], data["pairs"]
            together = labels[planted[:, 0]] == labels[planted[:, 1]]
            recall = float(together[positives].mean()) if positives.any() else float("nan")
            precision_planted = (
                float(positives[together].mean()) if together.any() else float("nan")
            )
            sample = reported
            if len(reported) > 20_000:
                pick = np.random.default_rng(0).choice(len(reported), 20_000, replace=False)
                sample = reported[pick]
            sims = exact_jaccard(texts, sample)
            precision_reported = (
                float((sims >= args.threshold).mean()) if len(sims) else float("nan")
            )
            rows.append(
                (
                    method,
                    measured["seconds"],
                    measured["peak_mb"],
                    recall,
                    precision_planted,
                    precision_reported,
                    len(reported),
                )
            )
    print(
        f"{'method':<11} {'seconds':>8} {'peak MB':>8} {'recall':>7} {'prec(planted)':>13} "
        f"{'prec(reported)':>14} {'pairs':>9}"
    )
    for method, sec, mb, rec, pp, pr, n in rows:
        print(f"{method:<11} {sec:>8.1f} {mb:>8.0f} {rec:>7.4f} {pp:>13.4f} {pr:>14.4f} {n:>9,}")
    if len(rows) == 2:
        print(f"speed-up: {rows[1][1] / rows[0][1]:.1f}x")


if __name__ == "__main__":
    main()
