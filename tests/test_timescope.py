"""Date phrases follow the calendar (assistant/ask/timescope.py)."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.ask.timescope import parse_time_scope

D = date(2024, 3, 20)  # a Wednesday
J = date(2024, 1, 10)  # a Wednesday in January


@pytest.mark.parametrize(
    "q, today, start, end",
    [
        ("What flooded today?", D, D, D),
        ("What happened tonight in Marlow?", D, D, D),
        ("What happened yesterday in Marlow?", D, date(2024, 3, 19), date(2024, 3, 19)),
        ("Which river flooded this week?", D, date(2024, 3, 18), D),  # Monday to today
        ("What happened last week?", D, date(2024, 3, 11), date(2024, 3, 17)),  # Monday to Sunday before
        ("What happened this past week?", D, date(2024, 3, 13), D),  # a rolling seven days
        ("What happened this month?", D, date(2024, 3, 1), D),
        ("What happened last month?", D, date(2024, 2, 1), date(2024, 2, 29)),
        ("What happened last month?", J, date(2023, 12, 1), date(2023, 12, 31)),
        ("What changed this year?", D, date(2024, 1, 1), D),
        ("What changed last year?", D, date(2023, 1, 1), date(2023, 12, 31)),
        ("What happened in March?", D, date(2024, 3, 1), D),  # this March, up to today
        ("What happened in November?", D, date(2023, 11, 1), date(2023, 11, 30)),  # the last November
        ("What happened in March 2022?", D, date(2022, 3, 1), date(2022, 3, 31)),
        ("What happened in Sept. 2023?", D, date(2023, 9, 1), date(2023, 9, 30)),
        ("What has changed since January?", D, date(2024, 1, 1), D),
        ("What has changed since March 3?", D, date(2024, 3, 3), D),
        ("What has changed since March 3, 2023?", D, date(2023, 3, 3), D),
        ("What has changed since April 3?", D, date(2023, 4, 3), D),  # the last April 3
        ("What happened over the past 10 days?", D, date(2024, 3, 10), D),
        ("What happened in the past two weeks?", D, date(2024, 3, 6), D),
        ("What happened over the last 3 months?", D, date(2023, 12, 20), D),
    ],
)
def test_time_phrases(q: str, today: date, start: date, end: date) -> None:
    scope = parse_time_scope(q, today)
    assert scope is not None and (scope.start, scope.end) == (start, end)


@pytest.mark.parametrize(
    "q",
    ["Which river flooded Marlow?", "Who may attend?", "What did the mayor say in may?", "Since when?"],
)
def test_no_time_phrase(q: str) -> None:
    assert parse_time_scope(q, D) is None


def test_a_monday_s_week_is_that_day() -> None:
    monday = date(2024, 3, 18)
    scope = parse_time_scope("What happened this week?", monday)
    assert scope is not None and (scope.start, scope.end) == (monday, monday)


def test_an_impossible_day_is_no_scope() -> None:
    assert parse_time_scope("What changed since February 30?", D) is None


def test_time_intent_says_whether_a_question_asks_about_now() -> None:
    from assistant.ask.timescope import time_intent

    today = date(2024, 3, 20)
    for q in (
        "Which automaker recalled 2.9 million vehicles this week?",
        "What did the mayor say today?",
        "What is the latest on the Elm river flood?",
        "Who recently won the chess title?",
        "Who is now leading the race?",
        "How many people died over the past 10 days?",
    ):
        assert time_intent(q, today).timely, q
    for q in (
        "How much did the repair of the Lindqvist Bridge cost?",
        "Who won the chess title last year?",  # a period, but not the present
        "What happened in March 2023?",
        "Who is the band's new drummer?",
        "What is known about the crash?",  # "now" inside a word
    ):
        assert not time_intent(q, today).timely, q
    assert time_intent("What happened last year?", today).scope is not None
