"""Rendering for the chat page: pure functions from answers and citations to the HTML the page shows.

Everything that comes from an article (text, title, url, source) or from a person is untrusted: it is
HTML-escaped, Markdown punctuation is escaped, anything Markdown would turn into a link is written with
character references, and links are kept only in the sources panel, only when they are http(s).
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlparse

from assistant.answer.types import Answer, Citation


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


def draft_html(text: str) -> str:
    """A model's answer while it is written: greyed, labelled unchecked, markers not linked."""
    return f'<div class="draft-label">{DRAFT_LABEL}</div><div class="draft">{inert(text)}</div>'


def final_html(answer: Answer) -> str:
    """The checked answer, with the standalone question it answered when that differs from what was
    typed."""
    content = answer_html(answer.text)
    if answer.refused:
        content = f'<span class="refused">{content}</span>'
    if answer.standalone_question and answer.standalone_question != answer.question.strip():
        content += f'<div class="understood">{UNDERSTOOD}{inert(answer.standalone_question)}</div>'
    return content


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


def origin_label(origin: str, upload_name: str = "") -> str:
    """Where an article came from, in words: a page fetched by URL, an uploaded file, or a file of a
    synced folder (origin: "<synced folder>/<path inside it>")."""
    folder, _, inside = origin.partition("/")
    if not origin:
        return ""
    if upload_name and folder == upload_name:
        return "fetched by URL" if inside.startswith("fetched/") else f"uploaded as {inside}"
    return f"from {origin}"


def source_card(c: Citation, article_text: str | None, upload_name: str = "") -> str:
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
    where = origin_label(c.origin, upload_name)
    if where:
        meta += f'<span class="src-origin"> · {html.escape(where)}</span>'
    before, after = _context(article_text, c.start, c.end) if article_text else ("", "")
    ctx = f"{html.escape(before)}<mark>{html.escape(c.quote)}</mark>{html.escape(after)}"
    return (
        f'<div class="src-card" id="src-{c.n}" data-start="{c.start}" data-end="{c.end}">'
        f'<div class="src-head"><a class="src-n" href="#src-{c.n}">[{c.n}]</a>{head}</div>'
        f'<div class="src-meta">{meta}</div><div class="src-ctx">{ctx}</div></div>'
    )


def sources_html(answer: Answer | None, texts: dict[str, str], upload_name: str = "") -> str:
    if answer is None:
        return '<div class="src-empty">Sources for the answer appear here.</div>'
    if not answer.citations:
        note = "No source supports an answer." if answer.refused else "No sources cited."
        return f'<div class="src-empty">{note}</div>'
    return "".join(source_card(c, texts.get(c.article_id), upload_name) for c in answer.citations)


def status_markdown(stats: dict[str, Any], backend_label: str) -> str:
    return (
        f"**{stats['articles']}** articles · **{stats['chunks']}** chunks · newest article "
        f"{stats.get('newest_article') or '—'} · last sync {stats.get('last_sync') or '—'} · "
        f"embeddings `{stats['embedding_model']}` · answerer: **{backend_label}**"
    )


_MARKUP = re.compile(r"<[^<>]{0,500}>|[<>$`*_\\\[\]{}|~#]")


def plain_title(title: str, limit: int = 90) -> str:
    """An article title as an example question's words: tags and Markdown/LaTeX characters removed,
    links made harmless by inert() wherever it is shown, cut to ``limit`` characters."""
    text = " ".join(_MARKUP.sub(" ", title[: limit * 4]).split())
    return text[:limit].strip()
