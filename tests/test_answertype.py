from __future__ import annotations

import pytest

from assistant.answer.answertype import expected_kind, holds_kind
from assistant.textutil import content_terms


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("The Dunmore ferry made its last crossing this week. What year did it first sail?", "year"),
        ("In what year was the lighthouse built?", "year"),
        ("What decade did the mill close in?", "year"),
        ("What percentage of voters backed the measure?", "percent"),
        ("How much did the painting sell for?", "money"),
        ("How many ferries were delayed by the fog?", "count"),
        ("When will the new library open?", "date"),
        ("Senator Edda Morrow represents which state?", "state"),
        ("The Orvell glassworks moved its headquarters to which country?", "country"),
        ("Who won the Halvard Prize for poetry?", "name"),
        ("What did the auditors recommend?", "other"),
    ],
)
def test_expected_kind(question: str, kind: str) -> None:
    assert expected_kind(question) == kind


@pytest.mark.parametrize(
    ("question", "sentence", "held"),
    [
        ("What year did the ferry first sail?", "It sailed from 1987 to 2019.", 1.0),
        ("What year did the ferry first sail?", "Some 32 years after it first sailed, it was retired.", 0.0),
        # a year the question already names is not an answer
        ("What year after 2020 did sales fall?", "Sales in 2020 were flat.", 0.0),
        ("What percentage of members back the merger?", "About 62% of members back it.", 1.0),
        ("What percentage of members back the merger?", "Most members back it.", 0.0),
        ("How much did the painting sell for?", "It sold for $12.5 million on Tuesday.", 1.0),
        ("Senator Morrow represents which state?", "The Montana senator spoke on Monday.", 1.0),
        ("Senator Morrow represents which state?", "The senator spoke in Billings.", 0.0),
        # a state the question already names is not an answer
        ("Which state beside Oregon ran out of water?", "Oregon declared a drought.", 0.0),
        ("The glassworks moved to which country?", "It moved from Belgium to Portugal.", 1.0),
        ("Who won the Halvard Prize?", "Welsh poet Idris Penhallow won the Halvard Prize.", 1.0),
        ("Who won the Halvard Prize?", "the Halvard Prize was awarded on Sunday.", 0.0),
    ],
)
def test_holds_kind(question: str, sentence: str, held: float) -> None:
    assert holds_kind(question, sentence, set(content_terms(question))) == held


def test_a_hyphenated_word_also_counts_as_its_parts() -> None:
    # "How old is she?" is answered by "A 15-year-old from Leeds…"
    assert {"old", "15"} <= set(content_terms("A 15-year-old from Leeds"))
    assert {"russia", "ukrain"} <= set(content_terms("the Russia-Ukraine talks"))
    assert content_terms("-- - ---") == []
