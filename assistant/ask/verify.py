"""The last check of every answer: each quote is the stored article's own text at its offsets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assistant.answer.types import Citation


@dataclass(frozen=True)
class QuoteCheck:
    index: Any  # store.Index: article(id) → the stored article or None

    def texts(self, citations: Sequence[Citation]) -> dict[str, str]:
        """The stored text of every cited article ("" for one no longer indexed)."""
        texts: dict[str, str] = {}
        for c in citations:
            if c.article_id not in texts:
                art = self.index.article(c.article_id)
                texts[c.article_id] = art.text if art else ""
        return texts

    def __call__(self, citations: list[Citation]) -> list[Citation]:
        """The citations, each checked against its article; a mismatch is a bug, never shown."""
        texts = self.texts(citations)
        for c in citations:
            if texts[c.article_id][c.start : c.end] != c.quote:  # pragma: no cover - invariant
                raise AssertionError(f"citation {c.n} is not a verbatim span of {c.article_id}")
        return citations
