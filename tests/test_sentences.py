"""Sentence boundaries (assistant/sentences.py): whole sentences through news abbreviations."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant import sentences
from assistant.sentences import MAX_SEGMENT_CHARS, sentence_spans
from bench.regex_fuzz import module_patterns


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


@pytest.mark.parametrize(
    "text, sentences",
    [
        (
            "DENVER — Rep. Milo Hartwell, R-N.Y., lost his seat on Tuesday. Aides were stunned.",
            ["DENVER — Rep. Milo Hartwell, R-N.Y., lost his seat on Tuesday.", "Aides were stunned."],
        ),
        (
            "Sen. Orla Pike, D-Calif., walked out. Few followed.",
            ["Sen. Orla Pike, D-Calif., walked out.", "Few followed."],
        ),
        (
            "Rep. Dov Caine, R-Texas, voted no. It passed.",
            ["Rep. Dov Caine, R-Texas, voted no.", "It passed."],
        ),
        (
            "Sen. Wren Aldous, I-Vt., abstained twice. Nobody asked why.",
            ["Sen. Wren Aldous, I-Vt., abstained twice.", "Nobody asked why."],
        ),
        (
            "Rep. Tamsin Oduya, D-N.J., filed the motion. It failed.",
            ["Rep. Tamsin Oduya, D-N.J., filed the motion.", "It failed."],
        ),
        (
            "Rep. Kit Varga (R-S.C.) and Rep. Ona Lusk, D-N.M. signed it. Both smiled.",
            ["Rep. Kit Varga (R-S.C.) and Rep. Ona Lusk, D-N.M. signed it.", "Both smiled."],
        ),
        (
            "The U.K. envoy and the U.N. panel met U.S. officials. Talks went on.",
            ["The U.K. envoy and the U.N. panel met U.S. officials.", "Talks went on."],
        ),
        (
            "The ferry leaves at 6 a.m. on Sundays. Tickets sell out.",
            ["The ferry leaves at 6 a.m. on Sundays.", "Tickets sell out."],
        ),
        (
            "Voting opens at 7 a.m. Thursday and ends at 8 p.m. ET. Lines were long.",
            ["Voting opens at 7 a.m. Thursday and ends at 8 p.m. ET.", "Lines were long."],
        ),
        (
            "The bakery was ranked No. 4 in town. Lines formed.",
            ["The bakery was ranked No. 4 in town.", "Lines formed."],
        ),
        (
            "Gov. Ines Marlowe vetoed the plan. Sen. Tobin Rusk objected. Rep. Ula Finch abstained.",
            ["Gov. Ines Marlowe vetoed the plan.", "Sen. Tobin Rusk objected.", "Rep. Ula Finch abstained."],
        ),
        (
            "Lt. Gen. Petra Vos briefed Gen. Amos Kell. Col. Rhea Dunn and Sgt. Iker Moss listened.",
            ["Lt. Gen. Petra Vos briefed Gen. Amos Kell.", "Col. Rhea Dunn and Sgt. Iker Moss listened."],
        ),
        (
            "Troops left Ft. Tarrow at dawn. Capt. Nell Ivers led them.",
            ["Troops left Ft. Tarrow at dawn.", "Capt. Nell Ivers led them."],
        ),
        (
            "Dr. Sabine Crull studied the lake near Mt. Orvel. St. Brenna parish paid.",
            ["Dr. Sabine Crull studied the lake near Mt. Orvel.", "St. Brenna parish paid."],
        ),
        (
            "The fair runs from Feb. 3 to Aug. 19 this year. Entry is free.",
            ["The fair runs from Feb. 3 to Aug. 19 this year.", "Entry is free."],
        ),
        (
            "Orbex Inc. said profits fell. Halder Co., a shipper, and Tessin Corp. declined comment.",
            ["Orbex Inc. said profits fell.", "Halder Co., a shipper, and Tessin Corp. declined comment."],
        ),
        (
            "Author J.D. Pellam met R. T. Osgood in Boston. They spoke.",
            ["Author J.D. Pellam met R. T. Osgood in Boston.", "They spoke."],
        ),
        (
            "The river rose approx. two feet overnight. Roads closed.",
            ["The river rose approx. two feet overnight.", "Roads closed."],
        ),
    ],
)
def test_abbreviations_stay_within_a_sentence(text: str, sentences: list[str]) -> None:
    assert split(text) == sentences


@pytest.mark.parametrize(
    "text, sentences",
    [
        ("The vote closed at 9 p.m. Officials left.", ["The vote closed at 9 p.m.", "Officials left."]),
        ("The shop opened at 8 a.m. Nobody came.", ["The shop opened at 8 a.m.", "Nobody came."]),
        ("Her firm moved to the U.S. The rent doubled.", ["Her firm moved to the U.S.", "The rent doubled."]),
        ("The mayor waved. then she left.", ["The mayor waved.", "then she left."]),
        ("Profits rose. iPhone sales fell.", ["Profits rose.", "iPhone sales fell."]),
        ("Rain fell at noon. 14 roads flooded.", ["Rain fell at noon.", "14 roads flooded."]),
        ("He lives on Birch St. He walks to work.", ["He lives on Birch St.", "He walks to work."]),
        ("The answer was No. He repeated it.", ["The answer was No.", "He repeated it."]),
        ("Brunt Co. Is it real? Yes.", ["Brunt Co.", "Is it real?", "Yes."]),
    ],
)
def test_real_sentence_ends_still_split(text: str, sentences: list[str]) -> None:
    assert split(text) == sentences


@pytest.mark.parametrize(
    "unit", ["R-N. ", "N. ", "Sen. ", "a.m. Monday ", "No. 1 ", "Inc. said ", ", ", "A."]
)
def test_joins_on_long_hostile_lines(unit: str) -> None:
    """Joined sentences in a long line still come out windowed and trimmed, and the next line is whole."""
    text = unit * (100_000 // len(unit)) + "\nHe left. She stayed."
    spans = sentence_spans(text)
    assert all(0 <= s < e <= len(text) and text[s:e].strip() == text[s:e] for s, e in spans)
    assert max(e - s for s, e in spans) <= MAX_SEGMENT_CHARS
    assert [text[s:e] for s, e in spans[-2:]] == ["He left.", "She stayed."]


@pytest.mark.parametrize("unit", ["a", "ab ", " ", "Jan", "Jan. ", "Fri", "R-N.", "a.m. ", "EST"])
@pytest.mark.parametrize("pattern", [p for _, p in module_patterns((sentences,))])
def test_patterns_are_linear_on_hostile_text(pattern: re.Pattern[str], unit: str) -> None:
    """Each pattern at every start position (finditer) over 100 KB that almost matches: well under a
    second (a quadratic one takes minutes)."""
    text = unit * (100_000 // len(unit)) + "Bx"
    t0 = time.perf_counter()
    assert all(m.end() <= len(text) for m in pattern.finditer(text))
    assert time.perf_counter() - t0 < 1.0


def test_spans_are_offsets_into_the_text() -> None:
    text = "  Intro here.  Rep. Ana Silva spoke.\n\nNext para!  "
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == ["Intro here.", "Rep. Ana Silva spoke.", "Next para!"]
    assert sentence_spans(text, 14, 36) == [(15, 36)]


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab. \n\"“”'?!…Rep.J3,")), max_size=300))
def test_any_text_gives_trimmed_non_overlapping_spans(text: str) -> None:
    last = 0
    covered: set[int] = set()
    for s, e in sentence_spans(text):
        assert e > s >= last and text[s:e].strip() == text[s:e]
        last = e
        covered.update(range(s, e))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


PIECES = [
    "R-N.",
    "Y.",
    "J.",
    "Sen.",
    "No.",
    "a.m.",
    "Jan.",
    "Inc.",
    " ",
    " ",
    "\n",
    ", ",
    "; ",
    "4",
    "he",
    "He",
    "iPad",
    ".",
]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=80).map("".join))
def test_joined_spans_stay_trimmed_and_cover_the_text(text: str) -> None:
    last = 0
    covered: set[int] = set()
    for s, e in sentence_spans(text):
        assert e > s >= last and text[s:e].strip() == text[s:e] and "\n" not in text[s:e]
        last = e
        covered.update(range(s, e))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
