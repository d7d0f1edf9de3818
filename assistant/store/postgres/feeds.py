"""Followed feeds in cluster mode: the feed list, the entries seen and the articles written in
PostgreSQL (the same rows as corpus/feeds/registry.py's file), the articles themselves as documents
(``feeds/<key>.md``, synced by the workers like uploads) and the poller's locks as advisory locks. Any
worker on any machine polls; one poll at a time, one entry's write at a time."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from assistant.corpus.feeds.articles import ArticleFile, ArticleSink
from assistant.corpus.feeds.poll import FeedPoller
from assistant.corpus.feeds.registry import Feed, FeedList, Item, StoredArticle, now
from assistant.corpus.feeds.urls import url_key
from assistant.settings import CorpusSettings, Settings
from assistant.store.postgres.database import Database
from assistant.store.postgres.jobs import JobQueue
from assistant.store.postgres.locks import advisory_lock


class PgFeedList(FeedList):
    def __init__(self, db: Database, collection: str) -> None:
        self.db = db
        self.coll = collection

    # ---- feeds -------------------------------------------------------------------------------------

    def feeds(self) -> list[Feed]:
        rows = self.db.rows(
            f"SELECT {Feed.COLUMNS} FROM feeds WHERE coll = %s ORDER BY added, url",
            (self.coll,),
        )
        return [Feed.of_row(r) for r in rows]

    def follows(self, url: str) -> bool:
        return bool(
            self.db.rows("SELECT 1 FROM feeds WHERE coll = %s AND md5(url) = md5(%s)", (self.coll, url))
        )

    def add(self, url: str, name: str, named: bool) -> bool:
        with self.db.transaction() as db:
            added = db.execute(
                "INSERT INTO feeds (coll, url, name, named, added) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (coll, md5(url)) DO NOTHING RETURNING 1",
                (self.coll, url, name, int(named), now()),
            ).fetchone()
            if added is None and named:
                db.execute(
                    "UPDATE feeds SET name = %s, named = 1 WHERE coll = %s AND md5(url) = md5(%s)",
                    (name, self.coll, url),
                )
            return added is not None

    def remove(self, url: str) -> None:
        with self.db.transaction() as db:
            db.execute("DELETE FROM feeds WHERE coll = %s AND md5(url) = md5(%s)", (self.coll, url))
            db.execute("DELETE FROM feed_items WHERE coll = %s AND md5(feed) = md5(%s)", (self.coll, url))

    def polled(self, url: str, ok: bool, result: str, etag: str | None, last_modified: str | None) -> None:
        with self.db.transaction() as db:
            db.execute(
                "UPDATE feeds SET polled_at = %s, ok = %s, result = %s WHERE coll = %s AND md5(url) = md5(%s)",
                (now(), int(ok), result, self.coll, url),
            )
            if etag is not None and last_modified is not None:
                db.execute(
                    "UPDATE feeds SET etag = %s, last_modified = %s WHERE coll = %s AND md5(url) = md5(%s)",
                    (etag, last_modified, self.coll, url),
                )

    def rename_default(self, url: str, title: str) -> None:
        with self.db.transaction() as db:
            db.execute(
                "UPDATE feeds SET name = %s WHERE coll = %s AND md5(url) = md5(%s) AND named = 0",
                (title, self.coll, url),
            )

    # ---- entries -----------------------------------------------------------------------------------

    def item(self, feed: str, key: str) -> Item | None:
        rows = self.db.rows(
            f"SELECT {Item.COLUMNS} FROM feed_items"
            " WHERE coll = %s AND md5(feed) = md5(%s) AND md5(key) = md5(%s)",
            (self.coll, feed, key),
        )
        return Item.of_row(rows[0]) if rows else None

    def record_item(
        self, feed: str, key: str, stamp: str, article: str = "", error: str = "", retry: bool = False
    ) -> None:
        with self.db.transaction() as db:
            old = db.execute(
                "SELECT stamp, attempts FROM feed_items WHERE coll = %s AND md5(feed) = md5(%s)"
                " AND md5(key) = md5(%s) FOR UPDATE",
                (self.coll, feed, key),
            ).fetchone()
            attempts = Item.attempts_after(old, stamp, error)
            db.execute(
                "INSERT INTO feed_items (coll, feed, key, stamp, article, error, retry, attempts, seen)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (coll, md5(feed), md5(key)) DO UPDATE SET"
                " stamp = EXCLUDED.stamp, article = EXCLUDED.article, error = EXCLUDED.error,"
                " retry = EXCLUDED.retry, attempts = EXCLUDED.attempts, seen = EXCLUDED.seen",
                (self.coll, feed, key, stamp, article, error, int(retry), attempts, now()),
            )

    # ---- articles ----------------------------------------------------------------------------------

    def _articles(self, where: str = "", args: tuple[str, ...] = (), order: str = "") -> list[StoredArticle]:
        rows = self.db.rows(
            "SELECT url, file, text_hash, title, source, published, feed FROM feed_articles"
            f" WHERE coll = %s {where} {order}",
            (self.coll, *args),
        )
        return [StoredArticle(*r) for r in rows]

    def article(self, url: str) -> StoredArticle | None:
        found = self._articles("AND md5(url) = md5(%s)", (url,))
        return found[0] if found else None

    def article_with_text(self, text_hash: str) -> StoredArticle | None:
        found = self._articles("AND text_hash = %s", (text_hash,), "LIMIT 1")
        return found[0] if found else None

    def save_article(self, a: StoredArticle) -> None:
        with self.db.transaction() as db:
            db.execute(
                "INSERT INTO feed_articles (coll, url, file, text_hash, title, source, published, feed, fetched)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (coll, md5(url)) DO UPDATE SET"
                " file = EXCLUDED.file, text_hash = EXCLUDED.text_hash, title = EXCLUDED.title,"
                " source = EXCLUDED.source, published = EXCLUDED.published, feed = EXCLUDED.feed,"
                " fetched = EXCLUDED.fetched",
                (self.coll, a.url, a.file, a.text_hash, a.title, a.source, a.published, a.feed, now()),
            )

    def articles(self) -> list[StoredArticle]:
        return self._articles(order="ORDER BY published DESC")

    def forget_article(self, url: str) -> None:
        with self.db.transaction() as db:
            db.execute("DELETE FROM feed_articles WHERE coll = %s AND md5(url) = md5(%s)", (self.coll, url))

    def articles_only_from(self, feed_url: str) -> list[StoredArticle]:
        return self._articles(
            "AND url IN (SELECT article FROM feed_items WHERE coll = %s AND article != '' GROUP BY article"
            " HAVING COUNT(DISTINCT feed) = 1 AND MIN(feed) = %s)",
            (self.coll, feed_url),
        )


class FeedDocuments(ArticleSink):
    """The articles a poll writes, as documents named ``<feeds folder>/<key>.md``. Each write or removal
    also records, in its transaction, that the document's sync is owed; the worker that polled queues
    those syncs (JobQueue.queue_pending), so a poll cut off at any point leaves nothing unsynced."""

    def __init__(self, queue: JobQueue, registry: FeedList, folder: str) -> None:
        super().__init__(registry)
        self.queue = queue
        self.folder = folder

    def path_of(self, url: str) -> Path:
        return Path(self.folder) / f"{url_key(url)}.md"

    def write(self, article: ArticleFile, limits: CorpusSettings) -> bool:
        name = str(self.path_of(article.url))
        content = self.checked(article, Path(name), limits)
        if self.queue.documents([name]).get(name) == content:
            return False
        self.queue.put_documents({name: content}, pending=True)
        return True

    def remove(self, url: str) -> None:
        self.queue.delete_documents([str(self.path_of(url))], pending=True)
        self.registry.forget_article(url)


class PgFeedLocks:
    """The poll's lock and the write lock as advisory locks (released when their holder dies)."""

    def __init__(self, db: Database, collection: str) -> None:
        self.db = db
        self.coll = collection

    def polling(self) -> AbstractContextManager[None]:
        return advisory_lock(self.db, f"{self.coll}:feeds-poll")

    def writing(self) -> AbstractContextManager[None]:
        return advisory_lock(self.db, f"{self.coll}:feeds-write")


def cluster_poller(settings: Settings, db: Database) -> FeedPoller:
    """The feed poller of cluster mode: its list, articles and locks in this database (no vectors, no
    model: the CLI's `feeds list|add|remove` work while the Chroma server is down)."""
    coll = settings.store.collection
    feeds = PgFeedList(db, coll)
    articles = FeedDocuments(JobQueue(db, coll), feeds, settings.feeds.folder)
    return FeedPoller(feeds, settings, articles=articles, locks=PgFeedLocks(db, coll))
