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
from assistant.store.lexical import LexicalDoc, LexicalFilter, LexicalStore
from tests.conftest import open_index, write_corpus


def spy_queries(index: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    real = index.vectors.collection.query

    def query(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("where"))
        return real(*args, **kwargs)

    monkeypatch.setattr(index.vectors.collection, "query", query)
    return calls


def test_a_filter_most_chunks_pass_is_applied_to_an_unfiltered_query(
    local_settings: Settings, embedder: SentenceEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Chroma `where` reads every record it matches; when most pass, the unfiltered neighbours are
    filtered in Python instead, and the result is the same."""
    index = open_index(local_settings, embedder)
    index.sync([write_corpus(local_settings.corpus_dirs[0])])
    where = {"published": {"$lte": 20991231}}
    calls = spy_queries(index, monkeypatch)
    fast = index.dense_search("volcano eruption", 2, where, lambda c: c.published <= 20991231)
    assert calls == [None]
    slow = index.dense_search("volcano eruption", 2, where)
    assert calls == [None, where]
    assert [c.id for c, _ in fast] == [c.id for c, _ in slow]


def test_a_selective_filter_falls_back_to_the_filtered_query(
    local_settings: Settings, embedder: SentenceEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When fewer than k of the unfiltered neighbours pass, the filtered Chroma query runs."""
    from assistant.store.vectors import OVERFETCH

    corpus = write_corpus(local_settings.corpus_dirs[0])
    for i in range(4 * OVERFETCH):
        (corpus / f"quake{i}.txt").write_text(
            f"Earthquake {i} shakes the coast\nA volcano erupted after quake {i}.\n"
        )
    index = open_index(local_settings, embedder)
    index.sync([corpus])
    where = {"article_id": {"$in": ["chess.txt"]}}
    calls = spy_queries(index, monkeypatch)
    got = index.dense_search("volcano eruption", 1, where, lambda c: c.article_id == "chess.txt")
    assert calls == [None, where]
    assert [c.article_id for c, _ in got] == ["chess.txt"]


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
    only = store.search("harbour plan", 10, LexicalFilter(lo=20250303, hi=20250304))
    assert sorted(c for c, _ in only) == ["b:2", "b:3"]
    assert store.search("harbour", 10, LexicalFilter(exclude_articles=("b",))) == []
    assert store.search("harbour", 10, LexicalFilter(sources=("other",))) == []
    assert store.search("", 10) == [] and store.search("the of and", 10) == []
    assert store.idf("harbour") < store.idf("nowhere-term")


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
