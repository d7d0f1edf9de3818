"""Everything that brings new articles into the index goes through one `Updater`: uploads, fetched
pages, "Re-index", the folder watcher and the feed poller. It holds the one lock, so two syncs never
run at once in a process, and it knows which folders the index is a function of."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

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

    def to_dict(self) -> dict[str, Any]:
        return {**self.poll.to_dict(), "index": (self.index or SyncReport()).to_dict()}

    def summary(self) -> str:
        new = sum(f.new for f in self.poll.feeds)
        updated = sum(f.updated for f in self.poll.feeds)
        failed = sum(len(f.failed) + bool(f.error) for f in self.poll.feeds)
        line = (
            f"{len(self.poll.feeds)} feeds polled: {new} new, {updated} updated articles, {failed} problems"
            f", {self.poll.expired} expired"
        )
        return line + (f"; index: {self.index.summary()}" if self.index else "; index unchanged")


class FeedsUnavailable(RuntimeError):
    """Feeds asked for where they cannot be followed (cluster mode)."""


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
        from assistant.worker import enqueue_all, enqueue_documents, job_line, queue_of

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

    def _no_feeds_in_cluster(self) -> None:
        if self.cluster:
            raise FeedsUnavailable(
                "feeds are not followed in cluster mode yet (their registry is one machine's file): "
                "fetch the articles' pages, upload them, or queue them with `assistant enqueue`"
            )

    def folders(self) -> list[Path]:
        """The folders the index is a function of: corpus_dirs and the upload folder (created)."""
        upload = Path(self.settings.upload_dir)
        upload.mkdir(parents=True, exist_ok=True)
        return list(dict.fromkeys([*self.settings.corpus_dirs, upload]))

    @property
    def poller(self) -> FeedPoller:
        self._no_feeds_in_cluster()
        if self._poller is None:
            self._poller = FeedPoller(FeedRegistry(Path(self.settings.index_dir)), self.settings)
        return self._poller

    def feeds(self) -> list[Feed]:
        return [] if self.cluster else self.poller.registry.feeds()

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
        """Polls the feeds (all, or `only`) and syncs the feed folder into the index when a file changed."""
        # The poll (network, politeness delays) runs outside the sync lock: uploads and the watcher do not
        # wait for it; only writing the index does.
        with self._poll_lock:
            poll = self.poller.poll(only, today)
        with self.lock:
            index = None
            if poll.changed or self._feeds_unsynced:
                # set until a sync succeeds: files a poll wrote are indexed even if that sync failed
                self._feeds_unsynced = True
                index = self._sync([self.poller.articles.folder.parent], progress)
                self._feeds_unsynced = False
        for f in poll.feeds:
            log.info("feed %s: %s", f.url, f.line())
        return FeedsSync(poll, index)
