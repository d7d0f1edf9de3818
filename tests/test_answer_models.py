"""The reranker, the support estimate and the gate (assistant/answer/models.py, gate.py, extractive.py)."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date

from assistant.answer.extractive import extractive_answer
from assistant.answer.gate import SupportGate, is_supported, why_refused
from assistant.answer.models import RerankModel, SupportFeatures, SupportModel, load_fitted
from assistant.answer.types import make_sources
from assistant.store import StoredChunk
from tests.answer_fixtures import ARTICLE, WEATHER, check_invariants, sources


def test_extractive_answer_quotes_the_best_sentences_verbatim() -> None:
    text, cites = extractive_answer(sources(), max_sentences=2, ratio=0.5)
    # both sources' first sentences score 1.0: the first source's comes first
    assert text == "The council approved the budget on Monday. [1] Rain is expected all week. [2]"
    assert [c.quote for c in cites] == [
        "The council approved the budget on Monday.",
        "Rain is expected all week.",
    ]
    check_invariants(text, cites, {"a": ARTICLE, "b": WEATHER})
    # within 0.85 of the best only: the second sentence (0.9) goes, the third (0.8) does not
    text, _ = extractive_answer(sources()[:1], max_sentences=3)
    assert text == "The council approved the budget on Monday. [1] Spending on parks rises by 12 percent. [2]"


def test_support_model_is_monotonic() -> None:
    m = load_fitted().support
    strong = SupportFeatures(
        score=0.8, coverage=0.9, dense=0.7, lex=0.8, type=1.0, names=0.4, first_coverage=0.9
    )
    assert m.probability(strong) > m.probability(replace(strong, coverage=0.3, first_coverage=0.3))
    assert m.probability(strong) > m.probability(replace(strong, type=0.0))


def test_support_reads_no_age() -> None:
    """An article's age is no evidence that it answers: the estimate has no such feature, and the
    gate gives an old and a new copy of the same passage the same support."""
    assert "age" not in SupportFeatures.__dataclass_fields__
    assert "w_age" not in SupportModel.__dataclass_fields__

    def chunk(aid: str, published: int) -> StoredChunk:
        text = "The bridge reopened after a repair costing $38 million. Traffic resumed at noon."
        return StoredChunk(f"{aid}:0", aid, text, 0, len(text), "Bridge reopens", "", "", published)

    gate = SupportGate(load_fitted().support)
    probs = []
    for published in (20150310, 20231127):
        srcs = make_sources([chunk("x", published)], [0.04])
        srcs[0].scores, srcs[0].coverage, srcs[0].best_parts = [0.8, 0.2], 0.9, (0.7, 0.8, 1.0, 0.2)
        probs.append(gate.support(srcs).probability)
    assert probs[0] == probs[1]


def test_support_model_formula() -> None:
    """The estimate is the documented logistic model (hand-computed, not by the code under test)."""
    m = SupportModel(w_score=1.0, w_coverage=2.0, w_names=-3.0, w_type=0.5, w_first_coverage=1.0, bias=-1.0)
    f = SupportFeatures(score=0.5, coverage=0.5, names=0.5, dense=0.9, type=1.0, first_coverage=0.25)
    # z = 1*0.5 + 2*0.5 - 3*0.5 + 0.5*1 + 1*0.25 - 1 (dense has weight 0 here)
    assert math.isclose(m.probability(f), 1 / (1 + math.exp(0.25)))  # z = -0.25


def test_reranker_puts_this_weeks_article_first_only_when_the_question_asks_about_now() -> None:
    def chunk(aid: str, published: int) -> StoredChunk:
        text = "The dictionary picked its word of the year. It was chosen from lookups."
        return StoredChunk(f"{aid}:0", aid, text, 0, len(text), "Word of the year", "", "", published)

    srcs = make_sources([chunk("old", 20221128), chunk("new", 20231127)], [0.04, 0.04])
    for s in srcs:
        s.scores, s.coverage, s.best_type = [0.8, 0.5], 0.9, 1.0
    ranked = RerankModel().order(srcs, reference=date(2023, 11, 28), timely=True)
    assert [s.chunk.article_id for s in ranked] == ["new", "old"] and [s.n for s in ranked] == [1, 2]
    # a question that says nothing of time: age says nothing and the order stays, either way round
    assert [s.chunk.article_id for s in RerankModel().order(ranked[::-1], date(2023, 11, 28))] == [
        "old",
        "new",
    ]
    assert [s.chunk.article_id for s in RerankModel().order(ranked, date(2023, 11, 28))] == ["new", "old"]
    # without a date to count from, age says nothing either
    assert [s.chunk.article_id for s in RerankModel().order(ranked[::-1], timely=True)] == ["old", "new"]
    # a fresh article that barely matches does not win over an older one that does
    fresh = next(s for s in srcs if s.chunk.article_id == "new")
    fresh.scores, fresh.coverage = [0.4, 0.3], 0.4
    assert RerankModel().order(srcs, reference=date(2023, 11, 28), timely=True)[0].chunk.article_id == "old"


# A model whose numbers are easy to follow: the estimate is the best sentence score's sigmoid.
IDENTITY = SupportModel(w_score=1.0, w_coverage=0.0, bias=0.0)


def test_the_source_with_the_best_sentence_decides() -> None:
    gate = SupportGate(SupportModel(w_score=10.0, w_coverage=0.0, bias=-5.0))
    srcs = sources()  # "a" published 2024-03-01, "b" without a date
    srcs[0].scores, srcs[0].coverage = [0.3, 0.2, 0.1, 0.0], 0.2
    srcs[1].scores, srcs[1].coverage = [0.8, 0.7], 0.9
    sup = gate.support(srcs)
    assert sup.n == 2 and (sup.score, sup.coverage) == (0.8, 0.9)
    assert math.isclose(sup.probability, 1 / (1 + math.exp(-3.0)), rel_tol=1e-6)  # z = 10*0.8 - 5
    assert gate.support([]).n is None and not is_supported(gate.support([]), 0.0)


def test_refusal_note_names_the_deciding_source() -> None:
    srcs = sources()
    srcs[0].scores, srcs[0].coverage = [0.3], 0.25
    sup = SupportGate(IDENTITY).support(srcs[:1])
    assert not is_supported(sup, 0.9)
    assert why_refused(sup, 0.9).startswith(
        "support 0.57 below 0.9 (best source [1]: sentence 0.30, coverage 0.25"
    )
    assert why_refused(SupportGate().support([]), 0.42) == "support 0.00 below 0.42 (no sources)"
