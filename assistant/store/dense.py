"""Dense search with a filter: the nearest chunks whose article is indexed and passes the filter.

Chroma's filtered query (`where`) first reads every chunk the filter matches, so it costs seconds at a
million chunks (a week as the list of its days: 0.5 s; everything up to a date: 4 s). So:

1. the filter is tested on the 1,000 nearest chunks, unfiltered (ids and distances only: 10 ms at 1M),
   against the article records (one SQLite query for published and source). Most filters let most
   chunks through (a question asked today may read everything published up to today), and end here;
2. a filter too narrow for that (a week in a corpus of years) lists its articles from the records (the
   date index), and so its chunk ids, and the vector search runs among those ids only (16k ids at 1M:
   37 ms);
3. a filter that is neither (more than ID_CAP chunks pass it, but few near the question) tries the
   10,000 nearest, and only then Chroma's filtered query.

The records are also the commit point of an article: a chunk whose article has no record (a sync is
between writing its vectors and its record, or deleting them) is not returned.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from assistant.chunking import article_of, chunk_ids
from assistant.corpus.files import one_line
from assistant.store.filters import ChunkFilter
from assistant.store.vectors import MissingIds, StoredChunk, VectorStore, where_of

if TYPE_CHECKING:
    from assistant.store.opening import Records

log = logging.getLogger(__name__)

Hits = list[tuple[str, float]]

# How many unfiltered neighbours are tested against the filter first.
WIDE = 1000
# The most chunk ids a search is restricted to (step 2).
ID_CAP = 50_000


@dataclass
class DenseSearch:
    vectors: VectorStore
    records: Records
    wide: ClassVar[int] = WIDE
    id_cap: ClassVar[int] = ID_CAP

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
            kept = self._narrow(vector, k, f)
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

    def _narrow(self, vector: list[float], k: int, f: ChunkFilter) -> Hits:
        """Steps 2 and 3 (module docstring). They ask for 2k: a chunk left by a killed sync (no record)
        may be among the nearest."""
        among = self._ids_passing(f)
        if among is not None:
            try:
                return self._passing(self.vectors.nearest(vector, 2 * k, among=among), f)
            except MissingIds as e:  # a sync removed some of them meanwhile: ask by the filter
                log.info("dense search among the filter's ids: %s; asking by the filter", one_line(str(e)))
        else:
            n = 10 * self.wide
            wider = self.vectors.nearest(vector, n)
            kept = self._passing(wider, f)
            if len(kept) >= k or len(wider) < n:
                return kept
        return self._passing(self.vectors.nearest(vector, 2 * k, where_of(f)), f)

    def _ids_passing(self, f: ChunkFilter) -> list[str] | None:
        """The ids of every chunk whose article passes the filter, or None when more than id_cap do."""
        ids: list[str] = []
        rows = self.records.in_range(f.lo, f.hi, f.sources, self.id_cap + 1)
        if len(rows) > self.id_cap:
            return None
        for aid, published, source, n_chunks in rows:
            if f.passes(aid, published, source):
                ids += chunk_ids(aid, n_chunks)
                if len(ids) > self.id_cap:
                    return None
        return ids

    def _passing(self, hits: Hits, f: ChunkFilter) -> Hits:
        facets = self.records.facets({article_of(cid) for cid, _ in hits})
        out = []
        for cid, sim in hits:
            aid = article_of(cid)
            facet = facets.get(aid)
            if facet is not None and f.passes(aid, *facet):
                out.append((cid, sim))
        return out
