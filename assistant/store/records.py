"""Article records in SQLite (WAL): what is indexed (one row per article, with its text and fingerprint),
what failed and is not retried until it changes, and the index's state (sync running or clean, last sync).
Several processes read it at once; one writes at a time."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    source TEXT NOT NULL,
    published_date TEXT NOT NULL,
    published INTEGER NOT NULL,
    path TEXT NOT NULL,
    origin TEXT NOT NULL,
    n_chunks INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_by_published ON articles (published);
CREATE TABLE IF NOT EXISTS failures (
    id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    path TEXT NOT NULL,
    origin TEXT NOT NULL,
    error TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

RECORD_FIELDS = (
    "fingerprint",
    "title",
    "url",
    "source",
    "published_date",
    "published",
    "path",
    "origin",
    "n_chunks",
)
FAILURE_FIELDS = ("fingerprint", "path", "origin", "error")
_IN = 500  # ids per "IN (…)" query


class RecordStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=60000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    # ---- articles ----------------------------------------------------------------------------------

    def manifest(self) -> dict[str, dict[str, Any]]:
        """id → record (without the text)."""
        rows = self._rows(f"SELECT id, {', '.join(RECORD_FIELDS)} FROM articles")
        return {r[0]: dict(zip(RECORD_FIELDS, r[1:])) for r in rows}

    def count(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM articles")[0][0])

    def newest(self) -> int:
        """The latest publication date (YYYYMMDD), 0 when no article has one."""
        return int(self._rows("SELECT COALESCE(MAX(published), 0) FROM articles")[0][0])

    def newest_date(self) -> str:
        return str(self._rows("SELECT COALESCE(MAX(published_date), '') FROM articles")[0][0])

    def article(self, article_id: str) -> tuple[dict[str, Any], str] | None:
        rows = self._rows(
            f"SELECT {', '.join(RECORD_FIELDS)}, text FROM articles WHERE id = ?", (article_id,)
        )
        if not rows:
            return None
        return dict(zip(RECORD_FIELDS, rows[0][:-1])), str(rows[0][-1])

    def present(self, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        out: set[str] = set()
        for i in range(0, len(ids), _IN):
            part = ids[i : i + _IN]
            marks = ",".join("?" * len(part))
            out |= {r[0] for r in self._rows(f"SELECT id FROM articles WHERE id IN ({marks})", part)}
        return out

    def put(self, records: dict[str, dict[str, Any]], texts: dict[str, str]) -> None:
        with self._tx() as db:
            db.executemany(
                f"INSERT OR REPLACE INTO articles (id, {', '.join(RECORD_FIELDS)}, text)"
                f" VALUES ({', '.join('?' * (len(RECORD_FIELDS) + 2))})",
                [(aid, *(rec[f] for f in RECORD_FIELDS), texts[aid]) for aid, rec in records.items()],
            )

    def update(self, article_id: str, **fields: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in fields if k in RECORD_FIELDS)
        with self._tx() as db:
            db.execute(f"UPDATE articles SET {sets} WHERE id = ?", (*fields.values(), article_id))

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        with self._tx() as db:
            for i in range(0, len(ids), _IN):
                part = ids[i : i + _IN]
                db.execute(f"DELETE FROM articles WHERE id IN ({','.join('?' * len(part))})", part)

    # ---- failures ----------------------------------------------------------------------------------

    def failures(self) -> dict[str, dict[str, Any]]:
        rows = self._rows(f"SELECT id, {', '.join(FAILURE_FIELDS)} FROM failures")
        return {r[0]: dict(zip(FAILURE_FIELDS, r[1:])) for r in rows}

    def put_failure(self, article_id: str, rec: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                f"INSERT OR REPLACE INTO failures (id, {', '.join(FAILURE_FIELDS)}) VALUES (?, ?, ?, ?, ?)",
                (article_id, *(str(rec[f]) for f in FAILURE_FIELDS)),
            )

    def delete_failures(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        with self._tx() as db:
            for i in range(0, len(ids), _IN):
                part = ids[i : i + _IN]
                db.execute(f"DELETE FROM failures WHERE id IN ({','.join('?' * len(part))})", part)

    # ---- state -------------------------------------------------------------------------------------

    def state(self) -> dict[str, str]:
        return {k: v for k, v in self._rows("SELECT key, value FROM state")}

    def set_state(self, **changes: str) -> None:
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", list(changes.items()))

    def clear(self) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM articles")
            db.execute("DELETE FROM failures")
            db.execute("DELETE FROM state")
