"""Sentence boundaries (assistant/sentences.py): whole sentences through news abbreviations."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.sentences import sentence_spans


def split(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


@pytest.mark.parametrize(
    "text, sentences",
    [
        (
            "US Rep. Dana Whitfield was censured on Friday. She is the third member censured.",
            ["US Rep. Dana Whitfield was censured on Friday.", "She is the third member censured."],
        ),
        (
            "Sen. Ada Price met Gov. Tom Reyes. They talked.",
            ["Sen. Ada Price met Gov. Tom Reyes.", "They talked."],
        ),
        (
            "Gen. Mark Milley and Lt. Col. Vindman spoke. Then left.",
            ["Gen. Mark Milley and Lt. Col. Vindman spoke.", "Then left."],
        ),
        ("He moved to St. Louis in 2019. It rained.", ["He moved to St. Louis in 2019.", "It rained."]),
        (
            "Mr. Jones and Mrs. Smith met Dr. Fauci. They agreed.",
            ["Mr. Jones and Mrs. Smith met Dr. Fauci.", "They agreed."],
        ),
        ("The riot was on Jan. 6, 2021. Congress met.", ["The riot was on Jan. 6, 2021.", "Congress met."]),
        (
            "Talks resume Sept. 12 and Dec. 1. Both are set.",
            ["Talks resume Sept. 12 and Dec. 1.", "Both are set."],
        ),
        ("The U.S. Senate voted. The U.K. disagreed.", ["The U.S. Senate voted.", "The U.K. disagreed."]),
        ("It is the No. 1 song. Fans agree.", ["It is the No. 1 song.", "Fans agree."]),
        (
            "Polls close at 8 p.m. local time. Counting follows.",
            ["Polls close at 8 p.m. local time.", "Counting follows."],
        ),
        (
            "Apple Inc. said sales rose. Acme Corp. agreed.",
            ["Apple Inc. said sales rose.", "Acme Corp. agreed."],
        ),
        (
            "Author R. T. Vance replied. Others did too.",
            ["Author R. T. Vance replied.", "Others did too."],
        ),
        (
            "Inflation rose 3.5 percent. Costs hit $1.2 billion.",
            ["Inflation rose 3.5 percent.", "Costs hit $1.2 billion."],
        ),
        ('He said "we will win." Then he left.', ['He said "we will win."', "Then he left."]),
        (
            "“We won’t stop,” he said. “Never.” She left.",
            ["“We won’t stop,” he said.", "“Never.”", "She left."],
        ),
        ("Line one\nLine two. Still two.", ["Line one", "Line two.", "Still two."]),
    ],
)
def test_news_abbreviations_do_not_end_sentences(text: str, sentences: list[str]) -> None:
    assert split(text) == sentences


def test_spans_are_offsets_into_the_text() -> None:
    text = "  Intro here.  Rep. Ana Silva spoke.\n\nNext para!  "
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == ["Intro here.", "Rep. Ana Silva spoke.", "Next para!"]
    assert sentence_spans(text, 14, 36) == [(15, 36)]


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab. \n\"“”'?!…Rep.J3,")), max_size=300))
def test_any_text_gives_trimmed_non_overlapping_spans(text: str) -> None:
    last = 0
    covered = set()
    for s, e in sentence_spans(text):
        assert e > s >= last and text[s:e].strip() == text[s:e]
        last = e
        covered.update(range(s, e))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
