"""Quoted speech in answer text (assistant/answer/quotes.py)."""

from __future__ import annotations

import pytest

from assistant.answer.quotes import occurs, quoted_spans, unverified_quotes

SOURCE = (
    "“Today, Putin effectively rejected the proposal for a full ceasefire,” the Ukrainian leader said. "
    "Trump said the process is 'now in full force and effect'."
)


@pytest.mark.parametrize(
    "text, spans",
    [
        ('He said "we will win" on Monday.', ["we will win"]),
        ("He said “we will win” and ‘never stop’.", ["we will win", "never stop"]),
        ("He said 'we will win' today.", ["we will win"]),
        # apostrophes are not quotation marks
        ("Ukraine's energy and Putin's army; the Smiths' house.", []),
        ("Ukraine’s energy and Putin’s army.", []),
        ("It is ‘Putin’s war’, she said.", ["Putin’s war"]),
        ("No quotes at all.", []),
    ],
)
def test_quoted_spans(text: str, spans: list[str]) -> None:
    assert quoted_spans(text) == spans


@pytest.mark.parametrize(
    "quote, ok",
    [
        ("Putin effectively rejected the proposal for a full ceasefire", True),
        (
            "putin effectively rejected the proposal for a full ceasefire,",
            True,
        ),  # first letter, trailing comma
        ("Today, Putin effectively rejected … a full ceasefire", True),  # an ellipsis between real parts
        ("now in full force and effect", True),  # straight single quotes in the source
        ("Putin rejected the proposal for a full ceasefire", False),  # a word left out
        ("Putin effectively rejected the proposal for a total ceasefire", False),  # a word changed
        ("a full ceasefire … Putin effectively rejected", False),  # parts out of order
        ("PUTIN EFFECTIVELY REJECTED THE PROPOSAL", False),
        ("", True),
    ],
)
def test_a_quote_occurs_only_verbatim(quote: str, ok: bool) -> None:
    assert occurs(quote, [SOURCE]) is ok


def test_unverified_quotes_lists_the_invented_ones() -> None:
    text = 'He said "Putin effectively rejected the proposal" and "we will resign tomorrow".'
    assert unverified_quotes(text, [SOURCE]) == ["we will resign tomorrow"]
    assert unverified_quotes(text, []) == [
        "Putin effectively rejected the proposal",
        "we will resign tomorrow",
    ]
