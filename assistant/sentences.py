"""Sentence boundaries with character offsets: the one segmentation used for chunk boundaries, sentence
scoring, the extractive answerer, quotes and the claims of a model's answer.

Each line (paragraph) is split by sentencex (Wikimedia's rule-based segmenter, which knows news
abbreviations such as "Rep.", "U.S.", "Jan." or "No. 1" and initials such as "R. T. Vance"); the
spans are offsets into the text, so ``text[start:end]`` is always the sentence itself.

The segmenter takes quadratic time on some text (100 KB of opening quotation marks, "‘‘‘…" or "```…",
take 12 s), so it reads at most ``MAX_SEGMENT_CHARS`` characters at once. A longer line is read in
windows: each keeps the sentences that end in its first half (where the rest of the window closes the
quotations they open), and the next starts at the first sentence it did not keep. Only a sentence of
over 3/4 of a window comes out cut, at a space (chunking cuts sentences that long anyway). On the 917
dev articles the spans are those of whole lines; with each article joined into one line, 2.5% of the
sentences differ, where a quotation mark pairs with one over a thousand characters away.
"""

from __future__ import annotations

import re
from functools import lru_cache

_LINE = re.compile(r"[^\n]+")
MAX_SEGMENT_CHARS = 2_000


@lru_cache(maxsize=1)
def _segment():  # type: ignore[no-untyped-def]
    from sentencex import segment

    return segment


def _trimmed(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def _segmented(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """The sentences the segmenter finds in ``text[lo:hi]`` (part of one line), as offsets into text."""
    out: list[tuple[int, int]] = []
    cursor = lo
    for piece in _segment()("en", text[lo:hi]):
        core = piece.strip()
        if not core:
            continue
        s = text.find(core, cursor, hi)
        # the segmenter changed the text (it never should): keep the rest of the window whole
        s, e = (cursor, hi) if s < 0 else (s, s + len(core))
        s, e = _trimmed(text, s, e)
        if e > s:
            out.append((s, e))
        cursor = e
        if cursor >= hi:
            break
    return out


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text[start:end]``, as offsets into ``text``; no span is
    empty or starts or ends with whitespace."""
    end = len(text) if end is None else end
    out: list[tuple[int, int]] = []
    for line in _LINE.finditer(text, start, end):
        lo, hi = line.span()
        while lo < hi:
            cut = min(hi, lo + MAX_SEGMENT_CHARS)
            spans = _segmented(text, lo, cut)
            if cut == hi or not spans:
                out += spans
                lo = cut
                continue
            keep, lo = _settled(text, spans, lo, cut)
            out += keep
    return out


def _settled(text: str, spans: list[tuple[int, int]], lo: int, cut: int) -> tuple[list[tuple[int, int]], int]:
    """(the sentences of a window of a longer line that more text would not change, where the next
    window starts, at least a quarter of a window further): the sentences that end in its first half
    (the rest of the window closes the quotations they open) and a longer one that starts in its first
    quarter and ends inside the window. A sentence that starts in the first quarter and runs to the
    window's end (over 3/4 of a window long) is cut at its last space in the second half."""
    half, quarter = lo + MAX_SEGMENT_CHARS // 2, lo + MAX_SEGMENT_CHARS // 4
    k = next((i for i, (_, e) in enumerate(spans) if e > half), len(spans))
    if k < len(spans) - 1 and (k == 0 or spans[k][0] < quarter):
        k += 1
    if k == len(spans):
        return spans, cut
    s, e = spans[k]
    if s >= quarter:
        return spans[:k], s
    space = max(text.rfind(" ", half, cut), text.rfind("\t", half, cut))
    split = space if space > s else cut
    s, e = _trimmed(text, s, min(e, split))
    return spans[:k] + ([(s, e)] if e > s else []), split
