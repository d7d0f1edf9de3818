"""Rendering for the chat page: pure functions from answers, citations, the indexed articles and the
followed feeds to the HTML the page shows.

Everything that comes from an article (text, title, url, source), a feed or a person is untrusted: it is
HTML-escaped, Markdown punctuation is escaped, anything Markdown would turn into a link is written with
character references, and links are kept only in the HTML panels (sources, latest articles, feeds), only
when they are http(s).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from assistant.answer.types import Answer, Citation
from assistant.textutil import plural

if TYPE_CHECKING:
    from assistant.ask.retrieve import Filters
    from assistant.corpus.feeds.registry import Feed


def safe_url(url: str) -> str:
    """The url if it is an absolute http(s) link, else ""."""
    try:
        parsed = urlparse(url.strip())
    except ValueError:
        return ""
    return url.strip() if parsed.scheme in ("http", "https") and parsed.netloc else ""


_AUTOLINK = re.compile(r"(?i)(?<![a-z0-9])(https?|ftp|mailto|www)([:.])")


def inert(text: str) -> str:
    """Text as chat content that renders as itself: Markdown punctuation backslash-escaped, HTML
    escaped, and what Markdown would turn into a link ("https://…", "www.…", "a@b.example") written
    with character references, so that it shows as text and never becomes a link. (LaTeX is off on the
    chat component.)"""
    text = html.escape(re.sub(r"([\\`*_{}()#+!|~\[\]$])", r"\\\1", text), quote=False)
    text = _AUTOLINK.sub(lambda m: f"{m.group(1)}&#{ord(m.group(2))};", text)
    return text.replace("@", "&#64;")


def answer_html(text: str) -> str:
    """The checked answer as chat content: escaped text, with [n] markers as links to the sources panel."""
    return re.sub(
        r"\\\[(\d+)\\\]",
        lambda m: f'<a href="#src-{m.group(1)}" class="cite">[{m.group(1)}]</a>',
        inert(text),
    )


DRAFT_LABEL = "Draft, not yet checked against the sources…"
UNDERSTOOD = "Understood as: "
QUOTES_LABEL = "The quotes it rests on"


def draft_html(text: str) -> str:
    """A model's answer while it is written: greyed, labelled unchecked, markers not linked."""
    return f'<div class="draft-label">{DRAFT_LABEL}</div><div class="draft">{inert(text)}</div>'


def final_html(answer: Answer) -> str:
    """The checked answer, with the standalone question it answered when that differs from what was
    typed."""
    content = answer_html(answer.text)
    if answer.kind == "closest":
        content = f'<span class="closest">{content}</span>'
    elif answer.refused:
        content = f'<span class="refused">{content}</span>'
    if answer.quotes and answer.from_model:
        content += (
            f'<details class="quotes"><summary>{QUOTES_LABEL}</summary>{answer_html(answer.quotes)}</details>'
        )
    if answer.standalone_question and answer.standalone_question != answer.question.strip():
        content += f'<div class="understood">{UNDERSTOOD}{inert(answer.standalone_question)}</div>'
    return content


def evidence_html(evidence: Answer, writer: str, draft: str = "") -> str:
    """The verified quotes shown while a model writes, with its draft (unchecked) below them."""
    content = f'<div class="evidence">{answer_html(evidence.text)}</div>'
    if draft:
        return content + draft_html(draft)
    return content + f'<div class="draft-label">{html.escape(writer)} is writing an explanation…</div>'


def _context(text: str, start: int, end: int, width: int = 280) -> tuple[str, str]:
    """The quote's paragraph (cut to ``width`` characters on each side)."""
    p0 = text.rfind("\n", 0, start) + 1
    p1 = text.find("\n", end)
    p1 = len(text) if p1 < 0 else p1
    before, after = text[max(p0, start - width) : start], text[end : min(p1, end + width)]
    if max(p0, start - width) > p0:
        before = "…" + before
    if min(p1, end + width) < p1:
        after = after + "…"
    return before, after


def origin_label(origin: str, upload_name: str = "", feeds_folder: str = "") -> str:
    """Where an article came from, in words: a page fetched by URL, an article read from a followed feed
    (feeds_folder: its folder inside the upload folder), an uploaded file, or a file of a synced folder
    (origin: "<synced folder>/<path inside it>")."""
    folder, _, inside = origin.partition("/")
    if not origin:
        return ""
    if upload_name and folder == upload_name:
        if inside.startswith("fetched/"):
            return "fetched by URL"
        if feeds_folder and inside.startswith(f"{feeds_folder}/"):
            return "from a followed feed"
        return f"uploaded as {inside}"
    return f"from {origin}"


def source_card(c: Citation, article_text: str | None, upload_name: str = "", feeds_folder: str = "") -> str:
    title = html.escape(c.title or c.article_id)
    url = safe_url(c.url)
    head = (
        f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer nofollow">{title}</a>'
        if url
        else title
    )
    meta = " · ".join(html.escape(x) for x in (c.source, c.published) if x)
    if url:
        meta = (meta + " · " if meta else "") + html.escape(urlparse(url).netloc)
    where = origin_label(c.origin, upload_name, feeds_folder)
    if where:
        meta += f'<span class="src-origin"> · {html.escape(where)}</span>'
    before, after = _context(article_text, c.start, c.end) if article_text else ("", "")
    ctx = f"{html.escape(before)}<mark>{html.escape(c.quote)}</mark>{html.escape(after)}"
    return (
        f'<div class="src-card" id="src-{c.n}" data-start="{c.start}" data-end="{c.end}">'
        f'<div class="src-head"><a class="src-n" href="#src-{c.n}">[{c.n}]</a>{head}</div>'
        f'<div class="src-meta">{meta}</div><div class="src-ctx">{ctx}</div></div>'
    )


def sources_html(
    answer: Answer | None, texts: dict[str, str], upload_name: str = "", feeds_folder: str = ""
) -> str:
    if answer is None:
        return '<div class="src-empty">Sources for the answer appear here.</div>'
    if not answer.citations:
        note = "No source supports an answer." if answer.refused else "No sources cited."
        return f'<div class="src-empty">{note}</div>'
    return "".join(
        source_card(c, texts.get(c.article_id), upload_name, feeds_folder) for c in answer.citations
    )


def day_words(iso_day: str) -> str:
    """ "2023-11-30" → "30 Nov 2023" (as given when it is not a day)."""
    try:
        return datetime.fromisoformat(iso_day[:10]).strftime("%-d %b %Y")
    except ValueError:
        return iso_day


def ago(iso: str, now: datetime | None = None) -> str:
    """How long ago a stored time was, in words ("just now", "2 minutes ago", "3 days ago")."""
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    now = now or datetime.now(UTC)
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    seconds = max(0.0, (now - t).total_seconds())
    for size, unit in ((86_400, "day"), (3_600, "hour"), (60, "minute")):
        if seconds >= size:
            return f"{plural(int(seconds // size), unit)} ago"
    return "just now"


def status_markdown(stats: dict[str, Any], answers: str, now: datetime | None = None) -> str:
    """The index in plain words: "61 articles, newest 30 Nov 2023, updated 2 minutes ago · answers:
    quotes only"."""
    parts = [plural(int(stats.get("articles") or 0), "article")]
    if stats.get("newest_article"):
        parts.append(f"newest {day_words(str(stats['newest_article']))}")
    if stats.get("last_sync"):
        parts.append(f"updated {ago(str(stats['last_sync']), now)}")
    return f"{', '.join(parts)} · answers: {answers}"


_MARKUP = re.compile(r"<[^<>]{0,500}>|[<>$`*_\\\[\]{}|~#]")


def plain_title(title: str, limit: int = 90) -> str:
    """An article title as an example question's words: tags and Markdown/LaTeX characters removed,
    links made harmless by inert() wherever it is shown, cut to ``limit`` characters."""
    text = " ".join(_MARKUP.sub(" ", title[: limit * 4]).split())
    return text[:limit].strip()


# ---- what's new: the latest articles and the followed feeds ----------------------------------------------

LINK_ATTRS = 'target="_blank" rel="noopener noreferrer nofollow"'
MAX_SHOWN_TITLE = 300


def _cut(text: str, limit: int) -> str:
    text = " ".join(text[: limit * 4].split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _link(url: str, text: str) -> str:
    """Escaped text, linked to url only when it is http(s)."""
    href = safe_url(url)
    label = html.escape(text)
    return f'<a href="{html.escape(href, quote=True)}" {LINK_ATTRS}>{label}</a>' if href else label


def newest_first(manifest: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The indexed articles (manifest values, with their id as "id"), newest published first; articles of
    one day by title; articles without a date last."""

    def published(m: dict[str, Any]) -> int:
        try:
            return int(m.get("published") or 0)
        except (TypeError, ValueError):
            return 0

    rows = [{**m, "id": aid} for aid, m in manifest.items()]
    return sorted(rows, key=lambda m: (-published(m), str(m.get("title") or "").casefold(), m["id"]))


def page_span(n_items: int, page: int, per_page: int = 10) -> tuple[int, int, int, int]:
    """(page, pages, start, end) for 1-based ``page`` clamped to the pages there are (one page at least)
    and the slice [start:end] of the items it shows."""
    pages = max(1, -(-n_items // per_page))
    page = min(max(1, int(page)), pages)
    start = (page - 1) * per_page
    return page, pages, start, min(start + per_page, n_items)


def latest_html(rows: list[dict[str, Any]], page: int, per_page: int = 10) -> str:
    """One page of the latest articles (rows as from newest_first): title linked to its URL when http(s),
    source and date; "page i of n" below."""
    page, pages, start, end = page_span(len(rows), page, per_page)
    items = []
    for m in rows[start:end]:
        title = _cut(str(m.get("title") or ""), MAX_SHOWN_TITLE) or _cut(str(m["id"]), 120)
        meta = " · ".join(
            html.escape(_cut(str(x), 200)) for x in (m.get("source"), m.get("published_date")) if x
        )
        items.append(
            f'<li class="latest-item"><div class="latest-title">{_link(str(m.get("url") or ""), title)}</div>'
            f'<div class="latest-meta">{meta}</div></li>'
        )
    body = (
        f'<ol class="latest-list" start="{start + 1}">{"".join(items)}</ol>'
        if items
        else '<div class="latest-empty">No articles are indexed yet.</div>'
    )
    count = plural(len(rows), "article")
    return f'{body}<div class="latest-pager">{count} · page {page} of {pages}</div>'


def when(iso: str) -> str:
    """A stored ISO time as "YYYY-MM-DD HH:MM:SS UTC" (as given when it is not one)."""
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if t.tzinfo is None:
        return t.strftime("%Y-%m-%d %H:%M:%S")
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def poller_line(interval_minutes: float, last_poll: str, next_poll: datetime | None) -> str:
    """What the app's own feed poller does, in one line (plain text)."""
    if interval_minutes <= 0:
        return "The app does not poll feeds by itself (feeds.interval_minutes is 0); adding a feed polls it once."
    line = f"The app polls every feed every {interval_minutes:g} min. Last poll: {last_poll or 'not yet'}."
    if next_poll is not None:
        line += f" Next poll: {next_poll:%Y-%m-%d %H:%M:%S}."
    return line


def feeds_html(feeds: Sequence[Feed], poller: str = "") -> str:
    """The followed feeds: name, URL (linked when http(s)), last poll and its one-line result."""
    items = []
    for f in feeds:
        polled = f"last poll {html.escape(when(f.polled_at))}" if f.polled_at else "not polled yet"
        result = f" · {html.escape(_cut(f.result, 600))}" if f.result else ""
        items.append(
            f'<li class="feed {"ok" if f.ok else "failed"}">'
            f'<div class="feed-title">{html.escape(_cut(f.name, 200)) or "(no name)"}</div>'
            f'<div class="feed-url">{_link(f.url, _cut(f.url, 200))}</div>'
            f'<div class="feed-meta">{polled}{result}</div></li>'
        )
    body = (
        f'<ul class="feed-list">{"".join(items)}</ul>'
        if items
        else '<div class="feeds-empty">No feeds are followed yet.</div>'
    )
    head = f'<div class="feeds-poller">{html.escape(poller)}</div>' if poller else ""
    return head + body


def feed_choices(feeds: Sequence[Feed]) -> list[tuple[str, str]]:
    """(label, url) for a dropdown of the followed feeds."""
    return [(f"{_cut(f.name, 80)} — {_cut(f.url, 120)}", f.url) for f in feeds]


def source_choices(manifest: dict[str, dict[str, Any]]) -> list[str]:
    """The sources of the indexed articles, for the sources filter (sorted, no blanks)."""
    return sorted(
        {s for m in manifest.values() if (s := str(m.get("source") or "").strip())}, key=str.casefold
    )


def filters_note(f: Filters) -> str:
    """The active answer filters in words, as inert chat-note text ("" when there are none)."""
    parts = []
    if f.sources:
        parts.append(
            "only " + ", ".join(_cut(s, 80) for s in f.sources[:10]) + (" …" if len(f.sources) > 10 else "")
        )
    if f.date_from:
        parts.append(f"from {f.date_from.isoformat()}")
    if f.date_to:
        parts.append(f"to {f.date_to.isoformat()}")
    return inert("filtered: " + ", ".join(parts)) if parts else ""
