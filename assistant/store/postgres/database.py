"""One PostgreSQL database shared by every process of a cluster: a psycopg connection pool, the schema
created and migrated under an advisory lock (one process migrates, the others wait), and a failure to
reach it said in one line naming the server."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from assistant.damage import StoreUnavailable, reason

log = logging.getLogger(__name__)

# Each entry brings the schema from the version before it to its own (applied once, in order).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS articles (
        coll TEXT NOT NULL,
        id TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        title TEXT NOT NULL,
        url TEXT NOT NULL,
        source TEXT NOT NULL,
        published_date TEXT NOT NULL,
        published INTEGER NOT NULL,
        path TEXT NOT NULL,
        origin TEXT NOT NULL,
        n_chunks INTEGER NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (coll, id)
    );
    CREATE INDEX IF NOT EXISTS articles_by_published ON articles (coll, published);
    CREATE INDEX IF NOT EXISTS articles_by_source ON articles (coll, source, published);
    CREATE TABLE IF NOT EXISTS failures (
        coll TEXT NOT NULL,
        id TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        path TEXT NOT NULL,
        origin TEXT NOT NULL,
        error TEXT NOT NULL,
        PRIMARY KEY (coll, id)
    );
    CREATE TABLE IF NOT EXISTS sync_state (
        coll TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (coll, key)
    );
    CREATE TABLE IF NOT EXISTS lexical_docs (
        coll TEXT NOT NULL,
        chunk_id TEXT NOT NULL,
        article_id TEXT NOT NULL,
        n_terms INTEGER NOT NULL,
        PRIMARY KEY (coll, chunk_id)
    );
    CREATE INDEX IF NOT EXISTS lexical_docs_by_article ON lexical_docs (coll, article_id);
    CREATE TABLE IF NOT EXISTS lexical_postings (
        coll TEXT NOT NULL,
        term TEXT NOT NULL,
        chunk_id TEXT NOT NULL,
        article_id TEXT NOT NULL,
        source TEXT NOT NULL,
        published INTEGER NOT NULL,
        tf INTEGER NOT NULL,
        n_terms INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS lexical_postings_by_term
        ON lexical_postings (coll, term) INCLUDE (chunk_id, tf, n_terms, published);
    CREATE INDEX IF NOT EXISTS lexical_postings_by_article ON lexical_postings (coll, article_id);
    CREATE INDEX IF NOT EXISTS lexical_postings_by_chunk ON lexical_postings (coll, chunk_id);
    CREATE TABLE IF NOT EXISTS lexical_stats (
        coll TEXT PRIMARY KEY,
        n_docs BIGINT NOT NULL,
        n_terms BIGINT NOT NULL
    );
    """,
    """
    CREATE TABLE IF NOT EXISTS jobs (
        id BIGSERIAL PRIMARY KEY,
        coll TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload JSONB NOT NULL,
        state TEXT NOT NULL DEFAULT 'queued',
        created TIMESTAMPTZ NOT NULL DEFAULT now(),
        finished TIMESTAMPTZ,
        worker TEXT NOT NULL DEFAULT '',
        result JSONB
    );
    CREATE INDEX IF NOT EXISTS jobs_queued ON jobs (coll, id) WHERE state = 'queued';
    CREATE TABLE IF NOT EXISTS documents (
        coll TEXT NOT NULL,
        name TEXT NOT NULL,
        text TEXT NOT NULL,
        added TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (coll, name)
    );
    """,
    """
    CREATE TABLE IF NOT EXISTS feeds (
        coll TEXT NOT NULL,
        url TEXT NOT NULL,
        name TEXT NOT NULL,
        named INTEGER NOT NULL DEFAULT 0,
        added TEXT NOT NULL,
        etag TEXT NOT NULL DEFAULT '',
        last_modified TEXT NOT NULL DEFAULT '',
        polled_at TEXT NOT NULL DEFAULT '',
        ok INTEGER NOT NULL DEFAULT 1,
        result TEXT NOT NULL DEFAULT ''
    );
    -- keyed by hashes: a feed's address and an entry's key can be longer than a B-tree entry may be
    CREATE UNIQUE INDEX IF NOT EXISTS feeds_key ON feeds (coll, md5(url));
    CREATE TABLE IF NOT EXISTS feed_items (
        coll TEXT NOT NULL,
        feed TEXT NOT NULL,
        key TEXT NOT NULL,
        stamp TEXT NOT NULL,
        article TEXT NOT NULL DEFAULT '',
        error TEXT NOT NULL DEFAULT '',
        retry INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        seen TEXT NOT NULL
    );
    CREATE UNIQUE INDEX IF NOT EXISTS feed_items_key ON feed_items (coll, md5(feed), md5(key));
    CREATE TABLE IF NOT EXISTS feed_articles (
        coll TEXT NOT NULL,
        url TEXT NOT NULL,
        file TEXT NOT NULL,
        text_hash TEXT NOT NULL,
        title TEXT NOT NULL,
        source TEXT NOT NULL,
        published TEXT NOT NULL,
        feed TEXT NOT NULL,
        fetched TEXT NOT NULL
    );
    CREATE UNIQUE INDEX IF NOT EXISTS feed_articles_key ON feed_articles (coll, md5(url));
    CREATE INDEX IF NOT EXISTS feed_articles_by_text ON feed_articles (coll, text_hash);
    -- documents written or deleted whose sync is not queued yet (queued in the transaction that
    -- deletes their rows: a poll cut off between the two leaves them here for the next one)
    CREATE TABLE IF NOT EXISTS pending_documents (
        coll TEXT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (coll, name)
    );
    CREATE INDEX IF NOT EXISTS jobs_by_kind ON jobs (coll, kind, finished);
    """,
)
_MIGRATE_LOCK = "news-assistant:schema"


def describe(url: str) -> str:
    """The server and database of a URL, without its password."""
    try:
        u = urlsplit(url)
        host = u.hostname or "localhost"
        port = f":{u.port}" if u.port else ""
        return f"PostgreSQL at {host}{port}{u.path or ''}"
    except ValueError:
        return "PostgreSQL (a malformed ASSISTANT_STORE__DATABASE_URL)"


class Database:
    """The pool and the schema; rows and transactions for the stores built on it."""

    def __init__(self, url: str, pool_size: int = 4, timeout_s: float = 10.0) -> None:
        try:
            from psycopg_pool import ConnectionPool
        except ImportError as e:
            from assistant.providers import MissingExtra

            raise MissingExtra(
                "the cluster mode's PostgreSQL driver", "pip install 'news-assistant[cluster]'"
            ) from e
        if not url:
            raise StoreUnavailable(
                "the cluster store mode needs a database: set ASSISTANT_STORE__DATABASE_URL "
                "(postgresql://user@host:port/database)"
            )
        self.url = url
        self.where = describe(url)
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, pool_size),
            timeout=timeout_s,
            open=False,
            kwargs=self.connect_kwargs(),
            check=ConnectionPool.check_connection,
        )
        try:
            self.pool.open(wait=True, timeout=timeout_s)
            self.migrate()
        except Exception as e:
            self.pool.close()
            raise self.unavailable(e) from None

    def connect_kwargs(self) -> dict[str, Any]:
        """Every connection's options: TCP keepalives, so that a machine that vanishes (power, network)
        releases its locks within about a minute, not the kernel's two hours."""
        return {
            "autocommit": True,
            "connect_timeout": max(1, int(self.timeout_s)),
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        }

    def connect(self) -> Any:
        """A connection of its own (outside the pool), for a lock or a job held for a while."""
        import psycopg

        try:
            conn = psycopg.connect(self.url, **self.connect_kwargs())
            conn.execute("SET idle_session_timeout = 0")
            conn.execute("SET idle_in_transaction_session_timeout = 0")
            return conn
        except psycopg.Error as e:
            raise self.unavailable(e) from None

    def unavailable(self, e: BaseException) -> StoreUnavailable:
        return StoreUnavailable(f"{self.where} cannot be used ({reason(e)}); start it, or check the URL")

    def migrate(self) -> None:
        """Creates or brings the schema up to date (one process at a time)."""
        with self.pool.connection() as db:
            db.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (_MIGRATE_LOCK,))
            try:
                db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
                have = int(row[0]) if row and row[0] is not None else 0
                for version, sql in enumerate(MIGRATIONS[have:], start=have + 1):
                    with db.transaction():
                        db.execute(sql)
                        db.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
                    log.info("%s: schema version %d", self.where, version)
            finally:
                db.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (_MIGRATE_LOCK,))

    def rows(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            with self.pool.connection() as db:
                return db.execute(sql, tuple(args)).fetchall()
        except Exception as e:
            if _is_connection_error(e):
                raise self.unavailable(e) from None
            raise

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A connection inside one transaction (committed at the end of the block)."""
        try:
            with self.pool.connection() as db, db.transaction():
                yield db
        except Exception as e:
            if _is_connection_error(e):
                raise self.unavailable(e) from None
            raise

    def close(self) -> None:
        self.pool.close()


def _is_connection_error(e: BaseException) -> bool:
    try:
        import psycopg
        from psycopg_pool import PoolTimeout
    except ImportError:  # pragma: no cover
        return False
    return isinstance(e, (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout))
