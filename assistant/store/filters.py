"""Which chunks a search may return: one filter, read by the lexical and the vector search alike (each
store translates it to its own query language)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class ChunkFilter:
    lo: int = 0  # published on or after, YYYYMMDD (0: no bound)
    hi: int = 0  # published on or before (0: no bound); without a lower bound, undated articles (0) pass
    sources: tuple[str, ...] = ()
    exclude_articles: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.lo or self.hi or self.sources or self.exclude_articles)

    @property
    def impossible(self) -> bool:
        """No chunk can pass (a range that ends before it starts)."""
        return bool(self.lo and self.hi and self.lo > self.hi)

    @cached_property
    def _sources(self) -> frozenset[str]:
        return frozenset(self.sources)

    @cached_property
    def _excluded(self) -> frozenset[str]:
        return frozenset(self.exclude_articles)

    def passes(self, article_id: str, published: int, source: str) -> bool:
        return (
            (not self.lo or published >= self.lo)
            and (not self.hi or published <= self.hi)
            and (not self.sources or source in self._sources)
            and article_id not in self._excluded
        )
