"""A model's answer is a refusal only when it says so as a whole (assistant/answer/refusal.py)."""

from __future__ import annotations

import pytest

from assistant.answer.refusal import looks_like_refusal, refusal_text


@pytest.mark.parametrize(
    "text",
    [
        "The indexed articles don't say.",
        "The sources do not mention the population of Brazil.",
        "The provided sources don't contain any information about the winner.",
        "I cannot answer this question from the sources.",
        "I'm sorry, but I can't find that in the articles.",
        "There is no information about the score in the sources. The articles do not say who won.",
        "The indexed articles don’t say.",
    ],
)
def test_refusals(text: str) -> None:
    assert looks_like_refusal(text)


@pytest.mark.parametrize(
    "text",
    [
        "Investigators are unable to determine the cause [1].",
        "There was no information about casualties [1].",
        "Investigators are unable to determine the cause.",  # about the news, not the sources
        "Putin agreed to limit attacks on energy infrastructure. [1]",
        "The indexed articles don't say when, but the talks will be in Saudi Arabia [1].",
        # one sentence answers: as a whole this is not a refusal
        "The sources don't mention the date. The talks will be held in Jeddah [2].",
        "",
    ],
)
def test_answers_that_are_not_refusals(text: str) -> None:
    assert not looks_like_refusal(text)


def test_refusal_text_names_the_question() -> None:
    assert refusal_text("What is the population of Brazil?") == (
        "The indexed articles don't say. Nothing in them answers “What is the population of Brazil?”"
    )
