"""The real local LLM (Qwen2.5-Coder-1.5B-Instruct Q4_K_M via llama.cpp) on the seed article."""

from __future__ import annotations

import pytest

from assistant.service import Assistant

pytestmark = [pytest.mark.llm, pytest.mark.slow]


@pytest.fixture(scope="module")
def llm_assistant(seeded: Assistant) -> Assistant:
    settings = seeded.settings.model_copy(deep=True)
    settings.llm.backend = "llamacpp"
    a = Assistant.from_settings(settings)
    assert a.backend == "llamacpp" and a.chat_model is not None
    return a


def test_seed_question_streams_a_cited_grounded_answer(llm_assistant: Assistant) -> None:
    parts = list(llm_assistant.stream("What did Putin agree to limit attacks on?"))
    drafts = [p["draft"] for p in parts if "draft" in p]
    assert len(drafts) > 3, "the model was called and its draft streamed piece by piece"
    answer = parts[-1]["answer"]
    assert not answer.refused and answer.backend == "llamacpp"
    # the model's own answer survived the checks: no quotes shown instead, nothing left out
    assert answer.from_model, answer.notes
    assert not any("showing quotes" in n or "no source supports" in n for n in answer.notes), answer.notes
    assert "energy infrastructure" in answer.text.lower()
    assert "[1]" in answer.text and answer.citations
    c = answer.citations[0]
    article = llm_assistant.index.article(c.article_id)
    assert article.text[c.start : c.end] == c.quote
    assert "energy infrastructure" in c.quote
    assert answer.timings["ttft_ms"] > 0 and answer.context_tokens > 0


def test_question_the_article_cannot_answer_is_refused_not_guessed(llm_assistant: Assistant) -> None:
    parts = list(llm_assistant.stream("What is the population of Brazil?"))
    answer = parts[-1]["answer"]
    assert answer.refused and answer.citations == []
    assert "million" not in answer.text
    assert [list(p) for p in parts] == [["answer"]], "the gate refused before the model ran"


def test_follow_up_is_rewritten_with_the_model(llm_assistant: Assistant) -> None:
    history = [
        ("user", "What did Putin agree to limit attacks on?"),
        ("assistant", "Energy infrastructure. [1]"),
    ]
    answer = llm_assistant.ask("and what did Zelenskiy say?", history)
    assert answer.rewrite == "llm", "the model's rewrite was used, not the rule's"
    assert "zelenskiy" in answer.standalone_question.lower()
    assert answer.standalone_question != "and what did Zelenskiy say?"
    assert not answer.refused
    assert any("Zelenskiy" in c.quote or "Putin" in c.quote for c in answer.citations)
