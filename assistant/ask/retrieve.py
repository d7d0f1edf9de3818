"""Question (+ history, + today's date, + filters) → ranked chunks.

Hybrid: the lexical (BM25, tantivy) and dense (Chroma) rankings are fused by reciprocal rank fusion, with a recency prior
for news, at most ``per_article`` chunks per article. ``HybridRetriever`` wraps it as a LangChain
``BaseRetriever`` so it composes into LCEL chains.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.dates import to_ymd
from assistant.settings import RetrievalSettings
from assistant.store import ChunkFilter, Index, StoredChunk
from assistant.timescope import parse_time_scope

Mode = Literal["hybrid", "dense", "bm25"]


@dataclass(frozen=True)
class Filters:
    date_from: date | None = None
    date_to: date | None = None
    sources: tuple[str, ...] = ()
    exclude_articles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    chunk: StoredChunk
    score: float
    dense_rank: int | None = None
    lexical_rank: int | None = None
    dense_score: float = 0.0


@dataclass
class HybridSearch:
    index: Index
    cfg: RetrievalSettings
    # How far a date-less question reaches back for its recency prior, and how much it weighs.
    recency_days: int = 31
    recency_weight: float = 0.5
    future_slack_days: int = 3

    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        today: date | None = None,
        filters: Filters | None = None,
        mode: Mode = "hybrid",
        scope_from: str | None = None,
    ) -> list[Hit]:
        """Ranked chunks for a query. ``scope_from`` is the text to read time phrases from
        (the user's own question; the query itself by default)."""
        k = k or self.cfg.k
        f = filters or Filters()
        today = today or date.today()
        scope = parse_time_scope(scope_from if scope_from is not None else query, today)
        # Never look into the future of "today". The slack covers time zones and the dates in article
        # metadata that are the last update rather than the first publication.
        hi_date = f.date_to or today + timedelta(days=self.future_slack_days)
        lo_date = f.date_from
        if scope:
            lo_date = max(lo_date, scope.start) if lo_date else scope.start
            hi_date = min(hi_date, scope.end + timedelta(days=self.future_slack_days))
        hits = self._ranked(query, k, to_ymd(lo_date) if lo_date else 0, to_ymd(hi_date), f, today, mode)
        if not hits and scope:  # the phrase narrowed to nothing: widen to the explicit filters only
            lo = to_ymd(f.date_from) if f.date_from else 0
            hi = to_ymd(f.date_to or today + timedelta(days=self.future_slack_days))
            hits = self._ranked(query, k, lo, hi, f, today, mode)
        return hits

    def _ranked(self, query: str, k: int, lo: int, hi: int, f: Filters, today: date, mode: Mode) -> list[Hit]:
        n = self.cfg.candidates
        rrf = self.cfg.rrf_k
        scores: dict[str, float] = {}
        dense_rank: dict[str, int] = {}
        dense_score: dict[str, float] = {}
        lex_rank: dict[str, int] = {}
        chunks: dict[str, StoredChunk] = {}
        where = ChunkFilter(lo, hi, tuple(f.sources), tuple(f.exclude_articles))
        if mode in ("hybrid", "dense"):
            dense = self.index.dense_search(query, n, where)
            for r, (chunk, sim) in enumerate(dense, 1):
                chunks[chunk.id] = chunk
                dense_rank[chunk.id] = r
                dense_score[chunk.id] = sim
                scores[chunk.id] = scores.get(chunk.id, 0.0) + 1.0 / (rrf + r)
        if mode in ("hybrid", "bm25"):
            for r, (cid, _) in enumerate(self.index.lexical_search(query, n, where), 1):
                lex_rank[cid] = r
                scores[cid] = scores.get(cid, 0.0) + 1.0 / (rrf + r)
        missing = [cid for cid in scores if cid not in chunks]
        for chunk in self.index.get_chunks(missing):
            chunks[chunk.id] = chunk
        if self.recency_weight and mode == "hybrid":
            recent = to_ymd(today - timedelta(days=self.recency_days))
            for cid, chunk in chunks.items():
                if chunk.published >= recent:
                    scores[cid] += self.recency_weight / (rrf + 1)
        ordered = sorted((cid for cid in scores if cid in chunks), key=lambda c: -scores[c])
        per_article: dict[str, int] = {}
        out: list[Hit] = []
        for cid in ordered:
            chunk = chunks[cid]
            if per_article.get(chunk.article_id, 0) >= self.cfg.per_article:
                continue
            per_article[chunk.article_id] = per_article.get(chunk.article_id, 0) + 1
            out.append(
                Hit(chunk, scores[cid], dense_rank.get(cid), lex_rank.get(cid), dense_score.get(cid, 0.0))
            )
            if len(out) >= k:
                break
        return out


def hit_to_document(hit: Hit) -> Document:
    c = hit.chunk
    return Document(
        page_content=c.text,
        id=c.id,
        metadata={
            "chunk_id": c.id,
            "article_id": c.article_id,
            "start": c.start,
            "end": c.end,
            "title": c.title,
            "url": c.url,
            "source": c.source,
            "published": c.published,
            "origin": c.origin,
            "score": hit.score,
            "dense_score": hit.dense_score,
        },
    )


def document_to_chunk(doc: Document) -> StoredChunk:
    m = doc.metadata
    return StoredChunk(
        id=m["chunk_id"],
        article_id=m["article_id"],
        text=doc.page_content,
        start=m["start"],
        end=m["end"],
        title=m["title"],
        url=m["url"],
        source=m["source"],
        published=m["published"],
        origin=m.get("origin", ""),
    )


class HybridRetriever(BaseRetriever):
    """LangChain face of HybridSearch: ``retriever.invoke("question")`` → Documents."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    search: HybridSearch
    k: int = 5
    today: date | None = None
    filters: Filters = Filters()
    mode: Mode = "hybrid"
    scope_from: str | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        hits = self.search.search(
            query,
            k=self.k,
            today=self.today,
            filters=self.filters,
            mode=self.mode,
            scope_from=self.scope_from,
        )
        return [hit_to_document(h) for h in hits]

    def scoped(self, **changes: Any) -> HybridRetriever:
        return self.model_copy(update=changes)
