"""The feed list and what was read from each feed, in one SQLite file under the index folder
(``feeds.sqlite3``): the followed feeds with their validators and last poll, every entry seen (so that an
entry seen again is not fetched again), and every article written (so that one article reached through
two feeds, or one text under two addresses, is stored once)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.sqlitedb import SQLiteFile

FILE_NAME = "feeds.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    named INTEGER NOT NULL DEFAULT 0,         -- 1: the name was given, else the feed's own title
    added TEXT NOT NULL,
    etag TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '',
    polled_at TEXT NOT NULL DEFAULT '',
    ok INTEGER NOT NULL DEFAULT 1,
    result TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS items (
    feed TEXT NOT NULL,
    key TEXT NOT NULL,                         -- the entry's id, else its link, else its title
    stamp TEXT NOT NULL,                       -- hash of what the entry says; a change means an update
    article TEXT NOT NULL DEFAULT '',          -- canonical URL of the article it gave, '' if none
    error TEXT NOT NULL DEFAULT '',
    retry INTEGER NOT NULL DEFAULT 0,          -- 1: the error may pass (server error, timeout)
    attempts INTEGER NOT NULL DEFAULT 0,
    seen TEXT NOT NULL,
    PRIMARY KEY (feed, key)
);
CREATE TABLE IF NOT EXISTS articles (
    url TEXT PRIMARY KEY,                      -- canonical
    file TEXT NOT NULL,                        -- the article file's name in the feeds folder
    text_hash TEXT NOT NULL,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    published TEXT NOT NULL,
    feed TEXT NOT NULL,
    fetched TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_by_text ON articles (text_hash);
"""


class AmbiguousName(ValueError):
    pass


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Feed:
    url: str
    name: str
    added: str
    etag: str = ""
    last_modified: str = ""
    polled_at: str = ""  # "" before the first poll
    ok: bool = True
    result: str = ""  # the last poll's result, one line

    def to_dict(self) -> dict[str, object]:
        return {
            "url": self.url,
            "name": self.name,
            "added": self.added,
            "polled_at": self.polled_at,
            "ok": self.ok,
            "result": self.result,
        }

    # the columns a feed list reads a feed from, in this order (the file's and PostgreSQL's)
    COLUMNS = "url, name, added, etag, last_modified, polled_at, ok, result"

    @classmethod
    def of_row(cls, r: Sequence[Any]) -> Feed:
        return cls(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7])


@dataclass(frozen=True)
class Item:
    stamp: str
    article: str
    error: str
    retry: bool
    attempts: int

    COLUMNS = "stamp, article, error, retry, attempts"  # as Feed.COLUMNS

    @classmethod
    def of_row(cls, r: Sequence[Any]) -> Item:
        return cls(r[0], r[1], r[2], bool(r[3]), r[4])

    @staticmethod
    def attempts_after(old: Sequence[Any] | None, stamp: str, error: str) -> int:
        """An entry's failed attempts once this outcome is recorded: one more when it failed again with
        the same stamp (old: its (stamp, attempts) as recorded, or None), 1 for a first failure, 0 when
        it did not fail."""
        if not error:
            return 0
        return old[1] + 1 if old and old[0] == stamp else 1


@dataclass(frozen=True)
class StoredArticle:
    url: str
    file: str
    text_hash: str
    title: str
    source: str
    published: str
    feed: str


class FeedList(ABC):
    """What the poller, the page and the CLI need of a feed list: this file (FeedRegistry) on one
    machine, PostgreSQL in cluster mode (store/postgres/feeds.py). Times are stored as ISO text."""

    @abstractmethod
    def feeds(self) -> list[Feed]: ...

    def feed(self, url_or_name: str) -> Feed | None:
        """The feed at that URL (as followed, or as typed when it was added), or the one feed of that
        name. Raises AmbiguousName when several feeds have that name."""
        from assistant.corpus.feeds.urls import canonical_url

        given = url_or_name.strip()
        try:
            canonical = canonical_url(given)
        except ValueError:
            canonical = given
        feeds = self.feeds()
        for f in feeds:
            if f.url in (given, canonical):
                return f
        named = [f for f in feeds if f.name.casefold() == given.casefold()]
        if len(named) > 1:
            raise AmbiguousName(f"{len(named)} followed feeds are named {given[:200]!r}: give the address")
        return named[0] if named else None

    @abstractmethod
    def follows(self, url: str) -> bool:
        """True while the feed at exactly this (canonical) URL is followed."""

    @abstractmethod
    def add(self, url: str, name: str, named: bool) -> bool:
        """False when the feed is already followed (its name is then updated if one was given)."""

    @abstractmethod
    def remove(self, url: str) -> None: ...

    @abstractmethod
    def polled(self, url: str, ok: bool, result: str, etag: str | None, last_modified: str | None) -> None:
        """Records a poll; validators are kept as they were when None (a failed poll)."""

    @abstractmethod
    def rename_default(self, url: str, title: str) -> None:
        """A feed added without a name takes its own title."""

    @abstractmethod
    def item(self, feed: str, key: str) -> Item | None: ...

    @abstractmethod
    def record_item(
        self, feed: str, key: str, stamp: str, article: str = "", error: str = "", retry: bool = False
    ) -> None:
        """An entry's outcome; its attempts count the failures of one stamp in a row."""

    @abstractmethod
    def article(self, url: str) -> StoredArticle | None: ...

    @abstractmethod
    def article_with_text(self, text_hash: str) -> StoredArticle | None: ...

    @abstractmethod
    def save_article(self, a: StoredArticle) -> None: ...

    @abstractmethod
    def articles(self) -> list[StoredArticle]:
        """Newest first."""

    @abstractmethod
    def forget_article(self, url: str) -> None:
        """The article's row goes; the entries that gave it stay, so it is not fetched again."""

    @abstractmethod
    def articles_only_from(self, feed_url: str) -> list[StoredArticle]:
        """The stored articles that no entry of another feed gave."""


class FeedRegistry(SQLiteFile, FeedList):
    """The app's poller and its page share one registry; a CLI in another process can read the feed list
    while the app polls (WAL)."""

    store_name = "feed registry"

    def __init__(self, index_dir: Path) -> None:
        super().__init__(index_dir / FILE_NAME, _SCHEMA, busy_timeout_s=30.0)

    # ---- feeds -------------------------------------------------------------------------------------

    def feeds(self) -> list[Feed]:
        rows = self._rows(f"SELECT {Feed.COLUMNS} FROM feeds ORDER BY added, url")
        return [Feed.of_row(r) for r in rows]

    def follows(self, url: str) -> bool:
        """True while the feed at exactly this (canonical) URL is followed."""
        return bool(self._rows("SELECT 1 FROM feeds WHERE url = ?", (url,)))

    def add(self, url: str, name: str, named: bool) -> bool:
        """False when the feed is already followed (its name is then updated if one was given)."""
        with self._tx() as db:
            row = db.execute("SELECT 1 FROM feeds WHERE url = ?", (url,)).fetchone()
            if row is not None:
                if named:
                    db.execute("UPDATE feeds SET name = ?, named = 1 WHERE url = ?", (name, url))
                return False
            db.execute(
                "INSERT INTO feeds (url, name, named, added) VALUES (?, ?, ?, ?)",
                (url, name, int(named), now()),
            )
            return True

    def remove(self, url: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM feeds WHERE url = ?", (url,))
            db.execute("DELETE FROM items WHERE feed = ?", (url,))

    def polled(self, url: str, ok: bool, result: str, etag: str | None, last_modified: str | None) -> None:
        """Records a poll; validators are kept as they were when None (a failed poll)."""
        with self._tx() as db:
            db.execute(
                "UPDATE feeds SET polled_at = ?, ok = ?, result = ? WHERE url = ?",
                (now(), int(ok), result, url),
            )
            if etag is not None and last_modified is not None:
                db.execute(
                    "UPDATE feeds SET etag = ?, last_modified = ? WHERE url = ?", (etag, last_modified, url)
                )

    def rename_default(self, url: str, title: str) -> None:
        """A feed added without a name takes its own title."""
        with self._tx() as db:
            db.execute("UPDATE feeds SET name = ? WHERE url = ? AND named = 0", (title, url))

    # ---- entries -----------------------------------------------------------------------------------

    def item(self, feed: str, key: str) -> Item | None:
        rows = self._rows(f"SELECT {Item.COLUMNS} FROM items WHERE feed = ? AND key = ?", (feed, key))
        return Item.of_row(rows[0]) if rows else None

    def record_item(
        self, feed: str, key: str, stamp: str, article: str = "", error: str = "", retry: bool = False
    ) -> None:
        with self._tx() as db:
            old = db.execute(
                "SELECT stamp, attempts FROM items WHERE feed = ? AND key = ?", (feed, key)
            ).fetchone()
            attempts = Item.attempts_after(old, stamp, error)
            db.execute(
                "INSERT OR REPLACE INTO items (feed, key, stamp, article, error, retry, attempts, seen)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (feed, key, stamp, article, error, int(retry), attempts, now()),
            )

    # ---- articles ----------------------------------------------------------------------------------

    def _articles(self, where: str = "", args: tuple[str, ...] = ()) -> list[StoredArticle]:
        rows = self._rows(
            f"SELECT url, file, text_hash, title, source, published, feed FROM articles {where}", args
        )
        return [StoredArticle(*r) for r in rows]

    def article(self, url: str) -> StoredArticle | None:
        found = self._articles("WHERE url = ?", (url,))
        return found[0] if found else None

    def article_with_text(self, text_hash: str) -> StoredArticle | None:
        found = self._articles("WHERE text_hash = ? LIMIT 1", (text_hash,))
        return found[0] if found else None

    def save_article(self, a: StoredArticle) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO articles (url, file, text_hash, title, source, published, feed, fetched)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (a.url, a.file, a.text_hash, a.title, a.source, a.published, a.feed, now()),
            )

    def articles(self) -> list[StoredArticle]:
        return self._articles("ORDER BY published DESC")

    def forget_article(self, url: str) -> None:
        """The article's row goes; the entries that gave it stay, so it is not fetched again."""
        with self._tx() as db:
            db.execute("DELETE FROM articles WHERE url = ?", (url,))

    def articles_only_from(self, feed_url: str) -> list[StoredArticle]:
        """The stored articles that no entry of another feed gave (one query, not one per article)."""
        return self._articles(
            "WHERE url IN (SELECT article FROM items WHERE article != '' GROUP BY article"
            " HAVING COUNT(DISTINCT feed) = 1 AND MIN(feed) = ?)",
            (feed_url,),
        )
