"""Small hand-made sources for the answer tests (no index needed)."""

from __future__ import annotations

import re

from assistant.answer.types import Citation, Source, make_sources
from assistant.store import StoredChunk

ARTICLE = (
    "The council approved the budget on Monday. Spending on parks rises by 12 percent.\n"
    "Mayor Ana Silva said the plan protects libraries. Critics called it reckless."
)
WEATHER = "Rain is expected all week. Farmers welcomed the forecast."


def sources() -> list[Source]:
    a = StoredChunk(
        "a:0", "a", ARTICLE, 0, len(ARTICLE), "Budget passes", "https://x.example/a", "x", 20240301
    )
    b = StoredChunk("b:0", "b", WEATHER, 0, len(WEATHER), "Weather", "", "", 0)
    srcs = make_sources([a, b])
    for s in srcs:
        s.scores = [1.0 - 0.1 * i for i in range(len(s.sentences))]
    return srcs


def source_of(text: str, title: str = "Story", article_id: str = "s") -> list[Source]:
    chunk = StoredChunk(f"{article_id}:0", article_id, text, 0, len(text), title, "", "", 20250319)
    srcs = make_sources([chunk])
    for s in srcs:
        s.scores = [1.0 - 0.01 * i for i in range(len(s.sentences))]
    return srcs


def check_invariants(text: str, cites: list[Citation], texts: dict[str, str]) -> None:
    numbers = [int(m.group(1)) for m in re.finditer(r"\[(\d+)\]", text)]
    assert sorted(set(numbers)) == list(range(1, len(cites) + 1))  # contiguous from 1, every citation marked
    assert [c.n for c in cites] == list(range(1, len(cites) + 1))
    for c in cites:
        assert texts[c.article_id][c.start : c.end] == c.quote
