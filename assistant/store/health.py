"""The index's health: are the three stores in step, article by article?

Every chunk an article record lists must have its vector and its lexical entry, and nothing else may be
there (in both directions: missing and extra). The quick check compares three counts (records' chunks,
vectors, lexical entries: no full read) and is made at every open; the full check compares every chunk
id, and is made by a sync whenever the counts disagree, after a killed sync, and by `assistant check`.
The deep check (`assistant check`) also compares every stored chunk's text and metadata with its
record's text, runs SQLite's check on the records and searches more stored vectors for themselves.

What is found is repaired by the sync (store/sync.py): extra entries are removed; an article missing
vectors or lexical entries gets them again from its record's text; vectors a lost record left behind are
taken back when the corpus folders still hold that very article (nothing embedded)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from assistant.chunking import article_of
from assistant.damage import Finding
from assistant.store.opening import Stores, search_problem
from assistant.store.types import article_from_record, recorded_chunk_ids
from assistant.textutil import plural

Depth = Literal["counts", "ids", "deep"]
# Stored vectors searched for themselves by the deep check.
DEEP_PROBES = 25


@dataclass
class Health:
    depth: Depth
    articles: int = 0
    expected_chunks: int = 0  # what the records list
    vectors: int = 0
    lexical: int = 0
    running: bool = False  # a sync is under way, or was killed
    found: list[Finding] = field(default_factory=list)  # stores moved aside when opened, or failing checks
    missing_vectors: list[str] = field(default_factory=list)  # article ids
    missing_lexical: list[str] = field(default_factory=list)  # article ids
    extra_vectors: list[str] = field(default_factory=list)  # chunk ids no record lists
    extra_lexical: list[str] = field(default_factory=list)  # chunk ids no record lists
    mismatched: list[str] = field(default_factory=list)  # article ids whose stored chunks differ (deep)
    corrupt: list[str] = field(default_factory=list)  # records whose text does not match their fingerprint

    @property
    def counts_agree(self) -> bool:
        return self.expected_chunks == self.vectors == self.lexical

    @property
    def sound(self) -> bool:
        return (
            not self.found
            and self.counts_agree
            and not (self.missing_vectors or self.missing_lexical or self.extra_vectors)
            and not (self.extra_lexical or self.mismatched or self.corrupt)
        )

    @property
    def to_rebuild(self) -> list[str]:
        """Articles whose chunks are re-embedded from their records."""
        return sorted(set(self.missing_vectors) | set(self.mismatched))

    @property
    def lexical_only(self) -> list[str]:
        """Articles whose lexical entries alone are rebuilt (no embedding)."""
        return sorted(set(self.missing_lexical) - set(self.to_rebuild))

    def orphan_articles(self) -> set[str]:
        """Articles some vectors belong to but no record lists (a lost record, or a killed sync)."""
        return {article_of(c) for c in self.extra_vectors}

    def problems(self) -> list[str]:
        """What is wrong, one short line each (empty when sound)."""
        out = [f.line() for f in self.found]
        if self.depth == "counts" and not self.counts_agree and not self.running:
            out.append(
                f"the stores disagree: the records list {plural(self.expected_chunks, 'chunk')}, the "
                f"vectors hold {self.vectors}, the lexical index {self.lexical}; the next sync checks "
                "each article"
            )
        for ids, what in (
            (self.corrupt, "a record whose text does not match its fingerprint"),
            (self.missing_vectors, "missing vectors"),
            (self.mismatched, "stored chunks that differ from their record"),
            (self.lexical_only, "missing lexical entries"),
        ):
            if ids:
                out.append(f"{plural(len(ids), 'article')} with {what}")
        orphans = self.orphan_articles()
        if orphans:
            out.append(f"vectors of {plural(len(orphans), 'article')} no record lists")
        stray = set(self.extra_lexical) - set(self.extra_vectors)
        if stray:
            out.append(f"{plural(len(stray), 'lexical entry', 'lexical entries')} no record lists")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "sound": self.sound,
            "depth": self.depth,
            "articles": self.articles,
            "expected_chunks": self.expected_chunks,
            "vectors": self.vectors,
            "lexical": self.lexical,
            "sync_running": self.running,
            "found": [f.to_dict() for f in self.found],
            "missing_vectors": self.missing_vectors,
            "missing_lexical": self.missing_lexical,
            "extra_vectors": len(self.extra_vectors),
            "extra_lexical": len(self.extra_lexical),
            "mismatched": self.mismatched,
            "corrupt": self.corrupt,
            "problems": self.problems(),
        }


def check(stores: Stores, depth: Depth = "counts") -> Health:
    """The stores' health, to the given depth; a quick check that finds the counts disagreeing (outside
    a sync) is worth an id check, which callers ask for (it reads every chunk id)."""
    records = stores.records
    h = Health(
        depth=depth,
        articles=records.count(),
        expected_chunks=records.expected_chunks(),
        vectors=stores.vectors.count(),
        lexical=stores.lexical.n_docs,
        running=records.state().get("sync_state") == "running",
        found=list(stores.found),
    )
    if stores.lexical_failed:
        h.found.append(
            Finding(
                "lexical index",
                str(stores.lexical_path()),
                f"failed while it was read ({stores.lexical_failed})",
                "moved aside and rebuilt from the records at the next sync",
            )
        )
    if depth == "counts":
        return h
    manifest = records.manifest()
    expected = set(recorded_chunk_ids(manifest))
    vec = set(stores.vectors.ids())
    lex = set(stores.lexical.chunk_ids())
    h.missing_vectors = sorted({article_of(c) for c in expected - vec})
    h.missing_lexical = sorted({article_of(c) for c in expected - lex})
    h.extra_vectors = sorted(vec - expected)
    h.extra_lexical = sorted(lex - expected)
    if depth == "deep":
        problem = records.integrity(quick=True)
        if problem:
            h.found.append(
                Finding("article records", str(records.path), problem, "run `assistant check --repair`")
            )
        problem = _lexical_problem(stores)
        if problem:
            h.found.append(
                Finding("lexical index", stores.lexical_where(), problem, "run `assistant check --repair`")
            )
        problem = search_problem(stores.vectors, records, DEEP_PROBES)
        if problem:
            h.found.append(Finding("vectors", stores.where(), problem, "run `assistant check --repair`"))
        h.corrupt = _corrupt(stores, manifest)
        h.mismatched = sorted(set(_mismatched(stores, manifest, expected & vec)) - set(h.corrupt))
    return h


def _corrupt(stores: Stores, manifest: dict[str, dict[str, Any]]) -> list[str]:
    """Records whose text (or title, date, source, link) no longer gives the fingerprint they were
    written with: changed after the fact, so neither they nor the vectors made from them are trusted."""
    bad = []
    for aid, meta in manifest.items():
        got = stores.records.article(aid)
        if got is None:
            continue
        stored = str(meta.get("fingerprint", "")).split(":", 1)[0]
        if stored and article_from_record(aid, *got).fingerprint != stored:
            bad.append(aid)
    return sorted(bad)


def _lexical_problem(stores: Stores) -> str:
    """ "" when searches for words of stored articles read the lexical index without failing (a damaged
    segment fails only when a search reaches it), else what failed."""
    from assistant.store.lexical import LexicalDamaged

    for aid, _ in stores.records.sample(DEEP_PROBES):
        got = stores.records.article(aid)
        if got is None:
            continue
        meta, text = got
        try:
            stores.lexical.search(f"{meta.get('title', '')} {text[:300]}", 10)
        except LexicalDamaged as e:
            stores.lexical_failed = str(e)
            return f"a search failed ({e})"
    return ""


def _mismatched(stores: Stores, manifest: dict[str, dict[str, Any]], present: set[str]) -> list[str]:
    """Articles some of whose stored chunks do not hold their record's text or metadata (a vectors
    folder or a records file rolled back to an older copy)."""
    by_article: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    got = stores.vectors.get_all(["documents", "metadatas"])
    for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"]):
        if cid in present:
            by_article[article_of(cid)].append((doc, meta or {}))
    bad: list[str] = []
    for aid, chunks in by_article.items():
        rec = stores.records.article(aid)
        if rec is None:
            continue
        m, text = rec
        for doc, meta in chunks:
            start, end = int(meta.get("start", -1)), int(meta.get("end", -1))
            if (
                text[start:end] != doc
                or str(meta.get("title", "")) != m.get("title", "")
                or int(meta.get("published", 0)) != int(m.get("published", 0))
                or str(meta.get("source", "")) != m.get("source", "")
            ):
                bad.append(aid)
                break
    return sorted(bad)
