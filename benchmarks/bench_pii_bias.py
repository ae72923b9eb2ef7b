"""The regex PII scan, the case statistics of the NER filter and the bias counts, on the assay
benchmark's instruction corpora, each beside its straightforward version or its ceiling.

- PII patterns: ``privacy.pii_summary`` with the NER off, against every finder run on every
  text (``FINDERS``, then the overlap rule): the scan before the cheap pre-checks.
- Case counts: ``CaseCounts.of`` over every message, against ``CaseCounts.add`` text by text.
- Bias: ``bias.representation`` of reference against synthetic texts, against its ceiling:
  tokenising every text (the scan cannot be faster than reading the tokens).
- NER (``--ner N``): the named-entity scan of the first N messages, texts per second.

Both sides of each row must give the same result; the table says so. Times are CPU seconds
(the machine is shared; wall seconds are printed too) and the peak memory of the process.

    PYTHONPATH=src python benchmarks/bench_pii_bias.py --rows 100000 --ner 1000
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assay_corpus import write_corpus
from synthloom.assay import bias, privacy
from synthloom.messages import message_text
from synthloom.pii import PATTERN_TYPES, PiiMatch, PiiScanner
from synthloom.pii.patterns import FINDERS, resolve_overlaps
from synthloom.pii.precision import CaseCounts
from synthloom.records import read_records
from synthloom.text import record_text, tokenize


def timed(run: Callable[[], Any]) -> tuple[float, float, Any]:
    cpu, wall = time.process_time(), time.perf_counter()
    out = run()
    return time.process_time() - cpu, time.perf_counter() - wall, out


def plain_patterns(texts: list[str]) -> list[list[PiiMatch]]:
    return [
        resolve_overlaps(
            [
                PiiMatch(kind, start, end, text[start:end])
                for kind in PATTERN_TYPES
                for start, end in FINDERS[kind](text)
            ]
        )
        for text in texts
    ]


def plain_case_counts(texts: list[str]) -> CaseCounts:
    counts = CaseCounts()
    for text in texts:
        counts.add(text)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="records per side")
    parser.add_argument("--corpus", type=Path, default=Path("benchmarks/.corpus"))
    parser.add_argument("--ner", type=int, default=0, help="messages the NER scans (0: none)")
    args = parser.parse_args()
    paths = {}
    for side, seed, synthetic in (("reference", 1, False), ("synthetic", 2, True)):
        path = args.corpus / f"{side}-{args.rows}.jsonl"
        if not path.exists():
            write_corpus(path, args.rows, seed=seed, synthetic=synthetic)
        paths[side] = path
    # What the instruction assay scans: each message for PII, each record's text for bias.
    messages: list[str] = []
    syn_texts: list[str] = []
    for record in read_records(paths["synthetic"]):
        messages.extend(message_text(m) for m in record["messages"])
        syn_texts.append(record_text(record))
    ref_texts = [record_text(r) for r in read_records(paths["reference"])]

    rows: list[tuple[str, str, float, float, float, float, str]] = []
    scanner = PiiScanner(ner="off")
    cpu, wall, fast = timed(lambda: privacy.pii_summary(messages, scanner=scanner))
    peer_cpu, peer_wall, plain = timed(lambda: plain_patterns(messages))
    same = fast["total"] == sum(map(len, plain)) and all(
        m == p for m, p in zip(scanner.scan_many(messages), plain, strict=True)
    )
    rows.append(("PII patterns", "every finder", cpu, wall, peer_cpu, peer_wall, str(same)))

    cpu, wall, fast_counts = timed(lambda: CaseCounts.of(messages))
    peer_cpu, peer_wall, plain_counts = timed(lambda: plain_case_counts(messages))
    rows.append(
        (
            "case counts",
            "add per text",
            cpu,
            wall,
            peer_cpu,
            peer_wall,
            str(fast_counts == plain_counts),
        )
    )

    cpu, wall, _ = timed(lambda: bias.representation(ref_texts, syn_texts, seed=0))
    peer_cpu, peer_wall, _ = timed(lambda: [tokenize(t) for t in ref_texts + syn_texts])
    rows.append(("bias", "tokenize (ceiling)", cpu, wall, peer_cpu, peer_wall, "-"))

    print(f"{args.rows:,} records a side; {len(messages):,} messages scanned for PII")
    print(
        f"{'step':<14}{'compared with':<20}{'cpu s':>8}{'wall s':>8}{'peer cpu':>10}"
        f"{'peer wall':>11}{'ratio':>7}  same"
    )
    for name, peer, c, w, pc, pw, same_text in rows:
        print(
            f"{name:<14}{peer:<20}{c:>8.2f}{w:>8.2f}{pc:>10.2f}{pw:>11.2f}"
            f"{pc / c:>7.2f}  {same_text}"
        )
    if args.ner:
        ner_scanner = PiiScanner(ner="on")
        ner_scanner.scan("warm the model up, Maria Garcia from Lisbon")
        sample = messages[: args.ner]
        cpu, wall, _ = timed(lambda: ner_scanner.scan_many(sample))
        print(
            f"NER: {len(sample):,} messages, {cpu:.2f} s cpu ({len(sample) / cpu:.0f}/s), "
            f"{wall:.2f} s wall ({len(sample) / wall:.0f}/s)"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
