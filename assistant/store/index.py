"""`Index`: the index as the rest of the app sees it. It opens the three stores (store/opening.py), says
how they are (store/health.py), answers reads (search, counts, articles) and hands writing to the sync
protocol (store/sync.py)."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from assistant.chunking import article_of, chunk_article
from assistant.corpus.files import Article
from assistant.providers import SentenceEmbedder
from assistant.settings import Settings
from assistant.store.dense import DenseSearch
from assistant.store.filters import ChunkFilter
from assistant.store.health import Depth, Health, check
from assistant.store.lexical import LexicalDamaged
from assistant.store.migrate import migrate
from assistant.store.opening import ClientFactory, Stores, open_stores
from assistant.store.sync import Syncer
from assistant.store.types import FaultHook, ProgressFn, SyncReport, article_from_record, chunk_meta
from assistant.store.vectors import StoredChunk, chunk_from_record

log = logging.getLogger(__name__)


class Index:
    def __init__(
        self,
        settings: Settings,
        embedder: SentenceEmbedder,
        client: Any = None,
        *,
        make_client: ClientFactory | None = None,
        fault: FaultHook | None = None,
    ) -> None:
        """client: a Chroma client (tests); else make_client(settings) makes one (and makes it again
        when the local vectors folder had to be moved aside). fault: the crash tests' hook."""
        if client is None and make_client is None:
            from assistant.providers import make_chroma_client

            make_client = make_chroma_client
        self.settings = settings
        self.embedder = embedder
        self.stores: Stores = open_stores(settings, embedder.name, client, make_client)
        migrate(self.stores)
        self.writer = Syncer(self.stores, embedder, fault)
        self.opened: Health = check(self.stores, "counts")  # what the index was like when opened
        self._drift_said = False

    @property
    def name(self) -> str:
        return self.stores.name

    @property
    def chunks(self) -> Any:
        """The Chroma collection of chunks (tests read it directly)."""
        return self.stores.vectors.collection

    def where(self) -> str:
        return self.stores.where()

    # ---- health ------------------------------------------------------------------------------------

    def check(self, depth: Depth = "ids") -> Health:
        return check(self.stores, depth)

    def problems(self) -> list[str]:
        """What is or was wrong with the index, one line each, for the status line: what the sync
        under way is repairing; else what is wrong now (a quick check, before this process synced), or
        what opening it found and another process repaired since; and what the latest repair fixed."""
        w = self.writer
        if self.stores.vectors_replaced():
            return [
                "vectors (chroma): deleted or replaced while the app ran; re-index to open and repair them"
            ]
        if w.last_health is not None and not w.last_finished:
            return [f"{p} — being repaired" for p in w.last_health.problems()]
        out: list[str] = []
        if w.last_health is None:
            now = check(self.stores, "counts")
            if not now.sound:
                return now.problems()
            out = [f"{p} — repaired since" for p in self.opened.problems()]
        if w.repairs:
            when, what = w.repairs[-1]
            out += [f"{p} — repaired by the sync at {when}" for p in what]
        return out

    # ---- writing -----------------------------------------------------------------------------------

    def sync(
        self, paths: Iterable[Path], progress: ProgressFn | None = None, depth: Depth = "counts"
    ) -> SyncReport:
        return self.writer.sync(paths, progress, depth)

    def ingest(self, articles: list[Article], progress: ProgressFn | None = None) -> SyncReport:
        """Adds or updates these articles, each under its own lock (the cluster's ingest workers)."""
        return self.writer.ingest(articles, progress)

    def withdraw(self, paths: list[str]) -> SyncReport:
        """Removes the articles read from these paths, each under its own lock (the cluster's workers)."""
        return self.writer.withdraw(paths)

    def rebuild(self) -> None:
        self.writer.rebuild()

    # ---- reading -----------------------------------------------------------------------------------

    def manifest(self) -> dict[str, dict[str, Any]]:
        return self.stores.records.manifest()

    def failed_articles(self) -> dict[str, dict[str, Any]]:
        """Articles that could not be indexed and are not retried until they change:
        id → {fingerprint, path, origin, error}."""
        return self.stores.records.failures()

    def article(self, article_id: str) -> Article | None:
        got = self.stores.records.article(article_id)
        return article_from_record(article_id, *got) if got else None

    def get_chunks(self, ids: Sequence[str]) -> list[StoredChunk]:
        """These chunks, in this order (those not indexed are left out). A chunk whose vector is
        missing (a vectors store being rebuilt) is read from its article's record: the page answers
        from the lexical index meanwhile."""
        got = self._as_recorded(self.stores.vectors.get(ids))
        if len(got) == len(set(ids)):
            return got
        found = {c.id: c for c in got}
        by_article: dict[str, list[str]] = {}
        for cid in ids:
            if cid not in found:
                by_article.setdefault(article_of(cid), []).append(cid)
        for aid in by_article:
            found |= {c.id: c for c in self._chunks_from_record(aid)}
        return [found[i] for i in ids if i in found]

    def _chunks_from_record(self, article_id: str) -> list[StoredChunk]:
        art = self.article(article_id)
        if art is None:
            return []
        cfg = self.settings.chunks
        return [
            chunk_from_record(c.id, c.text, chunk_meta(art, c))
            for c in chunk_article(art, cfg.size, cfg.overlap)
        ]

    def dense_search(
        self, query: str, k: int, where: ChunkFilter | None = None
    ) -> list[tuple[StoredChunk, float]]:
        """The k nearest chunks that pass the filter (assistant/store/dense.py)."""
        search = DenseSearch(self.stores.vectors, self.stores.records)
        hits = search.search(self.embedder.embed_query(query), k, where)
        kept = {c.id: c for c in self._as_recorded([c for c, _ in hits])}
        return [(kept[c.id], sim) for c, sim in hits if c.id in kept]

    def _as_recorded(self, chunks: list[StoredChunk]) -> list[StoredChunk]:
        """The chunks with the text their article's record holds at their offsets: every quote is cut
        from the records (the commit point), and a vector store whose texts drifted from them (rolled
        back, written by something else) cannot put other words in a quote. Chunks of an article
        without a record are left out."""
        texts = self.stores.records.texts({c.article_id for c in chunks})
        out = []
        for c in chunks:
            text = texts.get(c.article_id)
            if text is None:
                continue
            if text[c.start : c.end] != c.text:
                if not self._drift_said:
                    log.warning(
                        "stored chunk %s differs from its record; `assistant check --repair` fixes it", c.id
                    )
                    self._drift_said = True
                c = replace(c, text=text[c.start : c.end])
            out.append(c)
        return out

    def lexical_search(self, query: str, k: int, where: ChunkFilter | None = None) -> list[tuple[str, float]]:
        """The k best chunks by BM25 whose article is indexed (its record is the commit point, as in
        dense search)."""
        try:
            hits = self.stores.lexical.search(query, k, where)
        except LexicalDamaged as e:  # answered from the vectors meanwhile; the next sync rebuilds it
            self._lexical_failed(e)
            return []
        indexed = self.stores.records.present({article_of(cid) for cid, _ in hits})
        return [(cid, score) for cid, score in hits if article_of(cid) in indexed]

    def idf(self, term: str, min_docs: int = 0) -> float:
        try:
            return self.stores.lexical.idf(term, min_docs)
        except LexicalDamaged as e:  # every term weighs as a rare one meanwhile
            self._lexical_failed(e)
            return math.log((max(min_docs, 1) + 1) / 0.5)

    def _lexical_failed(self, e: Exception) -> None:
        if not self.stores.lexical_failed:
            log.warning("the lexical index failed while it was read (%s); the next sync rebuilds it", e)
        self.stores.lexical_failed = str(e) or type(e).__name__

    @property
    def newest(self) -> int:
        """The latest publication date of an indexed article (YYYYMMDD), 0 when none has one."""
        return self.stores.records.newest()

    def stats(self) -> dict[str, Any]:
        records = self.stores.records
        state = records.state()
        return {
            "articles": records.count(),
            "chunks": self.stores.vectors.count(),
            "embedding_model": self.embedder.name,
            "newest_article": records.newest_date() or None,
            "last_sync": state.get("last_sync") or None,
            "index": self.where(),
        }
