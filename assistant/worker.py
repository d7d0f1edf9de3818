"""`assistant worker`: an ingest worker of the cluster mode. It takes jobs from PostgreSQL (any number of
workers, on any machines: store/postgres/jobs.py) and does them with the shared stores:

- ``documents``: articles kept in PostgreSQL by a page's upload or fetch (or `assistant enqueue`) are
  parsed like files of those names and added or updated, each under its own lock, so workers write
  different articles at once (Syncer.ingest);
- ``folders``: folders of the worker's own machine are synced whole (the full sync: removals and
  repairs, under the writer's lock).

A worker killed mid-job leaves the job queued for another (its row lock ends with its connection), and
what it had half written is repaired by the next full sync."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.corpus.files import Article, ArticleError, Failure, parse_content
from assistant.providers import ConfigError
from assistant.service import Assistant
from assistant.store import SyncReport
from assistant.store.postgres.jobs import DOCUMENTS, FOLDERS, Job, JobQueue

log = logging.getLogger(__name__)

DOCUMENTS_FOLDER = "documents"  # how a document's articles are named (origin: documents/<name>)


def queue_of(assistant: Assistant) -> JobQueue:
    stores = assistant.index.stores
    if stores.database is None:
        raise ConfigError("jobs need the cluster store mode: set ASSISTANT_STORE__MODE=cluster")
    return JobQueue(stores.database, stores.name)


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


class Worker:
    def __init__(
        self, assistant: Assistant, name: str = "", say: Callable[[str], None] | None = None
    ) -> None:
        self.assistant = assistant
        self.queue = queue_of(assistant)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
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

    def handle(self, job: Job) -> SyncReport:
        if job.kind == DOCUMENTS:
            names = [str(n) for n in job.payload.get("names", [])]
            docs = self.queue.documents(names)
            articles, failed = articles_of(docs, self.assistant)
            report = self.assistant.index.ingest(articles)
            report.failed = [*failed, *report.failed]
            return report
        if job.kind == FOLDERS:
            return self.assistant.sync([Path(p) for p in job.payload.get("paths", [])])
        raise ValueError(f"unknown job kind {job.kind!r}")

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
            stop.wait(poll_s)
        return done


def enqueue_documents(assistant: Assistant, docs: dict[str, str]) -> int:
    """Keeps these texts (name → text) and queues their sync; the job's id."""
    queue = queue_of(assistant)
    queue.put_documents(docs)
    return queue.enqueue(DOCUMENTS, {"names": sorted(docs)})


def enqueue_all(assistant: Assistant, batch: int = 200) -> list[int]:
    """Every kept document queued again (the page's Re-index), ``batch`` documents a job."""
    queue = queue_of(assistant)
    names = queue.document_names()
    return [queue.enqueue(DOCUMENTS, {"names": names[i : i + batch]}) for i in range(0, len(names), batch)]


def job_line(state: Any) -> str:
    """A job's state in words, for the page and the CLI."""
    if state is None:
        return "the job is gone"
    if state.state == "queued":
        return f"queued as job {state.id}: a worker indexes it (`assistant worker`)"
    result = state.result or {}
    if state.state == "failed":
        return f"job {state.id} failed on {state.worker}: {result.get('error', '?')}"
    return f"indexed by worker {state.worker}: " + SyncReport.from_dict(result).summary()
