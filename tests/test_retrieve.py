from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assistant.ask.retrieve import Filters, HybridRetriever
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


def test_future_articles_are_invisible_and_recent_ones_rank_first_when_asked_about_now(
    dated: Assistant,
) -> None:
    hits = dated.search.search("What is the latest on the river Elm flooding Marlow?", k=5, today=D)
    assert "future" not in ids(hits)
    assert ids(hits)[0] == "flood-new" and all(h.timely for h in hits)
    later = dated.search.search("river Elm flooded Marlow", k=5, today=date(2024, 5, 1))
    assert "future" in ids(later)


def test_a_question_that_says_nothing_of_time_is_ranked_the_same_whenever_it_is_asked(
    dated: Assistant,
) -> None:
    """No recency prior without a time word: asked the day after the new flood story or years later,
    the ranking and the scores are the same (age is no evidence of an answer)."""
    q = "How many residents left their homes when the river Elm flooded Marlow?"
    known = Filters(exclude_articles=("https://new.example/future",))  # published after the first asking
    soon = dated.search.search(q, k=5, today=date(2024, 3, 25), filters=known)
    years = dated.search.search(q, k=5, today=date(2029, 5, 1), filters=known)
    assert [(h.chunk.id, h.score) for h in soon] == [(h.chunk.id, h.score) for h in years]
    assert not any(h.timely for h in soon)
    # the same query read as asking about now ("recently"): the newer story gains the recency prior
    recent = dated.search.search(
        q, k=5, today=date(2024, 3, 25), filters=known, scope_from=q.replace("flooded", "recently flooded")
    )
    assert all(h.timely for h in recent)
    score = {h.chunk.article_id: h.score for h in recent}
    before = {h.chunk.article_id: h.score for h in soon}
    new_id = "https://new.example/flood-new"
    assert score[new_id] > before[new_id]


def test_this_week_leads_but_the_story_outside_it_is_still_found(dated: Assistant) -> None:
    hits = dated.search.search("Which river flooded Marlow this week?", today=D)
    assert ids(hits)[0] == "flood-new" and "flood-old" in ids(hits) and all(h.timely for h in hits)
    period = {i: h.in_period for i, h in zip(ids(hits), hits)}
    assert period["flood-new"] is True and period["flood-old"] is False
    # a question naming no period: no chunk is in or out of one
    assert all(h.in_period is None for h in dated.search.search("Which river flooded Marlow?", today=D))
    # "last week" names a past period: preferred, but not a question about now (no recency prior)
    last = dated.search.search("Which fair opened in Marlow in early March, two weeks ago?", today=D)
    assert ids(last)[0] == "march-fair"
    # nothing this week about cheese: the story is still found, and nothing says "now" counts
    hits = dated.search.search("cheese stalls this week", today=date(2024, 4, 20))
    assert ids(hits)[0] == "march-fair" and not any(h.timely for h in hits)
    # a period in the future of every article holds nothing either
    assert "march-fair" in ids(dated.search.search("cheese stalls in December", today=D))


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
    docs = r.invoke("Which river flooded Marlow most recently?")
    assert len(docs) == 2 and docs[0].metadata["article_id"] == "https://new.example/flood-new"
    assert docs[0].page_content in DATED["flood-new.md"]
    assert {"chunk_id", "start", "end", "title", "url", "published", "score"} <= set(docs[0].metadata)
