"""The index: Chroma (vectors + article texts) and a bm25s lexical index, kept in step with folders.

Two Chroma collections: ``<name>`` holds one record per chunk (embedding, text, metadata) and
``<name>_articles`` one record per article (its full text as the document, its fingerprint in the
metadata). An article's record is written only after all its chunks are stored and is deleted before its
chunks are touched, so a process killed at any point leaves state that the next sync repairs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.chunking import CHUNKER_VERSION, Chunk, chunk_article
from assistant.corpus import Article, Failure, load_paths
from assistant.providers import SentenceEmbedder
from assistant.settings import Settings

log = logging.getLogger(__name__)

# Bumped when the lexical tokenisation changes, so that the lexical index is rebuilt.
LEXICAL_VERSION = "3"
FAULT_POINTS = ("manifest_deleted", "chunks_deleted", "chunks_stored", "manifest_written", "removed")
_GET_PAGE = 5000

ProgressFn = Callable[[int, int], None]


class IndexError_(RuntimeError):
    """A problem with the index itself (not with one article); the message says how to fix it."""


class EmbeddingMismatch(IndexError_):
    pass


@dataclass
class SyncReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[Failure] = field(default_factory=list)
    chunks_embedded: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 3)
        return d

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        s = (
            f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
            f"removed {self.removed}, failed {len(self.failed)}; "
            f"{self.chunks_embedded} chunks embedded in {self.seconds:.1f}s"
        )
        return s


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


def _chunk_from_record(cid: str, doc: str, meta: dict[str, Any]) -> StoredChunk:
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
    )


def embed_text(title: str, text: str) -> str:
    """What is embedded (and lexically indexed) for a chunk: the title gives it context."""
    return f"{title}\n{text}" if title else text


class LexicalIndex:
    """bm25s over chunk texts, saved beside a stamp of the article set it was built from."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ids: list[str] = []
        self.rows: list[dict[str, Any]] = []
        self.df: dict[str, int] = {}
        self.n_docs = 0
        self.stamp = ""
        self._bm25: Any = None

    def _tokenize(self, texts: list[str]) -> Any:
        import bm25s

        from assistant.textutil import STOPWORDS, stemmer

        return bm25s.tokenize(texts, stopwords=sorted(STOPWORDS), stemmer=stemmer(), show_progress=False)

    def build(self, ids: list[str], texts: list[str], stamp: str, rows: list[dict[str, Any]]) -> None:
        """rows: per chunk, the fields retrieval filters on (article_id, published, source)."""
        import bm25s

        bm25 = bm25s.BM25()
        if ids:
            bm25.index(self._tokenize(texts), show_progress=False)
        self._bm25, self.ids, self.stamp = (bm25 if ids else None), list(ids), stamp
        self.rows = rows
        self.compute_df(texts)
        self.save()

    def compute_df(self, texts: list[str]) -> None:
        """Document frequencies of content terms, for the idf weights of answer scoring."""
        from collections import Counter

        from assistant.textutil import content_terms

        df: Counter[str] = Counter()
        for t in texts:
            df.update(set(content_terms(t)))
        self.df, self.n_docs = dict(df), len(texts)

    def idf(self, term: str) -> float:
        return math.log((self.n_docs + 1) / (self.df.get(term, 0) + 0.5))

    @property
    def newest(self) -> int:
        return max((r["published"] for r in self.rows), default=0)

    def save(self) -> None:
        tmp = self.folder.with_name(self.folder.name + ".tmp")
        if tmp.exists():
            _rmtree(tmp)
        tmp.mkdir(parents=True)
        if self._bm25 is not None:
            self._bm25.save(str(tmp / "bm25"))
        (tmp / "df.json").write_text(json.dumps({"n": self.n_docs, "df": self.df}))
        (tmp / "meta.json").write_text(json.dumps({"stamp": self.stamp, "ids": self.ids, "rows": self.rows}))
        old = self.folder.with_name(self.folder.name + ".old")
        if self.folder.exists():
            if old.exists():
                _rmtree(old)
            self.folder.rename(old)
        tmp.rename(self.folder)
        if old.exists():
            _rmtree(old)

    def load(self) -> bool:
        import bm25s

        meta_file = self.folder / "meta.json"
        if not meta_file.exists():
            return False
        try:
            meta = json.loads(meta_file.read_text())
            if len(meta["rows"]) != len(meta["ids"]):
                raise ValueError("rows and ids differ in length")
            if not (self.folder / "df.json").exists():
                raise ValueError("term frequencies missing")
            bm25 = bm25s.BM25.load(str(self.folder / "bm25")) if meta["ids"] else None
        except Exception as e:  # noqa: BLE001 - a damaged lexical index is rebuilt, not fatal
            log.warning("lexical index at %s unreadable (%s); it will be rebuilt", self.folder, e)
            return False
        self._bm25, self.ids, self.stamp, self.rows = bm25, meta["ids"], meta["stamp"], meta["rows"]
        d = json.loads((self.folder / "df.json").read_text())
        self.df, self.n_docs = d["df"], d["n"]
        return True

    def search(self, query: str, k: int, mask: Any = None) -> list[tuple[str, float]]:
        if self._bm25 is None or not self.ids:
            return []
        tokens = self._tokenize([query])
        if not tokens.vocab or all(not t for t in tokens.ids):
            return []
        k = min(k, len(self.ids))
        docs, scores = self._bm25.retrieve(tokens, k=k, show_progress=False, n_threads=1, weight_mask=mask)
        out = []
        for d, s in zip(docs[0], scores[0]):
            if s > 0:
                out.append((self.ids[int(d)], float(s)))
        return out


def _rmtree(p: Path) -> None:
    import shutil

    shutil.rmtree(p, ignore_errors=True)


def _under(path: str, roots: Sequence[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


class Index:
    def __init__(self, settings: Settings, embedder: SentenceEmbedder, client: Any) -> None:
        self.settings = settings
        self.embedder = embedder
        self.client = client
        self.name = settings.store.collection
        self._lock = threading.RLock()
        self._fault = self._parse_fault(settings.debug_kill_at)
        self._open_collections()
        self.lexical = LexicalIndex(Path(settings.index_dir) / f"lexical-{self.name}")
        self._lexical_ready = False

    # ---- collections -------------------------------------------------------------------------

    def _open_collections(self) -> None:
        model = self.embedder.name
        self.chunks = self.client.get_or_create_collection(
            self.name,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding_model": model, "chunker": self._chunker_tag()},
            embedding_function=None,
        )
        stored = (self.chunks.metadata or {}).get("embedding_model")
        if stored and stored != model:
            raise EmbeddingMismatch(
                f"the index in {self.where()} was built with the embedding model {stored!r}, but the "
                f"settings ask for {model!r}; rebuild it with `assistant index --rebuild` or set "
                f"ASSISTANT_EMBEDDING__MODEL={stored}"
            )
        self.articles = self.client.get_or_create_collection(
            f"{self.name}_articles", metadata={"kind": "articles"}, embedding_function=None
        )

    def _chunker_tag(self) -> str:
        c = self.settings.chunks
        return f"v{CHUNKER_VERSION}:{c.size}:{c.overlap}"

    def where(self) -> str:
        s = self.settings.store
        if s.mode == "server":
            return f"the Chroma server at {s.host}:{s.port} (collection {self.name!r})"
        return str(Path(self.settings.index_dir).resolve())

    def rebuild(self) -> None:
        """Drops everything; the next sync embeds every article again."""
        with self._lock:
            for name in (self.name, f"{self.name}_articles"):
                try:
                    self.client.delete_collection(name)
                except Exception:  # noqa: BLE001 - it did not exist
                    pass
            _rmtree(self.lexical.folder)
            self.lexical = LexicalIndex(self.lexical.folder)
            self._lexical_ready = False
            self._open_collections()

    # ---- fault injection (tests) -------------------------------------------------------------

    @staticmethod
    def _parse_fault(spec: str) -> tuple[str, int] | None:
        if not spec:
            return None
        point, _, count = spec.partition(":")
        if point not in FAULT_POINTS:
            raise ValueError(f"ASSISTANT_DEBUG_KILL_AT: unknown point {point!r} (one of {FAULT_POINTS})")
        return point, int(count or 1)

    def _reached(self, point: str) -> None:
        if self._fault and self._fault[0] == point:
            remaining = self._fault[1] - 1
            self._fault = (point, remaining)
            if remaining <= 0:
                os.kill(os.getpid(), signal.SIGKILL)

    # ---- reading -----------------------------------------------------------------------------

    def _get_all(
        self, collection: Any, include: list[str], where: dict[str, Any] | None = None
    ) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"ids": [], **{k: [] for k in include}}
        offset = 0
        while True:
            page = collection.get(include=include, limit=_GET_PAGE, offset=offset, where=where)
            out["ids"].extend(page["ids"])
            for k in include:
                out[k].extend(page[k] or [])
            if len(page["ids"]) < _GET_PAGE:
                return out
            offset += _GET_PAGE

    def manifest(self) -> dict[str, dict[str, Any]]:
        got = self._get_all(self.articles, ["metadatas"])
        return dict(zip(got["ids"], got["metadatas"]))

    def article(self, article_id: str) -> Article | None:
        got = self.articles.get(ids=[article_id], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        m = got["metadatas"][0]
        return Article(
            id=article_id,
            title=m.get("title", ""),
            text=got["documents"][0],
            url=m.get("url", ""),
            source=m.get("source", ""),
            published=m.get("published_date", ""),
            path=m.get("path", ""),
        )

    def get_chunks(self, ids: Sequence[str]) -> list[StoredChunk]:
        if not ids:
            return []
        got = self.chunks.get(ids=list(ids), include=["documents", "metadatas"])
        by_id = {
            cid: _chunk_from_record(cid, doc, meta)
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"])
        }
        return [by_id[i] for i in ids if i in by_id]

    def dense_search(
        self, query: str, k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[StoredChunk, float]]:
        n = self.chunks.count()
        if n == 0:
            return []
        vec = self.embedder.embed_query(query)
        res = self.chunks.query(
            query_embeddings=[vec],
            n_results=min(k, n),
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            (_chunk_from_record(cid, doc, meta), 1.0 - float(dist))
            for cid, doc, meta, dist in zip(
                res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0]
            )
        ]

    def lexical_search(self, query: str, k: int, mask: Any = None) -> list[tuple[str, float]]:
        self.ensure_lexical()
        return self.lexical.search(query, k, mask)

    def stats(self) -> dict[str, Any]:
        manifest = self.manifest()
        meta = self.articles.metadata or {}
        newest = max((m.get("published_date", "") for m in manifest.values()), default="")
        return {
            "articles": len(manifest),
            "chunks": self.chunks.count(),
            "embedding_model": self.embedder.name,
            "newest_article": newest or None,
            "last_sync": meta.get("last_sync"),
            "index": self.where(),
        }

    # ---- lexical index -------------------------------------------------------------------------

    @staticmethod
    def _stamp(manifest: dict[str, dict[str, Any]]) -> str:
        h = hashlib.sha256(f"lexical v{LEXICAL_VERSION}\n".encode())
        for aid in sorted(manifest):
            h.update(f"{aid}\0{manifest[aid].get('fingerprint', '')}\n".encode())
        return h.hexdigest()

    def ensure_lexical(self, manifest: dict[str, dict[str, Any]] | None = None) -> None:
        """Brings the lexical index in step with the store. Queries never wait for a running sync:
        a fresh lexical index is built aside and swapped in whole."""
        if self._lexical_ready and manifest is None:
            return
        with self._lock:
            if self._lexical_ready and manifest is None:
                return
            manifest = self.manifest() if manifest is None else manifest
            stamp = self._stamp(manifest)
            if self.lexical.stamp != stamp:
                fresh = LexicalIndex(self.lexical.folder)
                if not (fresh.load() and fresh.stamp == stamp):
                    got = self._get_all(self.chunks, ["documents", "metadatas"])
                    metas = got["metadatas"]
                    texts = [embed_text(m.get("title", ""), d) for d, m in zip(got["documents"], metas)]
                    rows = [
                        {
                            "article_id": m["article_id"],
                            "published": m.get("published", 0),
                            "source": m.get("source", ""),
                        }
                        for m in metas
                    ]
                    fresh.build(got["ids"], texts, stamp, rows)
                    log.info("lexical index rebuilt: %d chunks", len(got["ids"]))
                self.lexical = fresh
            self._lexical_ready = True

    # ---- writing -----------------------------------------------------------------------------

    def _set_state(self, **changes: str) -> None:
        meta = dict(self.articles.metadata or {})
        meta.update(changes)
        meta.pop("hnsw:space", None)
        self.articles.modify(metadata=meta)

    def _remove_orphans(self, manifest: dict[str, dict[str, Any]]) -> int:
        got = self._get_all(self.chunks, ["metadatas"])
        orphans = [cid for cid, m in zip(got["ids"], got["metadatas"]) if m.get("article_id") not in manifest]
        for i in range(0, len(orphans), _GET_PAGE):
            self.chunks.delete(ids=orphans[i : i + _GET_PAGE])
        return len(orphans)

    def sync(self, paths: Iterable[Path], progress: ProgressFn | None = None) -> SyncReport:
        with self._lock:
            return self._sync(list(paths), progress)

    def _sync(self, paths: list[Path], progress: ProgressFn | None) -> SyncReport:
        t0 = time.perf_counter()
        report = SyncReport()
        loaded = load_paths(paths, self.settings.max_file_bytes)
        report.failed = list(loaded.failed)
        manifest = self.manifest()
        crashed = (self.articles.metadata or {}).get("sync_state") == "running"

        current = {a.id: a for _, a in loaded.articles}
        todo: list[Article] = []
        for aid, art in current.items():
            old = manifest.get(aid)
            if old is None:
                report.added += 1
                todo.append(art)
            elif old.get("fingerprint") != self._fingerprint(art):
                report.updated += 1
                todo.append(art)
            else:
                report.unchanged += 1
        gone = [
            aid
            for aid, m in manifest.items()
            if aid not in current
            and _under(m.get("path", ""), loaded.roots)
            and m.get("path", "") not in loaded.failed_files
        ]

        if todo or gone or crashed:
            self._set_state(sync_state="running")
            if crashed:
                n = self._remove_orphans(manifest)
                if n:
                    log.info("removed %d chunks left by an interrupted sync", n)
            for aid in gone:
                self.chunks.delete(where={"article_id": aid})
                self.articles.delete(ids=[aid])
                manifest.pop(aid, None)
                report.removed += 1
                self._reached("removed")
            report.chunks_embedded = self._embed_articles(todo, manifest, report, progress)
            self._set_state(sync_state="clean", last_sync=datetime.now(UTC).isoformat(timespec="seconds"))
        self.ensure_lexical(manifest)
        report.seconds = time.perf_counter() - t0
        return report

    def _embed_articles(
        self,
        todo: list[Article],
        manifest: dict[str, dict[str, Any]],
        report: SyncReport,
        progress: ProgressFn | None,
    ) -> int:
        if not todo:
            return 0
        cfg = self.settings.chunks
        planned = [(a, chunk_article(a, cfg.size, cfg.overlap)) for a in todo]
        total = sum(len(c) for _, c in planned)
        done = 0
        if progress:
            progress(0, total)
        group: list[tuple[Article, list[Chunk]]] = []
        size = 0
        for art, chunks in planned:
            group.append((art, chunks))
            size += len(chunks)
            if size >= self.settings.embed_batch_chunks:
                done += self._commit_group(group, manifest)
                group, size = [], 0
                if progress:
                    progress(done, total)
        if group:
            done += self._commit_group(group, manifest)
            if progress:
                progress(done, total)
        return done

    def _commit_group(
        self, group: list[tuple[Article, list[Chunk]]], manifest: dict[str, dict[str, Any]]
    ) -> int:
        ids = [a.id for a, _ in group]
        # 1. forget the articles, so a crash from here on makes the next sync redo them
        self.articles.delete(ids=ids)
        self._reached("manifest_deleted")
        # 2. drop their old chunks (a shorter new version must not leave stale tail chunks)
        self.chunks.delete(where={"article_id": {"$in": ids}})
        self._reached("chunks_deleted")
        # 3. embed and store the new chunks
        texts, cids, metas, docs = [], [], [], []
        for art, chunks in group:
            for c in chunks:
                cids.append(c.id)
                docs.append(c.text)
                texts.append(embed_text(art.title, c.text))
                metas.append(
                    {
                        "article_id": art.id,
                        "n": c.n,
                        "start": c.start,
                        "end": c.end,
                        "title": art.title,
                        "url": art.url,
                        "source": art.source,
                        "published": art.published_int,
                    }
                )
        if cids:
            vectors = self.embedder.encode(texts)
            self.chunks.upsert(ids=cids, embeddings=vectors, documents=docs, metadatas=metas)
        self._reached("chunks_stored")
        # 4. record each article (with its fingerprint) only now that its chunks are all stored
        records = [self._article_meta(a, len(c)) for a, c in group]
        self.articles.upsert(
            ids=ids,
            embeddings=[[0.0]] * len(ids),
            documents=[a.text for a, _ in group],
            metadatas=records,
        )
        for aid, rec in zip(ids, records):
            manifest[aid] = rec
        self._reached("manifest_written")
        return len(cids)

    def _fingerprint(self, a: Article) -> str:
        # the chunker settings are part of it: changing them re-embeds every article
        return f"{a.fingerprint}:{self._chunker_tag()}"

    def _article_meta(self, a: Article, n_chunks: int) -> dict[str, Any]:
        return {
            "fingerprint": self._fingerprint(a),
            "title": a.title,
            "url": a.url,
            "source": a.source,
            "published_date": a.published,
            "published": a.published_int,
            "path": a.path,
            "n_chunks": n_chunks,
        }
