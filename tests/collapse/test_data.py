"""Loading the real data of a collapse run: default corpus, text, records, tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from synthloom.collapse.data import load_real_data, sentence_features, split_sentences
from synthloom.errors import DataFormatError


def test_split_sentences_drops_rst_layout_when_asked() -> None:
    text = "Title\n*****\n\nFirst one. Second one!\n\n   code = 1\n\n+----+\n| a  |\n+----+\n"
    assert split_sentences(text, skip_indented=True) == ["Title", "First one.", "Second one!"]
    assert "code = 1" in split_sentences(text)


def test_default_corpus_is_available_offline_and_split_reproducibly() -> None:
    a = load_real_data(None, "text", seed=4)
    b = load_real_data(None, "text", seed=4)
    assert a.source == "pydoc_data.topics"
    assert a.train_sentences == b.train_sentences
    tokens = sum(len(s) for s in a.train_sentences + a.holdout_sentences)
    assert tokens > 40_000
    share = len(a.holdout_sentences) / (len(a.train_sentences) + len(a.holdout_sentences))
    assert share == pytest.approx(0.1, abs=0.01)


def test_numeric_family_on_text_uses_sentence_features() -> None:
    real = load_real_data(None, "numeric")
    assert real.feature_names == ("log_tokens", "mean_word_chars")
    np.testing.assert_allclose(sentence_features([["a", "bcd", "."]]), [[np.log(3), 2.0]])
    assert real.train_values.shape[1] == 2 and np.isfinite(real.train_values).all()


def test_table_numeric_columns_and_text_column(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "x,y,flag,note\n"
        + "".join(f"{i},{i * 2.5},true,row number {i} here.\n" for i in range(30)),
        encoding="utf-8",
    )
    numeric = load_real_data(path, "numeric")
    assert numeric.feature_names == ("x", "y")
    assert numeric.train_values.shape[0] + numeric.holdout_values.shape[0] == 30
    only_y = load_real_data(path, "numeric", columns=["y"])
    assert only_y.feature_names == ("y",)
    text = load_real_data(path, "text")
    assert ["row", "number", "3", "here", "."] in text.train_sentences + text.holdout_sentences
    with pytest.raises(DataFormatError, match="no column"):
        load_real_data(path, "numeric", columns=["z"])
    with pytest.raises(DataFormatError, match="not numeric"):
        load_real_data(path, "numeric", columns=["note"])


def test_instruction_records_become_sentences(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    rows = [{"prompt": f"Question {i}?", "response": f"Answer {i}. Done."} for i in range(20)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    real = load_real_data(path, "text")
    sentences = real.train_sentences + real.holdout_sentences
    assert ["answer", "7", "."] in sentences and ["done", "."] in sentences


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param("e.txt", "", "empty corpus", id="empty-text"),
        pytest.param("e.csv", "x\n", "empty corpus", id="no-rows"),
        pytest.param("bad.txt", b"\xff\xfe", "not UTF-8", id="not-utf8"),
    ],
)
def test_unusable_files(tmp_path: Path, name: str, content: str | bytes, message: str) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(DataFormatError, match=message):
        load_real_data(path, "numeric" if name.endswith(".csv") else "text")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="file not found"):
        load_real_data(tmp_path / "nope.txt", "text")
