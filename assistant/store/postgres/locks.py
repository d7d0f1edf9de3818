"""The writer's lock in cluster mode: a PostgreSQL session advisory lock held on a connection of its own
for the length of the block. PostgreSQL releases it when the holder's connection ends, however its
process ends (a killed sync does not leave the index locked), on whatever machine it ran."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from assistant.locks import WriterBusy
from assistant.store.postgres.database import Database


@contextmanager
def advisory_lock(
    db: Database, name: str, timeout_s: float | None = None, poll_s: float = 0.2
) -> Iterator[None]:
    """Holds the lock called ``name`` for the block; waits for another holder (for ever, or
    ``timeout_s``, then WriterBusy)."""
    import psycopg

    try:
        conn = psycopg.connect(db.url, autocommit=True, connect_timeout=max(1, int(db.timeout_s)))
    except psycopg.Error as e:
        raise db.unavailable(e) from None
    try:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            row = conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (name,)).fetchone()
            if row and row[0]:
                break
            if deadline is not None and time.monotonic() >= deadline:
                raise WriterBusy(f"another process is writing the index ({db.where}, lock {name!r})")
            time.sleep(poll_s)
        yield
    finally:
        conn.close()  # ends the session, and with it the lock


@contextmanager
def ingest_locks(db: Database, writer: str, article_ids: list[str], prefix: str) -> Iterator[None]:
    """What a worker holds while it writes some articles: the writer's lock shared (a full sync or
    repair, which holds it alone, waits for the workers, and they for it) and each article's own lock
    (two workers write different articles at once; the same article one after the other). Taken in
    one order, so two workers never wait for each other in a circle; released with the connection."""
    import psycopg

    try:
        conn = psycopg.connect(db.url, autocommit=True, connect_timeout=max(1, int(db.timeout_s)))
    except psycopg.Error as e:
        raise db.unavailable(e) from None
    try:
        conn.execute("SELECT pg_advisory_lock_shared(hashtextextended(%s, 0))", (writer,))
        for aid in sorted(set(article_ids)):
            conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (prefix + aid,))
        yield
    except psycopg.OperationalError as e:
        raise db.unavailable(e) from None
    finally:
        conn.close()
