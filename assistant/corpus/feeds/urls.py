"""The canonical form of an article's address: one article, one URL, however a feed spells it."""

from __future__ import annotations

import hashlib
from urllib.parse import unquote, urlsplit, urlunsplit

# Query parameters that only say where a click came from.
TRACKING = frozenset({"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "_ga", "cmpid"})


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no default port, no fragment, no tracking parameters (utm_*, fbclid,
    …), "/" for an empty path; the rest of the query is kept byte for byte (a server may read it in any
    encoding). Raises ValueError for anything that is not an absolute http(s) URL."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an absolute http(s) address")
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or port == (443 if scheme == "https" else 80) else f"{host}:{port}"
    kept = [p for p in parts.query.split("&") if p and not _tracking(p.split("=", 1)[0])]
    return urlunsplit((scheme, netloc, parts.path or "/", "&".join(kept), ""))


def _tracking(key: str) -> bool:
    key = unquote(key).lower()
    return key.startswith("utm_") or key in TRACKING


def url_key(url: str) -> str:
    """The file name stem of the article at a canonical URL: 20 hex digits of its SHA-256."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:20]
