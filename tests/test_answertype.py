from __future__ import annotations

import pytest

from assistant.answertype import expected_kind, holds_kind
from assistant.textutil import content_terms


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Microsoft retired Internet Explorer this week. What year did it debut?", "year"),
        ("She became the first American woman to reach the final since:", "year"),
        ("What percentage of voters backed the measure?", "percent"),
        ("How much did the painting sell for?", "money"),
        ("How many flights were canceled?", "count"),
        ("When will the rocket launch?", "date"),
        ("Scott is a Republican senator for which state?", "state"),
        ("Liz Truss became prime minister of which country?", "country"),
        ("Who won the Booker Prize?", "name"),
        ("What did the scientists find?", "other"),
    ],
)
def test_expected_kind(question: str, kind: str) -> None:
    assert expected_kind(question) == kind


@pytest.mark.parametrize(
    ("question", "sentence", "held"),
    [
        ("What year did the browser debut?", "It ran from 1995 to 2022.", 1.0),
        ("What year did the browser debut?", "Some 27 years after it debuted, it was retired.", 0.0),
        # a year the question already names is not an answer
        ("What year after 2020 did sales fall?", "Sales in 2020 were flat.", 0.0),
        ("What percentage of Californians back it?", "About 85% of residents back it.", 1.0),
        ("What percentage of Californians back it?", "Most residents back it.", 0.0),
        ("How much did the painting sell for?", "It sold for $12.5 million on Tuesday.", 1.0),
        ("Scott is a senator for which state?", "The South Carolina senator spoke on Monday.", 1.0),
        ("Scott is a senator for which state?", "The senator spoke in North Charleston.", 0.0),
        ("Who won the Booker Prize?", "Irish writer Paul Lynch won the Booker Prize.", 1.0),
        ("Who won the Booker Prize?", "the Booker Prize was awarded on Sunday.", 0.0),
    ],
)
def test_holds_kind(question: str, sentence: str, held: float) -> None:
    assert holds_kind(question, sentence, set(content_terms(question))) == held


def test_a_hyphenated_word_also_counts_as_its_parts() -> None:
    # "How old is she?" is answered by "A 15-year-old from Leeds…"
    assert {"old", "15"} <= set(content_terms("A 15-year-old from Leeds"))
    assert {"russia", "ukrain"} <= set(content_terms("the Russia-Ukraine talks"))
    assert content_terms("-- - ---") == []
