"""What the store's modules share: the sync's report, the store's errors, what is embedded for a chunk,
and an article as its record holds it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from assistant.chunking import CHUNKER_VERSION, Chunk, chunk_article, chunk_ids
from assistant.corpus.files import Article, Failure
from assistant.settings import ChunkSettings
from assistant.textutil import plural

if TYPE_CHECKING:
    from assistant.store.lexical import LexicalDoc

# Where a sync may be interrupted; crash tests pass a hook that kills the process at one of them.
FAULT_POINTS = ("manifest_deleted", "chunks_deleted", "chunks_stored", "manifest_written", "removed")

ProgressFn = Callable[[int, int], None]
FaultHook = Callable[[str], None]


class IndexError_(RuntimeError):
    """A problem with the index itself (not with one article); the message says how to fix it."""


class EmbeddingMismatch(IndexError_):
    pass


@dataclass
class SyncReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[Failure] = field(default_factory=list)
    chunks_embedded: int = 0
    seconds: float = 0.0
    repaired: int = 0  # articles whose vectors or lexical entries were rebuilt from their records
    relinked: int = 0  # articles taken back from vectors a lost record left behind (nothing embedded)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 3)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SyncReport:
        """A report as to_dict wrote it (a job's result, read back from PostgreSQL)."""
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__ and k != "failed"}
        failed = [Failure(str(f.get("path", "")), str(f.get("error", ""))) for f in d.get("failed", [])]
        return cls(**known, failed=failed)

    def absorb(self, other: SyncReport) -> SyncReport:
        """This report and another's counts together (several jobs of one poll); returns self."""
        for f in fields(self):
            if f.name != "failed":  # every other field is a count (or seconds)
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        self.failed = [*self.failed, *other.failed]
        return self

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        s = (
            f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
            f"removed {self.removed}, failed {len(self.failed)}; "
            f"{plural(self.chunks_embedded, 'chunk')} embedded in {self.seconds:.1f}s"
        )
        extra = [
            f"{plural(n, 'article')} {what}"
            for n, what in ((self.repaired, "repaired"), (self.relinked, "re-linked without embedding"))
            if n
        ]
        return f"{s}; {', '.join(extra)}" if extra else s


RECORD_DEFAULTS: dict[str, Any] = {
    "fingerprint": "",
    "title": "",
    "url": "",
    "source": "",
    "published_date": "",
    "published": 0,
    "path": "",
    "origin": "",
    "n_chunks": 0,
}


def recorded_chunk_ids(
    manifest: dict[str, dict[str, Any]], article_ids: Iterable[str] | None = None
) -> list[str]:
    """The ids of the chunks the records say these articles (default: every recorded one) have."""
    out: list[str] = []
    for aid in manifest if article_ids is None else article_ids:
        m = manifest.get(aid)
        if m is not None:
            out += chunk_ids(aid, int(m.get("n_chunks", 0)))
    return out


def embed_text(title: str, text: str) -> str:
    """What is embedded (and lexically indexed) for a chunk: the title gives it context."""
    return f"{title}\n{text}" if title else text


def texts_to_embed(articles: Iterable[Article], chunks: ChunkSettings) -> list[str]:
    """What a sync embeds for these articles, chunk by chunk (benchmarks time the embedding alone on
    it)."""
    return [
        embed_text(a.title, c.text) for a in articles for c in chunk_article(a, chunks.size, chunks.overlap)
    ]


def article_from_record(article_id: str, meta: dict[str, Any], text: str) -> Article:
    """The article a record holds (its fingerprint is the one the record was written with)."""
    return Article(
        id=article_id,
        title=meta.get("title", ""),
        text=text,
        url=meta.get("url", ""),
        source=meta.get("source", ""),
        published=meta.get("published_date", ""),
        path=meta.get("path", ""),
        origin=meta.get("origin", ""),
    )


def chunker_tag(chunks: ChunkSettings) -> str:
    return f"v{CHUNKER_VERSION}:{chunks.size}:{chunks.overlap}"


def fingerprint(a: Article, chunks: ChunkSettings) -> str:
    """An article's fingerprint in the index: the chunker settings are part of it, so changing them
    re-embeds every article."""
    return f"{a.fingerprint}:{chunker_tag(chunks)}"


def chunk_meta(art: Article, c: Chunk) -> dict[str, Any]:
    """What a chunk's vector carries beside it (what searches filter on and sources show)."""
    return {
        "article_id": art.id,
        "n": c.n,
        "start": c.start,
        "end": c.end,
        "title": art.title,
        "url": art.url,
        "source": art.source,
        "published": art.published_int,
        "origin": art.origin,
    }


def article_meta(a: Article, n_chunks: int, chunks: ChunkSettings) -> dict[str, Any]:
    """An article's record (without its text)."""
    return {
        "fingerprint": fingerprint(a, chunks),
        "title": a.title,
        "url": a.url,
        "source": a.source,
        "published_date": a.published,
        "published": a.published_int,
        "path": a.path,
        "origin": a.origin,
        "n_chunks": n_chunks,
    }


def lexical_docs(art: Article, chunks: list[Chunk]) -> list[LexicalDoc]:
    """An article's chunks as the lexical index takes them."""
    from assistant.store.lexical import LexicalDoc

    return [
        LexicalDoc(c.id, art.id, embed_text(art.title, c.text), art.published_int, art.source) for c in chunks
    ]
