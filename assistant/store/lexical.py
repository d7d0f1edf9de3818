"""Lexical search over chunk texts: a tantivy index on disk (BM25), changed article by article.

Adding or removing an article costs in proportion to its chunks, not to the corpus. The index lives in
the index folder, so every process on the machine reads the same one: a reader reloads when another
process has committed (the next query sees a sync's result, no restart). One process writes at a time
(tantivy's own lock, under the store's cross-process writer lock).

A chunk is indexed as its content terms (`assistant.textutil.content_terms`: stems of the words that
carry meaning), the same terms answer scoring weighs by their inverse document frequency.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from assistant.damage import fatal
from assistant.store.filters import ChunkFilter

log = logging.getLogger(__name__)
T = TypeVar("T")

# Bumped when what is indexed changes: the lexical index is then built again from the stored chunks.
LEXICAL_VERSION = "tantivy-1"
_WRITER_HEAP = 64_000_000


@dataclass(frozen=True)
class LexicalDoc:
    chunk_id: str
    article_id: str
    text: str  # what is searched (title and chunk text)
    published: int  # YYYYMMDD, 0 when unknown
    source: str


def _schema() -> Any:
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_text_field("terms", stored=False, tokenizer_name="whitespace")
    sb.add_text_field("chunk_id", stored=True, tokenizer_name="raw")
    sb.add_text_field("article_id", stored=False, tokenizer_name="raw")
    sb.add_text_field("source", stored=False, tokenizer_name="raw")
    sb.add_integer_field("published", indexed=True, fast=True, stored=False)
    return sb.build()


def terms_of(text: str) -> list[str]:
    from assistant.textutil import content_terms

    return [t for t in content_terms(text) if t and not any(c.isspace() for c in t)]


class LexicalDamaged(RuntimeError):
    """The lexical index failed while it was read (tantivy panics on a damaged segment)."""


def _guarded(read: Callable[..., T], *args: Any) -> T:
    """A read of the index; a damaged segment's panic (a BaseException in the bindings) becomes
    LexicalDamaged, which callers can catch."""
    try:
        return read(*args)
    except LexicalDamaged:
        raise
    except BaseException as e:
        if fatal(e):
            raise
        raise LexicalDamaged(" ".join(str(e).split())[:200] or type(e).__name__) from e


class LexicalStore:
    def __init__(self, folder: Path) -> None:
        import tantivy

        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._schema = _schema()
        self._index = tantivy.Index(self._schema, path=str(folder), reuse=True)
        self._lock = threading.Lock()
        self._seen = self._stamp()
        self._cached: Any = None
        self._writer: Any = None

    # ---- reading ---------------------------------------------------------------------------------

    def _stamp(self) -> float:
        try:
            return (self.folder / "meta.json").stat().st_mtime_ns
        except OSError:
            return 0

    def _searcher(self) -> Any:
        """The current searcher, reloaded when any process has committed since the last query (one
        stat of meta.json per call)."""
        stamp = self._stamp()
        searcher = self._cached
        if stamp != self._seen or searcher is None:
            with self._lock:
                self._index.reload()
                self._seen = stamp
                self._cached = searcher = self._index.searcher()
        return searcher

    def probe(self) -> None:
        """Reads the index (its segments, not only meta.json): raises when it cannot."""
        self._index.reload()
        self._cached = None
        s = self._searcher()
        if s.num_docs:
            import tantivy

            self.search("the news", 1)
            for _, addr in s.search(tantivy.Query.all_query(), 1).hits:
                s.doc(addr)

    @property
    def n_docs(self) -> int:
        return int(self._searcher().num_docs)

    def idf(self, term: str, min_docs: int = 0) -> float:
        return _guarded(self._idf, term, min_docs)

    def _idf(self, term: str, min_docs: int = 0) -> float:
        """log((N + 1) / (df + 0.5)) over the chunks; N is at least min_docs, so that a small index is
        read as a sample of a larger news collection (in a one-article index a word it lacks would
        otherwise outweigh every word it holds)."""
        s = self._searcher()
        df = s.doc_freq("terms", term) if term and " " not in term else 0
        return math.log((max(s.num_docs, min_docs) + 1) / (df + 0.5))

    def search(self, query: str, k: int, where: ChunkFilter | None = None) -> list[tuple[str, float]]:
        return _guarded(self._search, query, k, where)

    def _search(self, query: str, k: int, where: ChunkFilter | None = None) -> list[tuple[str, float]]:
        """The k best chunks for the query's terms (BM25), as (chunk id, score)."""
        import tantivy

        terms = list(dict.fromkeys(terms_of(query)))
        if not terms or k <= 0:
            return []
        s = self._searcher()
        if s.num_docs == 0:
            return []
        should = [(tantivy.Occur.Should, tantivy.Query.term_query(self._schema, "terms", t)) for t in terms]
        clauses = [(tantivy.Occur.Must, tantivy.Query.boolean_query(should))]
        f = where or ChunkFilter()
        if f.lo or f.hi:  # without a lower bound, undated articles (0) are in range
            hi = f.hi or 99_999_999
            in_range = tantivy.Query.range_query(
                self._schema, "published", tantivy.FieldType.Integer, f.lo, hi
            )
            clauses.append((tantivy.Occur.Must, in_range))
        if f.sources:
            clauses.append(
                (tantivy.Occur.Must, tantivy.Query.term_set_query(self._schema, "source", list(f.sources)))
            )
        if f.exclude_articles:
            clauses.append(
                (
                    tantivy.Occur.MustNot,
                    tantivy.Query.term_set_query(self._schema, "article_id", list(f.exclude_articles)),
                )
            )
        result = s.search(tantivy.Query.boolean_query(clauses), k)
        return [(str(s.doc(addr)["chunk_id"][0]), float(score)) for score, addr in result.hits if score > 0]

    def chunk_ids(self) -> list[str]:
        return _guarded(self._chunk_ids)

    def _chunk_ids(self) -> list[str]:
        """Every chunk indexed (a full read: for checks and repairs)."""
        import tantivy

        s = self._searcher()
        if s.num_docs == 0:
            return []
        hits = s.search(tantivy.Query.all_query(), s.num_docs).hits
        return sorted(str(s.doc(addr)["chunk_id"][0]) for _, addr in hits)

    # ---- writing (one process at a time) --------------------------------------------------------

    def _w(self) -> Any:
        if self._writer is None:
            self._writer = self._index.writer(heap_size=_WRITER_HEAP, num_threads=1)
        return self._writer

    def delete_articles(self, article_ids: Iterable[str]) -> None:
        """Deletes every chunk of these articles, committed."""
        self._delete_where("article_id", list(article_ids))

    def delete_chunks(self, chunk_ids: Iterable[str]) -> None:
        """Deletes these chunks, committed."""
        self._delete_where("chunk_id", list(chunk_ids))

    def _delete_where(self, field: str, values: list[str]) -> None:
        if not values:
            return
        import tantivy

        w = self._w()
        for part in range(0, len(values), 1000):
            w.delete_documents_by_query(
                tantivy.Query.term_set_query(self._schema, field, values[part : part + 1000])
            )
        self.commit()

    def add(self, docs: Sequence[LexicalDoc]) -> None:
        """Adds chunks, committed (a chunk of the same id must have been deleted first)."""
        if not docs:
            return
        import tantivy

        w = self._w()
        for d in docs:
            w.add_document(
                tantivy.Document(
                    terms=" ".join(terms_of(d.text)),
                    chunk_id=d.chunk_id,
                    article_id=d.article_id,
                    source=d.source,
                    published=int(d.published),
                )
            )
        self.commit()

    def commit(self) -> None:
        if self._writer is not None:
            self._writer.commit()
            with self._lock:
                self._index.reload()
                self._seen = self._stamp()
                self._cached = None

    def close_writer(self) -> None:
        """Lets another process write (tantivy holds a lock file while a writer is open)."""
        if self._writer is not None:
            try:
                self._writer.commit()
                self._writer.wait_merging_threads()
            finally:
                self._writer = None
            with self._lock:
                self._index.reload()
                self._seen = self._stamp()
                self._cached = None

    def clear(self) -> None:
        w = self._w()
        w.delete_all_documents()
        self.commit()
