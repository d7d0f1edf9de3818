"""A real HTTP server in a thread that serves RSS/Atom feeds and news pages, for tests and benchmarks.

    with FeedSite() as site:
        site.set_feed("/feed.xml", [Entry("Owls return", "/owls", datetime(2025, 3, 18, tzinfo=UTC))])
        site.set_page("/owls", "Owls return", ["A pair of barn owls ..."], author="A. Writer")
        fetch(site.url("/feed.xml"), ...)

Feeds answer conditional GETs (ETag, Last-Modified -> 304). Unknown paths answer 404. Every request is
logged in `site.requests`. Standard library only.
"""

from __future__ import annotations

import email.utils
import hashlib
import html
import http.server
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any
from xml.sax.saxutils import escape, quoteattr

FEED_TYPES = {"rss2": "application/rss+xml", "rss1": "application/rdf+xml", "atom": "application/atom+xml"}
NOT_FOUND = (
    b"<!DOCTYPE html><html><head><title>Not found</title></head><body><h1>Not found</h1></body></html>"
)
_BLOCK = 64 * 1024


# ---- feeds --------------------------------------------------------------------------------------------


@dataclass
class Entry:
    """One feed item. `link` may be a path ("/a"), made absolute with the feed's base."""

    title: str
    link: str | None
    published: datetime | None  # timezone-aware; None: no date element
    updated: datetime | None = None
    summary: str = ""
    guid: str | None = None  # defaults to the link
    author: str | None = None
    content: str | None = None  # full HTML: content:encoded (RSS), <content type="html"> (Atom)


def _absolute(link: str | None, base: str) -> str | None:
    return base + link if link is not None and link.startswith("/") else link


def _aware(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"feed dates must be timezone-aware, not {dt!r}")
    return dt


def _rfc822(dt: datetime) -> str:
    return email.utils.format_datetime(_aware(dt))


def _iso(dt: datetime) -> str:
    return _aware(dt).isoformat()


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _newest(entries: list[Entry]) -> datetime | None:
    dates = [_aware(d) for d in (e.updated or e.published for e in entries) if d is not None]
    return max(dates) if dates else None


def _item_id(entry: Entry, link: str | None) -> str:
    """The guid, else the link, else a stable URN from the title (Atom and RSS 1 need one)."""
    return entry.guid or link or "urn:sha1:" + hashlib.sha1(entry.title.encode()).hexdigest()


def rss2(title: str, link: str, entries: list[Entry], base: str = "") -> bytes:
    """An RSS 2.0 feed; dates in RFC 822, author as dc:creator, content in a CDATA content:encoded."""
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">',
        "<channel>",
        f"<title>{escape(title)}</title>",
        f"<link>{escape(_absolute(link, base) or '')}</link>",
        f"<description>{escape(title)}</description>",
    ]
    newest = _newest(entries)
    if newest is not None:
        out.append(f"<lastBuildDate>{_rfc822(newest)}</lastBuildDate>")
    for e in entries:
        href = _absolute(e.link, base)
        out.append(f"<item><title>{escape(e.title)}</title>")
        if href is not None:
            out.append(f"<link>{escape(href)}</link>")
        guid = e.guid or href
        if guid is not None:
            permalink = "true" if guid == href else "false"
            out.append(f'<guid isPermaLink="{permalink}">{escape(guid)}</guid>')
        if e.published is not None:
            out.append(f"<pubDate>{_rfc822(e.published)}</pubDate>")
        if e.updated is not None:
            out.append(f"<atom:updated>{_iso(e.updated)}</atom:updated>")
        if e.author is not None:
            out.append(f"<dc:creator>{escape(e.author)}</dc:creator>")
        if e.summary:
            out.append(f"<description>{escape(e.summary)}</description>")
        if e.content is not None:
            out.append(f"<content:encoded>{_cdata(e.content)}</content:encoded>")
        out.append("</item>")
    out += ["</channel>", "</rss>", ""]
    return "\n".join(out).encode()


def rss1(title: str, link: str, entries: list[Entry], base: str = "") -> bytes:
    """An RSS 1.0 (RDF) feed; the published date as dc:date, `updated` as dcterms:modified."""
    home = _absolute(link, base) or ""
    ids = [_item_id(e, _absolute(e.link, base)) for e in entries]
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/">',
        f"<channel rdf:about={quoteattr(home)}>",
        f"<title>{escape(title)}</title>",
        f"<link>{escape(home)}</link>",
        f"<description>{escape(title)}</description>",
        "<items><rdf:Seq>",
        *(f"<rdf:li rdf:resource={quoteattr(i)}/>" for i in ids),
        "</rdf:Seq></items>",
        "</channel>",
    ]
    for e, item_id in zip(entries, ids):
        href = _absolute(e.link, base)
        out.append(f"<item rdf:about={quoteattr(item_id)}><title>{escape(e.title)}</title>")
        if href is not None:
            out.append(f"<link>{escape(href)}</link>")
        if e.summary:
            out.append(f"<description>{escape(e.summary)}</description>")
        if e.published is not None:
            out.append(f"<dc:date>{_iso(e.published)}</dc:date>")
        if e.updated is not None:
            out.append(f"<dcterms:modified>{_iso(e.updated)}</dcterms:modified>")
        if e.author is not None:
            out.append(f"<dc:creator>{escape(e.author)}</dc:creator>")
        if e.content is not None:
            out.append(f"<content:encoded>{escape(e.content)}</content:encoded>")
        out.append("</item>")
    out += ["</rdf:RDF>", ""]
    return "\n".join(out).encode()


def atom(title: str, link: str, entries: list[Entry], base: str = "") -> bytes:
    """An Atom 1.0 feed; `updated` is the entry's updated date, else its published date."""
    home = _absolute(link, base) or ""
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<id>{escape(home)}</id>",
        f'<title type="text">{escape(title)}</title>',
        f'<link rel="alternate" type="text/html" href={quoteattr(home)}/>',
    ]
    newest = _newest(entries)
    if newest is not None:
        out.append(f"<updated>{_iso(newest)}</updated>")
    for e in entries:
        href = _absolute(e.link, base)
        out.append(f'<entry><id>{escape(_item_id(e, href))}</id><title type="text">{escape(e.title)}</title>')
        if href is not None:
            out.append(f'<link rel="alternate" type="text/html" href={quoteattr(href)}/>')
        if e.published is not None:
            out.append(f"<published>{_iso(e.published)}</published>")
        changed = e.updated or e.published
        if changed is not None:
            out.append(f"<updated>{_iso(changed)}</updated>")
        if e.author is not None:
            out.append(f"<author><name>{escape(e.author)}</name></author>")
        if e.summary:
            out.append(f'<summary type="text">{escape(e.summary)}</summary>')
        if e.content is not None:
            out.append(f'<content type="html">{escape(e.content)}</content>')
        out.append("</entry>")
    out += ["</feed>", ""]
    return "\n".join(out).encode()


# ---- pages --------------------------------------------------------------------------------------------

_NAV = ["Home", "World", "Politics", "Business", "Science", "Sport", "Culture", "Opinion"]


def article_html(
    title: str,
    paragraphs: list[str],
    *,
    published: str | None = None,
    author: str | None = None,
    site_name: str | None = None,
    canonical: str | None = None,
) -> bytes:
    """A realistic news page: metadata in <head>, menus and a footer around an <article> (texts escaped)."""
    e = html.escape
    name = site_name or "The Daily Test"
    head = [
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)} | {e(name)}</title>",
        f'<meta property="og:title" content="{e(title)}">',
        '<meta property="og:type" content="article">',
    ]
    if site_name is not None:
        head.append(f'<meta property="og:site_name" content="{e(site_name)}">')
    if published is not None:
        head.append(f'<meta property="article:published_time" content="{e(published)}">')
    if author is not None:
        head.append(f'<meta name="author" content="{e(author)}">')
    if canonical is not None:
        head.append(f'<link rel="canonical" href="{e(canonical)}">')
        head.append(f'<meta property="og:url" content="{e(canonical)}">')
    menu = "".join(f'<li><a href="/{s.lower()}">{s}</a></li>' for s in _NAV)
    byline = []
    if author is not None:
        byline.append(f'<span class="author">By <a rel="author" href="/authors">{e(author)}</a></span>')
    if published is not None:
        byline.append(f'<time datetime="{e(published)}">{e(published)}</time>')
    body = [
        '<header class="site-header">',
        f'<a class="logo" href="/">{e(name)}</a>',
        f'<nav class="main-menu" aria-label="Sections"><ul>{menu}</ul></nav>',
        '<div class="account"><a href="/subscribe">Subscribe</a> <a href="/login">Sign in</a></div>',
        "</header>",
        '<div class="cookie-banner">We use cookies to improve your experience. <button>Accept all</button></div>',
        "<main>",
        '<article class="story">',
        f'<header><h1>{e(title)}</h1><div class="byline">{" ".join(byline)}</div></header>',
        '<div class="story-body">',
        *(f"<p>{e(p)}</p>" for p in paragraphs),
        "</div>",
        '<ul class="share"><li><a href="/share/mail">Email</a></li><li><a href="/share/print">Print</a></li></ul>',
        "</article>",
        '<aside class="related"><h2>Most read</h2><ul>',
        '<li><a href="/a1">Ten gadgets you need this summer</a></li>',
        '<li><a href="/a2">Weather: a mild week ahead</a></li>',
        "</ul></aside>",
        "</main>",
        '<footer class="site-footer">',
        f'<ul><li><a href="/about">About us</a></li><li><a href="/contact">Contact</a></li>'
        f'<li><a href="/privacy">Privacy policy</a></li></ul><p>&copy; 2025 {e(name)}. All rights reserved.</p>',
        "</footer>",
    ]
    page = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        *head,
        "</head>",
        "<body>",
        *body,
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(page).encode()


# ---- the server ---------------------------------------------------------------------------------------


@dataclass
class Request:
    """One request as the server saw it; `headers` looks names up case-insensitively."""

    path: str  # as requested, query included
    headers: dict[str, str]
    status: int  # the status sent


class _Headers(dict[str, str]):
    """A dict of header names (lower case) to values that looks names up in any case."""

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key.lower() if isinstance(key, str) else key)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)


@dataclass
class _Route:
    body: bytes
    content_type: str | None
    status: int = 200
    delay_s: float = 0.0
    headers: dict[str, str] | None = None
    etag: str | None = None  # feeds: conditional GET
    last_modified: datetime | None = None
    stream_bytes: int | None = None  # set_huge: a body of zeros without a Content-Length


def _not_modified(route: _Route, headers: _Headers) -> bool:
    if route.etag is None or route.last_modified is None:
        return False
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        return "*" in tags or route.etag in tags
    if_modified_since = headers.get("If-Modified-Since")
    if if_modified_since is None:
        return False
    try:
        since = email.utils.parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return since >= route.last_modified


class FeedSite:
    """Feeds and pages over HTTP/1.0 on a loopback address (port 0), served by daemon threads."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, _Route] = {}
        self.requests: list[Request] = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                try:
                    site._serve(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up (a capped or timed-out fetch)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self._httpd = Server((host, 0), Handler)
        self.host = host
        self.port = int(self._httpd.server_address[1])
        self.base = f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        self._closed = False

    # -- setup

    def url(self, path: str) -> str:
        """The absolute URL of a path on this site."""
        return self.base + (path if path.startswith("/") else "/" + path)

    def hits(self, path: str) -> int:
        """How many requests asked for `path` (queries ignored on both sides)."""
        wanted = path.split("?", 1)[0]
        with self._lock:
            return sum(1 for r in self.requests if r.path.split("?", 1)[0] == wanted)

    def set_feed(self, path: str, entries: list[Entry], kind: str = "rss2", title: str = "Test feed") -> None:
        """Serves a feed (kind rss2, rss1 or atom) with an ETag and a Last-Modified that change with it."""
        makers = {"rss2": rss2, "rss1": rss1, "atom": atom}
        if kind not in makers:
            raise ValueError(f"unknown feed kind {kind!r} (rss2, rss1, atom)")
        body = makers[kind](title, "/", entries, base=self.base)
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        now = datetime.now(UTC).replace(microsecond=0)
        with self._lock:
            old = self._routes.get(path)
            if old is not None and old.etag == etag and old.last_modified is not None:
                return  # same feed: same validators
            if old is not None and old.last_modified is not None and now <= old.last_modified:
                now = old.last_modified + timedelta(seconds=1)  # HTTP dates have whole seconds
            self._routes[path] = _Route(body, FEED_TYPES[kind], etag=etag, last_modified=now)

    def set_page(self, path: str, title: str, paragraphs: list[str], **meta: str | None) -> None:
        """Serves `article_html(title, paragraphs, **meta)` as text/html."""
        self.set_raw(path, article_html(title, paragraphs, **meta))

    def set_raw(
        self,
        path: str,
        body: bytes,
        content_type: str | None = "text/html; charset=utf-8",
        status: int = 200,
        delay_s: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Serves anything; `delay_s` waits before the status line; `headers` may replace Content-Length."""
        with self._lock:
            self._routes[path] = _Route(body, content_type, status, delay_s, dict(headers or {}))

    def set_huge(self, path: str, n_bytes: int, content_type: str = "text/html") -> None:
        """Streams `n_bytes` zeros without a Content-Length (the body ends when the connection closes)."""
        with self._lock:
            self._routes[path] = _Route(b"", content_type, stream_bytes=n_bytes)

    def set_robots(self, text: str) -> None:
        """Serves /robots.txt (there is none until this is called)."""
        self.set_raw("/robots.txt", text.encode(), "text/plain; charset=utf-8")

    def remove(self, path: str) -> None:
        """`path` answers 404 from now on."""
        with self._lock:
            self._routes.pop(path, None)

    def close(self) -> None:
        """Stops the server (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FeedSite:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- serving

    def _serve(self, h: http.server.BaseHTTPRequestHandler) -> None:
        headers = _Headers((k.lower(), v) for k, v in h.headers.items())
        with self._lock:
            route = self._routes.get(h.path) or self._routes.get(h.path.split("?", 1)[0])
            if route is None:
                status = 404
            elif _not_modified(route, headers):
                status = 304
            else:
                status = route.status
            self.requests.append(Request(h.path, headers, status))
        if route is None:
            h.send_response(404)
            self._send(h, NOT_FOUND, "text/html; charset=utf-8", {})
        elif status == 304:
            h.send_response(304)
            self._validators(h, route)
            h.end_headers()  # no body and no Content-Length (RFC 9110 8.6, 15.4.5)
        elif route.stream_bytes is not None:
            h.send_response(200)
            if route.content_type is not None:
                h.send_header("Content-Type", route.content_type)
            h.end_headers()
            block = b"0" * _BLOCK
            for start in range(0, route.stream_bytes, _BLOCK):
                h.wfile.write(block[: route.stream_bytes - start])
        else:
            if route.delay_s > 0:
                time.sleep(route.delay_s)
            h.send_response(status)
            self._validators(h, route)
            self._send(h, route.body, route.content_type, route.headers or {})

    @staticmethod
    def _validators(h: http.server.BaseHTTPRequestHandler, route: _Route) -> None:
        if route.etag is not None:
            h.send_header("ETag", route.etag)
        if route.last_modified is not None:
            h.send_header("Last-Modified", email.utils.format_datetime(route.last_modified, usegmt=True))

    @staticmethod
    def _send(
        h: http.server.BaseHTTPRequestHandler, body: bytes, content_type: str | None, headers: dict[str, str]
    ) -> None:
        """After the status line: the headers (`headers` win over the defaults), then the body."""
        given = {name.lower() for name in headers}
        if content_type is not None and "content-type" not in given:
            h.send_header("Content-Type", content_type)
        for name, value in headers.items():
            h.send_header(name, value)
        if "content-length" not in given:
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
