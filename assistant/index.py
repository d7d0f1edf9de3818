"""The index: Chroma (vectors + article texts) and a bm25s lexical index, kept in step with folders.

Two Chroma collections: ``<name>`` holds one record per chunk (embedding, text, metadata) and
``<name>_articles`` one record per article (its full text as the document, its fingerprint in the
metadata). An article's record is written only after all its chunks are stored and is deleted before its
chunks are touched, so a process killed at any point leaves state that the next sync repairs.

A third, ``<name>_failed``, remembers articles that could not be chunked, embedded or stored, with their
fingerprint: they are reported as failed by every sync but not tried again until they change. An
article is embedded before anything of its previous version is touched, so a failure keeps that version.
An article id already indexed from one file is never taken over by another file while the first still
holds it (or cannot be checked): the newcomer is refused, naming both files.
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
from assistant.corpus.files import Article, ArticleError, Failure, check_text_size, load_paths, one_line
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
    origin: str = ""  # the file it came from, relative to the synced folder's parent ("corpus/0.json")


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
        origin=str(meta.get("origin", "")),
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


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _reason(e: BaseException) -> str:
    if isinstance(e, ArticleError):
        return str(e)
    if isinstance(e, RecursionError):
        return "nested too deeply"
    if isinstance(e, MemoryError):
        return "out of memory"
    return f"{type(e).__name__}: {e}"


@dataclass
class _Run:
    """What one sync's writing phase carries along."""

    report: SyncReport
    manifest: dict[str, dict[str, Any]]
    failures: dict[str, dict[str, Any]]
    existed: set[str]
    progress: ProgressFn | None
    total: int = 0
    done: int = 0

    def advance(self, n: int) -> None:
        self.done = min(self.total, self.done + n)
        if self.progress:
            self.progress(self.done, self.total)


class Index:
    def __init__(self, settings: Settings, embedder: SentenceEmbedder, client: Any) -> None:
        self.settings = settings
        self.embedder = embedder
        self.client = client
        self.name = settings.store.collection
        self._lock = threading.RLock()
        self._fault = self._parse_fault(settings.debug_kill_at)
        self._max_batch: int | None = None
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
        self.failures = self.client.get_or_create_collection(
            f"{self.name}_failed", metadata={"kind": "failures"}, embedding_function=None
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
            for name in (self.name, f"{self.name}_articles", f"{self.name}_failed"):
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

    def failed_articles(self) -> dict[str, dict[str, Any]]:
        """Articles that could not be indexed and are not retried until they change:
        id → {fingerprint, path, origin, error}."""
        got = self._get_all(self.failures, ["metadatas"])
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
            origin=m.get("origin", ""),
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

    def _batch_size(self) -> int:
        """The most records the client takes in one write (Chroma refuses bigger batches)."""
        if self._max_batch is None:
            try:
                self._max_batch = max(1, int(self.client.get_max_batch_size()))
            except Exception:  # noqa: BLE001 - a client without the call: a size every Chroma takes
                self._max_batch = 1000
        return self._max_batch

    def _slices(self, n: int) -> list[slice]:
        step = self._batch_size()
        return [slice(i, i + step) for i in range(0, n, step)]

    def _remove_orphans(self, manifest: dict[str, dict[str, Any]]) -> int:
        got = self._get_all(self.chunks, ["metadatas"])
        orphans = [cid for cid, m in zip(got["ids"], got["metadatas"]) if m.get("article_id") not in manifest]
        for part in self._slices(len(orphans)):
            self.chunks.delete(ids=orphans[part])
        return len(orphans)

    def sync(self, paths: Iterable[Path], progress: ProgressFn | None = None) -> SyncReport:
        """Brings the index in step with the files under ``paths``. A problem with one file or article is
        a ``report.failed`` entry; only a broken store or embedder raises (IndexError_), and then nothing
        indexed is lost: the next sync repairs what was interrupted."""
        with self._lock:
            try:
                return self._sync(list(paths), progress)
            except BaseException:
                self._lexical_ready = False  # part of the work may be stored: the next query catches up
                raise

    def _sync(self, paths: list[Path], progress: ProgressFn | None) -> SyncReport:
        t0 = time.perf_counter()
        report = SyncReport()
        manifest = self.manifest()
        owners = {aid: str(m.get("path", "")) for aid, m in manifest.items()}
        loaded = load_paths(paths, self.settings.max_file_bytes, self.settings.corpus, owners=owners)
        report.failed = list(loaded.failed)
        crashed = (self.articles.metadata or {}).get("sync_state") == "running"
        failures = self.failed_articles()

        def provably_gone(path: str) -> bool:
            """Under a synced folder, and neither that file nor a folder above it failed to be read."""
            if not _under(path, loaded.roots):
                return False
            while path not in loaded.failed_files:
                parent = os.path.dirname(path)
                if parent == path:
                    return True
                path = parent
            return False

        current: dict[str, Article] = {}
        held: set[str] = set()  # refused newcomers: the indexed article of that id stays as it is
        for _, art in loaded.articles:
            refusal = self._claim_refused(art, manifest.get(art.id), provably_gone)
            if refusal:
                report.failed.append(Failure(art.origin or art.id, refusal))
                held.add(art.id)
            else:
                current[art.id] = art

        todo: list[Article] = []
        moved: list[Article] = []
        cleared: list[str] = []  # failure records that no longer apply
        for aid, art in current.items():
            fp = self._fingerprint(art)
            old = manifest.get(aid)
            rec = failures.get(aid)
            if old is not None and old.get("fingerprint") == fp:
                report.unchanged += 1
                if old.get("path") != art.path or old.get("origin") != art.origin:
                    moved.append(art)
                if rec is not None:
                    cleared.append(aid)
            elif rec is not None and rec.get("fingerprint") == fp:
                error = f"{rec.get('error', 'failed')} (not retried until the file changes)"
                report.failed.append(Failure(str(rec.get("origin") or aid), error))
            else:
                todo.append(art)
        gone = [
            aid
            for aid, m in manifest.items()
            if aid not in current and aid not in held and provably_gone(str(m.get("path", "")))
        ]
        cleared += [
            aid
            for aid, rec in failures.items()
            if aid not in current and aid not in held and provably_gone(str(rec.get("path", "")))
        ]

        if todo or gone or crashed or moved or cleared:
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
            for part in self._slices(len(cleared)):
                self.failures.delete(ids=cleared[part])
            for aid in cleared:
                failures.pop(aid, None)
            for art in moved:
                self._move(art, manifest)
            run = _Run(report, manifest, failures, existed=set(manifest), progress=progress)
            report.chunks_embedded = self._embed_articles(todo, run)
            self._set_state(sync_state="clean", last_sync=datetime.now(UTC).isoformat(timespec="seconds"))
        self.ensure_lexical(manifest)
        report.seconds = time.perf_counter() - t0
        return report

    @staticmethod
    def _claim_refused(
        art: Article, old: dict[str, Any] | None, provably_gone: Callable[[str], bool]
    ) -> str | None:
        """Why ``art`` may not take the id of an article indexed from another file, or None when it may:
        that file was read by this sync and no longer holds the id (the article moved), or it no
        longer exists."""
        owner = str((old or {}).get("path", ""))
        if not owner or owner == art.path:
            return None
        if provably_gone(owner) or not os.path.lexists(owner):
            return None
        shown = str((old or {}).get("origin") or Path(owner).name)
        aid = art.id if len(art.id) <= 120 else art.id[:119] + "…"
        return one_line(
            f"article id {aid!r} is already indexed from {shown}; {art.origin or 'this file'} does not "
            "replace it (rename or remove one of the two)"
        )

    def _move(self, art: Article, manifest: dict[str, dict[str, Any]]) -> None:
        """Same article, another file (or an index from before origins were recorded): metadata only."""
        got = self._get_all(self.chunks, ["metadatas"], where={"article_id": art.id})
        for part in self._slices(len(got["ids"])):
            metas = [{**m, "origin": art.origin} for m in got["metadatas"][part]]
            self.chunks.update(ids=got["ids"][part], metadatas=metas)
        rec = {**manifest[art.id], "path": art.path, "origin": art.origin}
        self.articles.update(ids=[art.id], metadatas=[rec])
        manifest[art.id] = rec

    def _embed_articles(self, todo: list[Article], run: _Run) -> int:
        if not todo:
            return 0
        cfg = self.settings.chunks
        planned: list[tuple[Article, list[Chunk]]] = []
        for art in todo:
            try:
                check_text_size(art.text, self.settings.corpus)  # refused before any embedding
                planned.append((art, chunk_article(art, cfg.size, cfg.overlap)))
            except Exception as e:  # noqa: BLE001 - this article's problem, recorded as its failure
                self._article_failed(art, "split into chunks", e, run)
        run.total = sum(len(c) for _, c in planned)
        if run.progress:
            run.progress(0, run.total)
        stored = 0
        group: list[tuple[Article, list[Chunk]]] = []
        size = 0
        for art, chunks in planned:
            group.append((art, chunks))
            size += len(chunks)
            if size >= self.settings.embed_batch_chunks:
                stored += self._commit_safely(group, run)
                group, size = [], 0
        if group:
            stored += self._commit_safely(group, run)
        return stored

    def _commit_safely(self, group: list[tuple[Article, list[Chunk]]], run: _Run) -> int:
        """Embeds then stores a group of articles; when that fails, article by article (reusing the
        vectors), so that one bad article costs only itself. Returns the number of chunks stored."""
        try:
            vectors = self._embed_group(group, run)
        except Exception as e:  # noqa: BLE001 - isolated below
            if len(group) > 1:
                return sum(self._commit_safely([item], run) for item in group)
            self._article_failed(group[0][0], "embedded", e, run, probe=self._probe_embedder)
            return 0
        try:
            self._commit_group(group, vectors, run.manifest)
        except Exception as e:  # noqa: BLE001 - isolated below
            self._forget_partial(group, run)
            if len(group) == 1:
                self._article_failed(group[0][0], "stored", e, run, probe=self._probe_store)
                return 0
            n, at = 0, 0
            for art, chunks in group:
                part, at = vectors[at : at + len(chunks)], at + len(chunks)
                try:
                    self._commit_group([(art, chunks)], part, run.manifest)
                except Exception as e2:  # noqa: BLE001 - this article's problem
                    self._forget_partial([(art, chunks)], run)
                    self._article_failed(art, "stored", e2, run, probe=self._probe_store)
                    continue
                self._article_stored(art, run)
                n += len(chunks)
            return n
        for art, _ in group:
            self._article_stored(art, run)
        return len(vectors)

    def _embed_group(self, group: list[tuple[Article, list[Chunk]]], run: _Run) -> list[list[float]]:
        texts = [embed_text(art.title, c.text) for art, chunks in group for c in chunks]
        step = max(1, self.settings.embed_batch_chunks)
        vectors: list[list[float]] = []
        for i in range(0, len(texts), step):
            vectors.extend(self.embedder.encode(texts[i : i + step]))
            run.advance(len(texts[i : i + step]))
        if len(vectors) != len(texts):
            raise RuntimeError(f"the embedder returned {len(vectors)} vectors for {len(texts)} texts")
        return vectors

    def _commit_group(
        self,
        group: list[tuple[Article, list[Chunk]]],
        vectors: list[list[float]],
        manifest: dict[str, dict[str, Any]],
    ) -> None:
        """Replaces the group's articles with their new, already embedded, chunks. Every write is cut to
        the client's maximum batch size."""
        ids = [a.id for a, _ in group]
        # 1. forget the articles, so a crash from here on makes the next sync redo them
        for part in self._slices(len(ids)):
            self.articles.delete(ids=ids[part])
        self._reached("manifest_deleted")
        # 2. drop their old chunks (a shorter new version must not leave stale tail chunks)
        self.chunks.delete(where={"article_id": {"$in": ids}})
        self._reached("chunks_deleted")
        # 3. store the new chunks
        cids: list[str] = []
        docs: list[str] = []
        metas: list[dict[str, Any]] = []
        for art, chunks in group:
            for c in chunks:
                cids.append(c.id)
                docs.append(c.text)
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
                        "origin": art.origin,
                    }
                )
        for part in self._slices(len(cids)):
            self.chunks.upsert(
                ids=cids[part], embeddings=vectors[part], documents=docs[part], metadatas=metas[part]
            )
        self._reached("chunks_stored")
        # 4. record each article (with its fingerprint) only now that its chunks are all stored
        records = [self._article_meta(a, len(c)) for a, c in group]
        texts = [a.text for a, _ in group]
        for part in self._slices(len(ids)):
            self.articles.upsert(
                ids=ids[part],
                embeddings=[[0.0]] * len(ids[part]),
                documents=texts[part],
                metadatas=records[part],
            )
        for aid, rec in zip(ids, records):
            manifest[aid] = rec
        self._reached("manifest_written")

    def _forget_partial(self, group: list[tuple[Article, list[Chunk]]], run: _Run) -> None:
        """After a failed write: an article whose record is gone loses its chunks too (it is then simply
        not indexed); one whose record is still there kept its previous version whole."""
        try:
            ids = [a.id for a, _ in group]
            present = set(self.articles.get(ids=ids, include=[])["ids"])
            lost = [aid for aid in ids if aid not in present]
            if lost:
                self.chunks.delete(where={"article_id": {"$in": lost}})
        except Exception as e:
            raise IndexError_(
                f"the index in {self.where()} stopped answering during a sync ({one_line(_reason(e), 200)}); "
                "sync again once it works: the interrupted work is repaired then"
            ) from e
        for aid in lost:
            run.manifest.pop(aid, None)

    def _probe_embedder(self) -> None:
        self.embedder.encode(["probe"])

    def _probe_store(self) -> None:
        self.client.heartbeat()
        self.chunks.count()

    def _article_failed(
        self, art: Article, stage: str, e: BaseException, run: _Run, probe: Callable[[], None] | None = None
    ) -> None:
        """Records that ``art`` could not be indexed, with its fingerprint, so that later syncs report it
        without trying again until it changes. When ``probe`` shows that the embedder or the store fails
        for anything, the sync stops instead (IndexError_): nothing is recorded against the article."""
        reason = one_line(str(e) if isinstance(e, ArticleError) else f"could not be {stage}: {_reason(e)}")
        log.warning("%s %s", art.origin or art.id, reason, exc_info=not isinstance(e, ArticleError))
        if probe is not None:
            try:
                probe()
            except Exception as pe:
                what = "embedding model" if probe == self._probe_embedder else f"index in {self.where()}"
                raise IndexError_(
                    f"sync stopped: the {what} fails for everything ({one_line(_reason(pe), 200)}); "
                    "nothing indexed was lost; sync again once it works"
                ) from e
        rec = {"fingerprint": self._fingerprint(art), "path": art.path, "origin": art.origin, "error": reason}
        try:
            self.failures.upsert(ids=[art.id], embeddings=[[0.0]], metadatas=[rec])
        except Exception as we:
            raise IndexError_(
                f"the index in {self.where()} cannot be written ({one_line(_reason(we), 200)}); "
                "nothing indexed was lost; sync again once it works"
            ) from we
        run.failures[art.id] = rec
        run.report.failed.append(Failure(art.origin or art.id, reason))

    def _article_stored(self, art: Article, run: _Run) -> None:
        if art.id in run.existed:
            run.report.updated += 1
        else:
            run.report.added += 1
        if art.id in run.failures:
            self.failures.delete(ids=[art.id])
            run.failures.pop(art.id, None)

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
            "origin": a.origin,
            "n_chunks": n_chunks,
        }
