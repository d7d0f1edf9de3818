"""A feed's bytes → its entries (RSS 2.0, RSS 1.0, Atom; read with feedparser, which is lenient with
feeds that are not well-formed XML, as feed readers are)."""

from __future__ import annotations

import calendar
import hashlib
import io
import json
import unicodedata
import xml.sax
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# Content types a feed is fetched as. Servers label feeds loosely; what is not a feed fails to parse.
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
    "application/x-rss+xml",
    "text/rss+xml",
    "text/html",
    "text/plain",
    "application/octet-stream",
)


class FeedError(ValueError):
    """The bytes are not an RSS or Atom feed; `str()` is one line."""


@dataclass(frozen=True)
class Entry:
    key: str  # the entry's id, else its link, else its title: what identifies it across polls
    stamp: str  # hash of what it says: a changed stamp is an updated entry
    title: str
    link: str  # absolute (relative links are resolved against the feed's address), "" when none
    published: str  # YYYY-MM-DD from the entry's published (else updated) date, "" when none
    author: str


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    entries: list[Entry]
    warning: str = ""  # e.g. read leniently because the XML is not well-formed


def _day(parsed: Any) -> str:
    """YYYY-MM-DD, or "" for no date, one before 1900, or one more than two days ahead (a wrong clock
    or a placeholder: it would sit on top of every list and never expire)."""
    if not parsed:
        return ""
    try:
        day = datetime.fromtimestamp(calendar.timegm(parsed), UTC).date()
    except (OverflowError, ValueError, TypeError, OSError):
        return ""
    if day.year < 1900 or day > datetime.now(UTC).date() + timedelta(days=2):
        return ""
    return day.isoformat()


def plain_text(value: Any, limit: int = 500) -> str:
    """One line of plain text: whitespace runs made one space; control and format characters (terminal
    escapes, bidi overrides) and non-characters dropped."""
    text = "".join(c for c in str(value or "") if c.isspace() or unicodedata.category(c)[0] != "C")
    return " ".join(text.split())[:limit]


def parse_feed(content: bytes, url: str, max_entries: int, content_type: str = "") -> ParsedFeed:
    """Entries newest first (as feeds list them), at most max_entries. Raises FeedError when the bytes
    hold no feed at all."""
    import feedparser

    # A file object, never bytes or str: feedparser would open a str (or bytes) that names a URL or a file.
    headers = {"content-location": url, "content-type": content_type or "application/xml"}
    try:
        parsed = feedparser.parse(io.BytesIO(content), response_headers=headers)
    except (ValueError, UnicodeError, RecursionError) as err:  # e.g. "&#xD800;" read leniently
        raise FeedError(f"not a readable feed ({type(err).__name__})") from None
    problem = parsed.get("bozo_exception")
    broken = isinstance(problem, xml.sax.SAXException)
    if not parsed.entries and (broken or not parsed.get("version")):
        where = f" ({plain_text(problem, 120)})" if broken else ""
        raise FeedError(f"not an RSS or Atom feed{where}")
    warning = ""
    if broken:  # not a mislabelled encoding or content type: XML that is not well-formed
        warning = f"the feed is not well-formed XML ({plain_text(problem, 120)}); read leniently"
    entries = []
    for e in parsed.entries[:max_entries]:
        link = str(e.get("link") or "").strip()
        title = plain_text(e.get("title"))
        key = str(e.get("id") or link or title).strip()[:2000]
        if not key:
            continue
        parts = e.get("content") or []
        body = " ".join(str(c.get("value", "")) for c in parts if isinstance(c, dict))
        published = _day(e.get("published_parsed")) or _day(e.get("updated_parsed"))
        said = [title, link, str(e.get("updated") or e.get("published") or ""), e.get("summary") or "", body]
        stamp = hashlib.sha256(json.dumps(said, ensure_ascii=False, default=str).encode()).hexdigest()[:32]
        entries.append(
            Entry(
                key=key,
                stamp=stamp,
                title=title,
                link=link,
                published=published,
                author=plain_text(e.get("author"), 200),
            )
        )
    return ParsedFeed(
        plain_text(parsed.feed.get("title"), 200) if parsed.get("feed") else "", entries, warning
    )
