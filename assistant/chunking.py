"""Article → Chunks with deterministic ids and character offsets into the article text.

A chunk is a run of whole sentences (``assistant.sentences``) of at most ``size`` characters; the next
chunk starts with the last sentences of the one before, up to ``overlap`` characters. A sentence longer
than a chunk is cut at spaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.corpus import Article
from assistant.sentences import sentence_spans

# Bumped when the way chunks are made changes, so that a re-sync re-embeds every article.
CHUNKER_VERSION = "3"

_WORD = re.compile(r"\S+")


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


def chunk_ids(article_id: str, n_chunks: int) -> list[str]:
    """The ids of an article's chunks (chunk_article numbers them from 0)."""
    return [chunk_id(article_id, n) for n in range(n_chunks)]


def article_of(chunk_id: str) -> str:
    """The article a chunk id belongs to (the inverse of chunk_id)."""
    return chunk_id.rsplit(":", 1)[0]


def _units(text: str, size: int) -> list[tuple[int, int]]:
    """Sentence spans, with any sentence longer than ``size`` cut into pieces at spaces (and a single
    word longer than ``size`` cut into ``size``-character pieces)."""
    out: list[tuple[int, int]] = []
    for s, e in sentence_spans(text):
        if e - s <= size:
            out.append((s, e))
            continue
        piece_start = piece_end = s
        for w in _WORD.finditer(text, s, e):
            ws, we = w.span()
            if we - piece_start <= size:
                piece_end = we
                continue
            if piece_end > piece_start:
                out.append((piece_start, piece_end))
            while we - ws > size:
                out.append((ws, ws + size))
                ws += size
            piece_start, piece_end = ws, we
        if piece_end > piece_start:
            out.append((piece_start, piece_end))
    return out


def _is_heading(text: str, start: int, end: int) -> bool:
    """A line of its own without a sentence's closing punctuation ("Relationship revival")."""
    alone = (start == 0 or text[start - 1] == "\n") and (end == len(text) or text[end] == "\n")
    return alone and text[end - 1] not in '.!?…"”’)'


def chunk_article(article: Article, size: int = 800, overlap: int = 160) -> list[Chunk]:
    """Splits an article into overlapping runs of whole sentences; each chunk's text is exactly
    ``article.text[start:end]``."""
    text = article.text
    units = _units(text, size)
    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j = i
        while j + 1 < len(units) and units[j + 1][1] - units[i][0] <= size:
            j += 1
        if j < len(units) - 1:
            # End at a paragraph's end when that keeps the chunk at least half full, and never on a
            # heading (it starts the next chunk).
            for p in range(j, i - 1, -1):
                ends_paragraph = "\n" in text[units[p][1] : units[p + 1][0]]
                if (
                    ends_paragraph
                    and not _is_heading(text, *units[p])
                    and units[p][1] - units[i][0] >= size // 2
                ):
                    j = p
                    break
            else:
                p = j
                while p > i and _is_heading(text, *units[p]):
                    p -= 1
                # ... unless that leaves the chunk under a quarter full: runs of short heading-like lines
                # (a list, "x\n" * 10**6) made a chunk per line (a million for 2 MB, in quadratic time).
                if units[p][1] - units[i][0] >= size // 4:
                    j = p
        start, end = units[i][0], units[j][1]
        n = len(chunks)
        chunks.append(Chunk(chunk_id(article.id, n), article.id, n, start, end, text[start:end]))
        if j + 1 >= len(units):
            break
        # The next chunk repeats the last sentences of this one that fit in the overlap, but starts at
        # least a quarter of a chunk further on: short chunks never crawl forward a line at a time.
        k = j + 1
        while k - 1 > i and end - units[k - 1][0] <= overlap and units[k - 1][0] - start >= size // 4:
            k -= 1
        i = k
    return chunks
