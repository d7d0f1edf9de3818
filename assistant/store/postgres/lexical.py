"""The lexical index in PostgreSQL: BM25 over a postings table, changed article by article, read and
written by processes on any machine. A chunk is indexed as the same content terms as the tantivy index
(store/lexical.py) and scored with the same BM25 (k1 1.2, b 0.75, tantivy's idf), so the two modes rank
alike. PostgreSQL's own text search ranks with ts_rank, which is not BM25: a postings table keeps the
ranking the answer weights were fitted with (the dev eval compares the two: README)."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from assistant.store.filters import ChunkFilter
from assistant.store.lexical import LexicalDoc, terms_of
from assistant.store.postgres.database import Database

K1 = 1.2
B = 0.75
_IDF_TTL_S = 2.0  # document frequencies cached this long (a weight a moment old is harmless)


class PgLexicalStore:
    def __init__(self, db: Database, collection: str) -> None:
        self.db = db
        self.coll = collection
        self._lock = threading.Lock()
        self._df: dict[str, int] = {}
        self._stats: tuple[int, int] = (0, 0)
        self._read_at = 0.0

    @property
    def where(self) -> str:
        return f"{self.db.where} (collection {self.coll!r})"

    # ---- reading ---------------------------------------------------------------------------------

    def _fresh(self) -> tuple[int, int]:
        """(chunks, terms) of the index; the cached frequencies are dropped when they are old."""
        now = time.monotonic()
        with self._lock:
            if now - self._read_at < _IDF_TTL_S:
                return self._stats
        rows = self.db.rows("SELECT n_docs, n_terms FROM lexical_stats WHERE coll = %s", (self.coll,))
        stats = (int(rows[0][0]), int(rows[0][1])) if rows else (0, 0)
        with self._lock:  # frequencies are kept as long as the totals, no longer (an edit may keep them)
            self._df = {}
            self._stats, self._read_at = stats, now
        return stats

    def probe(self) -> None:
        self._fresh()

    @property
    def n_docs(self) -> int:
        return self._fresh()[0]

    def _doc_freqs(self, terms: Sequence[str]) -> dict[str, int]:
        self._fresh()
        with self._lock:
            known = {t: self._df[t] for t in terms if t in self._df}
        missing = [t for t in terms if t not in known]
        if missing:
            rows = self.db.rows(
                "SELECT w.term, (SELECT COUNT(*) FROM lexical_postings p WHERE p.coll = %s AND p.term = w.term)"
                " FROM unnest(%s::text[]) AS w(term)",
                (self.coll, missing),
            )
            got = {str(t): int(n) for t, n in rows}
            with self._lock:
                if len(self._df) > 50_000:
                    self._df = {}
                self._df.update(got)
            known |= got
        return known

    def idf(self, term: str, min_docs: int = 0) -> float:
        """log((N + 1) / (df + 0.5)) over the chunks, N at least min_docs (as store/lexical.py)."""
        n = self._fresh()[0]
        df = self._doc_freqs([term])[term] if term and " " not in term else 0
        return math.log((max(n, min_docs) + 1) / (df + 0.5))

    def search(self, query: str, k: int, where: ChunkFilter | None = None) -> list[tuple[str, float]]:
        """The k best chunks for the query's terms (BM25), as (chunk id, score)."""
        terms = list(dict.fromkeys(terms_of(query)))
        if not terms or k <= 0:
            return []
        n, total = self._fresh()
        if n == 0:
            return []
        avgdl = max(total / n, 1.0)
        dfs = self._doc_freqs(terms)
        used = [t for t in terms if dfs.get(t)]
        if not used:
            return []
        idfs = [math.log(1 + (n - dfs[t] + 0.5) / (dfs[t] + 0.5)) for t in used]
        clauses, args = self._filter(where or ChunkFilter())
        rows = self.db.rows(
            "SELECT p.chunk_id, SUM(w.idf * p.tf * %s / (p.tf + %s * (%s + %s * p.n_terms / %s))) AS score"
            " FROM unnest(%s::text[], %s::float8[]) AS w(term, idf)"
            " JOIN lexical_postings p ON p.coll = %s AND p.term = w.term"
            f"{clauses} GROUP BY p.chunk_id ORDER BY score DESC, p.chunk_id LIMIT %s",
            (K1 + 1, K1, 1 - B, B, avgdl, used, idfs, self.coll, *args, k),
        )
        return [(str(cid), float(score)) for cid, score in rows if score > 0]

    @staticmethod
    def _filter(f: ChunkFilter) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if f.lo or f.hi:  # without a lower bound, undated articles (0) are in range
            clauses.append("p.published BETWEEN %s AND %s")
            args += [f.lo, f.hi or 99_999_999]
        if f.sources:
            clauses.append("p.source = ANY(%s)")
            args.append(list(f.sources))
        if f.exclude_articles:
            clauses.append("NOT (p.article_id = ANY(%s))")
            args.append(list(f.exclude_articles))
        return "".join(f" AND {c}" for c in clauses), args

    def chunk_ids(self) -> list[str]:
        rows = self.db.rows(
            "SELECT chunk_id FROM lexical_docs WHERE coll = %s ORDER BY chunk_id", (self.coll,)
        )
        return [str(r[0]) for r in rows]

    # ---- writing (each call one transaction) -----------------------------------------------------

    def delete_articles(self, article_ids: Iterable[str]) -> None:
        self._delete_where("article_id", list(article_ids))

    def delete_chunks(self, chunk_ids: Iterable[str]) -> None:
        self._delete_where("chunk_id", list(chunk_ids))

    def _delete_where(self, column: str, values: list[str]) -> None:
        if not values:
            return
        with self.db.transaction() as db:
            db.execute(
                f"DELETE FROM lexical_postings WHERE coll = %s AND {column} = ANY(%s)", (self.coll, values)
            )
            row = db.execute(
                "WITH gone AS (DELETE FROM lexical_docs WHERE coll = %s AND "
                f"{column} = ANY(%s) RETURNING n_terms) SELECT COUNT(*), COALESCE(SUM(n_terms), 0) FROM gone",
                (self.coll, values),
            ).fetchone()
            self._count(db, -int(row[0]), -int(row[1]))
        self._read_at = 0.0

    def _count(self, db: Any, docs: int, terms: int) -> None:
        db.execute(
            "INSERT INTO lexical_stats (coll, n_docs, n_terms) VALUES (%s, %s, %s) ON CONFLICT (coll) DO"
            " UPDATE SET n_docs = lexical_stats.n_docs + EXCLUDED.n_docs,"
            " n_terms = lexical_stats.n_terms + EXCLUDED.n_terms",
            (self.coll, docs, terms),
        )

    def add(self, docs: Sequence[LexicalDoc]) -> None:
        """Adds chunks (a chunk of the same id must have been deleted first)."""
        if not docs:
            return
        total = 0
        with self.db.transaction() as db:
            with db.cursor() as cur:
                with cur.copy(
                    "COPY lexical_docs (coll, chunk_id, article_id, n_terms) FROM STDIN"
                ) as docs_copy:
                    counted = []
                    for d in docs:
                        terms = terms_of(d.text)
                        counted.append((d, Counter(terms), len(terms)))
                        docs_copy.write_row((self.coll, d.chunk_id, d.article_id, len(terms)))
                        total += len(terms)
                with cur.copy(
                    "COPY lexical_postings (coll, term, chunk_id, article_id, source, published, tf, n_terms)"
                    " FROM STDIN"
                ) as postings:
                    for d, tfs, length in counted:
                        for term, tf in tfs.items():
                            postings.write_row(
                                (
                                    self.coll,
                                    term,
                                    d.chunk_id,
                                    d.article_id,
                                    d.source,
                                    int(d.published),
                                    tf,
                                    length,
                                )
                            )
            self._count(db, len(docs), total)
        self._read_at = 0.0

    def commit(self) -> None:
        """Every write is committed as it is made."""

    def close_writer(self) -> None:
        """No writer to close: PostgreSQL lets every process write."""

    def clear(self) -> None:
        with self.db.transaction() as db:
            for table in ("lexical_postings", "lexical_docs", "lexical_stats"):
                db.execute(f"DELETE FROM {table} WHERE coll = %s", (self.coll,))
        self._read_at = 0.0
