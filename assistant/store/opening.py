"""Opening the three stores of an index (article records, vectors, lexical index), each checked as it
is opened. A store that cannot be opened, or fails its own check, is moved aside (named, never deleted)
and started afresh; what it held is rebuilt by the next sync from the stores that are sound (records →
vectors and lexical entries; vectors → records, when the corpus folders still hold the same articles).
Every such finding is kept, for the status line and `assistant check`."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.chunking import chunk_ids
from assistant.damage import Finding, fatal, move_aside, reason
from assistant.locks import writer_lock
from assistant.settings import Settings, StoreMode
from assistant.store.lexical import LEXICAL_VERSION, LexicalStore
from assistant.store.postgres.lexical import PgLexicalStore
from assistant.store.postgres.records import PgRecordStore
from assistant.store.records import RecordStore
from assistant.store.types import EmbeddingMismatch, chunker_tag
from assistant.store.vectors import VectorStore

log = logging.getLogger(__name__)

ClientFactory = Callable[[Settings], Any]
# The records and the lexical index: files of the index folder, or PostgreSQL's (cluster mode).
Records = RecordStore | PgRecordStore
Lexical = LexicalStore | PgLexicalStore
# Stored vectors searched for themselves when the vectors are opened (`assistant check`: more).
PROBES_AT_OPEN = 3


def vectors_path(settings: Settings) -> Path:
    """The local vectors folder (Chroma's PersistentClient)."""
    return Path(settings.index_dir) / "chroma"


def lexical_path(settings: Settings) -> Path:
    return Path(settings.index_dir) / f"lexical-{settings.store.collection}-{LEXICAL_VERSION}"


def where_of(settings: Settings) -> str:
    """Where the index is, in words."""
    s = settings.store
    if s.mode == StoreMode.SERVER:
        return f"the Chroma server at {s.host}:{s.port} (collection {s.collection!r})"
    if s.mode == StoreMode.CLUSTER:
        from assistant.store.postgres.database import describe

        return (
            f"{describe(s.database_url)} and the Chroma server at {s.host}:{s.port} "
            f"(collection {s.collection!r})"
        )
    return str(Path(settings.index_dir).resolve())


@dataclass
class Stores:
    """The three stores of one index, opened and checked."""

    settings: Settings
    records: Records
    lexical: Lexical
    vectors: VectorStore
    client: Any
    lock_path: Path
    found: list[Finding] = field(default_factory=list)  # what opening them found and did
    lexical_failed: str = ""  # why a read of the lexical index failed since it was opened
    make_client: ClientFactory | None = None
    vectors_file: tuple[int, int] | None = None  # the local vectors file (device, inode) when opened
    # The one-writer-at-a-time lock: an flock on lock_path (one machine), or PostgreSQL's advisory lock
    # (cluster mode).
    lock: Callable[[], AbstractContextManager[None]] | None = None
    # What a writer of some articles holds (Syncer.ingest): the writer's lock (one machine), or the
    # writer's lock shared and each article's own (cluster mode: workers write different articles at once).
    article_lock: Callable[[list[str]], AbstractContextManager[None]] | None = None
    database: Any = None  # cluster mode: the PostgreSQL database (store/postgres/database.py)

    def writer(self) -> AbstractContextManager[None]:
        return self.lock() if self.lock is not None else writer_lock(self.lock_path)

    def writing(self, article_ids: list[str]) -> AbstractContextManager[None]:
        return self.article_lock(article_ids) if self.article_lock is not None else self.writer()

    def vectors_replaced(self) -> bool:
        """Whether the local vectors folder was deleted or replaced since it was opened (an operator,
        another process's repair): this process's client still reads the old files."""
        if self.vectors_file is None:
            return False
        return _identity(self.settings) != self.vectors_file

    def reopen_vectors(self) -> None:
        """Opens the vectors folder again, as it is now (the caller holds the writer lock)."""
        path = vectors_path(self.settings)
        _forget_clients(path)
        self.client = _make(self.settings, self.make_client)
        self.vectors = VectorStore(self.client, self.name, self.vectors.opened_with)
        self.vectors_file = _identity(self.settings)
        self.found.append(
            Finding(
                "vectors",
                str(path),
                "deleted or replaced while the app ran",
                "opened again; what it lacks is re-embedded from the articles' records",
            )
        )

    def lexical_path(self) -> Path:
        return lexical_path(self.settings)

    def lexical_where(self) -> str:
        """Where the lexical index is, for a finding: its folder, or PostgreSQL (cluster mode)."""
        lexical = self.lexical
        return lexical.where if isinstance(lexical, PgLexicalStore) else str(self.lexical_path())

    def replace_failed_lexical(self) -> None:
        """A lexical index that failed while it was read is moved aside and started afresh (the caller
        holds the writer lock; the sync then rebuilds it from the records)."""
        if not self.lexical_failed:
            return
        path = self.lexical_path()
        aside = move_aside(path) if path.exists() else None
        self.found.append(
            Finding(
                "lexical index",
                str(path),
                f"failed while it was read ({self.lexical_failed})",
                f"moved aside to {aside.name if aside else '-'}; rebuilt from the articles' records",
            )
        )
        self.lexical = LexicalStore(path)
        self.lexical_failed = ""

    @property
    def name(self) -> str:
        return self.settings.store.collection

    def where(self) -> str:
        return where_of(self.settings)


def open_stores(
    settings: Settings, embedding_model: str, client: Any = None, make_client: ClientFactory | None = None
) -> Stores:
    """Opens (and heals) the stores. ``client``: a Chroma client already made (tests); else
    ``make_client(settings)`` makes it, again after the local vectors folder is moved aside."""
    if settings.store.mode == StoreMode.CLUSTER:
        return _open_cluster(settings, embedding_model, client, make_client)
    name = settings.store.collection
    folder = Path(settings.index_dir)
    found: list[Finding] = []
    lock_path = folder / f".writer-{name}.lock"
    records = RecordStore(folder / f"records-{name}.sqlite3")
    if records.healed:
        found.append(records.healed)
    lexical = _open_lexical(lexical_path(settings), lock_path, found)
    client, vectors = _open_vectors(settings, embedding_model, client, make_client, records, lock_path, found)
    for f in found:
        log.warning("%s", f.line())
    stores = Stores(settings, records, lexical, vectors, client, lock_path, found, make_client=make_client)
    if make_client is not None and settings.store.mode == StoreMode.LOCAL:
        stores.vectors_file = _identity(settings)
    return stores


def _open_cluster(
    settings: Settings, embedding_model: str, client: Any, make_client: ClientFactory | None
) -> Stores:
    """Cluster mode: records and the lexical index in PostgreSQL, vectors in a Chroma server; nothing in
    the index folder (processes on several machines share no files)."""
    from functools import partial

    from assistant.store.postgres.database import Database
    from assistant.store.postgres.locks import advisory_lock, ingest_locks

    s = settings.store
    db = Database(s.database_url, s.pool_size)
    records = PgRecordStore(db, s.collection)
    lexical = PgLexicalStore(db, s.collection)
    found: list[Finding] = []
    writer = f"news-assistant:writer:{s.collection}"
    lock = partial(advisory_lock, db, writer)
    article_lock = partial(ingest_locks, db, writer, prefix=f"news-assistant:article:{s.collection}:")
    client, vectors = _open_vectors(settings, embedding_model, client, make_client, records, Path(), found)
    for f in found:
        log.warning("%s", f.line())
    return Stores(
        settings,
        records,
        lexical,
        vectors,
        client,
        Path(),
        found,
        make_client=make_client,
        lock=lock,
        article_lock=article_lock,
        database=db,
    )


def _identity(settings: Settings) -> tuple[int, int]:
    try:
        st = (vectors_path(settings) / "chroma.sqlite3").stat()
    except OSError:
        return (0, 0)
    return (st.st_dev, st.st_ino)


def _open_lexical(path: Path, lock_path: Path, found: list[Finding]) -> LexicalStore:
    try:
        store = LexicalStore(path)
        store.probe()
        return store
    except BaseException as e:  # tantivy's damage panics (PanicException is a BaseException)
        if fatal(e):
            raise
        problem = f"could not be opened ({reason(e)})"
    with writer_lock(lock_path):
        try:  # another process may have healed it meanwhile
            store = LexicalStore(path)
            store.probe()
            return store
        except BaseException as e:
            if fatal(e):
                raise
            aside = move_aside(path)
        found.append(
            Finding(
                "lexical index",
                str(path),
                problem,
                f"moved aside to {aside.name}; rebuilt from the articles' records at the next sync",
            )
        )
        return LexicalStore(path)


def _metadata(settings: Settings, embedding_model: str) -> dict[str, str]:
    return {"embedding_model": embedding_model, "chunker": chunker_tag(settings.chunks)}


def _open_vectors(
    settings: Settings,
    embedding_model: str,
    client: Any,
    make_client: ClientFactory | None,
    records: Records,
    lock_path: Path,
    found: list[Finding],
) -> tuple[Any, VectorStore]:
    meta = _metadata(settings, embedding_model)
    local = settings.store.mode == StoreMode.LOCAL and make_client is not None
    try:
        client, vectors, problem = _try_vectors(settings, meta, client, make_client, records)
    except BaseException as e:
        if fatal(e) or not local:
            raise
        problem = f"could not be opened ({reason(e)})"
    if problem:
        if not local:  # a server's files are not ours to move: say so, and rebuild its vectors
            found.append(
                Finding("vectors", settings.store.collection, problem, "run `assistant index --rebuild`")
            )
        else:
            client, vectors = _move_vectors_aside(
                settings, meta, make_client, records, lock_path, problem, found
            )
    _check_model(vectors, embedding_model, settings)
    return client, vectors


def _try_vectors(
    settings: Settings,
    meta: dict[str, str],
    client: Any,
    make_client: ClientFactory | None,
    records: Records,
) -> tuple[Any, VectorStore, str]:
    """The vectors opened (with ``client``, else a new one) and searched: (client, store, "" or what is
    wrong). Raises when they cannot be opened at all."""
    client = client if client is not None else _make(settings, make_client)
    vectors = VectorStore(client, settings.store.collection, meta)
    vectors.count()
    return client, vectors, search_problem(vectors, records, PROBES_AT_OPEN)


def _make(settings: Settings, make_client: ClientFactory | None) -> Any:
    if make_client is None:
        raise ValueError("no Chroma client")
    return make_client(settings)


def _move_vectors_aside(
    settings: Settings,
    meta: dict[str, str],
    make_client: ClientFactory | None,
    records: Records,
    lock_path: Path,
    problem: str,
    found: list[Finding],
) -> tuple[Any, VectorStore]:
    path = vectors_path(settings)
    with writer_lock(lock_path):
        _forget_clients(path)
        # Another process may have found the same damage and healed it while this one waited for the
        # lock: what is there now is checked again, and only moved aside when it still fails.
        try:
            client, vectors, again = _try_vectors(settings, meta, None, make_client, records)
            if not again:
                return client, vectors
        except BaseException as e:
            if fatal(e):
                raise
        _forget_clients(path)
        aside = move_aside(path) if path.exists() else None
        client = _make(settings, make_client)
        vectors = VectorStore(client, settings.store.collection, meta)
    action = f"moved aside to {aside.name}" if aside else "started empty"
    found.append(
        Finding(
            "vectors",
            str(path),
            problem,
            f"{action}; re-embedded from the articles' records at the next sync",
        )
    )
    return client, vectors


def _forget_clients(path: Path) -> None:
    """Chroma keeps one system per folder in the process: the one of the damaged folder is stopped and
    forgotten, so that it is not handed back, and its threads do not go on reading moved files (the
    systems of other folders are left alone)."""
    try:
        from chromadb.api.client import SharedSystemClient
    except ImportError:  # pragma: no cover - chromadb is a core requirement
        return
    for key in [k for k in SharedSystemClient._identifier_to_system if Path(k) == path]:
        system = SharedSystemClient._identifier_to_system.pop(key)
        SharedSystemClient._identifier_to_refcount.pop(key, None)
        try:
            system.stop()
        except Exception:  # noqa: BLE001 - a system that never started cleanly
            log.debug("stopping the Chroma system of %s failed", key, exc_info=True)


def search_problem(vectors: VectorStore, records: Records, probes: int) -> str:
    """ "" when stored vectors are found by a search for themselves, else what is wrong. Chroma serves
    ids and counts from its SQLite file and searches its HNSW files: a lost or garbled HNSW file
    answers with too few or wrong neighbours, silently."""
    n = vectors.count()
    if n == 0:
        return ""
    sample = _sample_ids(records, probes)
    got = vectors.collection.get(ids=sample, include=["embeddings"]) if sample else None
    if not got or not len(got["ids"]):
        got = vectors.collection.get(limit=probes, include=["embeddings"])
    k = min(10, n)
    for cid, vector in zip(got["ids"], got["embeddings"]):
        hits = vectors.nearest([float(x) for x in vector], k)
        if len(hits) < k:
            return f"a search returns {len(hits)} of {k} vectors (its search files are missing or damaged)"
        if cid not in {h for h, _ in hits}:
            return "a stored vector is not found by a search for itself (its search files are damaged)"
    return ""


def _sample_ids(records: Records, probes: int) -> list[str]:
    try:
        rows = records.sample(probes)
    except Exception:  # noqa: BLE001 - the records' own check reports them
        return []
    return [random.choice(chunk_ids(aid, n)) for aid, n in rows if n > 0]


def _check_model(vectors: VectorStore, model: str, settings: Settings) -> None:
    stored = vectors.metadata.get("embedding_model")
    if stored and stored != model:
        raise EmbeddingMismatch(
            f"the index in {where_of(settings)} was built with the embedding model {stored!r}, but the "
            f"settings ask for {model!r}; rebuild it with `assistant index --rebuild` or set "
            f"ASSISTANT_EMBEDDING__MODEL={stored}"
        )
