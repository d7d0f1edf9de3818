"""Article records, failures and sync state in PostgreSQL: the interface of store/records.py (which
keeps them in a SQLite file), for processes on several machines. Rows of every collection share the
tables, told apart by ``coll``."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

from assistant.store.postgres.database import Database
from assistant.store.records import FAILURE_FIELDS, RECORD_FIELDS

_COLS = ", ".join(RECORD_FIELDS)


class PgRecordStore:
    store_name = "article records"
    healed = None  # a server's files are not ours to heal: PostgreSQL keeps them

    def __init__(self, db: Database, collection: str) -> None:
        self.db = db
        self.coll = collection

    @property
    def path(self) -> str:
        return f"{self.db.where} (collection {self.coll!r})"

    def integrity(self, quick: bool = True) -> str:
        self.db.rows("SELECT COUNT(*) FROM articles WHERE coll = %s", (self.coll,))
        return ""

    # ---- articles ----------------------------------------------------------------------------------

    def manifest(self) -> dict[str, dict[str, Any]]:
        rows = self.db.rows(f"SELECT id, {_COLS} FROM articles WHERE coll = %s", (self.coll,))
        return {r[0]: dict(zip(RECORD_FIELDS, r[1:])) for r in rows}

    def count(self) -> int:
        return int(self.db.rows("SELECT COUNT(*) FROM articles WHERE coll = %s", (self.coll,))[0][0])

    def expected_chunks(self) -> int:
        rows = self.db.rows("SELECT COALESCE(SUM(n_chunks), 0) FROM articles WHERE coll = %s", (self.coll,))
        return int(rows[0][0])

    def sample(self, n: int) -> list[tuple[str, int]]:
        total = self.count()
        picked: dict[str, int] = {}
        for _ in range(n if total else 0):
            rows = self.db.rows(
                "SELECT id, n_chunks FROM articles WHERE coll = %s ORDER BY id OFFSET %s LIMIT 1",
                (self.coll, random.randrange(total)),
            )
            picked |= {str(r[0]): int(r[1]) for r in rows}
        return list(picked.items())

    def newest(self) -> int:
        rows = self.db.rows("SELECT COALESCE(MAX(published), 0) FROM articles WHERE coll = %s", (self.coll,))
        return int(rows[0][0])

    def newest_date(self) -> str:
        rows = self.db.rows(
            "SELECT COALESCE(MAX(published_date), '') FROM articles WHERE coll = %s", (self.coll,)
        )
        return str(rows[0][0])

    def article(self, article_id: str) -> tuple[dict[str, Any], str] | None:
        rows = self.db.rows(
            f"SELECT {_COLS}, text FROM articles WHERE coll = %s AND id = %s", (self.coll, article_id)
        )
        if not rows:
            return None
        return dict(zip(RECORD_FIELDS, rows[0][:-1])), str(rows[0][-1])

    def _in(self, columns: str, ids: Iterable[str]) -> list[tuple[Any, ...]]:
        return self.db.rows(
            f"SELECT {columns} FROM articles WHERE coll = %s AND id = ANY(%s)", (self.coll, list(ids))
        )

    def manifest_of(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        return {r[0]: dict(zip(RECORD_FIELDS, r[1:])) for r in self._in(f"id, {_COLS}", ids)}

    def texts(self, ids: Iterable[str]) -> dict[str, str]:
        return {str(r[0]): str(r[1]) for r in self._in("id, text", ids)}

    def present(self, ids: Iterable[str]) -> set[str]:
        return {str(r[0]) for r in self._in("id", ids)}

    def in_range(
        self, lo: int, hi: int, sources: Sequence[str], limit: int
    ) -> list[tuple[str, int, str, int]]:
        clauses = ["coll = %s"]
        args: list[Any] = [self.coll]
        for clause, value in (("published >= %s", lo), ("published <= %s", hi)):
            if value:
                clauses.append(clause)
                args.append(value)
        if sources:
            clauses.append("source = ANY(%s)")
            args.append(list(sources))
        rows = self.db.rows(
            f"SELECT id, published, source, n_chunks FROM articles WHERE {' AND '.join(clauses)} LIMIT %s",
            [*args, limit],
        )
        return [(str(r[0]), int(r[1]), str(r[2]), int(r[3])) for r in rows]

    def facets(self, ids: Iterable[str]) -> dict[str, tuple[int, str]]:
        return {str(r[0]): (int(r[1]), str(r[2])) for r in self._in("id, published, source", ids)}

    def put(self, records: dict[str, dict[str, Any]], texts: dict[str, str]) -> None:
        if not records:
            return
        with self.db.transaction() as db, db.cursor() as cur:
            cur.executemany(
                f"INSERT INTO articles (coll, id, {_COLS}, text)"
                f" VALUES ({', '.join(['%s'] * (len(RECORD_FIELDS) + 3))})"
                f" ON CONFLICT (coll, id) DO UPDATE SET "
                + ", ".join(f"{f} = EXCLUDED.{f}" for f in (*RECORD_FIELDS, "text")),
                [
                    (self.coll, aid, *(rec[f] for f in RECORD_FIELDS), texts[aid])
                    for aid, rec in records.items()
                ],
            )

    def update(self, article_id: str, **fields: Any) -> None:
        known = {k: v for k, v in fields.items() if k in RECORD_FIELDS}
        if not known:
            return
        sets = ", ".join(f"{k} = %s" for k in known)
        with self.db.transaction() as db:
            db.execute(
                f"UPDATE articles SET {sets} WHERE coll = %s AND id = %s",
                (*known.values(), self.coll, article_id),
            )

    def delete(self, ids: Iterable[str]) -> None:
        self._delete_in("articles", ids)

    def _delete_in(self, table: str, ids: Iterable[str]) -> None:
        ids = list(ids)
        if ids:
            with self.db.transaction() as db:
                db.execute(f"DELETE FROM {table} WHERE coll = %s AND id = ANY(%s)", (self.coll, ids))

    # ---- failures ----------------------------------------------------------------------------------

    def failures(self) -> dict[str, dict[str, Any]]:
        rows = self.db.rows(
            f"SELECT id, {', '.join(FAILURE_FIELDS)} FROM failures WHERE coll = %s", (self.coll,)
        )
        return {r[0]: dict(zip(FAILURE_FIELDS, r[1:])) for r in rows}

    def put_failure(self, article_id: str, rec: dict[str, Any]) -> None:
        with self.db.transaction() as db:
            db.execute(
                f"INSERT INTO failures (coll, id, {', '.join(FAILURE_FIELDS)}) VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (coll, id) DO UPDATE SET "
                + ", ".join(f"{f} = EXCLUDED.{f}" for f in FAILURE_FIELDS),
                (self.coll, article_id, *(str(rec[f]) for f in FAILURE_FIELDS)),
            )

    def delete_failures(self, ids: Iterable[str]) -> None:
        self._delete_in("failures", ids)

    # ---- state -------------------------------------------------------------------------------------

    def state(self) -> dict[str, str]:
        return {
            str(k): str(v)
            for k, v in self.db.rows("SELECT key, value FROM sync_state WHERE coll = %s", (self.coll,))
        }

    def set_state(self, **changes: str) -> None:
        with self.db.transaction() as db, db.cursor() as cur:
            cur.executemany(
                "INSERT INTO sync_state (coll, key, value) VALUES (%s, %s, %s)"
                " ON CONFLICT (coll, key) DO UPDATE SET value = EXCLUDED.value",
                [(self.coll, k, v) for k, v in changes.items()],
            )

    def clear(self) -> None:
        with self.db.transaction() as db:
            for table in ("articles", "failures", "sync_state"):
                db.execute(f"DELETE FROM {table} WHERE coll = %s", (self.coll,))

    def close(self) -> None:
        """The pool is the database's, closed with it."""
