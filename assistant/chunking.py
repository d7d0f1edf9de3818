"""Article → Chunks with deterministic ids and character offsets into the article text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.corpus import Article

SENTENCE_END = re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’)\]]))\s+(?=[\"'“‘(\[]?[A-Z0-9])")

# Bumped when the way chunks are made changes, so that a re-sync re-embeds every article.
CHUNKER_VERSION = "1"


@dataclass(frozen=True)
class Chunk:
    id: str  # "<article_id>:<n>"
    article_id: str
    n: int
    start: int
    end: int
    text: str  # == article.text[start:end]


def chunk_id(article_id: str, n: int) -> str:
    return f"{article_id}:{n}"


def make_splitter(size: int, overlap: int):  # type: ignore[no-untyped-def]
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        chunk_size=size,
        chunk_overlap=overlap,
        # Paragraphs first, then sentences, then words: a chunk never cuts a sentence unless the
        # sentence alone is longer than a chunk.
        separators=["\n\n", "\n", SENTENCE_END.pattern, r"\s+", ""],
        is_separator_regex=True,
        keep_separator="start",
        strip_whitespace=True,
    )


def chunk_article(article: Article, size: int = 800, overlap: int = 160, splitter=None) -> list[Chunk]:  # type: ignore[no-untyped-def]
    """Splits an article; each chunk's text is exactly ``article.text[start:end]``."""
    splitter = splitter or make_splitter(size, overlap)
    text = article.text
    chunks: list[Chunk] = []
    cursor = 0
    for piece in splitter.split_text(text):
        start = text.find(piece, cursor)
        if start < 0:  # the splitter normalised something: locate it from the beginning
            start = text.find(piece)
        if start < 0:
            continue
        end = start + len(piece)
        n = len(chunks)
        chunks.append(Chunk(chunk_id(article.id, n), article.id, n, start, end, piece))
        # Overlapping chunks start before the previous end; never search before the previous start.
        cursor = start + 1
    return chunks


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text[start:end]``, as offsets into ``text``."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for para in re.finditer(r"[^\n]+", text[start:end]):
        p0 = start + para.start()
        segment = para.group(0)
        last = 0
        for m in SENTENCE_END.finditer(segment):
            spans.append((p0 + last, p0 + m.start()))
            last = m.end()
        spans.append((p0 + last, p0 + len(segment)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out
