"""What people send the page, parsed and checked before anything runs: the answer filters (sources, days),
a feed's address and name, the caller's address, an uploaded file's name. Each refusal is one line for the
person.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

from assistant.ask.retrieve import Filters
from assistant.corpus.pages import SAFE_NAME
from assistant.ui.render import inert, safe_url

MAX_FEED_URL_CHARS = 2_000
MAX_FILTER_SOURCES = 100
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(value: Any, label: str) -> tuple[date | None, str]:
    """(the day, "") for "YYYY-MM-DD" or a blank, else (None, a one-line note for the person)."""
    text = (value if isinstance(value, str) else "" if value is None else str(value)).strip()
    if not text:
        return None, ""
    if len(text) == 10 and _DAY.fullmatch(text):
        try:
            return date.fromisoformat(text), ""
        except ValueError:
            pass
    shown = inert(" ".join(text[:40].split()) + ("…" if len(text) > 40 else ""))
    return None, f"The “{label}” date “{shown}” is not a date: write it as YYYY-MM-DD (e.g. 2025-03-18)."


def answer_filters(sources: Any, date_from: Any, date_to: Any) -> tuple[Filters, str]:
    """The answer filters from the page's inputs (sources: a list of names, or one name, or nothing),
    or (Filters(), a one-line note) when they cannot be used."""
    if isinstance(sources, str):
        sources = [sources]
    names = (
        [s.strip() for s in sources if isinstance(s, str) and s.strip()] if isinstance(sources, list) else []
    )
    names = list(dict.fromkeys(n[:500] for n in names))
    if len(names) > MAX_FILTER_SOURCES:
        return Filters(), f"Too many sources chosen ({len(names):,}; the limit is {MAX_FILTER_SOURCES})."
    lo, why_from = parse_day(date_from, "from")
    hi, why_to = parse_day(date_to, "to")
    if why_from or why_to:
        return Filters(), " ".join(x for x in (why_from, why_to) if x)
    if lo and hi and lo > hi:
        return Filters(), f"The “from” date {lo} is after the “to” date {hi}: no article can match."
    return Filters(date_from=lo, date_to=hi, sources=tuple(names)), ""


def feed_url_problem(url: str) -> str:
    """Why an address typed as a feed is refused before anything is fetched ("" when it may be tried)."""
    if not url:
        return "Give the http(s) address of an RSS or Atom feed."
    if len(url) > MAX_FEED_URL_CHARS:
        return f"The address is too long ({len(url):,} characters; the limit is {MAX_FEED_URL_CHARS:,})."
    if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in url):
        return "The address contains spaces or control characters; give the http(s) address of a feed."
    if not safe_url(url):
        return "Only http(s) addresses can be followed; give the http(s) address of an RSS or Atom feed."
    return ""


def feed_name(value: Any) -> str:
    """The name typed for a feed: at most 1,000 characters, control characters as spaces, one line."""
    name = value if isinstance(value, str) else ""
    return " ".join("".join(c if unicodedata.category(c)[0] != "C" else " " for c in name[:1000]).split())


def client_of(request: Any) -> str:
    """The caller's address from a gr.Request ("" when unknown)."""
    client = getattr(request, "client", None)
    return str(getattr(client, "host", "") or "")


def safe_filename(name: str) -> str:
    base = Path(name.replace("\\", "/")).name  # no folders, no traversal
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = SAFE_NAME.sub("-", stem).strip(".-") or "article"
    return f"{stem[:80]}{suffix}"
