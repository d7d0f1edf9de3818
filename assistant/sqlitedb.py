"""One SQLite file shared by threads and processes: WAL (readers never wait for the writer), a busy
timeout, one connection guarded by a lock, and `BEGIN IMMEDIATE` transactions. Used by the feed
registry and the store's article records."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class SQLiteFile:
    def __init__(self, path: Path, schema: str, busy_timeout_s: float = 60.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            path, check_same_thread=False, timeout=busy_timeout_s, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        self._db.executescript(schema)

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

    def _delete_in(self, table: str, ids: Iterable[str], batch: int = 500) -> None:
        """Deletes the rows of `table` whose id is in ids (in one transaction, `batch` ids a statement)."""
        ids = list(ids)
        with self._tx() as db:
            for i in range(0, len(ids), batch):
                part = ids[i : i + batch]
                db.execute(f"DELETE FROM {table} WHERE id IN ({','.join('?' * len(part))})", part)
