"""The folder of article files written from feeds: one Markdown file with front matter per article,
named from a hash of its canonical URL, so that the index stays a pure function of the folders."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from assistant.corpus.feeds.registry import FeedList
from assistant.corpus.feeds.urls import url_key
from assistant.corpus.files import parse_markdown
from assistant.settings import CorpusSettings


def text_hash(text: str) -> str:
    """Same words, same hash: whitespace and case do not count (one text under two addresses)."""
    return hashlib.sha256(" ".join(text.split()).casefold().encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ArticleFile:
    url: str
    title: str
    source: str
    author: str
    published: str
    feed: str
    text: str

    def render(self) -> str:
        front = {
            "title": self.title,
            "url": self.url,
            "source": self.source,
            "author": self.author,
            "published": self.published,
            "feed": self.feed,
        }
        # JSON is YAML: every value is quoted and escaped (ASCII: no character YAML's reader refuses)
        return f"---\n{json.dumps(front, ensure_ascii=True)}\n---\n{self.text}\n"


class ArticleSink(ABC):
    """Where the poller writes articles: files in the upload folder (ArticleFolder) on one machine,
    documents in PostgreSQL in cluster mode (store/postgres/feeds.py). Retention and purge are the
    same for both."""

    def __init__(self, registry: FeedList) -> None:
        self.registry = registry

    @abstractmethod
    def path_of(self, url: str) -> Path:
        """Where the article of this (canonical) URL is written."""

    @abstractmethod
    def write(self, article: ArticleFile, limits: CorpusSettings) -> bool:
        """Writes the article unless it already holds exactly this (then nothing changes, so nothing is
        embedded again); False then. Raises ArticleError, writing nothing, when the index would refuse
        it."""

    @abstractmethod
    def remove(self, url: str) -> None:
        """The article goes, and its row in the registry."""

    @staticmethod
    def checked(article: ArticleFile, target: Path, limits: CorpusSettings) -> str:
        """The article's content, parsed as the index will parse it (ArticleError when it would refuse)."""
        content = article.render()
        parse_markdown(Path(target.name), content, rel=target.name, limits=limits)
        return content

    def expire(self, retention_days: int, today: date) -> int:
        """Removes articles published more than retention_days ago (0: none); returns how many."""
        if retention_days <= 0:
            return 0
        cutoff = (today - timedelta(days=retention_days)).isoformat()
        old = [a for a in self.registry.articles() if a.published and a.published < cutoff]
        for a in old:
            self.remove(a.url)
        return len(old)

    def purge(self, feed_url: str) -> int:
        """Removes the articles only this feed gave (call before the feed itself is removed)."""
        gone = self.registry.articles_only_from(feed_url)
        for a in gone:
            self.remove(a.url)
        return len(gone)


class ArticleFolder(ArticleSink):
    def __init__(self, folder: Path, registry: FeedList) -> None:
        super().__init__(registry)
        self.folder = folder

    def path_of(self, url: str) -> Path:
        return self.folder / f"{url_key(url)}.md"

    def write(self, article: ArticleFile, limits: CorpusSettings) -> bool:
        """Atomic: a hidden temporary file, then a rename."""
        target = self.path_of(article.url)
        content = self.checked(article, target, limits)
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            if target.read_text(encoding="utf-8") == content:
                return False
        except (OSError, UnicodeError):
            pass
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{target.stem}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(content)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return True

    def remove(self, url: str) -> None:
        self.path_of(url).unlink(missing_ok=True)
        self.registry.forget_article(url)
