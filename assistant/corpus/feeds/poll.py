"""Reading followed feeds: each feed fetched with a conditional GET, each new or updated entry's page
fetched (politely) and written as an article file. One problem with a feed or an entry is one line in
the result; nothing already written is touched by it. A feed removed while it is polled gets nothing more
written for it (see `FeedPoller._recording`)."""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from assistant.corpus.feeds.articles import ArticleFile, ArticleFolder, ArticleSink, text_hash
from assistant.corpus.feeds.extract import extract_page
from assistant.corpus.feeds.parse import FEED_TYPES, Entry, FeedError, ParsedFeed, parse_feed, plain_text
from assistant.corpus.feeds.polite import ROBOTS_UNREADABLE, HostPacer, Robots
from assistant.corpus.feeds.registry import Feed, FeedList, FeedRegistry, Item, StoredArticle
from assistant.corpus.feeds.urls import canonical_url
from assistant.corpus.fetch import PAGE_TYPES, FetchError, fetch
from assistant.corpus.files import ArticleError, one_line
from assistant.locks import writer_lock
from assistant.settings import Settings
from assistant.textutil import plural

log = logging.getLogger(__name__)

# Feeds on different hosts polled side by side (the per-host delay holds across threads).
POLL_THREADS = 4
# How often a writer waiting for the feeds' write lock tries again: it is held for one article at a time.
WRITE_LOCK_RETRY_S = 0.02


class FeedRemoved(Exception):
    """The feed stopped being followed while it was polled: nothing more is written for it."""


@dataclass
class FeedResult:
    url: str
    name: str
    ok: bool = True
    not_modified: bool = False
    entries: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    skipped_old: int = 0
    failed: list[str] = field(default_factory=list)  # one line per entry: "“title”: reason"
    error: str = ""  # the feed itself could not be read
    warning: str = ""
    pages_fetched: int = 0
    written: list[Path] = field(default_factory=list)
    removed: bool = False  # unfollowed before or during this poll: what came after was not written

    def line(self) -> str:
        if self.removed:
            return "stopped following it during this poll: nothing more was written for it"
        if self.error:
            return self.error
        if self.not_modified:
            return "not modified since the last poll"
        parts = [
            f"{plural(self.entries, 'entry')}: {self.new} new, {self.updated} updated, {self.unchanged} unchanged"
        ]
        if self.duplicates:
            parts.append(f"{self.duplicates} already stored")
        if self.skipped_old:
            parts.append(f"{self.skipped_old} older than the retention")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return ", ".join(parts) + (f" ({self.warning})" if self.warning else "")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["written"] = len(self.written)
        d["files"] = [str(p) for p in self.written]
        return {**d, "result": self.line()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeedResult:
        """A result as to_dict wrote it (a cluster worker's poll, read back from its job)."""
        skip = {"written", "failed"}
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__ and k not in skip}
        failed = [str(x) for x in d.get("failed", [])]
        return cls(**known, failed=failed, written=[Path(str(p)) for p in d.get("files", [])])


@dataclass
class PollReport:
    feeds: list[FeedResult] = field(default_factory=list)
    expired: int = 0  # article files removed by the retention setting

    @property
    def pages_fetched(self) -> int:
        return sum(f.pages_fetched for f in self.feeds)

    @property
    def written(self) -> list[Path]:
        return [p for f in self.feeds for p in f.written]

    @property
    def changed(self) -> bool:
        return bool(self.written or self.expired)

    def to_dict(self) -> dict[str, Any]:
        return {
            "feeds": [f.to_dict() for f in self.feeds],
            "expired": self.expired,
            "pages_fetched": self.pages_fetched,
            "articles_written": len(self.written),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PollReport:
        return cls([FeedResult.from_dict(f) for f in d.get("feeds", [])], int(d.get("expired", 0)))


class FileFeedLocks:
    """The poller's locks as files beside the feed list (one machine): one poll at a time across
    processes (the app's poller, `assistant feeds sync`), and one entry's write at a time (held by
    `remove` too); this process's threads take turns on a thread lock before the file lock."""

    def __init__(self, folder: Path) -> None:
        self.poll_path = folder / ".feeds.lock"
        self.write_path = folder / ".feeds-write.lock"
        self._write_lock = threading.Lock()

    def polling(self) -> AbstractContextManager[None]:
        return writer_lock(self.poll_path)

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._write_lock, writer_lock(self.write_path, poll_s=WRITE_LOCK_RETRY_S):
            yield


class FeedLocks(Protocol):
    """The poll's lock (held for a whole poll) and the write lock (held for one entry's write, and by
    `remove`): files on one machine (FileFeedLocks), PostgreSQL's advisory locks in cluster mode."""

    def polling(self) -> AbstractContextManager[None]: ...

    def writing(self) -> AbstractContextManager[None]: ...


class FeedPoller:
    def __init__(
        self,
        registry: FeedList,
        settings: Settings,
        *,
        pacer: HostPacer | None = None,
        ssl_context: ssl.SSLContext | None = None,
        articles: ArticleSink | None = None,
        locks: FeedLocks | None = None,
    ) -> None:
        """Defaults (one machine): article files under upload_dir, locks beside the registry's file;
        cluster mode passes documents and locks in PostgreSQL (store/postgres/feeds.py)."""
        self.registry = registry
        self.settings = settings
        self.cfg = settings.feeds
        self.pacer = pacer or HostPacer(self.cfg.host_delay_s)
        self.robots = Robots(settings.fetch, self.pacer, ssl_context=ssl_context)
        self.ssl_context = ssl_context
        if articles is None or locks is None:  # one machine's: beside the registry's file
            if not isinstance(registry, FeedRegistry):
                raise TypeError("articles and locks are given with a feed list other than the file")
            articles = articles or ArticleFolder(Path(settings.upload_dir) / self.cfg.folder, registry)
            locks = locks or FileFeedLocks(registry.path.parent)
        self.articles: ArticleSink = articles
        self.locks: FeedLocks = locks
        self._url_locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    # ---- the feed list -------------------------------------------------------------------------------

    def add(self, url: str, name: str = "") -> tuple[Feed, ParsedFeed, bool]:
        """Checks that url is a feed (fetches and parses it) and follows it. (feed, what it holds, new?).
        Raises FetchError or FeedError (with the URL in the message)."""
        url = url.strip()
        try:
            url = canonical_url(url)
        except ValueError:
            raise FeedError(f"{one_line(url, 200)}: not an http(s) address") from None
        name = plain_text(name, 200)
        got = fetch(url, self.settings.fetch, FEED_TYPES, kind="feed", ssl_context=self.ssl_context)
        try:
            parsed = parse_feed(got.content, got.url, self.cfg.max_entries, got.content_type)
        except FeedError as e:
            raise FeedError(f"{one_line(url, 200)}: {e}") from None
        added = self.registry.add(url, name or parsed.title or urlsplit(url).hostname or url, bool(name))
        feed = self.registry.feed(url)
        assert feed is not None
        return feed, parsed, added

    def remove(self, feed: Feed, purge: bool = False) -> int:
        """Stops following the feed; purge: also removes the articles only it gave. Returns how many.
        Under the write lock, so a poll of the feed already running (in this process or another) writes
        nothing for it once this returns: the purge holds."""
        with self._writing():
            n = self.articles.purge(feed.url) if purge else 0
            self.registry.remove(feed.url)
        return n

    def _writing(self) -> AbstractContextManager[None]:
        return self.locks.writing()

    @contextmanager
    def _recording(self, feed: Feed) -> Iterator[None]:
        """Holds the write lock while what one entry gave (an article file, its rows) is written, and
        raises FeedRemoved when the feed is no longer followed. The poll's own lock cannot serve: it is
        held for the whole poll (network, delays), which a remove must not wait for."""
        with self._writing():
            if not self.registry.follows(feed.url):
                raise FeedRemoved(feed.url)
            yield

    def _record_item(self, feed: Feed, key: str, stamp: str, **outcome: Any) -> None:
        with self._recording(feed):
            self.registry.record_item(feed.url, key, stamp, **outcome)

    # ---- polling ---------------------------------------------------------------------------------------

    def poll(self, only: Sequence[Feed] | None = None, today: date | None = None) -> PollReport:
        """Polls the feeds (all, or `only`): feeds on different hosts side by side (POLL_THREADS), the
        feeds of one host one after the other."""
        with self.locks.polling():
            return self.poll_held(only, today)

    def poll_held(self, only: Sequence[Feed] | None = None, today: date | None = None) -> PollReport:
        """poll, by a caller that holds the poll's lock (``locks.polling()``)."""
        self.robots.forget_failures()  # a robots.txt that could not be read is read again each poll
        feeds = list(only if only is not None else self.registry.feeds())
        day_ = today or date.today()
        by_host: dict[str, list[int]] = {}
        for i, feed in enumerate(feeds):
            by_host.setdefault((urlsplit(feed.url).hostname or "").lower(), []).append(i)
        results: list[FeedResult | None] = [None] * len(feeds)

        def run(group: list[int]) -> None:
            for i in group:
                results[i] = self._poll_guarded(feeds[i], day_)

        groups = list(by_host.values())
        if len(groups) <= 1:
            for group in groups:
                run(group)
        else:
            with ThreadPoolExecutor(min(POLL_THREADS, len(groups)), thread_name_prefix="feed-poll") as pool:
                list(pool.map(run, groups))
        report = PollReport([r for r in results if r is not None])
        report.expired = self.articles.expire(self.cfg.retention_days, day_)
        return report

    def _poll_guarded(self, feed: Feed, today: date) -> FeedResult:
        try:
            return self._poll_feed(feed, today)
        except Exception as e:  # noqa: BLE001 - one feed's surprise is that feed's failure
            log.exception("feed %s", feed.url)
            error = f"{one_line(feed.url, 200)}: {type(e).__name__}: {one_line(str(e), 200)}"
            try:
                self.registry.polled(feed.url, False, error, None, None)
            except Exception:  # noqa: BLE001 - the result line still says what happened
                log.exception("recording the poll of %s", feed.url)
            return FeedResult(feed.url, feed.name, ok=False, error=error)

    def _poll_feed(self, feed: Feed, today: date) -> FeedResult:
        result = FeedResult(feed.url, feed.name)
        if not self.registry.follows(feed.url):  # removed while this poll waited for another one
            result.removed = True
            return result
        # A feed is read once per poll (per interval): only the article pages it leads to, which come in
        # bursts, are spaced by the per-host delay.
        try:
            got = fetch(
                feed.url,
                self.settings.fetch,
                FEED_TYPES,
                kind="feed",
                ssl_context=self.ssl_context,
                etag=feed.etag,
                last_modified=feed.last_modified,
            )
            if got.not_modified:
                result.not_modified = True
                self.registry.polled(feed.url, True, result.line(), None, None)
                return result
            parsed = parse_feed(got.content, got.url, self.cfg.max_entries, got.content_type)
        except (FetchError, FeedError) as e:
            result.ok = False
            result.error = str(e) if isinstance(e, FetchError) else f"{one_line(feed.url, 200)}: {e}"
            self.registry.polled(feed.url, False, result.line(), None, None)
            return result
        if parsed.title:
            self.registry.rename_default(feed.url, parsed.title)
        result.warning = parsed.warning
        result.entries = len(parsed.entries)
        retry_later = False
        for entry in parsed.entries:
            try:
                retry_later |= self._entry(feed, entry, result, today)
            except FeedRemoved:
                result.removed = True
                return result
            except Exception as e:  # noqa: BLE001 - one entry's surprise is that entry's failure
                log.exception("feed %s, entry %s", feed.url, entry.key)
                retry_later = True  # not recorded: the feed is read again at the next poll
                result.failed.append(
                    f"{one_line(entry.title or entry.key, 120)}: {type(e).__name__}: {one_line(str(e), 200)}"
                )
        # After a passing problem with an entry, the next poll must read the feed again (no 304).
        etag, modified = ("", "") if retry_later else (got.etag, got.last_modified)
        self.registry.polled(feed.url, True, result.line(), etag, modified)
        return result

    def _entry(self, feed: Feed, entry: Entry, result: FeedResult, today: date) -> bool:
        """Handles one entry; True when it failed with a problem worth retrying at the next poll."""
        label = f"“{one_line(entry.title, 120)}”" if entry.title else one_line(entry.link or entry.key, 200)
        old = self.registry.item(feed.url, entry.key)
        settled = old is not None and (not old.error or not old.retry or old.attempts > self.cfg.retries)
        if old is not None and old.stamp == entry.stamp and settled:
            result.unchanged += 1
            return False

        def failed(reason: str, retry: bool = False) -> bool:
            self._record_item(feed, entry.key, entry.stamp, error=reason, retry=retry)
            result.failed.append(f"{label}: {reason}")
            return retry

        if not entry.link:
            return failed("the entry has no link to an article")
        try:
            url = canonical_url(entry.link)
        except ValueError:
            return failed("the entry's link is not an http(s) address")
        if len(url) > self.settings.corpus.max_meta_chars:
            return failed(f"the link is longer than {self.settings.corpus.max_meta_chars} characters")
        cutoff = today - timedelta(days=self.cfg.retention_days)
        if self.cfg.retention_days and entry.published and entry.published < cutoff.isoformat():
            self._record_item(feed, entry.key, entry.stamp)
            result.skipped_old += 1
            return False
        with self._url_lock(url):  # two feeds (threads) with one article: fetched and written once
            return self._article(feed, entry, url, old, result, label, failed)

    def _url_lock(self, url: str) -> threading.Lock:
        with self._locks_lock:
            return self._url_locks.setdefault(url, threading.Lock())

    def _article(
        self,
        feed: Feed,
        entry: Entry,
        url: str,
        old: Item | None,
        result: FeedResult,
        label: str,
        failed: Callable[..., bool],
    ) -> bool:
        stored = self.registry.article(url)
        if stored is not None and (old is None or old.article != url):
            self._record_item(feed, entry.key, entry.stamp, article=url)
            result.duplicates += 1  # the same article through another feed or entry: stored once
            return False
        allowed, why = self.robots.check(url)
        if not allowed:
            if why.startswith(ROBOTS_UNREADABLE):  # not the entry's fault: tried again at the next poll,
                result.failed.append(f"{label}: {why}")  # without counting against its retries
                return True
            return failed(why)
        self.pacer.wait(url)
        try:
            page = fetch(url, self.settings.fetch, PAGE_TYPES, ssl_context=self.ssl_context)
        except FetchError as e:
            return failed(e.reason, retry=e.transient)
        finally:
            result.pages_fetched += 1
        art = extract_page(page)
        if art is None or len(art.text) < self.cfg.min_text_chars:
            return failed("no article text found on the page")
        limit = self.settings.corpus.max_text_chars
        if len(art.text) > limit:
            return failed(f"the article text is over {limit:,} characters")
        published = entry.published or art.published
        if not published:
            return failed("no publication date in the feed entry or on the page")
        digest = text_hash(art.text)
        twin = self.registry.article_with_text(digest)
        if twin is not None and twin.url != url:
            self._record_item(feed, entry.key, entry.stamp, article=twin.url)
            result.duplicates += 1  # the same text under another address: stored once
            return False
        # the feed's name (the one given when following it, or the feed's own title): what people know it by
        source = feed.name or art.site_name or urlsplit(url).hostname or ""
        file = ArticleFile(
            url,
            plain_text(entry.title or art.title, 500) or url,
            plain_text(source, 200),
            plain_text(entry.author or art.author, 200),
            published,
            plain_text(feed.name, 200),
            art.text,
        )
        path = self.articles.path_of(url)
        row = StoredArticle(url, path.name, digest, file.title, file.source, published, feed.url)
        try:
            with self._recording(feed):  # the file and its rows, or nothing once the feed is removed
                written = self.articles.write(file, self.settings.corpus)
                self.registry.save_article(row)
                self.registry.record_item(feed.url, entry.key, entry.stamp, article=url)
        except ArticleError as e:  # what the index would refuse is not written
            return failed(str(e))
        if written:
            result.written.append(path)
        if old is not None and old.article == url:
            result.updated += 1
        else:
            result.new += 1
        return False
