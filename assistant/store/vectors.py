"""Chunk vectors in Chroma (embedded PersistentClient by default, a `chroma run` server in server mode):
one record per chunk with its embedding, text and the metadata retrieval filters on. Chroma never embeds:
vectors come from our embedder, and the collection records which model made them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

_GET_PAGE = 5000
# Neighbours fetched without a filter before the filter is applied (VectorStore.search).
OVERFETCH = 4


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


class VectorStore:
    def __init__(self, client: Any, name: str, metadata: dict[str, str]) -> None:
        self.client = client
        self.name = name
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

    def search(
        self,
        vector: list[float],
        k: int,
        where: dict[str, Any] | None = None,
        keep: Callable[[StoredChunk], bool] | None = None,
    ) -> list[tuple[StoredChunk, float]]:
        """The k nearest chunks that pass the filter. A Chroma query with a `where` reads every record the
        filter matches (120 ms at 20k chunks when it matches all, linear beyond), while an unfiltered one
        walks the vector index (11 ms). So a filter that `keep` can test is first applied to an
        unfiltered query of OVERFETCH × k neighbours; only when fewer than k of them pass (the filter is
        selective, and then the filtered query is cheap) is the `where` query run."""
        n = self.count()
        if n == 0:
            return []
        if where is not None and keep is not None:
            wide = self._query(vector, min(OVERFETCH * k, n), None)
            kept = [(c, s) for c, s in wide if keep(c)]
            if len(kept) >= min(k, n) or len(wide) >= n:
                return kept[:k]
        return self._query(vector, min(k, n), where)

    def _query(
        self, vector: list[float], k: int, where: dict[str, Any] | None
    ) -> list[tuple[StoredChunk, float]]:
        res = self.collection.query(
            query_embeddings=[vector],
            n_results=k,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            (chunk_from_record(cid, doc, meta), 1.0 - float(dist))
            for cid, doc, meta, dist in zip(
                res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0]
            )
        ]

    def article_ids(self) -> set[str]:
        """Every article that has chunks here (a full scan of the metadata: for repairs only)."""
        return {str(m.get("article_id")) for m in self.get_all(["metadatas"])["metadatas"]}

    # ---- writing ---------------------------------------------------------------------------------

    def upsert(
        self, ids: list[str], vectors: list[list[float]], docs: list[str], metas: list[dict[str, Any]]
    ) -> None:
        for part in self.slices(len(ids)):
            self.collection.upsert(
                ids=ids[part], embeddings=vectors[part], documents=docs[part], metadatas=metas[part]
            )

    def delete_articles(self, article_ids: Sequence[str]) -> None:
        ids = list(article_ids)
        for i in range(0, len(ids), 500):
            self.collection.delete(where={"article_id": {"$in": ids[i : i + 500]}})

    def set_origin(self, article_id: str, origin: str) -> None:
        got = self.get_all(["metadatas"], where={"article_id": article_id})
        for part in self.slices(len(got["ids"])):
            metas = [{**m, "origin": origin} for m in got["metadatas"][part]]
            self.collection.update(ids=got["ids"][part], metadatas=metas)

    def probe(self) -> None:
        self.client.heartbeat()
        self.collection.count()
