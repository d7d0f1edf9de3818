"""Files → Article (the loaders per format).

Loads `.txt`, `.md` (YAML front matter), `.html`, `.json` and `.jsonl` articles. Every problem with one
file (or one JSON line) becomes a `Failure` with a one-line reason; it never stops the others.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from assistant.dates import iso_ymd

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl")


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    text: str
    url: str = ""
    source: str = ""
    published: str = ""  # YYYY-MM-DD or ""
    path: str = ""  # the file it came from (absolute), "" when it came from elsewhere

    @property
    def fingerprint(self) -> str:
        payload = json.dumps(
            [self.id, self.title, self.url, self.source, self.published, self.text],
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    @property
    def published_int(self) -> int:
        """YYYYMMDD as an integer (0 when unknown), so the store can filter ranges."""
        return iso_ymd(self.published)


@dataclass(frozen=True)
class Failure:
    path: str
    error: str


@dataclass
class LoadResult:
    # (root, article): root is the path the article was found under, used to scope removals.
    articles: list[tuple[str, Article]] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    # Files that failed in whole or in part: their previously indexed articles must be kept.
    failed_files: set[str] = field(default_factory=set)
    roots: list[str] = field(default_factory=list)


class ArticleError(ValueError):
    """A file or record that cannot be turned into an article; the message is the reason."""


def normalize_date(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    m = re.match(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})", str(value))
    if not m:
        m = re.match(r"\s*(\d{4})/(\d{1,2})/(\d{1,2})", str(value))
    if not m:
        return ""
    try:
        return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        return ""


def _title_from_name(path: Path, text: str) -> str:
    stem = re.sub(r"[_\-]+", " ", path.stem).strip()
    words = [w for w in stem.split() if re.fullmatch(r"[A-Za-z][A-Za-z']{2,}", w)]
    if len(words) >= 2:
        return stem[:1].upper() + stem[1:]
    # File names like "000_f361700daea0b08c" say nothing: use the opening sentence instead.
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0].strip()
    return first if len(first) <= 90 else first[:87].rsplit(" ", 1)[0] + "…"


def _looks_like_headline(line: str, rest: str) -> bool:
    line = line.strip()
    return (
        bool(rest.strip())
        and 0 < len(line) <= 150
        and not re.search(r"[.!?,;:]['\"”’]?$", line)
        and len(line.split()) <= 25
    )


def _make(raw: dict[str, Any], *, default_id: str, path: str, fallback_title: str) -> Article:
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ArticleError("record has no text")
    url = str(raw.get("url") or "").strip()
    if url and not re.match(r"^https?://", url, re.I):
        url = ""
    title = str(raw.get("title") or "").strip() or fallback_title
    return Article(
        id=url or default_id,
        title=title,
        text=text,
        url=url,
        source=str(raw.get("source") or "").strip(),
        published=normalize_date(raw.get("published") or raw.get("date")),
        path=path,
    )


def _read_text(path: Path, max_bytes: int) -> str:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ArticleError("file disappeared before it could be read") from None
    if size > max_bytes:
        raise ArticleError(
            f"file is {size:,} bytes, over the limit of {max_bytes:,} (ASSISTANT_MAX_FILE_BYTES)"
        )
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise ArticleError("file disappeared before it could be read") from None
    except OSError as e:
        raise ArticleError(f"cannot read file: {e.strerror or e}") from None
    if len(data) > max_bytes:
        raise ArticleError(f"file grew over the limit of {max_bytes:,} bytes while being read")
    if not data.strip():
        raise ArticleError("empty file")
    if b"\x00" in data:
        raise ArticleError("binary file (contains NUL bytes), not a text article")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ArticleError(f"not valid UTF-8 (bad byte at offset {e.start})") from None


def parse_txt(path: Path, content: str, rel: str) -> Article:
    first, _, rest = content.strip().partition("\n")
    if _looks_like_headline(first, rest):
        return Article(id=rel, title=first.strip(), text=rest.strip(), path=str(path))
    text = content.strip()
    return Article(id=rel, title=_title_from_name(path, text), text=text, path=str(path))


def parse_markdown(path: Path, content: str, rel: str) -> Article:
    import yaml

    meta: dict[str, Any] = {}
    body = content
    m = re.match(r"^---\s*\n(.*?)\n---\s*(?:\n|$)", content, re.S)
    if m:
        try:
            loaded = yaml.safe_load(m.group(1))
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 2}" if mark is not None else ""
            raise ArticleError(f"invalid YAML front matter{where}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ArticleError("YAML front matter is not a mapping of fields")
        meta = loaded or {}
        body = content[m.end() :]
    body = body.strip()
    if not meta.get("title"):
        h = re.match(r"#\s+(.+)\n", body + "\n")
        if h:
            meta["title"] = h.group(1).strip()
            body = body[h.end() :].strip()
    meta["text"] = body
    return _make(meta, default_id=rel, path=str(path), fallback_title=_title_from_name(path, body))


def parse_html(path: Path, content: str, rel: str, url: str = "") -> Article:
    import trafilatura

    doc: dict[str, Any] | None = trafilatura.bare_extraction(  # type: ignore[assignment]
        content, url=url or None, with_metadata=True, include_comments=False, as_dict=True
    )
    if not doc or not (doc.get("text") or "").strip():
        raise ArticleError("no article text found in the HTML page")
    raw = {
        "title": doc.get("title"),
        "url": url or doc.get("url") or "",
        "source": doc.get("sitename") or doc.get("hostname") or "",
        "published": doc.get("date"),
        "text": doc.get("text"),
    }
    return _make(raw, default_id=rel, path=str(path), fallback_title=_title_from_name(path, str(raw["text"])))


def _records(path: Path, content: str) -> Iterator[tuple[str, Any]]:
    """Yields (label, record or ArticleError) for a .json or .jsonl file."""
    if path.suffix.lower() == ".jsonl":
        for n, line in enumerate(content.splitlines(), 1):
            if not line.strip():
                continue
            try:
                yield f"{path}:{n}", json.loads(line)
            except json.JSONDecodeError as e:
                yield f"{path}:{n}", ArticleError(f"malformed JSON line: {e.msg} (column {e.colno})")
        return
    try:
        data = json.loads(content)
    except json.JSONDecodeError as e:
        raise ArticleError(f"malformed JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
    items = data if isinstance(data, list) else [data]
    for n, item in enumerate(items, 1):
        yield (f"{path}#{n}" if isinstance(data, list) else str(path)), item


def parse_records(path: Path, content: str, rel: str) -> Iterator[tuple[str, Article | ArticleError]]:
    for n, (label, rec) in enumerate(_records(path, content), 1):
        if isinstance(rec, ArticleError):
            yield label, rec
            continue
        if not isinstance(rec, dict):
            yield label, ArticleError("record is not a JSON object")
            continue
        rid = str(rec.get("id") or n)
        try:
            art = _make(rec, default_id=f"{rel}#{rid}", path=str(path), fallback_title=f"{path.stem} {rid}")
        except ArticleError as e:
            yield label, e
        else:
            yield label, art


def load_file(path: Path, rel: str, max_bytes: int) -> Iterator[tuple[str, Article | ArticleError]]:
    """Yields (label, article or error) for every article in one file."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        yield (
            str(path),
            ArticleError(
                f"unsupported file type '{suffix or path.name}' (supported: {' '.join(SUPPORTED_SUFFIXES)})"
            ),
        )
        return
    try:
        content = _read_text(path, max_bytes)
        if suffix in (".json", ".jsonl"):
            yield from parse_records(path, content, rel)
            return
        if suffix == ".txt":
            art = parse_txt(path, content, rel)
        elif suffix in (".md", ".markdown"):
            art = parse_markdown(path, content, rel)
        else:
            art = parse_html(path, content, rel)
    except ArticleError as e:
        yield str(path), e
        return
    yield str(path), art


def iter_files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for p in sorted(root.rglob("*")):
        rel_parts = p.relative_to(root).parts
        if any(part.startswith(".") for part in rel_parts):
            continue  # hidden files and folders (.git, .DS_Store) are not articles
        if p.is_file() or (p.is_symlink() and not p.exists()):
            yield p


def load_paths(paths: Iterable[Path], max_bytes: int) -> LoadResult:
    result = LoadResult()
    seen: dict[str, str] = {}
    for given in paths:
        root = Path(given).resolve()
        if not root.exists():
            result.failed.append(Failure(str(given), "no such file or folder"))
            continue
        result.roots.append(str(root))
        base = root.parent if root.is_file() else root
        for path in iter_files(root):
            rel = path.relative_to(base).as_posix()
            for label, item in load_file(path, rel, max_bytes):
                if isinstance(item, ArticleError):
                    result.failed.append(Failure(label, str(item)))
                    result.failed_files.add(str(path))
                    continue
                if item.id in seen:
                    result.failed.append(
                        Failure(label, f"duplicate article id {item.id!r} (first seen in {seen[item.id]})")
                    )
                    continue
                seen[item.id] = label
                result.articles.append((str(root), item))
    return result
