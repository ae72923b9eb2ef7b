"""Benchmark: precision and recall of PII detection, before and after the NER precision filter.

The peer is synthloom's own detector as it was before the filter (Presidio + the small spaCy
model, every NER hit counted): the same scan gives both columns, since the hits the filter drops
are reported with the kept ones (``PiiScanner.iter_scan_results``), so "before" is kept +
dropped.

* Labelled set: ``tests/data/pii_eval.jsonl`` (320 texts of business mail, legal clauses,
  technical prose and chat, gold spans per type; written by ``benchmarks/make_pii_eval.py``).
  A found span is a true positive when it overlaps an unclaimed gold span of the same type
  (``synthloom.pii.evaluation.score_spans``). The case statistics come from the whole set, as
  in the assay.
* Clean prose: CPython's documentation (``pydoc_data.topics``, shipped with Python, offline),
  split into paragraphs at blank lines. It holds next to no personal data, so nearly every
  PERSON / LOCATION hit is a false positive; the table counts hits before and after.

Usage::

    python benchmarks/bench_pii.py              # both corpora
    python benchmarks/bench_pii.py --no-docs    # the labelled set only

Needs the ``pii`` extra (Presidio and the spaCy model). It prints tables; it asserts nothing.
"""

from __future__ import annotations

import argparse
import re
import time
from collections import Counter
from pathlib import Path

from synthloom.pii import NER_TYPES, PII_TYPES, PiiMatch, PiiScanner
from synthloom.pii.evaluation import load_labelled, score_spans
from synthloom.pii.precision import DROP_REASONS, CaseCounts
from synthloom.pii.scanner import ScanResult

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "pii_eval.jsonl"


def scan(scanner: PiiScanner, texts: list[str]) -> tuple[list[ScanResult], float]:
    started = time.perf_counter()
    results = list(scanner.iter_scan_results(texts, case_counts=CaseCounts.of(texts)))
    return results, time.perf_counter() - started


def before(result: ScanResult) -> list[PiiMatch]:
    return sorted(result.matches + [d.match for d in result.dropped], key=lambda m: m.start)


def fmt(value: float | None) -> str:
    return "   -" if value is None else f"{value:.3f}"


def labelled_table(scanner: PiiScanner) -> None:
    rows = load_labelled(LABELLED)
    results, seconds = scan(scanner, [r.text for r in rows])
    old = score_spans(rows, [before(r) for r in results], types=PII_TYPES)
    new = score_spans(rows, [r.matches for r in results], types=PII_TYPES)
    print(f"\nLabelled set: {len(rows)} texts, {LABELLED.name} (scan {seconds:.1f} s)")
    print(
        f"{'type':<12} {'gold':>5}  {'precision':>9} {'recall':>7}  {'precision':>9} {'recall':>7}"
        f"  {'FP':>4} {'FP':>4}"
    )
    print(f"{'':<12} {'':>5}  {'before filter':>17}  {'after filter':>17}  {'bef':>4} {'aft':>4}")
    for kind in PII_TYPES:
        o, n = old[kind], new[kind]
        gold = o.true_positives + o.false_negatives
        print(
            f"{kind:<12} {gold:>5}  {fmt(o.precision):>9} {fmt(o.recall):>7}  "
            f"{fmt(n.precision):>9} {fmt(n.recall):>7}  {o.false_positives:>4} "
            f"{n.false_positives:>4}"
        )
    dropped = Counter(d.reason for r in results for d in r.dropped)
    print("dropped by reason:", ", ".join(f"{k} {dropped[k]}" for k in DROP_REASONS))


def docs_table(scanner: PiiScanner) -> None:
    from pydoc_data.topics import topics

    paragraphs = [p.strip() for t in topics.values() for p in re.split(r"\n\s*\n", t) if p.strip()]
    results, seconds = scan(scanner, paragraphs)
    print(
        f"\nCPython documentation: {len(paragraphs)} paragraphs of pydoc_data.topics "
        f"(scan {seconds:.1f} s)"
    )
    print(f"{'type':<10} {'hits before':>11} {'hits after':>10}  most frequent after")
    for kind in NER_TYPES:
        old = [m for r in results for m in before(r) if m.type == kind]
        new = [m.text for r in results for m in r.matches if m.type == kind]
        common = ", ".join(f"{t} ({c})" for t, c in Counter(new).most_common(6))
        print(f"{kind:<10} {len(old):>11} {len(new):>10}  {common}")
    dropped = Counter(d.reason for r in results for d in r.dropped)
    print("dropped by reason:", ", ".join(f"{k} {dropped[k]}" for k in DROP_REASONS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-docs", action="store_true", help="skip CPython's documentation")
    args = parser.parse_args()
    scanner = PiiScanner(ner="on")
    labelled_table(scanner)
    if not args.no_docs:
        docs_table(scanner)


if __name__ == "__main__":
    main()
