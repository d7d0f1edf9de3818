"""The store layer's parts (assistant/store/): the filtered vector search, the lexical index shared by
processes, the records, the cross-process writer lock."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from assistant.locks import WriterBusy, writer_lock
from assistant.providers import SentenceEmbedder
from assistant.settings import Settings
from assistant.store.dense import DenseSearch
from assistant.store.filters import ChunkFilter
from assistant.store.lexical import LexicalDoc, LexicalStore
from assistant.store.vectors import where_of
from tests.conftest import open_index, write_corpus

VOLCANO = "https://news.example.org/volcano"  # the article id of tests.conftest's volcano.md (its url)


def spy_queries(index: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    real = index.stores.vectors.collection.query

    def query(*args: Any, **kwargs: Any) -> Any:
        """Each query as (where, sorted ids it is restricted to, or None)."""
        ids = kwargs.get("ids")
        calls.append((kwargs.get("where"), sorted(ids) if ids is not None else None))
        return real(*args, **kwargs)

    monkeypatch.setattr(index.stores.vectors.collection, "query", query)
    return calls


def test_a_filter_most_chunks_pass_is_applied_to_an_unfiltered_query(
    local_settings: Settings, embedder: SentenceEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Chroma `where` reads every record it matches; when most pass, the unfiltered neighbours are
    tested in Python instead, and the result is what the filtered query gives."""
    index = open_index(local_settings, embedder)
    index.sync([write_corpus(local_settings.corpus_dirs[0])])
    f = ChunkFilter(hi=20991231)
    calls = spy_queries(index, monkeypatch)
    fast = index.dense_search("volcano eruption", 2, f)
    assert calls == [(None, None)]
    vector = embedder.embed_query("volcano eruption")
    slow = index.stores.vectors.nearest(vector, 2, where_of(f))
    assert [(c.id, round(s, 5)) for c, s in fast] == [(cid, round(s, 5)) for cid, s in slow]
    assert len(fast) == 2


def quakes_and_volcano(settings: Settings, embedder: SentenceEmbedder) -> Any:
    """Twelve undated quake articles nearer to "earthquake shakes the coast" than the one dated article
    (the volcano, 2024-03-17)."""
    corpus = write_corpus(settings.corpus_dirs[0])
    for i in range(12):
        (corpus / f"quake{i}.txt").write_text(
            f"Earthquake {i} shakes the coast\nA volcano erupted after quake {i}.\n"
        )
    index = open_index(settings, embedder)
    index.sync([corpus])
    return index


def test_a_selective_filter_searches_among_the_ids_its_records_list(
    local_settings: Settings, embedder: SentenceEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When fewer than k of the unfiltered neighbours pass, the search runs again among the chunks of
    the articles the records list for the filter (no Chroma `where`)."""
    index = quakes_and_volcano(local_settings, embedder)
    monkeypatch.setattr(DenseSearch, "wide", 8)  # fewer than the quake chunks
    calls = spy_queries(index, monkeypatch)
    f = ChunkFilter(lo=20240317, hi=20240317)
    got = index.dense_search("earthquake shakes the coast", 1, f)
    volcano_chunks = sorted(
        cid for cid in index.stores.vectors.get_all([])["ids"] if cid.startswith(VOLCANO + ":")
    )
    assert volcano_chunks and calls == [(None, None), (None, volcano_chunks)]
    assert [c.article_id for c, _ in got] == [VOLCANO]
    calls.clear()
    assert index.dense_search("earthquake", 1, ChunkFilter(sources=("nowhere",))) == []
    assert calls == [(None, None)]  # no article of that source: nothing more to ask


def test_a_filter_too_wide_for_ids_and_too_narrow_for_the_neighbours_asks_chroma_s_filter(
    local_settings: Settings, embedder: SentenceEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = quakes_and_volcano(local_settings, embedder)
    monkeypatch.setattr(DenseSearch, "wide", 1)  # then 10 (fewer than the quake chunks)
    monkeypatch.setattr(DenseSearch, "id_cap", 0)  # any article is too many ids
    calls = spy_queries(index, monkeypatch)
    got = index.dense_search("earthquake shakes the coast", 1, ChunkFilter(lo=20240317, hi=20240317))
    assert calls == [(None, None), (None, None), ({"published": {"$in": [20240317]}}, None)]
    assert [c.article_id for c, _ in got] == [VOLCANO]


def test_an_id_gone_from_the_vectors_meanwhile_falls_back_to_chroma_s_filter(
    settings: Settings, embedder: SentenceEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The records listed an article whose chunks a sync deleted before the search reached Chroma
    (which refuses an unknown id, embedded or served): the search asks by the filter instead, and still
    answers."""
    index = quakes_and_volcano(settings, embedder)
    rec = dict(index.stores.records.manifest()[VOLCANO], n_chunks=1)
    index.stores.records.put({"gone.txt": rec}, {"gone.txt": "Gone."})
    monkeypatch.setattr(DenseSearch, "wide", 8)
    calls = spy_queries(index, monkeypatch)
    got = index.dense_search("earthquake shakes the coast", 1, ChunkFilter(lo=20240317, hi=20240317))
    assert [c.article_id for c, _ in got] == [VOLCANO]
    assert [where for where, _ in calls] == [None, None, {"published": {"$in": [20240317]}}]
    assert "gone.txt:0" in (calls[1][1] or [])


def test_a_store_failure_while_searching_among_ids_is_not_hidden(
    local_settings: Settings, embedder: SentenceEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = quakes_and_volcano(local_settings, embedder)
    monkeypatch.setattr(DenseSearch, "wide", 8)
    real = index.stores.vectors.collection.query

    def query(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("ids") is not None:
            raise RuntimeError("the store is down")
        return real(*args, **kwargs)

    monkeypatch.setattr(index.stores.vectors.collection, "query", query)
    with pytest.raises(RuntimeError, match="the store is down"):
        index.dense_search("earthquake shakes the coast", 1, ChunkFilter(lo=20240317, hi=20240317))


def test_chunks_no_record_accounts_for_are_removed_by_the_next_sync(
    local_settings: Settings, embedder: SentenceEmbedder
) -> None:
    """Records and vectors out of step without a killed sync (a records file replaced, a power cut
    after SQLite's last commit): a stale tail chunk and a whole article without a record. The next sync
    repairs both, to a clean build's state."""
    corpus = write_corpus(local_settings.corpus_dirs[0])
    index = open_index(local_settings, embedder)
    index.sync([corpus])
    vector = embedder.embed_query("stale tail")
    meta = dict(
        index.stores.vectors.collection.get(ids=[f"{VOLCANO}:0"], include=["metadatas"])["metadatas"][0]
    )
    index.stores.vectors.upsert([f"{VOLCANO}:7"], [vector], ["stale tail"], [meta])
    index.stores.lexical.add([LexicalDoc(f"{VOLCANO}:7", VOLCANO, "stale tail", 20240317, "example.org")])
    index.stores.records.delete(["chess.txt"])
    assert index.stores.records.state().get("sync_state") == "clean"
    report = index.sync([corpus])
    # chess.txt again: its vectors are exactly its chunks, so they are taken back, nothing embedded
    assert (report.added, report.relinked, report.chunks_embedded) == (0, 1, 0)
    ids = sorted(index.stores.vectors.ids())
    assert f"{VOLCANO}:7" not in ids
    assert ids == sorted(index.stores.lexical.chunk_ids())
    assert len(ids) == sum(int(m["n_chunks"]) for m in index.stores.records.manifest().values())
    assert index.sync([corpus]).chunks_embedded == 0


def test_a_chunk_whose_article_has_no_record_is_not_found(
    local_settings: Settings, embedder: SentenceEmbedder
) -> None:
    """The record is an article's commit point: between a sync writing its vectors and its record (or
    deleting the record and then the vectors), its chunks are not answers."""
    index = open_index(local_settings, embedder)
    index.sync([write_corpus(local_settings.corpus_dirs[0])])
    assert index.dense_search("volcano eruption", 1)[0][0].article_id == VOLCANO
    assert any(cid.startswith(VOLCANO + ":") for cid, _ in index.lexical_search("volcano erupted", 10))
    index.stores.records.delete([VOLCANO])
    assert not any(cid.startswith(VOLCANO + ":") for cid, _ in index.lexical_search("volcano erupted", 10))
    assert VOLCANO not in {c.article_id for c, _ in index.dense_search("volcano eruption", 10)}
    assert VOLCANO not in {
        c.article_id
        for c, _ in index.dense_search("volcano eruption", 10, ChunkFilter(lo=20240317, hi=20240317))
    }


def test_a_chunk_read_while_a_sync_rewrote_its_article_is_not_returned(
    local_settings: Settings, embedder: SentenceEmbedder
) -> None:
    """Search reads the vectors, the records and the chunks one after the other; a chunk whose stored
    date no longer matches its record (a sync changed the article in between) is dropped, not returned
    with a date its filter did not check."""
    index = open_index(local_settings, embedder)
    index.sync([write_corpus(local_settings.corpus_dirs[0])])
    f = ChunkFilter(lo=20240317, hi=20240317)
    assert [c.article_id for c, _ in index.dense_search("volcano eruption", 1, f)] == [VOLCANO]
    index.stores.records.update(VOLCANO, published=20240318)  # as if re-synced with a new date
    assert index.dense_search("volcano eruption", 1, f) == []
    assert VOLCANO not in {c.article_id for c, _ in index.dense_search("volcano eruption", 10)}


def test_a_range_that_ends_before_it_starts_asks_nothing(
    local_settings: Settings, embedder: SentenceEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = open_index(local_settings, embedder)
    index.sync([write_corpus(local_settings.corpus_dirs[0])])
    calls = spy_queries(index, monkeypatch)
    assert index.dense_search("volcano eruption", 3, ChunkFilter(lo=20240318, hi=20240317)) == []
    assert calls == []


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        (ChunkFilter(), None),
        (ChunkFilter(lo=20240317, hi=20240319), {"published": {"$in": [20240317, 20240318, 20240319]}}),
        (ChunkFilter(lo=20231231, hi=20240101), {"published": {"$in": [20231231, 20240101]}}),
        (ChunkFilter(lo=20240228, hi=20240301), {"published": {"$in": [20240228, 20240229, 20240301]}}),
        (ChunkFilter(hi=20240319), {"published": {"$lte": 20240319}}),
        (ChunkFilter(lo=20240319), {"published": {"$gte": 20240319}}),
        # more than _DAYS_AS_LIST days, an empty range, dates that are not dates: asked as a range
        (
            ChunkFilter(lo=20200101, hi=20240101),
            {"$and": [{"published": {"$gte": 20200101}}, {"published": {"$lte": 20240101}}]},
        ),
        (
            ChunkFilter(lo=20240319, hi=20240317),
            {"$and": [{"published": {"$gte": 20240319}}, {"published": {"$lte": 20240317}}]},
        ),
        (
            ChunkFilter(lo=20240299, hi=99999999),
            {"$and": [{"published": {"$gte": 20240299}}, {"published": {"$lte": 99999999}}]},
        ),
        (
            ChunkFilter(hi=20240319, sources=("a.org",), exclude_articles=("x",)),
            {
                "$and": [
                    {"published": {"$lte": 20240319}},
                    {"source": {"$in": ["a.org"]}},
                    {"article_id": {"$nin": ["x"]}},
                ]
            },
        ),
    ],
)
def test_a_filter_as_a_chroma_where(f: ChunkFilter, expected: Any) -> None:
    assert where_of(f) == expected


def test_the_chroma_where_and_the_python_test_agree_on_every_chunk(
    local_settings: Settings, embedder: SentenceEmbedder
) -> None:
    """Both searches' paths must keep the same chunks: compared over dated and undated articles, with
    ranges across month and year ends."""
    corpus = write_corpus(local_settings.corpus_dirs[0])
    days = ["2023-12-30", "2023-12-31", "2024-01-01", "2024-02-29", "2024-03-01", "2024-03-17"]
    for i, day in enumerate(days):
        (corpus / f"d{i}.md").write_text(
            f"---\ntitle: Day {i}\npublished: {day}\nsource: s{i % 2}\n---\nNews of day {i}.\n"
        )
    index = open_index(local_settings, embedder)
    index.sync([corpus])
    everything = index.stores.vectors.get_all(["metadatas"])
    filters = [
        ChunkFilter(lo=20231231, hi=20240101),
        ChunkFilter(lo=20240229, hi=20240301),
        ChunkFilter(hi=20240101),
        ChunkFilter(lo=20240101),
        ChunkFilter(lo=20200101, hi=20240229),
        ChunkFilter(lo=20240301, hi=20240301, sources=("s0",)),
        ChunkFilter(exclude_articles=("d0.md", "chess.txt")),
        ChunkFilter(sources=("s1",)),
        ChunkFilter(hi=20240301, sources=("s0", "s1")),
        # more sources than one SQL statement takes: tested in Python instead
        ChunkFilter(sources=tuple(f"x{i}" for i in range(3000)) + ("s1",)),
    ]
    for f in filters:
        want = {
            cid
            for cid, m in zip(everything["ids"], everything["metadatas"])
            if f.passes(m["article_id"], m["published"], m["source"])
        }
        got = set(index.stores.vectors.collection.get(where=where_of(f), include=[])["ids"])
        assert got == want, f
        assert set(DenseSearch(index.stores.vectors, index.stores.records)._ids_passing(f) or []) == want, f
        assert want, f  # each filter keeps something, so the comparison means something


def docs(n: int, article: str = "a") -> list[LexicalDoc]:
    return [
        LexicalDoc(f"{article}:{i}", article, f"harbour plan number {i} approved", 20250301 + i, "s")
        for i in range(n)
    ]


def _write_in_other_process(folder: str, article: str) -> None:
    store = LexicalStore(Path(folder))
    store.add(docs(3, article))
    store.close_writer()


def test_the_lexical_index_sees_another_process_s_sync_at_its_next_query(tmp_path: Path) -> None:
    reader = LexicalStore(tmp_path / "lex")
    assert reader.search("harbour", 10) == []
    ctx = multiprocessing.get_context("spawn")
    p = ctx.Process(target=_write_in_other_process, args=(str(tmp_path / "lex"), "b"))
    p.start()
    p.join(60)
    assert p.exitcode == 0
    assert sorted(c for c, _ in reader.search("harbour", 10)) == ["b:0", "b:1", "b:2"]  # no restart


def test_lexical_changes_cost_the_change_and_filters_apply(tmp_path: Path) -> None:
    store = LexicalStore(tmp_path / "lex")
    store.add(docs(5, "a") + docs(5, "b"))
    store.delete_articles(["a"])
    assert store.n_docs == 5
    assert {c.split(":")[0] for c, _ in store.search("harbour plan", 10)} == {"b"}
    only = store.search("harbour plan", 10, ChunkFilter(lo=20250303, hi=20250304))
    assert sorted(c for c, _ in only) == ["b:2", "b:3"]
    assert store.search("harbour", 10, ChunkFilter(exclude_articles=("b",))) == []
    assert store.search("harbour", 10, ChunkFilter(sources=("other",))) == []
    assert store.search("", 10) == [] and store.search("the of and", 10) == []
    assert store.idf("harbour") < store.idf("nowhere-term")
    # read as a sample of 10,000 chunks, a word the 5 chunks lack weighs like a rare word, not 5x more
    gap = store.idf("nowhere-term") - store.idf("harbour")
    floored = store.idf("nowhere-term", min_docs=10_000) - store.idf("harbour", min_docs=10_000)
    assert 0 < floored < gap and store.idf("harbour", min_docs=10_000) > 5 * store.idf("harbour")
    assert store.idf("harbour", min_docs=3) == store.idf("harbour")  # a larger index: unchanged


def _hold(path: str, ready: Any) -> None:
    with writer_lock(Path(path)):
        ready.set()
        time.sleep(60)


def test_the_writer_lock_is_one_holder_and_a_killed_holder_frees_it(tmp_path: Path) -> None:
    path = tmp_path / ".writer.lock"
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    p = ctx.Process(target=_hold, args=(str(path), ready))
    p.start()
    assert ready.wait(30)
    with pytest.raises(WriterBusy), writer_lock(path, timeout_s=0.5):
        pass
    assert p.pid is not None
    os.kill(p.pid, signal.SIGKILL)
    p.join(10)
    with writer_lock(path, timeout_s=5):
        pass  # the kernel released the dead holder's lock
