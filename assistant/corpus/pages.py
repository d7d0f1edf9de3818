"""A web page fetched by URL → an article file in the upload folder (Markdown with front matter), so
that the index stays a pure function of the folders. The page is fetched with the one safe fetcher
(fetch.py) and read with the HTML/text loaders (files.py)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from assistant.corpus.fetch import fetch
from assistant.corpus.files import ArticleError, parse_html, parse_txt
from assistant.settings import CorpusSettings, FetchSettings

# What a file name keeps (uploads and fetched pages); every other run becomes "-".
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class SavedPage:
    title: str
    url: str  # after redirects: the address the citation shows
    path: Path


def save_page(url: str, settings: FetchSettings, limits: CorpusSettings, folder: Path) -> SavedPage:
    """Fetches url and writes it as an article file in folder. Raises FetchError (the address is
    refused, unreachable, too large, too slow, not a page) or ArticleError (no article in it, or an
    address too long to be an article's id)."""
    page = fetch(url, settings)
    final = page.url
    if len(final) > limits.max_meta_chars:
        raise ArticleError(f"the address is longer than {limits.max_meta_chars} characters")
    if page.content_type == "text/plain":
        art = parse_txt(Path("page.txt"), page.text(), rel=final, limits=limits)
    else:
        art = parse_html(Path("page.html"), page.text(), rel=final, url=final, limits=limits)
    where = urlparse(final)
    slug = SAFE_NAME.sub("-", where.netloc + where.path).strip("-")[:80] or "page"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{slug}.md"
    source = art.source or where.hostname or ""
    front = {"title": art.title, "url": final, "source": source, "published": art.published}
    target.write_text(f"---\n{json.dumps(front, ensure_ascii=False)}\n---\n{art.text}\n", encoding="utf-8")
    return SavedPage(art.title, final, target)
