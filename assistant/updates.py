"""Everything that brings new articles into the index goes through one `Updater`: uploads, fetched
pages, "Re-index", the folder watcher and the feed poller. It holds the one lock, so two syncs never
run at once in a process, and it knows which folders the index is a function of."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from assistant.corpus.feeds.articles import ArticleFolder
from assistant.corpus.feeds.poll import FeedPoller, PollReport
from assistant.corpus.feeds.registry import Feed, FeedRegistry
from assistant.service import Assistant
from assistant.settings import StoreMode
from assistant.store import ProgressFn, SyncReport

log = logging.getLogger(__name__)


@dataclass
class FeedsSync:
    poll: PollReport
    index: SyncReport | None  # None when no article file changed (nothing to sync)
    pending: str = ""  # cluster mode: the poll or its indexing is still queued for a worker (one line)
    jobs: list[int] = field(default_factory=list)  # cluster mode: the documents jobs the poll queued

    def to_dict(self) -> dict[str, Any]:
        d = {**self.poll.to_dict(), "index": (self.index or SyncReport()).to_dict()}
        d |= {"synced": self.index is not None, **({"pending": self.pending} if self.pending else {})}
        return d | ({"jobs": self.jobs} if self.jobs else {})

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeedsSync:
        """As to_dict wrote it (a cluster worker's poll, read back from its job)."""
        index = SyncReport.from_dict(d.get("index") or {}) if d.get("synced") else None
        jobs = [int(j) for j in d.get("jobs", [])]
        return cls(PollReport.from_dict(d), index, str(d.get("pending", "")), jobs)

    def summary(self) -> str:
        new = sum(f.new for f in self.poll.feeds)
        updated = sum(f.updated for f in self.poll.feeds)
        failed = sum(len(f.failed) + bool(f.error) for f in self.poll.feeds)
        line = (
            f"{len(self.poll.feeds)} feeds polled: {new} new, {updated} updated articles, {failed} problems"
            f", {self.poll.expired} expired"
        )
        if self.pending:
            return line + f"; index: {self.pending}"
        return line + (f"; index: {self.index.summary()}" if self.index else "; index unchanged")


class Updater:
    def __init__(self, assistant: Assistant, poller: FeedPoller | None = None) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self.lock = threading.Lock()
        self._poller = poller
        self._feeds_unsynced = False
        self._poll_lock = threading.Lock()

    @property
    def cluster(self) -> bool:
        """Cluster mode: the page queues what it is given for the ingest workers (assistant/worker.py)
        instead of syncing in its own process."""
        return self.settings.store.mode == StoreMode.CLUSTER

    def submit(self, docs: dict[str, str] | None = None, wait_s: float | None = None) -> str:
        """Cluster mode: keeps these texts (name → text) in PostgreSQL, queues their sync (every kept
        document's when docs is None), and waits up to wait_s (ui.job_wait_s) for a worker; one line."""
        from assistant.enqueue import enqueue_all, enqueue_documents, job_line, queue_of

        queue = queue_of(self.assistant)
        if docs is None:
            jobs = enqueue_all(self.assistant)
            if not jobs:
                return "nothing is kept to index: upload articles or fetch a page"
            if len(jobs) > 1:
                return f"{len(jobs)} jobs queued for the workers (`assistant worker`)"
            job = jobs[0]
        else:
            job = enqueue_documents(self.assistant, queue.free_names(docs))
        wait = self.settings.ui.job_wait_s if wait_s is None else wait_s
        state = queue.wait(job, wait) if wait > 0 else queue.state(job)
        return job_line(state)

    def folders(self) -> list[Path]:
        """The folders the index is a function of: corpus_dirs and the upload folder (created)."""
        upload = Path(self.settings.upload_dir)
        upload.mkdir(parents=True, exist_ok=True)
        return list(dict.fromkeys([*self.settings.corpus_dirs, upload]))

    @property
    def poller(self) -> FeedPoller:
        """The feed poller: its feed list and article files under the index and upload folders, or in
        cluster mode its feed list, articles (as documents) and locks in PostgreSQL."""
        if self._poller is None:
            if self.cluster:
                from assistant.store.postgres.feeds import cluster_poller

                database = self.assistant.index.stores.database
                assert database is not None
                self._poller = cluster_poller(self.settings, database)
            else:
                self._poller = FeedPoller(FeedRegistry(Path(self.settings.index_dir)), self.settings)
        return self._poller

    def feeds(self) -> list[Feed]:
        return self.poller.registry.feeds()

    def remove_feed(self, feed: Feed, purge: bool = False) -> tuple[int, SyncReport | None, str]:
        """Stops following the feed (purge: and removes the articles only it gave, from the index too):
        how many articles were removed, the index's report (None when nothing was synced) and, in
        cluster mode, the line of a removal still queued for the workers ("" when none is)."""
        n = self.poller.remove(feed, purge)
        if not n:
            return 0, None, ""
        if not self.cluster:
            return n, self.sync(), ""
        from assistant.enqueue import queue_of, wait_jobs

        queue = queue_of(self.assistant)
        index, pending = wait_jobs(queue, queue.queue_pending(), self.settings.ui.job_wait_s)
        return n, index, pending

    def sync(self, roots: Sequence[Path] | None = None, progress: ProgressFn | None = None) -> SyncReport:
        """Syncs the given roots (default: every folder), waiting for a sync already running."""
        with self.lock:
            return self._sync(roots, progress)

    def _sync(self, roots: Sequence[Path] | None, progress: ProgressFn | None) -> SyncReport:
        folders = self.folders()
        return self.assistant.sync(list(roots) if roots else folders, progress=progress)

    def sync_feeds(
        self,
        only: Sequence[Feed] | None = None,
        progress: ProgressFn | None = None,
        today: date | None = None,
    ) -> FeedsSync:
        """Polls the feeds (all, or `only`) and syncs what they brought into the index. In cluster mode
        the poll is queued for a worker and waited for (ui.job_wait_s)."""
        if self.cluster:
            return self._queue_feeds(only)
        # The poll (network, politeness delays) runs outside the sync lock: uploads and the watcher do not
        # wait for it; only writing the index does.
        with self._poll_lock:
            poll = self.poller.poll(only, today)
        with self.lock:
            index = None
            if poll.changed or self._feeds_unsynced:
                # set until a sync succeeds: files a poll wrote are indexed even if that sync failed
                self._feeds_unsynced = True
                assert isinstance(self.poller.articles, ArticleFolder)
                index = self._sync([self.poller.articles.folder.parent], progress)
                self._feeds_unsynced = False
        for f in poll.feeds:
            log.info("feed %s: %s", f.url, f.line())
        return FeedsSync(poll, index)

    def poll_feeds_here(self, urls: Sequence[str] | None, today: date | None = None) -> FeedsSync:
        """Cluster mode, in a worker: polls the feeds (these URLs, or every one) and queues the sync of
        the documents the poll wrote or removed (and of any an earlier poll, cut off, left owed), all
        under the poll's lock: the poll's report, with those jobs (``jobs``) pending."""
        from assistant.enqueue import queue_of

        queue = queue_of(self.assistant)
        poller = self.poller
        with poller.locks.polling():
            jobs = queue.queue_pending()
            wanted = None if urls is None else set(urls)
            only = None if wanted is None else [f for f in poller.registry.feeds() if f.url in wanted]
            poll = poller.poll_held(only, today)
            jobs += queue.queue_pending()
        for f in poll.feeds:
            log.info("feed %s: %s", f.url, f.line())
        pending = f"queued as job{'s' if len(jobs) > 1 else ''} {', '.join(map(str, jobs))}" if jobs else ""
        return FeedsSync(poll, None, pending, jobs)

    def _queue_feeds(self, only: Sequence[Feed] | None) -> FeedsSync:
        """Queues a poll (of `only`, or of every feed) and waits, up to ui.job_wait_s in all, for it
        and for the indexing of what it brought."""
        import time

        from assistant.enqueue import job_line, queue_of, wait_jobs
        from assistant.store.postgres.jobs import FEEDS, JobFailed

        queue = queue_of(self.assistant)
        deadline = time.monotonic() + self.settings.ui.job_wait_s
        job = queue.enqueue(FEEDS, {"urls": None if only is None else [f.url for f in only]})
        state = queue.wait(job, max(0.0, deadline - time.monotonic()))
        if state is not None and state.state == "failed":
            raise JobFailed(job_line(state))
        if state is None or state.state != "done":
            return FeedsSync(PollReport(), None, job_line(state))
        done = FeedsSync.from_dict(state.result or {})
        if not done.jobs:
            return FeedsSync(done.poll, None)
        index, pending = wait_jobs(queue, done.jobs, max(0.0, deadline - time.monotonic()))
        return FeedsSync(done.poll, index, pending)
