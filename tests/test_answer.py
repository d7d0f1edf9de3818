from __future__ import annotations

import re
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.answer import (
    MARKER,
    RerankModel,
    SentenceScorer,
    Source,
    SupportModel,
    extractive_text,
    format_sources,
    looks_like_refusal,
    make_sources,
    refusal_text,
    resolve_citations,
    restates_question,
    split_claims,
)
from assistant.index import StoredChunk

ARTICLE = (
    "The council approved the budget on Monday. Spending on parks rises by 12 percent.\n"
    "Mayor Ana Silva said the plan protects libraries. Critics called it reckless."
)


def sources() -> list[Source]:
    a = StoredChunk(
        "a:0", "a", ARTICLE, 0, len(ARTICLE), "Budget passes", "https://x.example/a", "x", 20240301
    )
    text_b = "Rain is expected all week. Farmers welcomed the forecast."
    b = StoredChunk("b:0", "b", text_b, 0, len(text_b), "Weather", "", "", 0)
    srcs = make_sources([a, b])
    for s in srcs:
        s.scores = [1.0 - 0.1 * i for i in range(len(s.sentences))]
    return srcs


def check_invariants(text: str, cites, srcs) -> None:  # type: ignore[no-untyped-def]
    texts = {"a": ARTICLE, "b": srcs[1].chunk.text}
    numbers = [int(n) for m in re.finditer(r"\[(\d+)\]", text) for n in [m.group(1)]]
    assert sorted(set(numbers)) == list(range(1, len(cites) + 1))  # contiguous from 1, every citation marked
    assert [c.n for c in cites] == list(range(1, len(cites) + 1))
    for c in cites:
        assert texts[c.article_id][c.start : c.end] == c.quote


def test_resolves_markers_to_supporting_sentences_and_renumbers() -> None:
    srcs = sources()
    text, cites, notes = resolve_citations(
        "Farmers were pleased by the rain forecast [2]. Parks spending rises 12 percent [1].", srcs
    )
    assert text == "Farmers were pleased by the rain forecast. [1] Parks spending rises 12 percent. [2]"
    assert [c.quote for c in cites] == [
        "Farmers welcomed the forecast.",
        "Spending on parks rises by 12 percent.",
    ]
    check_invariants(text, cites, srcs)
    assert notes == []


def test_markers_to_nowhere_or_to_unsupporting_sources_are_dropped() -> None:
    srcs = sources()
    text, cites, notes = resolve_citations("Mayor Ana Silva said libraries are protected [7].", srcs)
    assert "[7]" not in text and any("points to no source" in n for n in notes)
    # ... but the claim is still attached to the sentence that supports it
    assert cites and cites[0].quote == "Mayor Ana Silva said the plan protects libraries."
    text, cites, notes = resolve_citations("The budget was approved by the council on Monday [2].", srcs)
    assert cites[0].article_id == "a" and "does not support" in notes[0]
    text, cites, _ = resolve_citations("Aliens landed in Ohio [1].", srcs)
    assert cites == [] and MARKER.search(text) is None


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "The council approved the budget",
                    "Parks get 12 percent more",
                    "Rain all week",
                    "Critics called it reckless",
                    "Something unrelated entirely",
                    "Silva protects libraries",
                ]
            ),
            st.lists(st.integers(min_value=-1, max_value=4), max_size=3),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_citation_invariants_hold_for_any_model_output(parts) -> None:  # type: ignore[no-untyped-def]
    srcs = sources()
    text = " ".join(claim + "".join(f"[{n}]" for n in nums) + "." for claim, nums in parts)
    out, cites, _ = resolve_citations(text, srcs)
    check_invariants(out, cites, srcs)


def test_extractive_text_quotes_best_sentences_verbatim() -> None:
    srcs = sources()
    text = extractive_text("budget", srcs, max_sentences=2, ratio=0.5)
    assert text == "The council approved the budget on Monday. [1] Rain is expected all week. [2]"
    out, cites, _ = resolve_citations(text, srcs)
    assert [c.quote for c in cites] == [
        "The council approved the budget on Monday.",
        "Rain is expected all week.",
    ]


def test_llm_sees_the_best_source_last_next_to_the_question() -> None:
    text = format_sources(sources(), window=1)
    assert text.index("[2] Weather") < text.index("[1] Budget passes (2024-03-01)")
    assert text.endswith("The council approved the budget on Monday.")


def test_split_claims_keeps_trailing_markers_with_their_sentence() -> None:
    assert split_claims("A cat sat. [1][2] Then left [3].") == [("A cat sat.", [1, 2]), ("Then left.", [3])]


def test_refusal_detection_and_text() -> None:
    assert looks_like_refusal("The indexed articles don't say.")
    assert looks_like_refusal("The sources do not mention the population.")
    assert not looks_like_refusal("Putin agreed to limit attacks on energy infrastructure. [1]")
    assert refusal_text("What is the population of Brazil?").startswith("The indexed articles don't say.")


def test_an_answer_that_only_repeats_the_question_is_no_answer() -> None:
    q = "Which fellow author did J. K. Rowling get in a Twitter row with?"
    assert restates_question("Rowling. [1]", q)
    assert restates_question("J. K. Rowling’s Twitter row was with a fellow author. [1]", q)
    assert not restates_question("Rowling got in a Twitter row with Joanne Harris. [1]", q)
    # one sentence that adds something is enough
    assert not restates_question("Rowling got in a row. [1] It was with Joanne Harris. [2]", q)
    assert not restates_question("", q)


def test_support_model_is_monotonic() -> None:
    m = SupportModel()
    assert m.probability(0.8, 0.9, 2) > m.probability(0.5, 0.9, 2) > m.probability(0.5, 0.3, 2)
    assert m.probability(0.8, 0.9, 2) > m.probability(0.8, 0.9, 50)


def test_reranker_puts_this_weeks_article_before_an_older_one_that_matches_as_well() -> None:
    def chunk(aid: str, published: int) -> StoredChunk:
        text = "Merriam-Webster picked its word of the year. It was chosen from lookups."
        return StoredChunk(f"{aid}:0", aid, text, 0, len(text), "Word of the year", "", "", published)

    # the older article comes first from retrieval and matches the question just as well
    srcs = make_sources([chunk("old", 20221128), chunk("new", 20231127)], [0.04, 0.04])
    for s in srcs:
        s.scores, s.coverage, s.best_type = [0.8, 0.5], 0.9, 1.0
    ranked = RerankModel().order(srcs, reference=date(2023, 11, 28))
    assert [s.chunk.article_id for s in ranked] == ["new", "old"] and [s.n for s in ranked] == [1, 2]
    # without a date to count from, age says nothing and the order stays
    assert [s.chunk.article_id for s in RerankModel().order(ranked[::-1])] == ["old", "new"]
    # a fresh article that barely matches does not win over an older one that does
    fresh = next(s for s in srcs if s.chunk.article_id == "new")
    fresh.scores, fresh.coverage = [0.4, 0.3], 0.4
    assert RerankModel().order(srcs, reference=date(2023, 11, 28))[0].chunk.article_id == "old"


def test_support_is_judged_on_the_most_likely_of_the_sources_given() -> None:
    scorer = SentenceScorer(embedder=None)
    srcs = sources()  # "a" published 2024-03-01, "b" without a date
    srcs[0].scores, srcs[0].coverage = [0.3, 0.2, 0.1, 0.0], 0.2
    srcs[1].scores, srcs[1].coverage = [0.8, 0.7], 0.9
    sup = scorer.support(srcs, reference=date(2024, 3, 2))
    assert sup.n == 2 and (sup.score, sup.coverage, sup.age_days) == (0.8, 0.9, 7.0)
    own_a, own_b = scorer.model.probability(0.3, 0.2, 1.0), scorer.model.probability(0.8, 0.9, 7.0)
    assert sup.second == own_a and sup.probability == scorer.model.combined(own_b, own_a)
    assert scorer.support(srcs[:1], reference=date(2024, 3, 2)).probability < sup.probability
    assert scorer.support([]).n is None


def test_a_second_likely_source_corroborates_the_first() -> None:
    scorer = SentenceScorer(embedder=None)
    srcs = sources()
    srcs[0].scores, srcs[0].coverage = [0.8, 0.7, 0.1, 0.0], 0.9
    srcs[1].scores, srcs[1].coverage = [0.8, 0.7], 0.9
    alone = scorer.support(srcs[:1], reference=date(2024, 3, 2))
    both = scorer.support(srcs, reference=date(2024, 3, 2))
    assert alone.second == 0.0 and both.second > 0.5
    assert both.probability > alone.probability
    srcs[1].scores, srcs[1].coverage = [0.1, 0.0], 0.1  # a near miss adds next to nothing
    weak = scorer.support(srcs, reference=date(2024, 3, 2))
    assert alone.probability < weak.probability < both.probability and weak.second < 0.1


def test_unmarked_claim_is_cited_where_a_sentence_holds_what_it_adds_to_the_question() -> None:
    srcs = sources()
    q = "Who said the plan protects libraries?"
    text, cites, _ = resolve_citations("The plan protects libraries, said Mayor Ana Silva.", srcs, question=q)
    assert text.endswith("[1]") and cites[0].quote == "Mayor Ana Silva said the plan protects libraries."
    # what the claim adds ("Bob Jones") is in no sentence: no citation, however much it restates the question
    text, cites, _ = resolve_citations("Bob Jones said the plan protects libraries.", srcs, question=q)
    assert cites == [] and MARKER.search(text) is None


def test_unsupported_claims_are_left_out_when_asked() -> None:
    srcs = sources()
    model_text = "Parks spending rises 12 percent [1]. This will make the city greener and richer."
    kept, _, _ = resolve_citations(model_text, srcs)
    assert "greener" in kept
    text, cites, notes = resolve_citations(model_text, srcs, drop_unsupported=True)
    assert text == "Parks spending rises 12 percent. [1]" and len(cites) == 1
    assert any("no source supports it" in n for n in notes)
    # nothing supported: nothing is dropped (the caller falls back to quotes)
    text, cites, _ = resolve_citations("Aliens landed in Ohio.", srcs, drop_unsupported=True)
    assert text == "Aliens landed in Ohio." and cites == []
