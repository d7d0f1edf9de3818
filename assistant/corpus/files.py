"""Files → Article (the loaders per format).

Loads `.txt`, `.md` (YAML front matter), `.html`, `.json` and `.jsonl` articles. Every problem with one
file (or one JSON line) becomes a `Failure` with a one-line reason naming the file by its path relative
to the folder it was found in; it never stops the others. Every parser is bounded (`CorpusSettings`):
file size, JSON depth, records per file, front matter size and depth (no YAML aliases), title and
metadata lengths, text length. Symbolic links are followed only within the folder being loaded.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from assistant.dates import iso_ymd
from assistant.settings import CorpusSettings

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl")
# Front matter is a handful of short fields; a bigger block is not an article's front matter.
MAX_FRONT_MATTER_CHARS = 64_000
_REASON_CHARS = 300


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    text: str
    url: str = ""
    source: str = ""
    published: str = ""  # YYYY-MM-DD or ""
    path: str = ""  # the file it came from (absolute), "" when it came from elsewhere
    # the file it came from, relative to the parent of the folder synced ("corpus/0.json"): safe to show
    origin: str = ""

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
    # The file (or "file:line" / "file#record") relative to the parent of the folder synced, never an
    # absolute path found on the server; a path the caller gave that does not exist is echoed as given.
    path: str
    error: str


@dataclass
class LoadResult:
    # (root, article): root is the path the article was found under, used to scope removals.
    articles: list[tuple[str, Article]] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    # Files (and unreadable folders) that failed in whole or in part, as absolute paths: their
    # previously indexed articles must be kept.
    failed_files: set[str] = field(default_factory=set)
    roots: list[str] = field(default_factory=list)


class ArticleError(ValueError):
    """A file or record that cannot be turned into an article; the message is the reason."""


def one_line(text: str, limit: int = _REASON_CHARS) -> str:
    """Whitespace collapsed, cut to ``limit`` characters: what a failure reason may be."""
    flat = " ".join(text[: limit * 4].split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _cap(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters (titles, source names)."""
    flat = " ".join(text[: limit * 4 + 1000].split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut + "…"


def normalize_date(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    head = str(value)[:64]  # a date is at the start; never scan a long value
    m = re.match(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})", head)
    if not m:
        m = re.match(r"\s*(\d{4})/(\d{1,2})/(\d{1,2})", head)
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
    first = re.split(r"(?<=[.!?])\s", text.strip()[:2000], maxsplit=1)[0].strip()
    return first if len(first) <= 90 else first[:87].rsplit(" ", 1)[0] + "…"


def _looks_like_headline(line: str, rest: str) -> bool:
    line = line.strip()
    return (
        bool(rest.strip())
        and 0 < len(line) <= 150
        and not re.search(r"[.!?,;:]['\"”’]?$", line)
        and len(line.split()) <= 25
    )


_SCALARS = (str, int, float, bool, date)


def _field(raw: Mapping[str, Any], key: str) -> Any:
    """A field this loader uses: a single value (text, number, date, true/false) or None."""
    value = raw.get(key)
    if value is None or isinstance(value, _SCALARS):
        return value
    kind = (
        "list" if isinstance(value, list) else "mapping" if isinstance(value, dict) else type(value).__name__
    )
    raise ArticleError(f"field '{key}' must be a single value, not a {kind}")


def check_text_size(text: str, limits: CorpusSettings) -> None:
    if len(text) > limits.max_text_chars:
        raise ArticleError(
            f"article text is {len(text):,} characters, over the limit of {limits.max_text_chars:,} "
            "(ASSISTANT_CORPUS__MAX_TEXT_CHARS); split it into several articles"
        )


def _make(
    raw: Mapping[str, Any],
    *,
    default_id: str,
    path: str,
    fallback_title: str,
    limits: CorpusSettings,
    origin: str = "",
) -> Article:
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ArticleError("record has no text")
    check_text_size(text, limits)
    url = str(_field(raw, "url") or "").strip()
    if len(url) > limits.max_meta_chars:
        # The url is the article's id: cutting it could merge two articles, so it is refused.
        raise ArticleError(
            f"url is {len(url):,} characters, over the limit of {limits.max_meta_chars:,} "
            "(ASSISTANT_CORPUS__MAX_META_CHARS)"
        )
    if url and not re.match(r"^https?://", url, re.I):
        url = ""
    title = _cap(str(_field(raw, "title") or ""), limits.max_title_chars) or _cap(
        fallback_title, limits.max_title_chars
    )
    published = _field(raw, "published") or _field(raw, "date")
    return Article(
        id=url or default_id,
        title=title,
        text=text,
        url=url,
        source=_cap(str(_field(raw, "source") or ""), limits.max_meta_chars),
        published=normalize_date(published),
        path=path,
        origin=origin,
    )


def read_text(path: Path, max_bytes: int) -> str:
    """The file's text, read through ``path`` (a real path: no symbolic link is followed)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ArticleError("file disappeared before it could be read") from None
    if not stat.S_ISREG(st.st_mode):
        raise ArticleError("not a regular file")
    if st.st_size > max_bytes:
        raise ArticleError(
            f"file is {st.st_size:,} bytes, over the limit of {max_bytes:,} (ASSISTANT_MAX_FILE_BYTES)"
        )
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ArticleError("file disappeared before it could be read") from None
    except OSError as e:
        raise ArticleError(f"cannot read file: {_os_reason(e)}") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped for something else since the check
            raise ArticleError("not a regular file")
        data = fh.read(max_bytes + 1)
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


def parse_txt(
    path: Path, content: str, rel: str, *, limits: CorpusSettings | None = None, origin: str = ""
) -> Article:
    limits = limits or CorpusSettings()
    first, _, rest = content.strip().partition("\n")
    if _looks_like_headline(first, rest):
        title, text = first.strip(), rest.strip()
    else:
        text = content.strip()
        title = _title_from_name(path, text)
    check_text_size(text, limits)
    return Article(
        id=rel, title=_cap(title, limits.max_title_chars), text=text, path=str(path), origin=origin
    )


_FENCE = re.compile(r"^---[ \t\r]*$", re.M)


def _split_front_matter(content: str) -> tuple[str, str] | None:
    """(front matter, body) when the file opens with a ``---`` line and has a closing one, else None.
    The closing line is found with one linear search (a lazy regex over the file was quadratic)."""
    first, sep, rest = content.partition("\n")
    if not sep or first.rstrip() != "---":
        return None
    m = _FENCE.search(rest)
    if m is None:
        return None
    if m.start() > MAX_FRONT_MATTER_CHARS:
        raise ArticleError(f"YAML front matter is over {MAX_FRONT_MATTER_CHARS:,} characters")
    return rest[: m.start()].removesuffix("\n"), rest[m.end() :]


def _load_front_matter(text: str, max_depth: int) -> Any:
    """YAML with the safe loader, refusing aliases and anchors (an alias bomb expands to gigabytes)
    and nesting deeper than ``max_depth``."""
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise ArticleError("YAML aliases and anchors (* and &) are not allowed in front matter")
            self.depth += 1
            if self.depth > max_depth:
                raise ArticleError(f"YAML front matter is nested deeper than {max_depth} levels")
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    try:
        loader = BoundedLoader(text)  # the reader refuses some characters here already
    except yaml.YAMLError as e:
        raise ArticleError(f"invalid YAML front matter ({one_line(str(e).splitlines()[0], 120)})") from None
    try:
        return loader.get_single_data()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        raise ArticleError(f"invalid YAML front matter{where}") from None
    finally:
        loader.dispose()


def parse_markdown(
    path: Path, content: str, rel: str, *, limits: CorpusSettings | None = None, origin: str = ""
) -> Article:
    """Front matter fields used: title, url, source, published (or date), each a single value; a list or
    mapping there is an error. Other fields are ignored whatever they hold (tags: [a, b] is fine)."""
    limits = limits or CorpusSettings()
    meta: dict[str, Any] = {}
    body = content
    split = _split_front_matter(content)
    if split is not None:
        front, body = split
        loaded = _load_front_matter(front, limits.max_json_depth)
        if loaded is not None and not isinstance(loaded, dict):
            raise ArticleError("YAML front matter is not a mapping of fields")
        meta = {
            k: v for k, v in (loaded or {}).items() if k in ("title", "url", "source", "published", "date")
        }
    body = body.strip()
    if not meta.get("title"):
        h = re.match(r"#[ \t]+([^\n]+)\n", body + "\n")
        if h:
            meta["title"] = h.group(1).strip()
            body = body[h.end() :].strip()
    meta["text"] = body
    return _make(
        meta,
        default_id=rel,
        path=str(path),
        fallback_title=_title_from_name(path, body),
        limits=limits,
        origin=origin,
    )


def parse_html(
    path: Path,
    content: str,
    rel: str,
    url: str = "",
    *,
    limits: CorpusSettings | None = None,
    origin: str = "",
) -> Article:
    import trafilatura

    limits = limits or CorpusSettings()
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
    return _make(
        raw,
        default_id=rel,
        path=str(path),
        fallback_title=_title_from_name(path, str(raw["text"])),
        limits=limits,
        origin=origin,
    )


# A JSON string, or an unterminated one running to the end: it always matches where it starts, so the
# scan is linear whatever the input.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def json_too_deep(text: str, max_depth: int) -> bool:
    """Whether JSON text nests arrays/objects deeper than ``max_depth`` (exact for valid JSON; for
    malformed JSON it bounds what the parser's recursion can reach). Linear: C-speed passes only."""
    if text.count("[") + text.count("{") <= max_depth:
        return False
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text)).replace("{", "[").replace("}", "]")
    for _ in range(max_depth):
        shorter = brackets.replace("[]", "")  # drops the innermost level
        if shorter == brackets:
            break
        brackets = shorter
    else:
        if "[]" in brackets:
            return True
    return brackets.count("[") > max_depth  # unclosed brackets: "[" * 5000


def _parse_json(text: str, limits: CorpusSettings, what: str) -> Any:
    if json_too_deep(text, limits.max_json_depth):
        raise ArticleError(
            f"{what} is nested deeper than {limits.max_json_depth} levels (ASSISTANT_CORPUS__MAX_JSON_DEPTH)"
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        where = f"line {e.lineno}, column {e.colno}" if what == "JSON" else f"column {e.colno}"
        raise ArticleError(f"malformed {what}: {e.msg} ({where})") from None
    except ValueError as e:  # e.g. an integer of more than 4,300 digits
        raise ArticleError(f"malformed {what}: {one_line(str(e), 120)}") from None


def _too_many(n: int, limits: CorpusSettings) -> ArticleError:
    return ArticleError(
        f"file holds {n:,} records, over the limit of {limits.max_records_per_file:,} "
        "(ASSISTANT_CORPUS__MAX_RECORDS_PER_FILE); split it into smaller files"
    )


def _records(path: Path, content: str, label: str, limits: CorpusSettings) -> Iterator[tuple[str, Any]]:
    """Yields (label, record or ArticleError) for a .json or .jsonl file."""
    if path.suffix.lower() == ".jsonl":
        lines = content.splitlines()
        n_records = sum(1 for line in lines if line.strip())
        if n_records > limits.max_records_per_file:
            raise _too_many(n_records, limits)
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield f"{label}:{n}", _parse_json(line, limits, "JSON line")
            except ArticleError as e:
                yield f"{label}:{n}", e
        return
    data = _parse_json(content, limits, "JSON")
    if isinstance(data, list) and len(data) > limits.max_records_per_file:
        raise _too_many(len(data), limits)
    items = data if isinstance(data, list) else [data]
    for n, item in enumerate(items, 1):
        yield (f"{label}#{n}" if isinstance(data, list) else label), item


def parse_records(
    path: Path,
    content: str,
    rel: str,
    *,
    limits: CorpusSettings | None = None,
    origin: str = "",
) -> Iterator[tuple[str, Article | ArticleError]]:
    limits = limits or CorpusSettings()
    for n, (label, rec) in enumerate(_records(path, content, origin or rel, limits), 1):
        if isinstance(rec, ArticleError):
            yield label, rec
            continue
        if not isinstance(rec, dict):
            yield label, ArticleError("record is not a JSON object")
            continue
        try:
            rid = str(_field(rec, "id") or n)
            if len(rid) > limits.max_meta_chars:
                raise ArticleError(f"record id is over {limits.max_meta_chars:,} characters")
            art = _make(
                rec,
                default_id=f"{rel}#{rid}",
                path=str(path),
                fallback_title=f"{path.stem} {rid}",
                limits=limits,
                origin=origin,
            )
        except ArticleError as e:
            yield label, e
        else:
            yield label, art


def _os_reason(e: OSError) -> str:
    if e.errno == errno.ELOOP:
        return "symbolic link loop"
    if e.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return e.strerror or type(e).__name__


def _real_target(path: Path, root: Path) -> Path | None:
    """The real file to read for ``path``; None for a folder (a link to a folder inside ``root``,
    whose files are loaded where they really are). Refuses links that lead out of ``root``."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        raise ArticleError("file disappeared before it could be read") from None
    if stat.S_ISDIR(st.st_mode):  # listed only when the folder could not be read
        try:
            os.listdir(path)
        except OSError as e:
            raise ArticleError(f"cannot read folder: {_os_reason(e)}") from None
        return None
    if not stat.S_ISLNK(st.st_mode):
        return path
    try:
        real = Path(os.path.realpath(path, strict=True))
    except FileNotFoundError:
        raise ArticleError("broken symbolic link (its target does not exist)") from None
    except OSError as e:
        raise ArticleError(_os_reason(e)) from None
    if real != root and root not in real.parents:
        raise ArticleError("symbolic link to outside the synced folder (not followed)")
    if real.is_dir():
        return None
    return real


def _suffix_error(path: Path) -> ArticleError | None:
    suffix = path.suffix.lower()
    if suffix in SUPPORTED_SUFFIXES:
        return None
    return ArticleError(
        f"unsupported file type '{suffix or path.name}' (supported: {' '.join(SUPPORTED_SUFFIXES)})"
    )


def load_file(
    path: Path,
    rel: str,
    max_bytes: int,
    limits: CorpusSettings | None = None,
    *,
    root: Path | None = None,
    origin: str = "",
) -> Iterator[tuple[str, Article | ArticleError]]:
    """Yields (label, article or error) for every article in one file. Known problems become
    ArticleErrors; anything else (RecursionError, MemoryError, …) is left to the caller (load_paths)."""
    limits = limits or CorpusSettings()
    label = origin or rel
    try:
        bad_type = _suffix_error(path)
        real = _real_target(path, root or path.parent)
        if real is None:
            return
        if bad_type is not None:
            raise bad_type
        content = read_text(real, max_bytes)
    except ArticleError as e:
        yield label, e
        return
    yield from parse_content(path, content, rel, limits, origin=origin)


def parse_content(
    path: Path, content: str, rel: str, limits: CorpusSettings | None = None, *, origin: str = ""
) -> Iterator[tuple[str, Article | ArticleError]]:
    """(label, article or error) for every article of a file's content, by the file's suffix (a
    file read from a folder, or a document kept in PostgreSQL by the cluster mode)."""
    limits = limits or CorpusSettings()
    label = origin or rel
    suffix = path.suffix.lower()
    try:
        if not content.strip():
            raise ArticleError("empty file")
        if "\x00" in content:
            raise ArticleError("binary file (contains NUL bytes), not a text article")
        if suffix in (".json", ".jsonl"):
            # all of a file's records, or none: a file-wide error (too many records) comes first
            items = list(parse_records(path, content, rel, limits=limits, origin=origin))
            yield from items
            return
        if suffix == ".txt":
            art = parse_txt(path, content, rel, limits=limits, origin=origin)
        elif suffix in (".md", ".markdown"):
            art = parse_markdown(path, content, rel, limits=limits, origin=origin)
        else:
            bad_type = _suffix_error(path)
            if bad_type is not None:
                raise bad_type
            art = parse_html(path, content, rel, limits=limits, origin=origin)
    except ArticleError as e:
        yield label, e
        return
    yield label, art


def iter_files(root: Path) -> Iterator[Path]:
    """Every entry to look at under ``root`` in a stable order: files, symbolic links (never followed
    here) and other non-folders; hidden names are skipped; a folder is listed only when it cannot be read."""
    if not root.is_dir():
        yield root
        return
    found: list[Path] = []
    unreadable: list[Path] = []

    def on_error(e: OSError) -> None:
        if e.filename:
            unreadable.append(Path(e.filename))

    for folder, dirs, files in os.walk(root, onerror=on_error, followlinks=False):
        here = Path(folder)
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # .git and the like
        for name in dirs:
            if (here / name).is_symlink():  # listed as a folder, but it is a link: decided per file
                found.append(here / name)
        found.extend(here / name for name in files if not name.startswith("."))
    yield from sorted([*found, *unreadable])


def _describe(e: BaseException, path: Path, root: Path, origin: str) -> str:
    """A one-line reason for an unexpected exception, without absolute paths."""
    if isinstance(e, RecursionError):
        return "nested too deeply to be read"
    if isinstance(e, MemoryError):
        return "too large to be read (out of memory)"
    if isinstance(e, OSError):
        return f"cannot read file: {_os_reason(e)}"
    if isinstance(e, UnicodeError):
        return "not valid text (bad character encoding)"
    msg = str(e).replace(str(path), origin).replace(str(root.parent), "…")
    return one_line(f"could not be read: {type(e).__name__}: {msg}")


def _shown(given: Path) -> str:
    """A path the caller gave, as it may be shown: as given when relative, else only its last part."""
    return str(given) if not given.is_absolute() else (given.name or str(given))


def load_paths(
    paths: Iterable[Path],
    max_bytes: int,
    limits: CorpusSettings | None = None,
    *,
    owners: Mapping[str, str] | None = None,
) -> LoadResult:
    """Loads every article under ``paths``. ``owners`` maps an article id to the absolute path of the
    file it is already indexed from: when two files here hold the same id, that file keeps it (else the
    first in path order does) and the other is reported."""
    limits = limits or CorpusSettings()
    owners = owners or {}
    result = LoadResult()
    first: dict[str, tuple[int, str]] = {}  # id -> (index in result.articles, label)
    later: list[tuple[str, Article]] = []
    for given in paths:
        given = Path(given)
        try:
            root = given.resolve(strict=True)
        except FileNotFoundError:
            result.failed.append(Failure(_shown(given), "no such file or folder"))
            continue
        except (OSError, RuntimeError) as e:  # RuntimeError: a symbolic link loop (Python < 3.13)
            reason = _os_reason(e) if isinstance(e, OSError) else "symbolic link loop"
            result.failed.append(Failure(_shown(given), reason))
            continue
        result.roots.append(str(root))
        base = root if root.is_dir() else root.parent
        for path in iter_files(root):
            rel = path.relative_to(base).as_posix()
            origin = path.relative_to(root.parent).as_posix()
            try:
                items = list(load_file(path, rel, max_bytes, limits, root=base, origin=origin))
            except Exception as e:  # noqa: BLE001 - one file's problem, whatever it is, is that file's
                if not isinstance(e, (RecursionError, MemoryError)):
                    log.warning("could not load %s", path, exc_info=True)
                items = [(origin, ArticleError(_describe(e, path, root, origin)))]
            for label, item in items:
                if isinstance(item, ArticleError):
                    result.failed.append(Failure(label, one_line(str(item))))
                    result.failed_files.add(str(path))
                    continue
                seen = first.get(item.id)
                if seen is None:
                    first[item.id] = (len(result.articles), label)
                    result.articles.append((str(root), item))
                    continue
                held = result.articles[seen[0]][1]
                if owners.get(item.id) == item.path != held.path:
                    # the file it is indexed from keeps it, wherever that file comes in the order
                    later.append((seen[1], held))
                    first[item.id] = (seen[0], label)
                    result.articles[seen[0]] = (str(root), item)
                else:
                    later.append((label, item))
    for label, item in later:
        keeper = first[item.id][1]
        result.failed.append(
            Failure(
                label,
                one_line(
                    f"article id {_short(item.id)} is also in {keeper}, which keeps it; rename or remove one"
                ),
            )
        )
    return result


def _short(article_id: str) -> str:
    return repr(article_id if len(article_id) <= 120 else article_id[:119] + "…")
