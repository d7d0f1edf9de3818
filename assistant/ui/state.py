"""What every part of the page shares: the assistant and its settings, the updater (the one lock over
uploads, re-index, the folder watcher and the feed poller), the app's background jobs, the fetch rate limit,
why the last sync failed, the cached article list, the index status line and progress for the page.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from assistant.background import Background
from assistant.service import Assistant
from assistant.ui.render import inert, status_markdown
from assistant.updates import Updater

log = logging.getLogger(__name__)


class PageState:
    def __init__(
        self, assistant: Assistant, updater: Updater | None = None, background: Background | None = None
    ) -> None:
        from assistant.ui.guard import RateLimiter

        self.assistant = assistant
        self.settings = assistant.settings
        # the one lock over uploads, re-index, the folder watcher and the feed poller
        self.updater = updater or Updater(assistant)
        self.background = background  # the watcher and the feed poller, when the app runs them
        self.fetch_limiter = RateLimiter(self.settings.ui.fetch_per_minute)  # pages and feeds
        self.sync_problem = ""  # why the last sync (the start-up one included) failed, shown in the status
        self.last_failed: list[Any] = []
        # the article list for "What's new" (whatsnew.py); a sync from this page sets it to None
        self._manifest_lock = threading.Lock()
        self._manifest: tuple[float, dict[str, dict[str, Any]], list[dict[str, Any]]] | None = None

    def status(self) -> str:
        try:
            line = status_markdown(self.assistant.index.stats(), self.assistant.backend_label)
        except Exception as e:  # noqa: BLE001 - a store that is down is shown, not raised
            log.warning("index status unavailable: %s", e)
            return f"⚠ The index is not answering right now ({inert(type(e).__name__)}); questions fail until it is back."
        return f"{line}  \n⚠ {inert(self.sync_problem)}" if self.sync_problem else line

    @staticmethod
    def _progress(progress: Any) -> Callable[[int, int], None]:
        def update(done: int, total: int) -> None:
            if progress is not None and total:
                progress((done, total), desc="Embedding new or changed articles", unit="chunks")

        return update
