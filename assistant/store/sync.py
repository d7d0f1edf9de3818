"""The index: chunk vectors (store/vectors.py), lexical search (store/lexical.py) and article records
(store/records.py), kept in step with folders by one sync protocol (this module).

An article's record is written only after all its chunks are stored (vectors, then lexical) and is
deleted before its chunks are touched (lexical, then vectors), so a process killed at any point leaves
state that the next sync repairs: every chunk without a record is removed, and an article without a
record is embedded again. (Lexical entries of an article exist only while its vectors do, so the vector
store's orphans are the lexical index's too.)

Articles that could not be chunked, embedded or stored are recorded with their fingerprint: they are
reported as failed by every sync but not tried again until they change. An article is embedded before
anything of its previous version is touched, so a failure keeps that version. An article id already
indexed from one file is never taken over by another file while the first still holds it (or cannot be
checked): the newcomer is refused, naming both files.

One process writes at a time (an flock on ``<index dir>/.writer-<collection>.lock``, released by the
kernel if the writer dies); any number read, and see a finished sync at their next query.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.chunking import CHUNKER_VERSION, Chunk, article_of, chunk_article, chunk_ids
from assistant.corpus.files import Article, ArticleError, Failure, check_text_size, load_paths, one_line
from assistant.locks import writer_lock
from assistant.providers import SentenceEmbedder
from assistant.settings import ChunkSettings, Settings, StoreMode
from assistant.store.dense import DenseSearch
from assistant.store.filters import ChunkFilter
from assistant.store.lexical import LEXICAL_VERSION, LexicalDoc, LexicalStore
from assistant.store.records import RecordStore
from assistant.store.vectors import StoredChunk, VectorStore
from assistant.textutil import plural

log = logging.getLogger(__name__)

# Where a sync may be interrupted; tests set Index.on_point to kill the process at one of them.
FAULT_POINTS = ("manifest_deleted", "chunks_deleted", "chunks_stored", "manifest_written", "removed")

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
            f"{plural(self.chunks_embedded, 'chunk')} embedded in {self.seconds:.1f}s"
        )
        return s


_RECORD_DEFAULTS: dict[str, Any] = {
    "fingerprint": "",
    "title": "",
    "url": "",
    "source": "",
    "published_date": "",
    "published": 0,
    "path": "",
    "origin": "",
    "n_chunks": 0,
}


def embed_text(title: str, text: str) -> str:
    """What is embedded (and lexically indexed) for a chunk: the title gives it context."""
    return f"{title}\n{text}" if title else text


def texts_to_embed(articles: Iterable[Article], chunks: ChunkSettings) -> list[str]:
    """What a sync embeds for these articles, chunk by chunk (benchmarks time the embedding alone on
    it)."""
    return [
        embed_text(a.title, c.text) for a in articles for c in chunk_article(a, chunks.size, chunks.overlap)
    ]


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
    # Test hook: called with each FAULT_POINTS name as a sync passes it (crash tests kill the process).
    on_point: Callable[[str], None] | None = None

    def __init__(self, settings: Settings, embedder: SentenceEmbedder, client: Any) -> None:
        self.settings = settings
        self.embedder = embedder
        self.client = client
        self.name = settings.store.collection
        self._lock = threading.RLock()
        folder = Path(settings.index_dir)
        self.lock_path = folder / f".writer-{self.name}.lock"
        self.records = RecordStore(folder / f"records-{self.name}.sqlite3")
        self._open_vectors()
        self.lexical = LexicalStore(folder / f"lexical-{self.name}-{LEXICAL_VERSION}")
        self._migrate()

    # ---- the stores ----------------------------------------------------------------------------

    def _open_vectors(self) -> None:
        model = self.embedder.name
        self.vectors = VectorStore(
            self.client, self.name, metadata={"embedding_model": model, "chunker": self._chunker_tag()}
        )
        stored = self.vectors.metadata.get("embedding_model")
        if stored and stored != model:
            raise EmbeddingMismatch(
                f"the index in {self.where()} was built with the embedding model {stored!r}, but the "
                f"settings ask for {model!r}; rebuild it with `assistant index --rebuild` or set "
                f"ASSISTANT_EMBEDDING__MODEL={stored}"
            )

    @property
    def chunks(self) -> Any:
        """The Chroma collection of chunks (tests read it directly)."""
        return self.vectors.collection

    def _migrate(self) -> None:
        """Brings an index written by an earlier version up to date: article records kept in Chroma move
        to SQLite, and a lexical index missing (or of an older kind) is built from the stored chunks."""
        names = {getattr(c, "name", c) for c in self.client.list_collections()}
        legacy = f"{self.name}_articles"
        if legacy in names:
            with writer_lock(self.lock_path):
                if self.records.count() == 0:
                    self._import_legacy(
                        legacy, f"{self.name}_failed" if f"{self.name}_failed" in names else ""
                    )
                for old in (legacy, f"{self.name}_failed"):
                    if old in names:
                        self.client.delete_collection(old)
        if self.lexical.n_docs == 0 and self.vectors.count() > 0:
            with writer_lock(self.lock_path):
                if self.lexical.n_docs == 0:
                    self._build_lexical()

    def _import_legacy(self, articles: str, failures: str) -> None:
        col = self.client.get_collection(articles, embedding_function=None)
        got = VectorStore.get_all_from(col, ["documents", "metadatas"])
        records = {aid: {**_RECORD_DEFAULTS, **m} for aid, m in zip(got["ids"], got["metadatas"])}
        self.records.put(records, dict(zip(got["ids"], got["documents"])))
        if failures:
            fcol = self.client.get_collection(failures, embedding_function=None)
            for aid, m in zip(*VectorStore.get_all_from(fcol, ["metadatas"]).values()):
                self.records.put_failure(aid, {**{"path": "", "origin": "", "error": ""}, **m})
        meta = dict(col.metadata or {})
        self.records.set_state(
            sync_state=str(meta.get("sync_state", "clean")), last_sync=str(meta.get("last_sync", ""))
        )
        log.info("moved %d article records from Chroma to %s", len(records), self.records.path)

    def _build_lexical(self) -> None:
        got = self.vectors.get_all(["documents", "metadatas"])
        docs = [
            LexicalDoc(
                cid,
                str(m["article_id"]),
                embed_text(m.get("title", ""), d),
                int(m.get("published", 0)),
                str(m.get("source", "")),
            )
            for cid, d, m in zip(got["ids"], got["documents"], got["metadatas"])
        ]
        self.lexical.clear()
        for i in range(0, len(docs), 5000):
            self.lexical.add(docs[i : i + 5000])
        self.lexical.close_writer()
        log.info("lexical index built: %d chunks", len(docs))

    def _chunker_tag(self) -> str:
        c = self.settings.chunks
        return f"v{CHUNKER_VERSION}:{c.size}:{c.overlap}"

    def where(self) -> str:
        s = self.settings.store
        if s.mode == StoreMode.SERVER:
            return f"the Chroma server at {s.host}:{s.port} (collection {self.name!r})"
        return str(Path(self.settings.index_dir).resolve())

    def rebuild(self) -> None:
        """Drops everything; the next sync embeds every article again."""
        with self._lock, writer_lock(self.lock_path):
            self.vectors.drop()
            self.records.clear()
            self.lexical.clear()
            self.lexical.close_writer()
            self._open_vectors()

    def _reached(self, point: str) -> None:
        if Index.on_point is not None:
            Index.on_point(point)

    # ---- reading -----------------------------------------------------------------------------

    def manifest(self) -> dict[str, dict[str, Any]]:
        return self.records.manifest()

    def failed_articles(self) -> dict[str, dict[str, Any]]:
        """Articles that could not be indexed and are not retried until they change:
        id → {fingerprint, path, origin, error}."""
        return self.records.failures()

    def article(self, article_id: str) -> Article | None:
        got = self.records.article(article_id)
        if got is None:
            return None
        m, text = got
        return Article(
            id=article_id,
            title=m.get("title", ""),
            text=text,
            url=m.get("url", ""),
            source=m.get("source", ""),
            published=m.get("published_date", ""),
            path=m.get("path", ""),
            origin=m.get("origin", ""),
        )

    def get_chunks(self, ids: Sequence[str]) -> list[StoredChunk]:
        return self.vectors.get(ids)

    def dense_search(
        self, query: str, k: int, where: ChunkFilter | None = None
    ) -> list[tuple[StoredChunk, float]]:
        """The k nearest chunks that pass the filter (assistant/store/dense.py)."""
        return DenseSearch(self.vectors, self.records).search(self.embedder.embed_query(query), k, where)

    def lexical_search(self, query: str, k: int, where: ChunkFilter | None = None) -> list[tuple[str, float]]:
        """The k best chunks by BM25 whose article is indexed (its record is the commit point, as in
        dense search)."""
        hits = self.lexical.search(query, k, where)
        indexed = self.records.present({article_of(cid) for cid, _ in hits})
        return [(cid, score) for cid, score in hits if article_of(cid) in indexed]

    def idf(self, term: str, min_docs: int = 0) -> float:
        return self.lexical.idf(term, min_docs)

    @property
    def newest(self) -> int:
        """The latest publication date of an indexed article (YYYYMMDD), 0 when none has one."""
        return self.records.newest()

    def stats(self) -> dict[str, Any]:
        state = self.records.state()
        return {
            "articles": self.records.count(),
            "chunks": self.vectors.count(),
            "embedding_model": self.embedder.name,
            "newest_article": self.records.newest_date() or None,
            "last_sync": state.get("last_sync") or None,
            "index": self.where(),
        }

    # ---- writing -----------------------------------------------------------------------------

    def _set_state(self, **changes: str) -> None:
        self.records.set_state(**changes)

    def _remove_orphans(self, manifest: dict[str, dict[str, Any]]) -> int:
        """Chunks no record accounts for (an article without a record, or beyond its record's count: a
        sync killed midway): lexical entries first, then vectors. Reads every chunk id (for repairs)."""
        expected = set(self._chunk_ids(manifest, manifest))
        stray = sorted(set(self.vectors.ids()) - expected)
        self.lexical.delete_chunks(sorted(set(self.lexical.chunk_ids()) - expected))
        self.vectors.delete_ids(stray)
        return len(stray)

    @staticmethod
    def _chunk_ids(article_ids: Iterable[str], manifest: dict[str, dict[str, Any]]) -> list[str]:
        """The ids of the chunks these articles' records say they have. Outside a sync, every chunk
        belongs to a recorded article and has those ids (a record is written after its chunks, and
        deleted before them); the chunks a killed sync left without a record are removed by the next
        sync before anything else (_remove_orphans). Deleting by id avoids Chroma's `where`, which reads
        the metadata of the whole collection (4 s at 1M chunks)."""
        return [
            cid
            for aid in article_ids
            if aid in manifest
            for cid in chunk_ids(aid, int(manifest[aid].get("n_chunks", 0)))
        ]

    def sync(self, paths: Iterable[Path], progress: ProgressFn | None = None) -> SyncReport:
        """Brings the index in step with the files under ``paths``. A problem with one file or article is
        a ``report.failed`` entry; only a broken store or embedder raises (IndexError_), and then nothing
        indexed is lost: the next sync repairs what was interrupted."""
        with self._lock, writer_lock(self.lock_path):
            try:
                return self._sync(list(paths), progress)
            finally:
                self.lexical.close_writer()

    def _sync(self, paths: list[Path], progress: ProgressFn | None) -> SyncReport:
        t0 = time.perf_counter()
        report = SyncReport()
        manifest = self.manifest()
        owners = {aid: str(m.get("path", "")) for aid, m in manifest.items()}
        loaded = load_paths(paths, self.settings.max_file_bytes, self.settings.corpus, owners=owners)
        report.failed = list(loaded.failed)
        # A killed sync leaves the state "running". Chunks no record accounts for, left any other way (a
        # records file lost or replaced, a power cut after SQLite's last commit), show in the counts.
        crashed = self.records.state().get("sync_state") == "running" or self.vectors.count() > sum(
            int(m.get("n_chunks", 0)) for m in manifest.values()
        )
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
                    log.info("removed %d chunks no article record accounts for (an interrupted sync)", n)
            for aid in gone:  # the record first, as in _commit_group: a crash then leaves orphans only
                old_chunks = self._chunk_ids([aid], manifest)
                self.records.delete([aid])
                self.lexical.delete_articles([aid])
                self.vectors.delete_ids(old_chunks)
                manifest.pop(aid, None)
                report.removed += 1
                self._reached("removed")
            self.records.delete_failures(cleared)
            for aid in cleared:
                failures.pop(aid, None)
            for art in moved:
                self._move(art, manifest)
            run = _Run(report, manifest, failures, existed=set(manifest), progress=progress)
            report.chunks_embedded = self._embed_articles(todo, run)
            self._set_state(sync_state="clean", last_sync=datetime.now(UTC).isoformat(timespec="seconds"))
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
        self.vectors.set_origin(art.id, art.origin)
        self.records.update(art.id, path=art.path, origin=art.origin)
        manifest[art.id] = {**manifest[art.id], "path": art.path, "origin": art.origin}

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
        """Replaces the group's articles with their new, already embedded, chunks."""
        ids = [a.id for a, _ in group]
        old_chunks = self._chunk_ids(ids, manifest)
        # 1. forget the articles, so a crash from here on makes the next sync redo them
        self.records.delete(ids)
        self._reached("manifest_deleted")
        # 2. drop their old chunks (a shorter new version must not leave stale tail chunks): lexical
        #    entries first, so that none outlives its vectors
        self.lexical.delete_articles(ids)
        self.vectors.delete_ids(old_chunks)
        self._reached("chunks_deleted")
        # 3. store the new chunks: vectors, then lexical entries
        cids: list[str] = []
        docs: list[str] = []
        metas: list[dict[str, Any]] = []
        lexical: list[LexicalDoc] = []
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
                lexical.append(
                    LexicalDoc(c.id, art.id, embed_text(art.title, c.text), art.published_int, art.source)
                )
        self.vectors.upsert(cids, vectors, docs, metas)
        self.lexical.add(lexical)
        self._reached("chunks_stored")
        # 4. record each article (with its fingerprint) only now that its chunks are all stored
        records = {a.id: self._article_meta(a, len(c)) for a, c in group}
        self.records.put(records, {a.id: a.text for a, _ in group})
        manifest.update(records)
        self._reached("manifest_written")

    def _forget_partial(self, group: list[tuple[Article, list[Chunk]]], run: _Run) -> None:
        """After a failed write: an article whose record is gone loses its chunks too (it is then simply
        not indexed); one whose record is still there kept its previous version whole."""
        try:
            ids = [a.id for a, _ in group]
            present = self.records.present(ids)
            lost = [aid for aid in ids if aid not in present]
            if lost:
                self.lexical.delete_articles(lost)
                self.vectors.delete_articles(lost)
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
        self.vectors.probe()

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
            self.records.put_failure(art.id, rec)
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
            self.records.delete_failures([art.id])
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
