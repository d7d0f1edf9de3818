"""The corpus layer: files and fetched pages → Article.

- files.py: loaders per format (.txt, .md with front matter, .html, .json, .jsonl), one Failure per bad file;
- fetch.py: the one safe fetcher of web pages (and feeds).
"""

from assistant.corpus.files import (
    SUPPORTED_SUFFIXES,
    Article,
    ArticleError,
    Failure,
    LoadResult,
    load_paths,
    normalize_date,
    parse_html,
)

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Article",
    "ArticleError",
    "Failure",
    "LoadResult",
    "load_paths",
    "normalize_date",
    "parse_html",
]
