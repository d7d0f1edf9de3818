"""One SQLite file shared by threads and processes: WAL (readers never wait for the writer), a busy
timeout, one connection guarded by a lock, and `BEGIN IMMEDIATE` transactions. Used by the feed
registry and the store's article records.

A file that cannot be opened or fails SQLite's own check is moved aside (``<name>.damaged-<time>``,
never deleted); the rows that can still be read from it are copied into a fresh file, and ``healed``
says what was found (the owner decides what to rebuild)."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant.damage import Finding, StoreUnavailable, move_aside, reason
from assistant.locks import writer_lock

log = logging.getLogger(__name__)

# Files up to this size get SQLite's quick_check when opened (larger ones: a read of every table; the
# full check is `assistant check`).
QUICK_CHECK_BYTES = 256 * 1024 * 1024
_COMPANIONS = ("-wal", "-shm", "-journal")


_DAMAGE_WORDS = ("malformed", "not a database", "corrupt", "disk image")


def is_damage(e: BaseException) -> bool:
    """Whether SQLite's error is about the file's content (moved aside and rebuilt), not about access to
    it (read-only, permissions, disk errors: said, the file left alone)."""
    text = str(e).lower()
    return any(w in text for w in _DAMAGE_WORDS)


class SQLiteFile:
    store_name = "database"  # how a status line names it

    def __init__(self, path: Path, schema: str, busy_timeout_s: float = 60.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.schema = schema
        self.busy_timeout_s = busy_timeout_s
        self._lock = threading.RLock()
        self.healed: Finding | None = None
        self._db: sqlite3.Connection = None  # type: ignore[assignment] # set by _connect or _heal
        if path.is_dir() and not path.is_symlink():  # a folder where the file belongs
            self._heal("is a folder, not a database file")
            return
        try:
            self._db = self._connect()
            problem = self.integrity(quick=path.stat().st_size <= QUICK_CHECK_BYTES)
        except sqlite3.DatabaseError as e:
            if not is_damage(e):  # read-only, missing permission, disk errors: not the file's content
                raise StoreUnavailable(f"{path} cannot be used ({reason(e)})") from None
            problem = f"could not be opened ({reason(e)})"
            self._db = None  # type: ignore[assignment]
        if problem:
            self._heal(problem)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path, check_same_thread=False, timeout=self.busy_timeout_s, isolation_level=None
        )
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
            db.executescript(self.schema)
        except BaseException:
            db.close()
            raise
        return db

    def tables(self) -> list[str]:
        rows = self._rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        return [str(r[0]) for r in rows]

    def integrity(self, quick: bool = True) -> str:
        """ "" when the file is sound, else what is wrong: SQLite's quick_check (quick) or a read of every
        row of every table."""
        try:
            if quick:
                rows = self._rows("PRAGMA quick_check")
                bad = [str(r[0]) for r in rows if str(r[0]) != "ok"]
                return f"fails SQLite's check ({reason(Exception('; '.join(bad[:3])))})" if bad else ""
            for table in self.tables():
                self._rows(f"SELECT COUNT(*) FROM {table}")
            return ""
        except sqlite3.DatabaseError as e:
            if not is_damage(e):
                raise StoreUnavailable(f"{self.path} cannot be read ({reason(e)})") from None
            return f"could not be read ({reason(e)})"

    def _heal(self, problem: str) -> None:
        """Moves the damaged file aside, starts a fresh one and copies into it what can still be read."""
        # One process heals it: another that found the same damage waits, then finds a sound file.
        with self._lock, writer_lock(self.path.with_name(f".{self.path.name}.heal.lock")):
            if self._db is not None:
                try:
                    self._db.close()
                except sqlite3.Error:
                    pass
            try:
                self._db = self._connect()
                if not self.integrity(quick=True):
                    return
                self._db.close()
            except sqlite3.DatabaseError:
                pass
            aside = move_aside(self.path, _COMPANIONS)
            self._db = self._connect()
            saved = self._salvage(aside)
        kept = ", ".join(f"{n} {t} rows" for t, n in saved.items() if n) or "no rows"
        self.healed = Finding(
            self.store_name,
            str(self.path),
            problem,
            f"moved aside to {aside.name}; {kept} could be read from it",
        )
        log.warning("%s", self.healed.line())

    def _salvage(self, damaged: Path) -> dict[str, int]:
        """Copies every row that can still be read from the damaged file, table by table."""
        saved: dict[str, int] = {}
        try:
            src = sqlite3.connect(damaged, isolation_level=None)
        except sqlite3.Error:
            return saved
        try:
            for table in self.tables():
                saved[table] = self._copy_rows(src, table)
        finally:
            src.close()
        return saved

    def _copy_rows(self, src: sqlite3.Connection, table: str) -> int:
        columns = [str(r[1]) for r in self._rows(f"PRAGMA table_info({table})")]
        names = ", ".join(columns)
        rows: list[tuple[Any, ...]] = []
        try:
            cursor = src.execute(f"SELECT {names} FROM {table}")
            while True:
                row = cursor.fetchone()
                if row is None:
                    break
                rows.append(row)
        except sqlite3.Error:  # the rest of the table is unreadable: keep what came before
            pass
        if rows:
            with self._tx() as db:
                db.executemany(
                    f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})", rows
                )
        return len(rows)

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
