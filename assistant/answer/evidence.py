"""A model's checked answer and the quotes shown before it, numbered in one series: the quotes keep
their numbers, and a citation of the model's that quotes the same span takes the quote's number."""

from __future__ import annotations

import re
from dataclasses import replace

from assistant.answer.types import Citation

_MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")


def with_quotes(
    text: str, citations: list[Citation], quotes: str, quote_citations: list[Citation]
) -> tuple[str, list[Citation], str]:
    """(the model's text renumbered, every citation of both, the quotes' text)."""
    merged = list(quote_citations)
    number = {(c.article_id, c.start, c.end): c.n for c in merged}
    renumber: dict[int, int] = {}
    for c in citations:
        key = (c.article_id, c.start, c.end)
        if key not in number:
            number[key] = len(merged) + 1
            merged.append(replace(c, n=number[key]))
        renumber[c.n] = number[key]

    def swap(m: re.Match[str]) -> str:
        nums = [int(x) for x in re.split(r"\s*[,;]\s*", m.group(1))]
        return "[" + ", ".join(str(renumber.get(n, n)) for n in nums) + "]"

    return _MARKER.sub(swap, text), merged, quotes
