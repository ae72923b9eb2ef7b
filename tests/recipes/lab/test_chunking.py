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


def _pdf(pages: list[str]) -> bytes:
    """A minimal, valid PDF with one line of Helvetica text a page (offsets computed here)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, text in enumerate(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def test_pdf_pages_are_extracted_in_order_and_chunked() -> None:
    first = "Spring tides follow the full moon and the new moon, twice a month, every month."
    second = "Neap tides come at the quarter moons, when the sun and moon pull at right angles."
    data = _pdf([first, second])
    text = document_text("tides.pdf", data)
    assert text.index("Spring tides follow") < text.index("Neap tides come")
    chunks = chunk_markdown(text, max_tokens=16, document="tides.pdf")
    assert len(chunks) >= 2 and all(c.tokens <= 16 for c in chunks)
    joined = " ".join(c.text for c in chunks)
    for word in ("Spring", "full", "twice", "Neap", "quarter", "angles"):
        assert word in joined
