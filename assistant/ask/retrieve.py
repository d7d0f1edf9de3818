"""Question (+ history, + today's date, + filters) → ranked chunks.

Hybrid: the lexical (BM25, tantivy) and dense (Chroma) rankings are fused by reciprocal rank fusion, at most
``per_article`` chunks per article. Time counts only as the question says: a period it names
("this week", "in March 2023") is searched first — its chunks are ranked within the period and within
everything the filters allow, and the two rankings fused, so that they lead — but the story the
question names is still found when it lies outside the period (asked a month later, "this week" names
another week); and only a question that asks about the present ("recently", "latest", a period that
holds articles) gets the recency prior. A question that says nothing of time is never ranked by its
articles' age: people ask about last year's stories too. The user's explicit filters (dates, sources)
are hard limits. ``HybridRetriever`` wraps it as a LangChain
``BaseRetriever`` so it composes into LCEL chains.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.ask.timescope import time_intent
from assistant.dates import to_ymd
from assistant.settings import RetrievalSettings
from assistant.store import ChunkFilter, Index, StoredChunk

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
    timely: bool = False  # the question asks about the present: its ranking counts recency
    # The question names a period that holds articles: whether this chunk lies in it (None: no such
    # period). The question's own words, not a prior: a passage from outside "this week" may be the
    # closest one, hardly the answer.
    in_period: bool | None = None


@dataclass
class HybridSearch:
    index: Index
    cfg: RetrievalSettings

    def mentioned_together(self, name: str, other: str, k: int = 5) -> bool:
        """Whether one of the k chunks that best match both names holds both (the last word of each:
        "Traficant" beside "George Santos")."""
        a, b = name.split()[-1].lower(), other.split()[-1].lower()
        if a == b:
            return True
        ids = [cid for cid, _ in self.index.lexical_search(f"{name} {other}", k)]
        return any(a in c.text.lower() and b in c.text.lower() for c in self.index.get_chunks(ids))

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
        intent = time_intent(scope_from if scope_from is not None else query, today)
        scope, slack = intent.scope, timedelta(days=self.cfg.future_slack_days)
        # Never look into the future of "today". The slack covers time zones and the dates in article
        # metadata that are the last update rather than the first publication.
        lo = to_ymd(f.date_from) if f.date_from else 0
        hi = to_ymd(f.date_to or today + slack)
        wheres = [ChunkFilter(lo, hi, tuple(f.sources), tuple(f.exclude_articles))]
        if scope:
            s_lo, s_hi = max(lo, to_ymd(scope.start)), min(hi, to_ymd(scope.end + slack))
            if s_lo <= s_hi:
                wheres.append(replace(wheres[0], lo=s_lo, hi=s_hi))
        return self._ranked(query, k, wheres, today, mode, intent.timely)

    def _ranked(
        self, query: str, k: int, wheres: list[ChunkFilter], today: date, mode: Mode, timely: bool
    ) -> list[Hit]:
        """RRF over the dense and lexical rankings within each filter (the first: what the filters
        allow; a second one: the period the question names). A period that holds nothing does not make
        the question timely."""
        n = self.cfg.candidates
        rrf = self.cfg.rrf_k
        scores: dict[str, float] = {}
        dense_rank: dict[str, int] = {}
        dense_score: dict[str, float] = {}
        lex_rank: dict[str, int] = {}
        chunks: dict[str, StoredChunk] = {}
        found = 0  # chunks the last filter gave: with a period named, the period's
        for where in wheres:
            found = 0
            if mode in ("hybrid", "dense"):
                dense = self.index.dense_search(query, n, where)
                found += len(dense)
                for r, (chunk, sim) in enumerate(dense, 1):
                    chunks[chunk.id] = chunk
                    dense_rank.setdefault(chunk.id, r)
                    dense_score[chunk.id] = sim
                    scores[chunk.id] = scores.get(chunk.id, 0.0) + 1.0 / (rrf + r)
            if mode in ("hybrid", "bm25"):
                lexical = self.index.lexical_search(query, n, where)
                found += len(lexical)
                for r, (cid, _) in enumerate(lexical, 1):
                    lex_rank.setdefault(cid, r)
                    scores[cid] = scores.get(cid, 0.0) + 1.0 / (rrf + r)
        period = wheres[-1] if len(wheres) > 1 and found else None
        if len(wheres) > 1 and not found:
            timely = False  # the period named holds nothing: nothing says the question is about now
        missing = [cid for cid in scores if cid not in chunks]
        for chunk in self.index.get_chunks(missing):
            chunks[chunk.id] = chunk
        if timely and self.cfg.recency_weight and mode == "hybrid":
            recent = to_ymd(today - timedelta(days=self.cfg.recency_days))
            for cid, chunk in chunks.items():
                if chunk.published >= recent:
                    scores[cid] += self.cfg.recency_weight / (rrf + 1)
        ordered = sorted((cid for cid in scores if cid in chunks), key=lambda c: -scores[c])
        per_article: dict[str, int] = {}
        out: list[Hit] = []
        for cid in ordered:
            chunk = chunks[cid]
            if per_article.get(chunk.article_id, 0) >= self.cfg.per_article:
                continue
            per_article[chunk.article_id] = per_article.get(chunk.article_id, 0) + 1
            out.append(
                Hit(
                    chunk,
                    scores[cid],
                    dense_rank.get(cid),
                    lex_rank.get(cid),
                    dense_score.get(cid, 0.0),
                    timely,
                    None
                    if period is None
                    else period.passes(chunk.article_id, chunk.published, chunk.source),
                )
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
            "timely": hit.timely,
            "in_period": hit.in_period,
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
    k: int  # from the settings (retrieval.k), never a default of its own
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
