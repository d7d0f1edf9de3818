"""The running app's own updates: the folder watcher (when `watch` is on) and the feed poller (every
`feeds.interval_minutes`, starting at once). Both go through the app's Updater, so they never sync at
the same time as each other or as an upload."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from pathlib import Path

from assistant.updates import Updater
from assistant.watch import FolderWatcher

log = logging.getLogger(__name__)


class Background:
    def __init__(self, updater: Updater) -> None:
        self.updater = updater
        self.settings = updater.settings
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._watcher: FolderWatcher | None = None
        self.last_poll = ""  # when the poller last ran, and what it did (one line), for the page
        self.next_poll: datetime | None = None

    def start(self) -> None:
        if self.settings.watch:
            self._watcher = FolderWatcher(self.updater.folders(), self._changed)
            self._threads.append(self._watcher.start())
            log.info("watching %s", ", ".join(str(p) for p in self.updater.folders()))
        if self.settings.feeds.interval_minutes > 0:
            t = threading.Thread(target=self._poll_loop, name="feed-poller", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.stop()
        for t in self._threads:
            t.join(timeout=5)

    def _changed(self, roots: list[Path]) -> None:
        report = self.updater.sync(roots)
        log.info("folder change in %s: %s", ", ".join(str(r) for r in roots), report.summary())
        for f in report.failed:
            log.warning("failed: %s: %s", f.path, f.error)

    def poll_once(self) -> None:
        """One poll of every feed and the sync after it; a problem is logged, never raised."""
        try:
            if not self.updater.feeds():
                return
            result = self.updater.sync_feeds()
            self.last_poll = f"{datetime.now().isoformat(timespec='seconds')}: {result.summary()}"
            log.info("feeds: %s", result.summary())
        except Exception as e:  # noqa: BLE001 - the poller keeps going; the page shows the problem
            log.exception("feed poll failed")
            self.last_poll = (
                f"{datetime.now().isoformat(timespec='seconds')}: failed ({type(e).__name__}: {e})"
            )

    def _poll_loop(self) -> None:
        interval = self.settings.feeds.interval_minutes * 60
        while not self._stop.is_set():
            self.poll_once()
            self.next_poll = datetime.now() + timedelta(seconds=interval)
            self._stop.wait(interval)
