"""PII in the assay's output, through the real command line: triage examples in metrics.json and
the report, and ``--show-pii`` writing the unmasked hits for the data owner (and nothing
unmasked reaching disk without it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthloom.cli import main

CARD = "4111 1111 1111 1111"
IBAN = "DE89 3704 0044 0532 0130 00"

SYNTHETIC = [
    (
        "Can my landlord keep the deposit if I end the lease early?",
        "It depends on the lease. Under most tenancy laws the Landlord may keep only what covers "
        "unpaid rent or damage, and must itemise it.",
    ),
    (
        "Draft a short reply to a customer who was charged twice.",
        f"Dear Ms. Okafor, we are sorry: your card {CARD} was charged twice on 3 May. "
        "The second charge is refunded and will show within five days. Kind regards, "
        "Daniel Varga, billing team, Lisbon.",
    ),
    (
        "Where should the refund go?",
        f"Please transfer it to IBAN {IBAN} and confirm to beatriz.okafor@mailbox.org.",
    ),
    (
        "Explain the Threshold setting.",
        "The Threshold is the minimum score a sample needs to pass; set the threshold "
        "to 0.8 to drop more samples.",
    ),
    (
        "What does the format string syntax look like?",
        "See Format String Syntax in the Python documentation; a format string holds "
        "replacement fields in braces.",
    ),
]
REFERENCE = [
    ("How do I get my deposit back?", "Ask your landlord in writing and keep a copy."),
    ("What is a lease?", "A contract that lets a tenant use a property for a time."),
    ("How do refunds work?", "The shop returns the money to the card used to pay."),
    ("What is a threshold?", "A value a score must reach to count."),
]


def _write(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text(
        "".join(json.dumps({"prompt": p, "response": r}) + "\n" for p, r in rows), "utf-8"
    )
    return path


def _assay(tmp_path: Path, out: Path, *flags: str) -> int:
    return main(
        [
            "assay",
            str(_write(tmp_path / "synthetic.jsonl", SYNTHETIC)),
            "--reference",
            str(_write(tmp_path / "reference.jsonl", REFERENCE)),
            "--embedder",
            "tfidf",
            "--ner",
            "on",
            "--out",
            str(out),
            "--quiet",
            *flags,
        ]
    )


def _on_disk(folder: Path, value: str) -> bool:
    """Whether ``value`` is written in clear in any file under ``folder`` (the cache too)."""
    return any(value.encode() in p.read_bytes() for p in folder.rglob("*") if p.is_file())


@pytest.mark.slow
def test_show_pii_writes_unmasked_hits_and_a_later_run_without_it_removes_them(
    tmp_path: Path,
) -> None:
    out = tmp_path / "report"
    assert _assay(tmp_path, out, "--show-pii") == 0
    metrics = json.loads((out / "metrics.json").read_text("utf-8"))
    pii = metrics["privacy"]["pii"]
    assert pii["unmasked_file"] == "pii_examples.jsonl"
    hits = [json.loads(line) for line in (out / "pii_examples.jsonl").read_text().splitlines()]
    kept = [h for h in hits if h["kept"]]
    dropped = [h for h in hits if not h["kept"]]
    # Every kept hit of metrics.json is in the file, unmasked, at its offsets.
    assert len(kept) == pii["total"]
    assert len(dropped) == pii["ner_dropped"]["total"] > 0
    assert {(h["type"], h["text"]) for h in kept} >= {
        ("CREDIT_CARD", CARD),
        ("IBAN", IBAN),
        ("EMAIL", "beatriz.okafor@mailbox.org"),
        ("PERSON", "Daniel Varga"),
    }
    assert all(h["reason"] is None for h in kept)
    assert all(h["reason"] for h in dropped)
    texts = {
        h["location"]: h for h in hits if h["type"] == "CREDIT_CARD"
    }  # the location names the record and message
    (where,) = texts
    assert where.startswith("record 2 (id ") and where.endswith("message 2 (assistant)")
    card = texts[where]
    assert SYNTHETIC[1][1][card["start"] : card["end"]] == CARD
    report = (out / "report.html").read_text("utf-8")
    assert "pii_examples.jsonl" in report

    # The same folder again without the flag: the unmasked file goes, nothing says it exists.
    assert _assay(tmp_path, out) == 0
    assert not (out / "pii_examples.jsonl").exists()
    metrics = json.loads((out / "metrics.json").read_text("utf-8"))
    assert metrics["privacy"]["pii"]["unmasked_file"] is None
    assert "pii_examples.jsonl" not in (out / "report.html").read_text("utf-8")
    assert not _on_disk(out, CARD) and not _on_disk(out, IBAN)


@pytest.mark.slow
def test_report_and_metrics_show_names_and_mask_only_secrets(tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert _assay(tmp_path, out) == 0
    metrics = json.loads((out / "metrics.json").read_text("utf-8"))
    pii = metrics["privacy"]["pii"]
    shown = {(e["type"], e["text"]) for e in pii["examples"]}
    assert ("CREDIT_CARD", "**** **** **** 1111") in shown
    assert ("IBAN", "**** **** **** **** **30 00") in shown
    assert ("PERSON", "Daniel Varga") in shown
    varga = next(e for e in pii["examples"] if e["text"] == "Daniel Varga")
    assert varga["shape"] == "Xxxxx Xxxxx"
    assert varga["after"].startswith(", billing team")
    # The card is masked in the words around the name too, and nowhere on disk in clear.
    assert not _on_disk(out, CARD) and not _on_disk(out, IBAN)
    # What the filter dropped is counted by reason and shown as found, for triage.
    dropped = pii["ner_dropped"]
    assert dropped["total"] == sum(dropped["by_reason"].values()) > 0
    assert dropped["by_reason"]["tech_term"] >= 1  # "Python"
    reasons = {e["text"]: e["reason"] for e in pii["dropped_examples"]}
    report = (out / "report.html").read_text("utf-8")
    for text, reason in reasons.items():
        assert f"<mark>{text}</mark>" in report and reason in report
    assert "<mark>Daniel Varga</mark>" in report
    assert "<mark>**** **** **** 1111</mark>" in report
