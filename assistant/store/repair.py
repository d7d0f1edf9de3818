"""The repairs a sync makes for what the health check (store/health.py) found, before its own work:
vectors a lost record left behind taken back (nothing embedded), entries no record lists removed, and
lexical entries rebuilt from the records' texts. (Articles missing vectors are re-embedded from their
records by the sync itself, store/sync.py, with the same crash-safe protocol as any article.)"""

from __future__ import annotations

import logging
from typing import Any

from assistant.chunking import Chunk, chunk_article
from assistant.corpus.files import Article
from assistant.store.health import Health
from assistant.store.lexical import LexicalDoc
from assistant.store.opening import Stores
from assistant.store.types import (
    article_from_record,
    article_meta,
    chunk_meta,
    lexical_docs,
    recorded_chunk_ids,
)

log = logging.getLogger(__name__)

# What must match for a stored chunk to be the chunk a sync would store (with the collection's model).
# Articles whose stored chunks are read at once when taking them back.
_GET_ARTICLES = 200
_COMPARED = ("article_id", "start", "end", "title", "url", "source", "published")


def same_chunk(stored: tuple[str, dict[str, Any]], art: Article, c: Chunk) -> bool:
    """Whether a stored chunk is this chunk of this article (so its vector is the one a sync would
    embed: the collection records the embedding model)."""
    doc, meta = stored
    want = chunk_meta(art, c)
    return doc == c.text and all(meta.get(k) == want[k] for k in _COMPARED)


class Repair:
    def __init__(self, stores: Stores) -> None:
        self.stores = stores
        self.chunks = stores.settings.chunks

    def relink(self, candidates: list[Article], manifest: dict[str, dict[str, Any]]) -> set[str]:
        """Articles of this sync that have no record but whose stored vectors are exactly their chunks
        (a records file lost or rolled back): their lexical entries and record are written again,
        nothing is embedded. Returns their ids."""
        s = self.stores
        planned: list[tuple[Article, list[Chunk]]] = []
        for art in candidates:
            try:
                planned.append((art, chunk_article(art, self.chunks.size, self.chunks.overlap)))
            except Exception:  # noqa: BLE001 - embedded (and its failure recorded) like any new article
                continue
        done: set[str] = set()
        for i in range(0, len(planned), _GET_ARTICLES):  # one read of the vectors for many articles
            group = planned[i : i + _GET_ARTICLES]
            got = s.vectors.collection.get(
                ids=[c.id for _, chunks in group for c in chunks], include=["documents", "metadatas"]
            )
            stored = {
                cid: (doc, meta or {})
                for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"])
            }
            same = [
                (art, chunks)
                for art, chunks in group
                if chunks and all(c.id in stored and same_chunk(stored[c.id], art, c) for c in chunks)
            ]
            self._take_back(same, stored, manifest)
            done |= {art.id for art, _ in same}
        if done:
            log.info("re-linked %d articles to the vectors they already had (nothing embedded)", len(done))
        return done

    def _take_back(
        self,
        same: list[tuple[Article, list[Chunk]]],
        stored: dict[str, tuple[str, dict[str, Any]]],
        manifest: dict[str, dict[str, Any]],
    ) -> None:
        """Lexical entries, then the records (the commit point, written last), of articles whose vectors
        are theirs."""
        if not same:
            return
        s = self.stores
        s.lexical.delete_articles([art.id for art, _ in same])
        s.lexical.add([d for art, chunks in same for d in lexical_docs(art, chunks)])
        for art, chunks in same:
            if stored[chunks[0].id][1].get("origin") != art.origin:
                s.vectors.set_origin([c.id for c in chunks], art.origin)
        records = {art.id: article_meta(art, len(chunks), self.chunks) for art, chunks in same}
        s.records.put(records, {art.id: art.text for art, _ in same})
        manifest.update(records)

    def remove_extras(self, health: Health, manifest: dict[str, dict[str, Any]]) -> None:
        """Chunks no record lists (a killed sync, a lost record): lexical entries first, then vectors.
        The manifest is read as it is now: relinking may have just claimed some."""
        expected = set(recorded_chunk_ids(manifest))
        stray_lexical = [c for c in health.extra_lexical if c not in expected]
        stray_vectors = [c for c in health.extra_vectors if c not in expected]
        self.stores.lexical.delete_chunks(stray_lexical)
        self.stores.vectors.delete_ids(stray_vectors)
        if stray_vectors or stray_lexical:
            log.info(
                "removed %d vectors and %d lexical entries no article record lists",
                len(stray_vectors),
                len(stray_lexical),
            )

    def rebuild_lexical(self, article_ids: list[str]) -> None:
        """Lexical entries rebuilt from the records' texts (no embedding)."""
        for i in range(0, len(article_ids), 500):
            part = article_ids[i : i + 500]
            docs: list[LexicalDoc] = []
            for aid in part:
                art = self.from_record(aid)
                if art is not None:
                    docs += lexical_docs(art, chunk_article(art, self.chunks.size, self.chunks.overlap))
            self.stores.lexical.delete_articles(part)
            self.stores.lexical.add(docs)
        if article_ids:
            log.info("rebuilt the lexical entries of %d articles from their records", len(article_ids))

    def from_record(self, article_id: str) -> Article | None:
        got = self.stores.records.article(article_id)
        return article_from_record(article_id, *got) if got else None
