"""Dense search with a filter: the nearest chunks whose article is indexed and passes the filter.

Chroma's filtered query first reads every chunk its `where` matches, so its cost grows with the
corpus and with how much of it the filter lets through. Most filters here let most chunks through (a
question asked today may read everything published up to today), so the filter is tested on a wide
unfiltered neighbourhood first: ids and distances only, checked against the article records (one SQLite
query). Only a filter too narrow for that neighbourhood (a week in a corpus of years) runs the
filtered query, and it is then narrow enough to be cheap (see vectors.where_of).

The records are also the commit point of an article: a chunk whose article has no record (a sync is
between writing its vectors and its record, or deleting them) is not returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from assistant.chunking import article_of
from assistant.store.filters import ChunkFilter
from assistant.store.records import RecordStore
from assistant.store.vectors import StoredChunk, VectorStore, where_of

# How many unfiltered neighbours are tested against the filter before the filtered query runs.
WIDE = 1000


@dataclass
class DenseSearch:
    vectors: VectorStore
    records: RecordStore
    wide: ClassVar[int] = WIDE

    def search(
        self, vector: list[float], k: int, where: ChunkFilter | None = None
    ) -> list[tuple[StoredChunk, float]]:
        """The k nearest chunks that pass the filter, with their cosine similarity, nearest first (equal
        similarities by chunk id)."""
        f = where or ChunkFilter()
        if k <= 0 or f.impossible:
            return []
        n = max(k, self.wide)
        wide = self.vectors.nearest(vector, n)
        kept = self._passing(wide, f)
        if len(kept) < k and not f.empty and (len(wide) == n or self.vectors.count() > len(wide)):
            # asks for more than k: a chunk left by a killed sync (no record) may be among them
            kept = self._passing(self.vectors.nearest(vector, 2 * k, where_of(f)), f)
        kept.sort(key=lambda hit: (-hit[1], hit[0]))
        sims = dict(kept[:k])
        chunks = self.vectors.get(list(sims))
        # The stores are read one after the other: a sync that rewrote an article in between (same
        # chunk ids, new date or source) is caught here, on what is returned.
        facets = self.records.facets({c.article_id for c in chunks})
        return [
            (c, sims[c.id])
            for c in chunks
            if facets.get(c.article_id) == (c.published, c.source)
            and f.passes(c.article_id, c.published, c.source)
        ]

    def _passing(self, hits: list[tuple[str, float]], f: ChunkFilter) -> list[tuple[str, float]]:
        facets = self.records.facets({article_of(cid) for cid, _ in hits})
        out = []
        for cid, sim in hits:
            aid = article_of(cid)
            facet = facets.get(aid)
            if facet is not None and f.passes(aid, *facet):
                out.append((cid, sim))
        return out
