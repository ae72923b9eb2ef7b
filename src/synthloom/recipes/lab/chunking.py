"""Documents to token-bounded chunks: Markdown (and plain text) always, PDF through pypdf.

A chunk never crosses a heading: the text under each heading is packed paragraph by paragraph
up to ``max_tokens``, and a paragraph that is too long is split by sentences, then by words.
Each chunk starts with its heading trail ("Tides > Causes") so a question about it keeps its
topic. Tokens are counted with ``synthloom.text.tokenize`` (words and punctuation), which is
close to, and usually below, a subword tokenizer's count.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass

from synthloom.errors import InputError, MissingDependencyError
from synthloom.text import tokenize

__all__ = ["Chunk", "chunk_markdown", "document_text"]

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One piece of a document: its text (heading trail first), source and token count."""

    text: str
    document: str
    index: int
    tokens: int


def document_text(name: str, data: bytes) -> str:
    """A document's text: Markdown and text as they are, PDF pages extracted with pypdf."""
    lower = name.lower()
    if lower.endswith((".md", ".markdown", ".txt", ".rst")):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError("is not UTF-8 text; convert it to UTF-8", path=name) from exc
    if lower.endswith(".pdf"):
        try:
            import pypdf
        except ImportError as exc:
            raise MissingDependencyError("reading PDF documents", "pdf", "pypdf") from exc
        try:
            reader = pypdf.PdfReader(io.BytesIO(data))
            pages = [page.extract_text() or "" for page in reader.pages]
        except Exception as exc:  # pypdf raises many types for broken files
            raise InputError(f"is not a readable PDF ({exc})", path=name) from exc
        return "\n\n".join(p.strip() for p in pages if p.strip())
    raise InputError(
        "is not a supported document type; use Markdown (.md), text (.txt) or PDF", path=name
    )


def _split_long(text: str, max_tokens: int, count: Callable[[str], int]) -> list[str]:
    """Split one paragraph into pieces of at most ``max_tokens``: sentences, then words."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    units = _SENTENCE.split(text)
    if len(units) == 1:
        units = text.split()
    for unit in units:
        n = count(unit)
        if n > max_tokens and len(unit.split()) > 1:
            if current:
                pieces.append(" ".join(current))
                current, size = [], 0
            pieces.extend(_split_long(" ".join(unit.split()), max_tokens, count))
            continue
        if current and size + n > max_tokens:
            pieces.append(" ".join(current))
            current, size = [], 0
        current.append(unit)
        size += n
    if current:
        pieces.append(" ".join(current))
    return pieces


def _sections(text: str) -> list[tuple[str, list[str]]]:
    """(heading trail, paragraphs) for each section; fenced code stays in one paragraph."""
    trail: list[str] = []
    sections: list[tuple[str, list[str]]] = [("", [])]
    paragraph: list[str] = []
    fenced = False

    def end_paragraph() -> None:
        if paragraph:
            sections[-1][1].append("\n".join(paragraph).strip())
            paragraph.clear()

    for line in text.splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
            paragraph.append(line)
            continue
        heading = None if fenced else _HEADING.match(line)
        if heading:
            end_paragraph()
            level = len(heading.group(1))
            trail = [*trail[: level - 1], heading.group(2)]
            sections.append((" > ".join(t for t in trail if t), []))
        elif not line.strip() and not fenced:
            end_paragraph()
        else:
            paragraph.append(line)
    end_paragraph()
    return [(h, [p for p in ps if p]) for h, ps in sections if any(ps)]


def _emit(
    chunks: list[Chunk],
    heading: str,
    parts: list[str],
    document: str,
    count: Callable[[str], int],
) -> None:
    body = "\n\n".join(parts)
    full = f"{heading}\n\n{body}" if heading else body
    chunks.append(Chunk(full, document, len(chunks), count(full)))


def chunk_markdown(
    text: str,
    *,
    max_tokens: int = 400,
    document: str = "",
    count_tokens: Callable[[str], int] | None = None,
) -> list[Chunk]:
    """Token-bounded chunks of a Markdown text (heading trail included in the bound)."""
    if max_tokens < 16:
        raise ValueError("max_tokens must be >= 16")
    count = count_tokens or (lambda s: len(tokenize(s)))
    chunks: list[Chunk] = []
    for heading, paragraphs in _sections(text):
        budget = max_tokens - (count(heading) + 1 if heading else 0)
        budget = max(budget, max_tokens // 2)
        current: list[str] = []
        size = 0

        for paragraph in paragraphs:
            parts = (
                [paragraph] if count(paragraph) <= budget else _split_long(paragraph, budget, count)
            )
            for part in parts:
                n = count(part)
                if current and size + n > budget:
                    _emit(chunks, heading, current, document, count)
                    current, size = [], 0
                current.append(part)
                size += n
        if current:
            _emit(chunks, heading, current, document, count)
    return chunks
