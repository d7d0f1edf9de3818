"""The writer's lock in cluster mode: a PostgreSQL session advisory lock held on a connection of its own
for the length of the block. PostgreSQL releases it when the holder's connection ends, however its
process ends (a killed sync does not leave the index locked), on whatever machine it ran."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from assistant.locks import WriterBusy
from assistant.store.postgres.database import Database


@contextmanager
def advisory_lock(db: Database, name: str, timeout_s: float | None = None) -> Iterator[None]:
    """Holds the lock called ``name`` for the block; waits for another holder (for ever, or
    ``timeout_s``, then WriterBusy)."""
    import psycopg

    conn = db.connect()
    try:
        # a blocking wait queues in PostgreSQL's lock queue: workers asking for the lock shared after
        # this request wait behind it (a full sync is not starved by a stream of ingests)
        if timeout_s is not None:
            conn.execute(f"SET lock_timeout = {max(1, int(timeout_s * 1000))}")
        try:
            conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (name,))
        except psycopg.errors.LockNotAvailable:
            raise WriterBusy(f"another process is writing the index ({db.where}, lock {name!r})") from None
        except psycopg.OperationalError as e:
            raise db.unavailable(e) from None
        yield
    finally:
        conn.close()  # ends the session, and with it the lock


@contextmanager
def ingest_locks(db: Database, writer: str, article_ids: list[str], prefix: str) -> Iterator[None]:
    """What a worker holds while it writes some articles: the writer's lock shared (a full sync or
    repair, which holds it alone, waits for the workers, and they for it) and each article's own lock
    (two workers write different articles at once; the same article one after the other)."""
    with held_locks(db, [prefix + aid for aid in article_ids], shared=writer):
        yield


@contextmanager
def held_locks(db: Database, names: list[str], shared: str = "") -> Iterator[None]:
    """Holds the locks of these names for the block (waiting for other holders), after the lock
    ``shared`` taken shared when one is named; taken in one order so that two holders never wait for
    each other in a circle; released with the connection."""
    import psycopg

    conn = db.connect()
    try:
        if shared:
            conn.execute("SELECT pg_advisory_lock_shared(hashtextextended(%s, 0))", (shared,))
        for name in sorted(set(names)):
            conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (name,))
        yield
    except psycopg.OperationalError as e:
        raise db.unavailable(e) from None
    finally:
        conn.close()
