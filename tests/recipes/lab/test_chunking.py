"""Markdown chunking stays within the token bound, keeps headings, loses no text."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthloom.errors import InputError
from synthloom.recipes.lab.chunking import chunk_markdown, document_text
from synthloom.text import tokenize

DOC = Path(__file__).resolve().parents[3] / "examples" / "documents" / "tides.md"


@pytest.mark.parametrize("max_tokens", [32, 64, 200, 1000])
def test_chunks_are_bounded_and_cover_the_document(max_tokens: int) -> None:
    text = DOC.read_text(encoding="utf-8")
    chunks = chunk_markdown(text, max_tokens=max_tokens, document="tides.md")
    assert all(c.tokens <= max_tokens for c in chunks)
    assert all(c.tokens == len(tokenize(c.text)) for c in chunks)
    body_words = [w for line in text.splitlines() if not line.startswith("#") for w in line.split()]
    chunk_words = " ".join(c.text for c in chunks).split()
    for word in set(body_words):
        assert word in chunk_words
    assert [c.index for c in chunks] == list(range(len(chunks)))
    # no chunk crosses a heading: each starts with its own trail
    assert all(c.text.startswith("Tides") for c in chunks)
    if max_tokens >= 200:
        assert any(c.text.startswith("Tides > Spring and neap tides") for c in chunks)


def test_fenced_code_is_not_split_into_headings() -> None:
    text = "# A\n\n```\n# not a heading\n```\n\ntext"
    chunks = chunk_markdown(text, max_tokens=100)
    assert len(chunks) == 1 and "# not a heading" in chunks[0].text


def test_unsupported_documents_are_refused() -> None:
    with pytest.raises(InputError, match="not a supported document type"):
        document_text("slides.pptx", b"x")
    with pytest.raises(InputError, match="not UTF-8"):
        document_text("a.md", b"\xff\xfe\xfa")
    with pytest.raises(InputError, match="not a readable PDF"):
        document_text("a.pdf", b"not a pdf")
