from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assistant.retrieve import Filters, HybridRetriever
from assistant.service import Assistant
from assistant.settings import Settings
from tests.conftest import write_corpus

D = date(2024, 3, 20)  # a Wednesday

DATED = {
    f"{name}.md": f"---\ntitle: {title}\nurl: https://{src}/{name}\nsource: {src}\npublished: {pub}\n---\n{body}\n"
    for name, title, src, pub, body in [
        (
            "flood-old",
            "River floods town",
            "old.example",
            "2023-11-02",
            "The river Elm flooded the town of Marlow, forcing 300 residents from their homes.",
        ),
        (
            "flood-new",
            "River floods town again",
            "new.example",
            "2024-03-18",
            "The river Elm flooded the town of Marlow again on Monday, and 120 residents left their homes.",
        ),
        (
            "march-fair",
            "Spring fair opens",
            "new.example",
            "2024-03-05",
            "The spring fair in Marlow opened with a record 40 stalls selling local cheese.",
        ),
        (
            "future",
            "Flood inquiry reports",
            "new.example",
            "2024-04-30",
            "An inquiry into the Marlow flood blamed the river Elm defences.",
        ),
    ]
}


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    root = tmp_path_factory.mktemp("dated")
    corpus = write_corpus(root / "corpus", DATED)
    s = Settings(index_dir=root / "index", corpus_dirs=[corpus])
    s.llm.backend = "extractive"
    a = Assistant.from_settings(s, with_llm=False)
    assert a.sync().added == 4
    return a


def ids(hits) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.chunk.article_id.rsplit("/", 1)[-1] for h in hits]


def test_future_articles_are_invisible_and_recent_ones_rank_first(dated: Assistant) -> None:
    hits = dated.search.search("river Elm flooded Marlow", k=5, today=D)
    assert "future" not in ids(hits)
    assert ids(hits)[0] == "flood-new"
    later = dated.search.search("river Elm flooded Marlow", k=5, today=date(2024, 5, 1))
    assert "future" in ids(later)


def test_this_week_narrows_and_widens_when_empty(dated: Assistant) -> None:
    assert ids(dated.search.search("Which river flooded Marlow this week?", today=D)) == ["flood-new"]
    # nothing this week about cheese: the phrase widens rather than returning nothing
    assert "march-fair" in ids(dated.search.search("cheese stalls this week", today=date(2024, 4, 20)))


def test_explicit_filters(dated: Assistant) -> None:
    only_old = Filters(sources=("old.example",))
    assert ids(dated.search.search("river flooded", today=D, filters=only_old)) == ["flood-old"]
    rng = Filters(date_from=date(2024, 3, 1), date_to=date(2024, 3, 10))
    assert ids(dated.search.search("Marlow", today=D, filters=rng)) == ["march-fair"]
    excl = Filters(exclude_articles=("https://new.example/flood-new",))
    assert "flood-new" not in ids(dated.search.search("river flooded", today=D, filters=excl))


def test_lexical_and_dense_both_contribute(dated: Assistant) -> None:
    # a rare exact token only BM25 matches well; a paraphrase only embeddings match
    assert ids(dated.search.search("stalls", today=D, mode="bm25"))[0] == "march-fair"
    assert (
        ids(dated.search.search("market with vendors of dairy products", today=D, mode="dense"))[0]
        == "march-fair"
    )
    assert ids(dated.search.search("market with vendors of dairy products", today=D))[0] == "march-fair"


def test_at_most_n_chunks_per_article(tmp_path: Path) -> None:
    long_text = "\n\n".join(
        f"Paragraph {i} about the Elm river flood and Marlow residents." for i in range(40)
    )
    corpus = write_corpus(tmp_path / "c", {"long.md": f"# Long flood story\n\n{long_text}\n"})
    s = Settings(index_dir=tmp_path / "i", corpus_dirs=[corpus])
    s.chunks.size, s.chunks.overlap = 200, 0
    a = Assistant.from_settings(s, with_llm=False)
    a.sync()
    hits = a.search.search("Elm river flood Marlow", k=5, today=D)
    assert len(hits) == s.retrieval.per_article == 2


def test_langchain_retriever_interface(dated: Assistant) -> None:
    r = HybridRetriever(search=dated.search, k=2, today=D)
    docs = r.invoke("Which river flooded Marlow?")
    assert len(docs) == 2 and docs[0].metadata["article_id"] == "https://new.example/flood-new"
    assert docs[0].page_content in DATED["flood-new.md"]
    assert {"chunk_id", "start", "end", "title", "url", "published", "score"} <= set(docs[0].metadata)
