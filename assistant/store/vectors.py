"""Chunk vectors in Chroma (embedded PersistentClient by default, a `chroma run` server in server mode):
one record per chunk with its embedding, text and the metadata retrieval filters on. Chroma never embeds:
vectors come from our embedder, and the collection records which model made them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from assistant.dates import from_ymd, to_ymd
from assistant.store.filters import ChunkFilter

_GET_PAGE = 5000
# A date range up to this long is asked of Chroma as the list of its days (see where_of).
_DAYS_AS_LIST = 400


class MissingIds(LookupError):
    """A search among ids met one the store does not hold."""


@dataclass(frozen=True)
class StoredChunk:
    id: str
    article_id: str
    text: str
    start: int
    end: int
    title: str
    url: str
    source: str
    published: int  # YYYYMMDD, 0 when unknown
    origin: str = ""  # the file it came from, relative to the synced folder's parent ("corpus/0.json")


def chunk_from_record(cid: str, doc: str, meta: dict[str, Any]) -> StoredChunk:
    return StoredChunk(
        id=cid,
        article_id=str(meta["article_id"]),
        text=doc,
        start=int(meta["start"]),
        end=int(meta["end"]),
        title=str(meta.get("title", "")),
        url=str(meta.get("url", "")),
        source=str(meta.get("source", "")),
        published=int(meta.get("published", 0)),
        origin=str(meta.get("origin", "")),
    )


def _days(lo: int, hi: int) -> list[int] | None:
    """Every day from lo to hi (YYYYMMDD), or None when that is more than _DAYS_AS_LIST days."""
    try:
        first, last = from_ymd(lo), from_ymd(hi)
    except (ValueError, OverflowError):  # not a real date: the range is asked as a range
        return None
    n = (last - first).days + 1
    return [to_ymd(first + timedelta(days=i)) for i in range(n)] if 0 < n <= _DAYS_AS_LIST else None


def where_of(f: ChunkFilter | None) -> dict[str, Any] | None:
    """The filter as a Chroma `where`. Chroma answers each clause of an `$and` on its own and then
    intersects them, so a range written as `$gte` and `$lte` reads every chunk on either side of it (a
    week at 1M chunks: 3 to 9 s); a bounded range is asked as the list of its days instead (`published`
    always holds a real date, or 0 when unknown), which reads only the chunks inside it (0.45 to 0.8 s).
    Dense search comes here last (store/dense.py)."""
    if f is None or f.empty:
        return None
    clauses: list[dict[str, Any]] = []
    days = _days(f.lo, f.hi) if f.lo and f.hi else None
    if days:
        clauses.append({"published": {"$in": days}})
    else:
        if f.lo:
            clauses.append({"published": {"$gte": f.lo}})
        if f.hi:  # articles without a date (0) are kept: their time is unknown, not wrong
            clauses.append({"published": {"$lte": f.hi}})
    if f.sources:
        clauses.append({"source": {"$in": list(f.sources)}})
    if f.exclude_articles:
        clauses.append({"article_id": {"$nin": list(f.exclude_articles)}})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class VectorStore:
    def __init__(self, client: Any, name: str, metadata: dict[str, str]) -> None:
        self.client = client
        self.name = name
        self.opened_with = metadata
        self.collection = client.get_or_create_collection(
            name, configuration={"hnsw": {"space": "cosine"}}, metadata=metadata, embedding_function=None
        )
        self._max_batch: int | None = None

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.collection.metadata or {})

    def drop(self) -> None:
        try:
            self.client.delete_collection(self.name)
        except Exception:  # noqa: BLE001 - it did not exist
            pass

    def batch_size(self) -> int:
        """The most records the client takes in one write (Chroma refuses bigger batches)."""
        if self._max_batch is None:
            try:
                self._max_batch = max(1, int(self.client.get_max_batch_size()))
            except Exception:  # noqa: BLE001 - a client without the call: a size every Chroma takes
                self._max_batch = 1000
        return self._max_batch

    def slices(self, n: int) -> list[slice]:
        step = self.batch_size()
        return [slice(i, i + step) for i in range(0, n, step)]

    # ---- reading ---------------------------------------------------------------------------------

    def count(self) -> int:
        return int(self.collection.count())

    def get_all(self, include: list[str], where: dict[str, Any] | None = None) -> dict[str, list[Any]]:
        return self.get_all_from(self.collection, include, where)

    @staticmethod
    def get_all_from(
        collection: Any, include: list[str], where: dict[str, Any] | None = None
    ) -> dict[str, list[Any]]:
        """Every record of a collection, read page by page."""
        out: dict[str, list[Any]] = {"ids": [], **{k: [] for k in include}}
        offset = 0
        while True:
            page = collection.get(include=include, limit=_GET_PAGE, offset=offset, where=where)
            out["ids"].extend(page["ids"])
            for k in include:
                got = page[k]
                out[k].extend(got if got is not None else [])  # embeddings come as a numpy array
            if len(page["ids"]) < _GET_PAGE:
                return out
            offset += _GET_PAGE

    def get(self, ids: Sequence[str]) -> list[StoredChunk]:
        if not ids:
            return []
        got = self.collection.get(ids=list(ids), include=["documents", "metadatas"])
        by_id = {
            cid: chunk_from_record(cid, doc, meta)
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"])
        }
        return [by_id[i] for i in ids if i in by_id]

    def nearest(
        self,
        vector: list[float],
        k: int,
        where: dict[str, Any] | None = None,
        among: Sequence[str] | None = None,
    ) -> list[tuple[str, float]]:
        """The ids of the k nearest chunks (that match `where`, and are `among` these ids) with their
        cosine similarity, nearest first; fewer when the store holds fewer. Only ids and distances are
        read: reading the texts and metadata of the neighbours costs ten times the vector search (1,000
        neighbours at 11k chunks: 126 ms against 12 ms), so callers fetch the few they keep with get().
        An id in `among` that the store does not hold raises MissingIds."""
        if k <= 0 or (among is not None and not among):
            return []
        try:
            res = self.collection.query(
                query_embeddings=[vector],
                n_results=k,
                where=where,
                ids=list(among) if among is not None else None,
                include=["distances"],
            )
        except Exception as e:
            if among is not None and "error finding id" in str(e).lower():
                raise MissingIds(str(e)) from e
            raise
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(res["ids"][0], res["distances"][0])]

    def ids(self) -> list[str]:
        """Every chunk id (a full read: for repairs only)."""
        return list(self.get_all([])["ids"])

    # ---- writing ---------------------------------------------------------------------------------

    def upsert(
        self, ids: list[str], vectors: list[list[float]], docs: list[str], metas: list[dict[str, Any]]
    ) -> None:
        for part in self.slices(len(ids)):
            self.collection.upsert(
                ids=ids[part], embeddings=vectors[part], documents=docs[part], metadatas=metas[part]
            )

    def delete_articles(self, article_ids: Sequence[str]) -> None:
        """Every chunk of these articles, found by a `where` on their metadata: it reads the whole
        collection's metadata index (4 s at 1M chunks), so it is for repairs; delete_ids when the ids are
        known."""
        ids = list(article_ids)
        for i in range(0, len(ids), 500):
            self.collection.delete(where={"article_id": {"$in": ids[i : i + 500]}})

    def delete_ids(self, ids: Sequence[str]) -> None:
        """These chunks (ids the store does not hold are ignored)."""
        ids = list(ids)
        for part in self.slices(len(ids)):
            self.collection.delete(ids=ids[part])

    def set_origin(self, chunk_ids: Sequence[str], origin: str) -> None:
        """The file these chunks came from (by id: a `where` on the article would read the whole
        collection's metadata for each article of a moved folder)."""
        ids = list(chunk_ids)
        for part in self.slices(len(ids)):
            got = self.collection.get(ids=ids[part], include=["metadatas"])
            if got["ids"]:
                metas = [{**(m or {}), "origin": origin} for m in got["metadatas"]]
                self.collection.update(ids=got["ids"], metadatas=metas)

    def probe(self) -> None:
        self.client.heartbeat()
        self.collection.count()
