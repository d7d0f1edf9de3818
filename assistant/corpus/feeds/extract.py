"""A fetched article page → its main text and metadata (trafilatura: boilerplate such as menus,
footers and comments is left out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from assistant.corpus.fetch import Fetched
from assistant.corpus.files import normalize_date


@dataclass(frozen=True)
class PageArticle:
    title: str
    text: str
    author: str
    published: str  # YYYY-MM-DD or ""
    site_name: str


def extract_page(page: Fetched) -> PageArticle | None:
    """The article on a page, or None when it holds no main text."""
    text = page.text().replace("\x00", "")
    if page.content_type == "text/plain":
        body = text.strip()
        return PageArticle("", body, "", "", "") if body else None
    import trafilatura

    doc = trafilatura.bare_extraction(
        text,
        url=page.url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if doc is None or isinstance(doc, dict) or not (doc.text or "").strip():
        return None
    title = " ".join(str(doc.title or "").split())
    body = str(doc.text).strip()
    first, _, rest = body.partition("\n")
    if title and first.strip() == title and rest.strip():
        body = rest.strip()  # the headline repeated as the text's first line
    try:
        published = normalize_date(doc.date) if doc.date else ""
    except ValueError:
        published = ""
    if published and not ("1900-01-01" <= published <= (date.today() + timedelta(days=2)).isoformat()):
        published = ""  # a placeholder or a wrong clock, not a publication date
    return PageArticle(
        title, body, " ".join(str(doc.author or "").split()), published, str(doc.sitename or "")
    )
