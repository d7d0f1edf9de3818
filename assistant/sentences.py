"""Sentence boundaries with character offsets: the one segmentation used for chunk boundaries, sentence
scoring, the extractive answerer, quotes and the claims of a model's answer.

Each line (paragraph) is split by sentencex (Wikimedia's rule-based segmenter, which knows news
abbreviations such as "Rep.", "U.S.", "Jan." or "No. 1" and initials such as "J. K. Rowling"); the
spans are offsets into the text, so ``text[start:end]`` is always the sentence itself.
"""

from __future__ import annotations

import re
from functools import lru_cache

_LINE = re.compile(r"[^\n]+")


@lru_cache(maxsize=1)
def _segment():  # type: ignore[no-untyped-def]
    from sentencex import segment

    return segment


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text[start:end]``, as offsets into ``text``; no span is
    empty or starts or ends with whitespace."""
    end = len(text) if end is None else end
    segment = _segment()
    out: list[tuple[int, int]] = []
    for line in _LINE.finditer(text, start, end):
        cursor = line.start()
        for piece in segment("en", line.group(0)):
            core = piece.strip()
            if not core:
                continue
            s = text.find(core, cursor, line.end())
            if s < 0:  # the segmenter changed the text (it never should): keep the rest of the line whole
                s, e = cursor, line.end()
            else:
                e = s + len(core)
            while s < e and text[s].isspace():
                s += 1
            while e > s and text[e - 1].isspace():
                e -= 1
            if e > s:
                out.append((s, e))
            cursor = e
            if cursor >= line.end():
                break
    return out
