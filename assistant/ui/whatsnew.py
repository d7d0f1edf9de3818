"""What's new: the latest indexed articles (paged, newest first), the followed feeds with the poller's
line, and everything else an open page refreshes by itself. The article list is read at most once every
MANIFEST_TTL_S for all open pages.
"""

from __future__ import annotations

import time
from typing import Any

from assistant.ui.render import (
    feed_choices,
    feeds_html,
    latest_html,
    newest_first,
    page_span,
    poller_line,
    source_choices,
)
from assistant.ui.state import PageState

LATEST_PER_PAGE = 10
MANIFEST_TTL_S = 5.0  # one read of the article list serves every open page for this long


class WhatsNew(PageState):
    def manifest(self) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
        """The indexed articles (id → metadata) and the same newest first, read at most once every
        MANIFEST_TTL_S for all open pages (and afresh after a sync from this page)."""
        with self._manifest_lock:
            cached = self._manifest
            if cached is None or time.monotonic() - cached[0] > MANIFEST_TTL_S:
                manifest = self.assistant.index.manifest()
                cached = self._manifest = (time.monotonic(), manifest, newest_first(manifest))
            return cached[1], cached[2]

    def latest(self, page: int = 1) -> tuple[str, int, int]:
        """(HTML of that page of the latest articles, the page shown, how many pages)."""
        rows = self.manifest()[1]
        page, pages, _, _ = page_span(len(rows), page, LATEST_PER_PAGE)
        return latest_html(rows, page, LATEST_PER_PAGE), page, pages

    def feeds_view(self) -> tuple[str, list[tuple[str, str]]]:
        """(HTML of the followed feeds with the app poller's line, the choices for removing one)."""
        feeds = self.updater.feeds()
        bg = self.background
        poller = poller_line(self.settings.feeds.interval_minutes, bg.last_poll, bg.next_poll) if bg else ""
        return feeds_html(feeds, poller), feed_choices(feeds)

    def view(self, page: int = 1) -> dict[str, Any]:
        """Everything the page refreshes by itself."""
        latest, page, pages = self.latest(page)
        feeds, choices = self.feeds_view()
        return {
            "latest": latest,
            "page": page,
            "newer": page > 1,
            "older": page < pages,
            "feeds": feeds,
            "feed_choices": choices,
            "sources": source_choices(self.manifest()[0]),
            "status": self.status(),
        }
