"""Jobs and documents in PostgreSQL, for the cluster mode's ingest workers (assistant/worker.py).

A page (or `assistant enqueue`) keeps an uploaded or fetched article's text as a document and queues a
job; any number of workers, on any machines, take jobs with ``SELECT … FOR UPDATE SKIP LOCKED``. A worker
holds its job's row lock in an open transaction while it works and marks it done in that transaction:
a worker that dies mid-job loses its connection, PostgreSQL rolls the transaction back, and the job is
queued again for another worker (the sync it had begun is safe to redo: store/sync.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from assistant.store.postgres.database import Database

# Job kinds
DOCUMENTS = "documents"  # payload {"names": [...]}: these documents synced (added or changed)
FOLDERS = "folders"  # payload {"paths": [...]}: these folders of the worker's machine synced
FEEDS = "feeds"  # payload {"urls": [...] or None}: these followed feeds (every one) polled, and synced
KINDS = (DOCUMENTS, FOLDERS, FEEDS)


class JobFailed(RuntimeError):
    """A job waited for failed (its worker's line)."""


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    payload: Any  # a JSON object, as queued (the worker checks it)


@dataclass(frozen=True)
class JobState:
    id: int
    kind: str
    state: str  # queued, done, failed
    worker: str
    result: dict[str, Any] | None


class JobQueue:
    def __init__(self, db: Database, collection: str) -> None:
        self.db = db
        self.coll = collection
        self._results: dict[int, dict[str, Any]] = {}

    # ---- documents -------------------------------------------------------------------------------

    def put_documents(self, docs: dict[str, str], pending: bool = False) -> None:
        """Keeps these texts (name → text), replacing a document of the same name. A text PostgreSQL
        cannot hold (NUL characters: a binary file) is refused before anything is kept. pending: their
        sync is owed (queued later by ``queue_pending``), in the same transaction."""
        if not docs:
            return
        for name, text in docs.items():
            if "\x00" in text or "\x00" in name:
                raise ValueError(f"{name}: binary file (contains NUL bytes), not a text article")
        with self.db.transaction() as db, db.cursor() as cur:
            cur.executemany(
                "INSERT INTO documents (coll, name, text) VALUES (%s, %s, %s)"
                " ON CONFLICT (coll, name) DO UPDATE SET text = EXCLUDED.text, added = now()",
                [(self.coll, n, t) for n, t in docs.items()],
            )
            if pending:
                self._owe(cur, list(docs))

    def documents(self, names: list[str] | None = None) -> dict[str, str]:
        """name → text of these documents (every document when names is None)."""
        if names is None:
            rows = self.db.rows(
                "SELECT name, text FROM documents WHERE coll = %s ORDER BY name", (self.coll,)
            )
        else:
            rows = self.db.rows(
                "SELECT name, text FROM documents WHERE coll = %s AND name = ANY(%s) ORDER BY name",
                (self.coll, names),
            )
        return {str(n): str(t) for n, t in rows}

    def document_names(self) -> list[str]:
        rows = self.db.rows("SELECT name FROM documents WHERE coll = %s ORDER BY name", (self.coll,))
        return [str(r[0]) for r in rows]

    def free_names(self, docs: dict[str, str]) -> dict[str, str]:
        """These documents under names no other text holds: a name kept with other text gets ``-1``,
        ``-2``… before its suffix (as an upload of another file of the same name gets in a folder);
        the same text again keeps its name."""
        out: dict[str, str] = {}
        for name, text in docs.items():
            stem, dot, suffix = name.rpartition(".")
            stem, suffix = (stem, dot + suffix) if dot and "/" not in suffix else (name, "")
            candidate, n = name, 0
            while True:
                held = self.documents([candidate]).get(candidate)
                if (held is None or held == text) and candidate not in out:
                    break
                n += 1
                candidate = f"{stem}-{n}{suffix}"
            out[candidate] = text
        return out

    def delete_documents(self, names: list[str], pending: bool = False) -> None:
        """pending: the removal of their articles is owed (``queue_pending``), in the same transaction."""
        with self.db.transaction() as db, db.cursor() as cur:
            cur.execute("DELETE FROM documents WHERE coll = %s AND name = ANY(%s)", (self.coll, names))
            if pending:
                self._owe(cur, names)

    def _owe(self, cur: Any, names: list[str]) -> None:
        cur.executemany(
            "INSERT INTO pending_documents (coll, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            [(self.coll, n) for n in names],
        )

    def queue_pending(self, batch: int = 25) -> list[int]:
        """Queues the sync of every document whose sync is owed, ``batch`` a job (several workers embed
        one poll's articles side by side), in the transaction that clears them: each is queued once,
        by whichever process comes first; a process cut off before the end leaves them owed."""
        with self.db.transaction() as db:
            names = sorted(
                str(r[0])
                for r in db.execute(
                    "DELETE FROM pending_documents WHERE coll = %s RETURNING name", (self.coll,)
                ).fetchall()
            )
            jobs = []
            for i in range(0, len(names), batch):
                row = db.execute(
                    "INSERT INTO jobs (coll, kind, payload) VALUES (%s, %s, %s) RETURNING id",
                    (self.coll, DOCUMENTS, json.dumps({"names": names[i : i + batch]})),
                ).fetchone()
                jobs.append(int(row[0]))
        return jobs

    # ---- jobs ------------------------------------------------------------------------------------

    def enqueue(self, kind: str, payload: dict[str, Any]) -> int:
        if kind not in KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        rows = self.db.rows(
            "INSERT INTO jobs (coll, kind, payload) VALUES (%s, %s, %s) RETURNING id",
            (self.coll, kind, json.dumps(payload)),
        )
        return int(rows[0][0])

    def schedule_feeds(self, interval_s: float) -> int | None:
        """Queues a poll of every followed feed when one is due: feeds are followed, no poll of them all
        is queued, and none finished in the last interval_s. One process decides at a time (a
        transaction's advisory lock), so any number of idle workers queue one poll. The job's id, or
        None when none was due."""
        if interval_s <= 0:
            return None
        with self.db.transaction() as db:
            got = db.execute(
                "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", (f"{self.coll}:feeds-due",)
            ).fetchone()
            if not got or not got[0]:
                return None  # another worker is deciding
            row = db.execute(
                "INSERT INTO jobs (coll, kind, payload) SELECT %s, %s, %s::jsonb"
                " WHERE EXISTS (SELECT 1 FROM feeds WHERE coll = %s)"
                " AND NOT EXISTS (SELECT 1 FROM jobs WHERE coll = %s AND kind = %s AND payload = %s::jsonb"
                " AND (state = 'queued' OR finished > now() - make_interval(secs => %s))) RETURNING id",
                (
                    self.coll,
                    FEEDS,
                    json.dumps({"urls": None}),
                    self.coll,
                    self.coll,
                    FEEDS,
                    json.dumps({"urls": None}),
                    float(interval_s),
                ),
            ).fetchone()
        return int(row[0]) if row else None

    def prune(self, keep_days: float = 7.0) -> int:
        """Forgets jobs that ended more than keep_days ago (their results were waited for long since);
        how many. An idle worker calls it, so the table does not grow for ever."""
        with self.db.transaction() as db:
            cur = db.execute(
                "DELETE FROM jobs WHERE coll = %s AND state <> 'queued'"
                " AND finished < now() - make_interval(days => %s)",
                (self.coll, int(keep_days)),
            )
            return int(cur.rowcount or 0)

    @contextmanager
    def take(self, worker: str) -> Iterator[Job | None]:
        """The oldest queued job no other worker holds (None when there is none), locked for the block
        on a connection of its own; marked done, or failed with the article's or the job's error, when
        the block ends. When the block fails because a store is unreachable (StoreUnavailable,
        IndexError_), the job is left queued for a later try, by this worker or another. The job's
        result is what the block sets with ``finish``."""
        import psycopg

        from assistant.damage import StoreUnavailable
        from assistant.store.types import IndexError_

        conn = self.db.connect()
        error: Exception | None = None
        try:
            with conn.transaction():
                row = conn.execute(
                    "SELECT id, kind, payload FROM jobs WHERE coll = %s AND state = 'queued'"
                    " ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1",
                    (self.coll,),
                ).fetchone()
                if row is None:
                    yield None
                    return
                job = Job(int(row[0]), str(row[1]), row[2])
                self._results[job.id] = {}
                try:
                    yield job
                except (StoreUnavailable, IndexError_):
                    raise  # the transaction rolls back: the job stays queued
                except Exception as e:  # noqa: BLE001 - recorded as the job's failure, raised below
                    error = e
                result = self._results.pop(job.id, {})
                if error is not None:
                    result = {**result, "error": f"{type(error).__name__}: {error}"[:500]}
                conn.execute(
                    "UPDATE jobs SET state = %s, finished = clock_timestamp(), worker = %s, result = %s WHERE id = %s",
                    ("failed" if error else "done", worker, json.dumps(result), job.id),
                )
        except psycopg.OperationalError as e:
            raise self.db.unavailable(e) from None
        finally:
            conn.close()
        if error is not None:
            raise error

    def finish(self, job: Job, result: dict[str, Any]) -> None:
        self._results[job.id] = result

    def state(self, job_id: int) -> JobState | None:
        rows = self.db.rows(
            "SELECT id, kind, state, worker, result FROM jobs WHERE coll = %s AND id = %s",
            (self.coll, job_id),
        )
        if not rows:
            return None
        r = rows[0]
        return JobState(int(r[0]), str(r[1]), str(r[2]), str(r[3]), r[4])

    def wait(self, job_id: int, timeout_s: float, poll_s: float = 0.3) -> JobState | None:
        """The job's state once it is done or failed, or as it is after timeout_s."""
        deadline = time.monotonic() + timeout_s
        while True:
            st = self.state(job_id)
            if st is None or st.state != "queued" or time.monotonic() >= deadline:
                return st
            time.sleep(poll_s)

    def counts(self) -> dict[str, int]:
        rows = self.db.rows("SELECT state, COUNT(*) FROM jobs WHERE coll = %s GROUP BY state", (self.coll,))
        return {str(s): int(n) for s, n in rows}
