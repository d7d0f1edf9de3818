"""Article records in SQLite (WAL): what is indexed (one row per article, with its text and fingerprint),
what failed and is not retried until it changes, and the index's state (sync running or clean, last sync).
Several processes read it at once; one writes at a time."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from assistant.sqlitedb import SQLiteFile

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
CREATE INDEX IF NOT EXISTS articles_by_source ON articles (source, published);
CREATE INDEX IF NOT EXISTS articles_by_chunks ON articles (n_chunks);
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


class RecordStore(SQLiteFile):
    store_name = "article records"

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)

    # ---- articles ----------------------------------------------------------------------------------

    def manifest(self) -> dict[str, dict[str, Any]]:
        """id → record (without the text)."""
        rows = self._rows(f"SELECT id, {', '.join(RECORD_FIELDS)} FROM articles")
        return {r[0]: dict(zip(RECORD_FIELDS, r[1:])) for r in rows}

    def count(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM articles")[0][0])

    def expected_chunks(self) -> int:
        """How many chunks the records say the other stores hold."""
        return int(self._rows("SELECT COALESCE(SUM(n_chunks), 0) FROM articles")[0][0])

    def sample(self, n: int) -> list[tuple[str, int]]:
        """(id, n_chunks) of up to n articles picked at random."""
        import random

        top = int(self._rows("SELECT COALESCE(MAX(rowid), 0) FROM articles")[0][0])
        picked: dict[str, int] = {}
        for _ in range(n if top else 0):  # by rowid: no scan of a large table
            rows = self._rows(
                "SELECT id, n_chunks FROM articles WHERE rowid >= ? ORDER BY rowid LIMIT 1",
                (random.randint(1, top),),
            )
            picked |= {str(r[0]): int(r[1]) for r in rows}
        return list(picked.items())

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

    def _in(self, columns: str, ids: Iterable[str]) -> list[Any]:
        """`SELECT columns` of the articles with these ids."""
        ids = list(ids)
        rows: list[Any] = []
        for i in range(0, len(ids), _IN):
            part = ids[i : i + _IN]
            marks = ",".join("?" * len(part))
            rows += self._rows(f"SELECT {columns} FROM articles WHERE id IN ({marks})", part)
        return rows

    def manifest_of(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """id → record (without the text) of the articles with these ids that are indexed."""
        return {
            r[0]: dict(zip(RECORD_FIELDS, r[1:])) for r in self._in(f"id, {', '.join(RECORD_FIELDS)}", ids)
        }

    def texts(self, ids: Iterable[str]) -> dict[str, str]:
        """id → text of the articles with these ids that are indexed."""
        return {str(r[0]): str(r[1]) for r in self._in("id, text", ids)}

    def present(self, ids: Iterable[str]) -> set[str]:
        return {r[0] for r in self._in("id", ids)}

    def in_range(
        self, lo: int, hi: int, sources: Sequence[str], limit: int
    ) -> list[tuple[str, int, str, int]]:
        """(id, published, source, n_chunks) of at most `limit` articles published from lo to hi
        (YYYYMMDD; 0: no bound; without a lower bound, undated articles are in), from these sources
        (any when none, or more than _IN of them)."""
        clauses = [c for c, v in (("published >= ?", lo), ("published <= ?", hi)) if v]
        args: list[Any] = [v for v in (lo, hi) if v]
        if sources and len(sources) <= _IN:  # more are left to the caller's own test
            clauses.append(f"source IN ({','.join('?' * len(sources))})")
            args += list(sources)
        where = " AND ".join(clauses) or "1"
        return [
            (str(r[0]), int(r[1]), str(r[2]), int(r[3]))
            for r in self._rows(
                f"SELECT id, published, source, n_chunks FROM articles WHERE {where} LIMIT ?", [*args, limit]
            )
        ]

    def facets(self, ids: Iterable[str]) -> dict[str, tuple[int, str]]:
        """id → (published, source) of the articles with these ids that are indexed: what a search
        filters on."""
        return {r[0]: (int(r[1]), str(r[2])) for r in self._in("id, published, source", ids)}

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
        self._delete_in("articles", ids)

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
        self._delete_in("failures", ids)

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
