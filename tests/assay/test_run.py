"""Tests of synthloom.assay.run's own parts (the command's end-to-end tests are in tests/cli)."""

from __future__ import annotations

from pathlib import Path

from synthloom.assay.privacy import verbatim_overlap
from synthloom.assay.run import load_private_texts

NOTES = [
    "Patient reported recurring headaches after the second dose; advised to keep a diary.",
    "Follow-up booked for March: blood pressure 150/95, medication unchanged for now.",
]


def test_private_csv_sources_give_their_text_cells(tmp_path: Path) -> None:
    # A table of private notes (pandas 3 reads its text as `str`, pandas 2 as `object`).
    path = tmp_path / "notes.csv"
    path.write_text(
        "patient,visit,note\n"
        + "".join(f'{i},2024-0{i + 1}-02,"{note}"\n' for i, note in enumerate(NOTES)),
        encoding="utf-8",
    )
    texts, names = load_private_texts([path])
    assert len(texts) == 2 and all(note in text for note, text in zip(NOTES, texts, strict=True))
    assert names == [f"{path} row 1", f"{path} row 2"]
    copied = f"Summary of the case. {NOTES[1]} Nothing else of note."
    overlap = verbatim_overlap([copied, "An unrelated answer about the weather."], texts)
    assert overlap["records_sharing_span"] == 1
    assert overlap["longest_shared_span"] >= len(NOTES[1]) - 1
