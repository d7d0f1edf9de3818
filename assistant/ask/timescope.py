"""The period a question speaks of ("yesterday", "this week", "since March 3"), read against a date.

Phrases follow the calendar (Monday starts a week): "this week" is Monday to today, "last week" the
Monday to Sunday before it, "this month" the 1st to today, "last month" the calendar month before,
"in March" the most recent March that has begun (cut at today), "since January" its 1st to today,
"over the past 10 days" a rolling window. Calendar arithmetic is dateutil's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import MO, relativedelta

from assistant.dates import MONTHS


@dataclass(frozen=True)
class TimeScope:
    start: date
    end: date
    phrase: str


_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_NUMBER_WORDS = {
    "a": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "few": 3,
    "couple of": 2,
}
_COUNT = r"\d{1,3}|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_UNIT_DAYS = {"day": 1, "week": 7, "month": 0, "year": 0}
# The most characters of a question read: far beyond any question (the UI refuses more than 2,000). The
# patterns are linear; this bounds what one oversized question (CLI, API) can cost all the same.
MAX_QUESTION_CHARS = 20_000

# Every run of spaces is taken whole ("\s++"): a word follows each, so no match needs part of one.
PAST_N = re.compile(
    rf"\b(?:over|in|during|within)?\s*+(?:the\s++)?(?:past|last)\s++({_COUNT})\s++(day|week|month|year)s?\b"
)
ROLLING = re.compile(r"\b(?:this\s++)?past\s++(week|month|year)\b")
SINCE_DAY = re.compile(rf"\bsince\s++({_MONTH})\.?\s++(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s++(\d{{4}}))?")
SINCE_MONTH = re.compile(rf"\bsince\s++({_MONTH})\.?(?:\s++(\d{{4}}))?\b")
IN_MONTH = re.compile(rf"\b(?:in|during|of)\s++({_MONTH})\.?(?:\s++(\d{{4}}))?\b")
TODAY = re.compile(r"\btoday\b|\bthis (?:morning|afternoon|evening)\b|\btonight\b")
YESTERDAY = re.compile(r"\byesterday\b")
THIS_WEEK = re.compile(r"\bthis week\b")
LAST_WEEK = re.compile(r"\blast week\b")
THIS_MONTH = re.compile(r"\bthis month\b")
LAST_MONTH = re.compile(r"\blast month\b")
THIS_YEAR = re.compile(r"\bthis year\b")
LAST_YEAR = re.compile(r"\blast year\b")


def _month_start(today: date, month: int, year: int | None) -> date:
    """The 1st of the named month: of the given year, else the most recent one that has begun."""
    if year is not None:
        return date(year, month, 1)
    return date(today.year if month <= today.month else today.year - 1, month, 1)


def _span(scope_start: date, scope_end: date, phrase: str, today: date) -> TimeScope:
    return TimeScope(scope_start, min(scope_end, today) if scope_start <= today else scope_end, phrase)


def parse_time_scope(question: str, today: date) -> TimeScope | None:
    """The period the question speaks of, or None when it names none (read in its first
    MAX_QUESTION_CHARS characters)."""
    q = question[:MAX_QUESTION_CHARS].lower()
    m = PAST_N.search(q)
    if m:
        n = int(m[1]) if m[1].isdigit() else _NUMBER_WORDS[m[1]]
        unit = m[2]
        delta = relativedelta(months=n) if unit == "month" else relativedelta(years=n)
        start = today - timedelta(days=n * _UNIT_DAYS[unit]) if _UNIT_DAYS[unit] else today - delta
        return TimeScope(start, today, m[0].strip())
    m = ROLLING.search(q)
    if m:
        unit = m[1]
        start = {
            "week": today - timedelta(days=7),
            "month": today - relativedelta(months=1),
            "year": today - relativedelta(years=1),
        }[unit]
        return TimeScope(start, today, m[0])
    monday = today + relativedelta(weekday=MO(-1))
    first = today.replace(day=1)
    fixed: list[tuple[re.Pattern[str], date, date]] = [
        (TODAY, today, today),
        (YESTERDAY, today - timedelta(days=1), today - timedelta(days=1)),
        (THIS_WEEK, monday, today),
        (LAST_WEEK, monday - timedelta(days=7), monday - timedelta(days=1)),
        (THIS_MONTH, first, today),
        (LAST_MONTH, first - relativedelta(months=1), first - timedelta(days=1)),
        (THIS_YEAR, date(today.year, 1, 1), today),
        (LAST_YEAR, date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
    ]
    for pattern, start, end in fixed:
        m = pattern.search(q)
        if m:
            return TimeScope(start, end, m[0])
    m = SINCE_DAY.search(q)
    if m:
        month, day = MONTHS[m[1]], int(m[2])
        year = int(m[3]) if m[3] else None
        try:
            start = date(year, month, day) if year else date(today.year, month, day)
            if year is None and start > today:
                start = date(today.year - 1, month, day)
        except ValueError:
            return None
        return TimeScope(start, today, m[0])
    m = SINCE_MONTH.search(q)
    if m and not (m[1] == "may" and not m[2]):  # "since may…" is too often the verb
        return TimeScope(_month_start(today, MONTHS[m[1]], int(m[2]) if m[2] else None), today, m[0])
    m = IN_MONTH.search(q)
    if m and not (m[1] == "may" and not m[2]):  # "in may" is too often the verb
        start = _month_start(today, MONTHS[m[1]], int(m[2]) if m[2] else None)
        end = start + relativedelta(months=1) - timedelta(days=1)
        return _span(start, end, m[0], today)
    return None


# Words that ask about the present without naming a period: the question is about "now".
RECENT = re.compile(
    r"\b(?:recent(?:ly)?+|latest|newest|lately|now|currently|current|so far|as of|to date|"
    r"upcoming|this (?:weekend|season))\b"
)


@dataclass(frozen=True)
class TimeIntent:
    """What a question says about time: the period it names (``scope``: searched first) and whether it
    asks about the present (``timely``: a period that runs up to yesterday or today — "this week",
    "today", "over the past 10 days" — or "recently", "latest", "now"…; "last year" or "in March 2023"
    name a period but not the present). Only a timely question is ranked by recency; no question is
    refused for its articles' age."""

    scope: TimeScope | None
    timely: bool


def time_intent(question: str, today: date) -> TimeIntent:
    scope = parse_time_scope(question, today)
    current = scope is not None and scope.end >= today - timedelta(days=1)
    return TimeIntent(scope, current or bool(RECENT.search(question[:MAX_QUESTION_CHARS].lower())))
