"""The sync protocol: brings the index's three stores (store/opening.py) in step with article files, and
repairs what the health check (store/health.py) finds. One process writes at a time (an flock on
``<index dir>/.writer-<collection>.lock``, released by the kernel if the writer dies); any number read
(store/index.py), and see a finished sync at their next query.

An article's record is written only after all its chunks are stored (vectors, then lexical) and is
deleted before its chunks are touched (lexical, then vectors), so a process killed at any point leaves
state that the next sync repairs: every chunk without a record is removed (or taken back, when the
corpus folders still hold that very article), and an article without a record is embedded again.

Articles that could not be chunked, embedded or stored are recorded with their fingerprint: they are
reported as failed by every sync but not tried again until they change. An article is embedded before
anything of its previous version is touched, so a failure keeps that version. An article id already
indexed from one file is never taken over by another file with other content while the first still
holds it (or cannot be checked): the newcomer is refused, naming both files. The same content from
another place (a corpus folder moved or copied elsewhere) is re-linked: its record and vectors follow
it, nothing is embedded.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.chunking import Chunk, chunk_article, chunk_ids
from assistant.corpus.files import Article, ArticleError, Failure, check_text_size, load_paths, one_line
from assistant.providers import SentenceEmbedder
from assistant.store.health import Depth, Health, check
from assistant.store.lexical import LexicalDoc
from assistant.store.opening import Lexical, Records, Stores
from assistant.store.repair import Repair
from assistant.store.types import (
    FaultHook,
    IndexError_,
    ProgressFn,
    SyncReport,
    article_meta,
    chunk_meta,
    chunker_tag,
    embed_text,
    fingerprint,
    lexical_docs,
    recorded_chunk_ids,
)
from assistant.store.vectors import VectorStore

log = logging.getLogger(__name__)


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _store_failure(rec: dict[str, Any]) -> bool:
    """A failure of the store, not of the article (tried again at every sync)."""
    return str(rec.get("error", "")).startswith("could not be stored")


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
    repairs: set[str]  # articles re-embedded from their records (counted as repaired, not updated)
    total: int = 0
    done: int = 0
    # Held while a group's chunks and records are written: nothing in a full sync (it holds the writer's
    # lock throughout); the articles' own locks in an ingest (Syncer.ingest).
    guard: Callable[[list[str]], AbstractContextManager[None]] | None = None
    fingerprints: dict[str, str] = field(default_factory=dict)  # an ingest's articles: their new fingerprint

    def advance(self, n: int) -> None:
        self.done = min(self.total, self.done + n)
        if self.progress:
            self.progress(self.done, self.total)


class Syncer:
    def __init__(self, stores: Stores, embedder: SentenceEmbedder, fault: FaultHook | None = None) -> None:
        self.stores = stores
        self.settings = stores.settings
        self.embedder = embedder
        self.fault = fault  # crash tests: called with each FAULT_POINTS name as a sync passes it
        self._lock = threading.RLock()
        self.last_health: Health | None = None  # what the last sync found before it repaired it
        self.last_finished = False  # whether that sync finished (so repaired what it found)
        self.repairs: list[tuple[str, list[str]]] = []  # (when, what) of each finished sync that repaired

    @property
    def records(self) -> Records:
        return self.stores.records

    @property
    def vectors(self) -> VectorStore:
        return self.stores.vectors

    @property
    def lexical(self) -> Lexical:
        return self.stores.lexical

    def where(self) -> str:
        return self.stores.where()

    def _reached(self, point: str) -> None:
        if self.fault is not None:
            self.fault(point)

    def _set_state(self, **changes: str) -> None:
        self.records.set_state(**changes)

    def _fingerprint(self, a: Article) -> str:
        return fingerprint(a, self.settings.chunks)

    @staticmethod
    def _chunk_ids(article_ids: Iterable[str], manifest: dict[str, dict[str, Any]]) -> list[str]:
        """The ids of the chunks these articles' records say they have. Outside a sync, every chunk
        belongs to a recorded article and has those ids (a record is written after its chunks, and
        deleted before them); what a killed sync leaves is found by the health check and removed by the
        next sync before anything else. Deleting by id avoids Chroma's `where`, which reads the metadata
        of the whole collection (4 s at 1M chunks)."""
        return recorded_chunk_ids(manifest, article_ids)

    def rebuild(self) -> None:
        """Drops everything; the next sync embeds every article again (from the folders alone)."""
        with self._lock, self.stores.writer():
            self.vectors.drop()
            self.records.clear()
            self.lexical.clear()
            self.lexical.close_writer()
            self.stores.vectors = VectorStore(
                self.vectors.client, self.vectors.name, self.vectors.opened_with
            )

    def sync(
        self, paths: Iterable[Path], progress: ProgressFn | None = None, depth: Depth = "counts"
    ) -> SyncReport:
        """Brings the index in step with these files and folders (after repairing what the health check
        finds: ``depth`` "deep" is `assistant check --repair`)."""
        with self._lock, self.stores.writer():
            try:
                if self.stores.vectors_replaced():
                    self.stores.reopen_vectors()
                self.stores.replace_failed_lexical()
                report = self._sync(list(paths), progress, depth)
            finally:
                self.lexical.close_writer()
            self.stores.found.clear()  # what opening the stores found is repaired now (last_health keeps it)
            self.last_finished = True
            found = self.last_health.problems() if self.last_health else []
            if found:
                self.repairs = [*self.repairs[-9:], (datetime.now().strftime("%H:%M"), found)]
            return report

    def ingest(self, articles: list[Article], progress: ProgressFn | None = None) -> SyncReport:
        """Adds or updates these articles (nothing is removed, nothing else repaired): the ingest
        workers' sync. The embedding needs no lock; each group's write holds its articles' locks
        (Stores.writing), so that workers on several machines write different articles at once. An
        article another worker wrote meanwhile is found by its fingerprint and left as it is."""
        t0 = time.perf_counter()
        report = SyncReport()
        ids = list(dict.fromkeys(a.id for a in articles))
        latest = {a.id: a for a in articles}  # the last of two articles of one id wins, as in a file
        known = self.records.manifest_of(ids)
        failures = {aid: rec for aid, rec in self.records.failures().items() if aid in latest}
        todo: list[Article] = []
        for aid in ids:
            art = latest[aid]
            try:
                fp = self._fingerprint(art)
            except Exception as e:  # noqa: BLE001 - this article's problem (a field that is not text)
                report.failed.append(Failure(art.origin or aid, one_line(f"could not be read: {_reason(e)}")))
                continue
            old, rec = known.get(aid), failures.get(aid)
            if old is not None and old.get("fingerprint") == fp:
                report.unchanged += 1
            elif rec is not None and rec.get("fingerprint") == fp and not _store_failure(rec):
                error = f"{rec.get('error', 'failed')} (not retried until the file changes)"
                report.failed.append(Failure(str(rec.get("origin") or aid), error))
            else:
                todo.append(art)
        run = _Run(report, known, failures, set(known), progress, repairs=set(), guard=self.stores.writing)
        run.fingerprints = {a.id: self._fingerprint(a) for a in todo}
        report.chunks_embedded = self._embed_articles(todo, run)
        report.seconds = time.perf_counter() - t0
        return report

    def withdraw(self, paths: list[str]) -> SyncReport:
        """Removes the articles read from these paths (documents deleted in cluster mode: a feed's
        expired or purged article) and their failure records, each under its own lock; the ingest
        workers' removal (nothing else is repaired)."""
        t0 = time.perf_counter()
        report = SyncReport()
        wanted = set(paths)
        ids = [aid for aid, m in self.records.manifest().items() if str(m.get("path", "")) in wanted]
        if ids:
            with self.stores.writing(ids):
                known = self.records.manifest_of(ids)  # again, under the locks
                ids = [aid for aid, m in known.items() if str(m.get("path", "")) in wanted]
                # the record last: a job cut off here is done again (it stays queued) and finds the
                # article by its record's path (no full sync runs in a worker to find orphans)
                self.vectors.delete_ids(self._chunk_ids(ids, known))
                self.lexical.delete_articles(ids)
                self.records.delete(ids)
                report.removed = len(ids)
        self.records.delete_failures(
            [aid for aid, rec in self.records.failures().items() if str(rec.get("path", "")) in wanted]
        )
        report.seconds = time.perf_counter() - t0
        return report

    def _health(self, depth: Depth) -> Health:
        """The quick check; when it finds something, the full one: ids after a killed sync (its cause is
        known), ids and contents when a store was moved aside or the counts disagree for no known reason
        (a store lost, rolled back or written by something else)."""
        h = check(self.stores, depth)
        if depth == "counts" and (h.found or not h.counts_agree):
            h = check(self.stores, "ids" if h.running and not h.found else "deep")
        elif depth == "counts" and h.running:
            h = check(self.stores, "ids")
        return h

    def _sync(self, paths: list[Path], progress: ProgressFn | None, depth: Depth) -> SyncReport:
        t0 = time.perf_counter()
        report = SyncReport()
        health = self.last_health = self._health(depth)
        self.last_finished = False
        manifest = self.records.manifest()
        owners = {aid: str(m.get("path", "")) for aid, m in manifest.items()}
        loaded = load_paths(paths, self.settings.max_file_bytes, self.settings.corpus, owners=owners)
        report.failed = list(loaded.failed)
        failures = self.records.failures()

        def in_sync(path: str) -> bool:
            return _under(path, loaded.roots)

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

        self._forget_corrupt(health, manifest, {a.id for _, a in loaded.articles})
        current: dict[str, Article] = {}
        held: set[str] = set()  # refused newcomers: the indexed article of that id stays as it is
        for _, art in loaded.articles:
            refusal = self._claim_refused(
                art, manifest.get(art.id), provably_gone, self._fingerprint(art), in_sync=in_sync
            )
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
            elif rec is not None and rec.get("fingerprint") == fp and not _store_failure(rec):
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

        # Rebuilt from its record: an article this sync does not change, whose record was made with
        # today's chunker settings (one made with others is embedded again when its folder is synced).
        changing = {a.id for a in todo} | set(gone)
        tag = ":" + chunker_tag(self.settings.chunks)

        def rebuildable(aid: str) -> bool:
            return aid not in changing and str(manifest.get(aid, {}).get("fingerprint", "")).endswith(tag)

        repairs = [aid for aid in health.to_rebuild if rebuildable(aid)]
        lexical_repairs = [aid for aid in health.lexical_only if rebuildable(aid)]
        extras = health.extra_vectors or health.extra_lexical
        if todo or gone or moved or cleared or repairs or lexical_repairs or extras or health.running:
            self._set_state(sync_state="running")
            repair = Repair(self.stores)
            if health.extra_vectors:
                relinked = repair.relink([a for a in todo if a.id in health.orphan_articles()], manifest)
                report.relinked = len(relinked)
                todo = [a for a in todo if a.id not in relinked]
            repair.remove_extras(health, manifest)
            repair.rebuild_lexical(lexical_repairs)
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
            run = _Run(report, manifest, failures, set(manifest), progress, repairs=set(repairs))
            rebuilt = [repair.from_record(aid) for aid in repairs]
            report.chunks_embedded = self._embed_articles(todo + [a for a in rebuilt if a is not None], run)
            report.repaired += len(lexical_repairs)
            self._set_state(sync_state="clean", last_sync=datetime.now(UTC).isoformat(timespec="seconds"))
        report.seconds = time.perf_counter() - t0
        return report

    def _forget_corrupt(self, health: Health, manifest: dict[str, dict[str, Any]], synced: set[str]) -> None:
        """A record changed after the fact, of an article this sync reads again from its file: the record
        is dropped, so the article is taken from its file (and its vectors taken back when they are its
        chunks). One whose file is not part of this sync stays as it is, reported."""
        for aid in [a for a in health.corrupt if a in synced and a in manifest]:
            n = int(manifest[aid].get("n_chunks", 0))
            self._set_state(sync_state="running")
            self.records.delete([aid])
            manifest.pop(aid)
            health.extra_vectors += chunk_ids(aid, n)
            health.extra_lexical += chunk_ids(aid, n)
            health.corrupt.remove(aid)

    @staticmethod
    def _claim_refused(
        art: Article,
        old: dict[str, Any] | None,
        provably_gone: Callable[[str], bool],
        fp: str,
        in_sync: Callable[[str], bool],
    ) -> str | None:
        """Why ``art`` may not take the id of an article indexed from another file, or None when it may:
        that file was read by this sync and no longer holds the id (the article moved), or it no
        longer exists, or it is not part of this sync and ``art`` is the very article indexed from it
        (a corpus folder moved or copied elsewhere: re-linked, nothing embedded)."""
        owner = str((old or {}).get("path", ""))
        if not owner or owner == art.path:
            return None
        if provably_gone(owner) or not os.path.lexists(owner):
            return None
        if (old or {}).get("fingerprint") == fp and not in_sync(owner):
            return None
        shown = str((old or {}).get("origin") or Path(owner).name)
        aid = art.id if len(art.id) <= 120 else art.id[:119] + "…"
        return one_line(
            f"article id {aid!r} is already indexed from {shown}; {art.origin or 'this file'} does not "
            "replace it (rename or remove one of the two)"
        )

    def _move(self, art: Article, manifest: dict[str, dict[str, Any]]) -> None:
        """Same article, another file (or an index from before origins were recorded): metadata only."""
        self.vectors.set_origin(self._chunk_ids([art.id], manifest), art.origin)
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
        with run.guard([a.id for a, _ in group]) if run.guard else nullcontext():
            group, vectors = self._still_to_write(group, vectors, run)
            return self._commit_embedded(group, vectors, run)

    def _still_to_write(
        self, group: list[tuple[Article, list[Chunk]]], vectors: list[list[float]], run: _Run
    ) -> tuple[list[tuple[Article, list[Chunk]]], list[list[float]]]:
        """In an ingest, under the articles' locks: their records as they are now (another worker may
        have written them since they were read); an article already stored with the fingerprint it has
        now is left out (with its vectors)."""
        if run.guard is None:
            return group, vectors
        ids = [a.id for a, _ in group]
        now = self.records.manifest_of(ids)
        for aid in ids:
            if aid in now:
                run.manifest[aid] = now[aid]
                run.existed.add(aid)
            else:
                run.manifest.pop(aid, None)
        kept: list[tuple[Article, list[Chunk]]] = []
        kept_vectors: list[list[float]] = []
        at = 0
        for art, chunks in group:
            part, at = vectors[at : at + len(chunks)], at + len(chunks)
            fp = run.fingerprints.get(art.id, "")
            if now.get(art.id, {}).get("fingerprint") == fp:
                run.report.unchanged += 1
                continue
            # an id indexed from another file or document is not taken over by other content (as in a
            # full sync; another machine's files cannot be looked at, so it is refused while indexed)
            owner = str(now.get(art.id, {}).get("origin") or now.get(art.id, {}).get("path") or "")
            if owner and str(now[art.id].get("path", "")) != art.path:
                aid = art.id if len(art.id) <= 120 else art.id[:119] + "…"
                run.report.failed.append(
                    Failure(
                        art.origin or art.id,
                        one_line(
                            f"article id {aid!r} is already indexed from {owner}; {art.origin or 'this file'} "
                            "does not replace it (rename or remove one of the two)"
                        ),
                    )
                )
                continue
            kept.append((art, chunks))
            kept_vectors += part
        return kept, kept_vectors

    def _commit_embedded(
        self, group: list[tuple[Article, list[Chunk]]], vectors: list[list[float]], run: _Run
    ) -> int:
        if not group:
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
                metas.append(chunk_meta(art, c))
            lexical += lexical_docs(art, chunks)
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
        if art.id in run.repairs:
            run.report.repaired += 1
        elif art.id in run.existed:
            run.report.updated += 1
        else:
            run.report.added += 1
        if art.id in run.failures:
            self.records.delete_failures([art.id])
            run.failures.pop(art.id, None)

    def _article_meta(self, a: Article, n_chunks: int) -> dict[str, Any]:
        return article_meta(a, n_chunks, self.settings.chunks)
