"""Tests of synthloom.assay.run's own parts (the command's end-to-end tests are in tests/cli)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synthloom.assay import AssayOptions, run_assay
from synthloom.assay.privacy import verbatim_overlap
from synthloom.assay.run import load_private_texts
from tests.assay.realistic import fair_split, instruction_records

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


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def test_a_fair_random_split_scores_alike(tmp_path: Path) -> None:
    # 400 varied records cut at random into two halves: samples of one population.
    first, second = fair_split(instruction_records(400, seed=0), seed=1)
    syn = _write_jsonl(tmp_path / "half_a.jsonl", first)
    ref = _write_jsonl(tmp_path / "half_b.jsonl", second)
    result = run_assay(syn, ref, tmp_path / "out", AssayOptions(embedder="tfidf", ner="off"))
    m = result.metrics
    assert m["fidelity"]["overall"] >= 0.9
    # The taxonomy leaf (195 values over 200 records) is id-like: left out, with its reason.
    assert m["fidelity"]["left_out"] == ["meta.leaf"]
    assert m["dataset"]["column_kinds"]["prompt_words"] == "numerical"
    assert m["dataset"]["column_kind_sources"]["prompt_words"] == "fixed"
    assert m["tails"]["numeric"]["lost"] == []
    ngrams = m["tails"]["ngrams"]
    assert ngrams["lost"] is False and ngrams["coverage"] >= 0.85
    assert m["bias"]["flagged"] == []
    supported = [a["tvd"] for a in m["bias"]["axes"].values() if a["supported"]]
    # Axes with a few mentions (race, religion, ...) count in no headline number; max_tvd is
    # that of the supported axes (gender and age here, 40-90 mentions a side).
    assert m["bias"]["max_tvd"] == max(supported)
    assert set(m["bias"]["unsupported"]) <= {
        axis for axis, a in m["bias"]["axes"].items() if not a["supported"]
    }


def test_copies_of_seeds_with_a_system_prompt_are_found(tmp_path: Path) -> None:
    seeds, others = fair_split(instruction_records(120, seed=9), seed=2)
    mixed = []
    for record in seeds[:25]:
        turns = [m for m in record["messages"] if m["role"] != "system"]
        system = {"role": "system", "content": "You are a careful, friendly assistant."}
        mixed.append({**record, "id": "mix-" + record["id"], "messages": [system, *turns]})
    syn = _write_jsonl(tmp_path / "mix.jsonl", mixed + others[:35])
    ref = _write_jsonl(tmp_path / "seeds.jsonl", seeds)
    m = run_assay(syn, ref, tmp_path / "out", AssayOptions(embedder="tfidf", ner="off")).metrics
    copies = m["privacy"]["exact_copies"]
    assert copies["count"] == 25
    first = copies["copies"][0]
    assert first["synthetic"] == f"record 1 (id mix-{seeds[0]['id']})"
    assert first["reference"] == f"record 1 (id {seeds[0]['id']})"
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert f"record 1 (id mix-{seeds[0]['id']})" in html
