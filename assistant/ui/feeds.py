"""Following and unfollowing feeds from the page (the "What's new" panel's feed controls): a new feed is
polled at once and what it brought is synced; an unfollowed feed's articles stay indexed. A feed removed
while its add still polls it is not followed, and the add's line says so.
"""

from __future__ import annotations

import logging
from typing import Any

from assistant.ui.inputs import feed_name, feed_url_problem
from assistant.ui.shared import PageContext

log = logging.getLogger(__name__)


class FeedActions:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx

    def add_feed(self, url: Any, name: Any = "", client: str = "", progress: Any = None) -> str:
        """Follows a feed, polls it at once and syncs what it brought: one line for the person. client:
        the caller's address, for the rate limit (shared with fetching a page)."""
        from assistant.corpus.feeds.parse import FeedError
        from assistant.corpus.fetch import FetchError

        url = (url if isinstance(url, str) else "").strip()
        problem = feed_url_problem(url)
        if problem:
            return problem
        name = feed_name(name)
        if client and not self.ctx.fetch_limiter.allow(client):
            return (
                f"Too many fetches from your address (limit {self.ctx.settings.ui.fetch_per_minute} a minute); "
                "wait a little."
            )
        try:
            feed, _, added = self.ctx.updater.poller.add(url, name)
        except (FetchError, FeedError) as e:
            return " ".join(str(e).split())
        except Exception as e:  # noqa: BLE001 - one line, never a traceback; the page keeps serving
            log.exception("adding the feed %s failed", url)
            return f"Could not follow {url[:200]}: {type(e).__name__}: {' '.join(str(e).split())[:200]}"
        head = f"{'Now following' if added else 'Already following'} “{feed.name}”"
        try:
            done = self.ctx.updater.sync_feeds(only=[feed], progress=self.ctx.progress(progress))
        except Exception as e:  # noqa: BLE001
            log.exception("polling the feed %s failed", feed.url)
            self.ctx.status.sync_failed(f"{type(e).__name__}: {str(e)[:200]}")
            return f"{head}, but polling it failed ({type(e).__name__}: {' '.join(str(e).split())[:200]})."
        finally:
            self.ctx.articles.changed()
        if any(f.removed for f in done.poll.feeds) or not self.ctx.updater.poller.registry.follows(feed.url):
            return self._removed_meanwhile(feed.name, done.index)
        line = f"{head}: " + "; ".join(f.line() for f in done.poll.feeds)
        failed = [x for f in done.poll.feeds for x in f.failed]
        if failed:
            line += (
                ". Failed: "
                + "; ".join(failed[:5])
                + (f"; and {len(failed) - 5} more" if len(failed) > 5 else "")
            )
        if done.pending and not done.poll.feeds:  # cluster mode: no worker took the poll in time
            return f"{head}: its first poll is {done.pending}."
        if done.pending:
            line += f". Index: {done.pending}."
        elif done.index is not None:
            self.ctx.status.sync_ok()
            line += f". Index: {done.index.summary()}."
        else:
            line += ". The index is unchanged."
        return line

    def _removed_meanwhile(self, name: str, index: Any) -> str:
        """The add's line when the feed was removed (on this page, another one or the CLI) before its
        poll and sync ended: what the poll wrote before the remove stays, nothing after it was written."""
        line = f"“{name}” was removed while it was being added: it is not followed."
        if index is not None:
            self.ctx.status.sync_ok()
            line += f" Index: {index.summary()}."
        return line

    def remove_feed(self, url: Any) -> str:
        """Stops following a feed (its articles stay indexed): one line for the person. A poll of the
        feed running meanwhile writes nothing for it afterwards (the poller's write lock)."""
        url = (url if isinstance(url, str) else "").strip()
        if not url:
            return "Choose a followed feed to remove."
        try:
            feed = next((f for f in self.ctx.updater.feeds() if f.url == url), None)
            if feed is None:
                return "That feed is not followed."
            self.ctx.updater.poller.remove(feed)
        except Exception as e:  # noqa: BLE001 - one line, never a traceback; the page keeps serving
            log.exception("removing the feed %s failed", url)
            return (
                f"Could not stop following {url[:200]}: {type(e).__name__}: {' '.join(str(e).split())[:200]}"
            )
        return f"Stopped following “{feed.name}”; the articles it brought stay in the index."
