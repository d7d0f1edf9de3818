"""`assistant worker`: an ingest worker of the cluster mode. It takes jobs from PostgreSQL (any number of
workers, on any machines: store/postgres/jobs.py) and does them with the shared stores:

- ``documents``: articles kept in PostgreSQL by a page's upload or fetch (or `assistant enqueue`) are
  parsed like files of those names and added or updated, each under its own lock, so workers write
  different articles at once (Syncer.ingest);
- ``folders``: folders of the worker's own machine are synced whole (the full sync: removals and
  repairs, under the writer's lock);
- ``feeds``: the followed feeds (their list in PostgreSQL: store/postgres/feeds.py) polled, their new
  and changed articles kept as documents, and a ``documents`` job queued for them (expired and purged
  articles' documents are deleted and their articles removed by that job). An idle worker queues the
  poll of every feed when it is due (feeds.interval_minutes).

A worker killed mid-job leaves the job queued for another (its row lock ends with its connection), and
what it had half written is repaired by the next full sync."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from assistant.corpus.files import Article, ArticleError, Failure, parse_content
from assistant.enqueue import queue_of
from assistant.service import Assistant
from assistant.store import SyncReport
from assistant.store.postgres.jobs import DOCUMENTS, FEEDS, FOLDERS, Job
from assistant.updates import FeedsSync, Updater

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0  # how often an idle worker forgets the jobs that ended more than a week ago

DOCUMENTS_FOLDER = "documents"  # how a document's articles are named (origin: documents/<name>)


def articles_of(docs: dict[str, str], assistant: Assistant) -> tuple[list[Article], list[Failure]]:
    """The articles of these documents (name → text), parsed as files of those names would be."""
    articles: list[Article] = []
    failed: list[Failure] = []
    limit = assistant.settings.max_file_bytes
    for name, text in docs.items():
        rel = f"{DOCUMENTS_FOLDER}/{name}"
        if len(text.encode("utf-8", "replace")) > limit:
            failed.append(Failure(rel, f"over the limit of {limit:,} bytes (ASSISTANT_MAX_FILE_BYTES)"))
            continue
        for label, item in parse_content(Path(rel), text, rel, assistant.settings.corpus, origin=rel):
            if isinstance(item, ArticleError):
                failed.append(Failure(label, str(item)))
            elif problem := _unstorable(item):
                failed.append(Failure(label, problem))
            else:
                articles.append(item)
    return articles, failed


def _unstorable(a: Article) -> str:
    """Why PostgreSQL cannot keep this article's fields ("" when it can): a NUL character or a lone
    surrogate, which a JSON record's escapes can carry into a field."""
    for field in ("id", "title", "text", "url", "source", "published"):
        value = str(getattr(a, field, ""))
        if "\x00" in value:
            return f"its {field} holds a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"its {field} holds a character that is not valid Unicode text"
    return ""


def _strings(job: Job, key: str) -> list[str]:
    """The payload's list of strings under key (ValueError, failing the job, for any other shape)."""
    value = job.payload.get(key) if isinstance(job.payload, dict) else None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"job {job.id} ({job.kind}): its payload has no list of strings {key!r}")
    return value


class Worker:
    def __init__(
        self, assistant: Assistant, name: str = "", say: Callable[[str], None] | None = None
    ) -> None:
        self.assistant = assistant
        self.queue = queue_of(assistant)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self._pruned_at = -PRUNE_EVERY_S  # at its first idle moment
        self.say = say or (lambda line: log.info("%s", line))  # a line per job begun and ended

    def run_one(self) -> Job | None:
        """Takes and does one job; None when none was queued. A failed job is recorded as failed (with
        its error) and raised."""
        with self.queue.take(self.name) as job:
            if job is None:
                return None
            self.say(f"worker {self.name}: job {job.id} ({job.kind}) begun")
            report = self.handle(job)
            self.queue.finish(job, report.to_dict())
            self.say(f"worker {self.name}: job {job.id} done: {report.summary()}")
        return job

    def handle(self, job: Job) -> SyncReport | FeedsSync:
        """Does one job; a payload of the wrong shape (a job queued by hand) fails it, in one line."""
        if job.kind == DOCUMENTS:
            return sync_documents(self.assistant, _strings(job, "names"))
        if job.kind == FOLDERS:
            return self.assistant.sync([Path(p) for p in _strings(job, "paths")])
        if job.kind == FEEDS:
            every = isinstance(job.payload, dict) and job.payload.get("urls") is None
            return Updater(self.assistant).poll_feeds_here(None if every else _strings(job, "urls"))
        raise ValueError(f"unknown job kind {job.kind!r}")

    def schedule(self) -> None:
        """An idle worker queues the poll of every followed feed when one is due (feeds.interval_minutes;
        whichever worker is idle first, once per interval across the cluster); once an hour it forgets
        the jobs that ended more than a week ago."""
        job = self.queue.schedule_feeds(self.assistant.settings.feeds.interval_minutes * 60)
        if job is not None:
            self.say(f"worker {self.name}: the feeds' poll is due: queued as job {job}")
        if time.monotonic() - self._pruned_at > PRUNE_EVERY_S:
            self.queue.prune()
            self._pruned_at = time.monotonic()

    def run(self, stop: threading.Event, once: bool = False, poll_s: float = 1.0) -> int:
        """Does jobs until stop is set (or, with once, until none is queued); returns how many it did. A
        job that fails is recorded as failed and the worker goes on; when a store is unreachable the
        job stays queued and the worker waits longer and longer (up to a minute) before it tries again
        (with once, it stops and raises)."""
        from assistant.damage import StoreUnavailable
        from assistant.store.types import IndexError_

        done, backoff = 0, poll_s
        while not stop.is_set():
            try:
                job = self.run_one()
                backoff = poll_s
            except (StoreUnavailable, IndexError_) as e:
                if once:
                    raise
                self.say(f"worker {self.name}: a job waits, a store is unreachable: {e}")
                stop.wait(backoff)
                backoff = min(60.0, backoff * 2)
                continue
            except Exception as e:  # noqa: BLE001 - recorded as the job's failure; the worker goes on
                self.say(f"worker {self.name}: a job failed: {e}")
                done += 1
                continue
            if job is not None:
                done += 1
                continue
            if once:
                break
            try:
                self.schedule()
            except (StoreUnavailable, IndexError_) as e:
                self.say(f"worker {self.name}: a store is unreachable: {e}")
            stop.wait(poll_s)
        return done


def sync_documents(assistant: Assistant, names: list[str]) -> SyncReport:
    """These documents synced: those kept are added or updated (each article under its own lock), the
    articles of those no longer kept are removed (a feed's expired or purged article). Each document's
    own lock is held throughout, and the documents are read under it: two jobs of one document (its
    write and its removal) are done one after the other, in the order they took it."""
    from assistant.store.postgres.locks import held_locks

    queue = queue_of(assistant)
    with held_locks(queue.db, [f"{queue.coll}:document:{n}" for n in names]):
        docs = queue.documents(names)
        articles, failed = articles_of(docs, assistant)
        report = assistant.index.ingest(articles)
        report.failed = [*failed, *report.failed]
        gone = [f"{DOCUMENTS_FOLDER}/{n}" for n in names if n not in docs]
        if gone:
            report.removed += assistant.index.withdraw(gone).removed
    return report
