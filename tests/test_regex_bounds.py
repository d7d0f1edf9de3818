"""Hostile text (about 100 KB) through every function and every compiled pattern that reads a question,
a conversation, an article or a model's answer: each finishes with the right kind of result.

No timing here: a pattern that backtracks quadratically takes minutes on these inputs, so this file
hangs; ``bench/regex_fuzz.py`` (which builds the same inputs) prints the figures and the ratios.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import pytest

from assistant.answer import answertype, citations, quotes
from assistant.answer.answertype import expected_kind, holds_kind
from assistant.answer.citations import Claim, Resolved
from assistant.answer.llm import Checked
from assistant.answer.types import Source
from assistant.ask import subject, timescope
from assistant.ask.rewrite import Standalone, is_follow_up, rule_rewrite
from assistant.ask.timescope import TimeIntent, TimeScope, parse_time_scope
from assistant.sentences import sentence_spans
from assistant.textutil import normalize_answer
from bench.regex_fuzz import (
    GENERIC,
    Spec,
    Target,
    function_targets,
    keyword_specs,
    module_patterns,
    pattern_words,
)

SIZE = 100_000
# Generic hostile inputs: a run of spaces, unclosed brackets and markers, digit runs with separators,
# capitalised runs, the words of the rules repeated. Each function gets two of them in turn (all of
# them through every function would take a minute; the bench does that), each pattern one besides three
# made of its own words and separators; the inputs that were quadratic are tested by name below.
ROTATION = (
    Spec(" ", "x", "x"),
    Spec("("),
    Spec("[1,"),
    Spec("1,"),
    Spec("A. "),
    Spec("state is "),
    Spec("it takes "),
    Spec("he "),
    Spec('"'),
    Spec("'a "),
)
assert set(ROTATION) <= set(GENERIC)
BUILT = {spec: spec.build(SIZE) for spec in ROTATION}


@pytest.fixture
def whole_questions(monkeypatch: pytest.MonkeyPatch) -> None:
    """The patterns read the whole hostile question, not the first MAX_QUESTION_CHARS of it."""
    monkeypatch.setattr(answertype, "MAX_QUESTION_CHARS", 10**9)
    monkeypatch.setattr(timescope, "MAX_QUESTION_CHARS", 10**9)
    answertype._asked.cache_clear()


Check = Callable[[str, object], bool]  # (the input, the result) → is it the right kind of result


def _is(*kinds: type | None) -> Check:
    return lambda _text, r: isinstance(r, tuple(type(None) if k is None else k for k in kinds))


def _list_of(kind: type) -> Check:
    return lambda _text, r: isinstance(r, list) and all(isinstance(x, kind) for x in r)


def _set_of_str(_text: str, r: object) -> bool:
    return isinstance(r, set) and all(isinstance(x, str) for x in r)


def _spans(text: str, r: object) -> bool:
    """Offsets into the text, none empty, none starting or ending with whitespace."""
    return isinstance(r, list) and all(
        0 <= s < e <= len(text) and not text[s].isspace() and not text[e - 1].isspace() for s, e in r
    )


def _claims(_text: str, r: object) -> bool:
    return isinstance(r, list) and all(
        isinstance(c, str) and all(isinstance(n, int) for n in ns) for c, ns in r
    )


KINDS = {kind for kind, _ in answertype.KINDS} | {"other"}
# What each function returns, by target name prefix.
RESULT: dict[str, Check] = {
    "answertype.expected_kind": lambda _t, r: r in KINDS,
    "answertype.holds_kind": lambda _t, r: r in (0.0, 0.5, 1.0),
    "answertype.names_and_numbers": _set_of_str,
    "textutil.tokens": _list_of(str),
    "textutil.content_terms": _list_of(str),
    "textutil.salient_terms": _set_of_str,
    "textutil.stem": _is(str),
    "textutil.strip_accents": _is(str),
    "textutil.normalize_answer": lambda _t, r: isinstance(r, str) and r == " ".join(r.split()),
    "textutil.contains_answer": _is(bool),
    "rewrite.is_follow_up": _is(bool),
    "rewrite.rule_rewrite": _is(str),
    "subject.names": _list_of(str),
    "subject.asks_for": _is(str, None),
    "subject.answer_body": _is(str),
    "subject.subjects": _is(list),
    "rewrite.standalone": _is(Standalone),
    "rewrite.kept_what_was_typed": _is(bool),
    "rewrite.llm_rewrite": _is(str, None),
    "timescope.parse_time_scope": _is(TimeScope, None),
    "timescope.time_intent": _is(TimeIntent),
    "boilerplate.is_boilerplate": _is(bool),
    "boilerplate.dateline_end": lambda t, r: isinstance(r, int) and 0 <= r <= len(t),
    "sentences.sentence_spans": _spans,
    "citations.split_claims": _claims,
    "citations.numbers": _set_of_str,
    "citations.names": _set_of_str,
    "citations.make_claim": _is(Claim),
    "citations.resolve_citations": _is(Resolved),
    "citations.restates_question": _is(bool),
    "quotes.normalise": _is(str),
    "quotes.quoted_spans": _list_of(str),
    "quotes.occurs": _is(bool),
    "quotes.unbalanced": _is(bool),
    "quotes.unverified_quotes": _list_of(str),
    "refusal.refusal_text": _is(str),
    "refusal.is_refusal_sentence": _is(bool),
    "refusal.looks_like_refusal": _is(bool),
    "llm.check_model_answer": _is(Checked),
    "llm.format_sources": _is(str),
    "types.make_sources": _list_of(Source),
    "extractive.extractive_answer": lambda _t, r: isinstance(r, tuple) and isinstance(r[0], str),
    "scoring.score": _list_of(Source),
}
FUNCTIONS = function_targets()


def _expected(target: Target) -> Check:
    return next(check for prefix, check in RESULT.items() if target.name.startswith(prefix))


def test_every_function_has_an_expected_result() -> None:
    for target in FUNCTIONS:
        assert any(target.name.startswith(p) for p in RESULT), target.name


def _rotated(i: int, n: int) -> list[Spec]:
    return [ROTATION[(i + k * 3) % len(ROTATION)] for k in range(n)]


@pytest.mark.parametrize("i,target", enumerate(FUNCTIONS), ids=[t.name for t in FUNCTIONS])
def test_function_finishes_on_hostile_text(i: int, target: Target) -> None:
    expected = _expected(target)
    for spec in _rotated(i, 2):
        result = target.run(BUILT[spec])
        assert expected(BUILT[spec], result), (target.name, spec.label(), repr(result)[:200])


PATTERNS = module_patterns()


@pytest.mark.parametrize("i,pattern", enumerate(p for _, p in PATTERNS), ids=[name for name, _ in PATTERNS])
def test_pattern_finishes_on_hostile_text(i: int, pattern: re.Pattern[str]) -> None:
    """Every pattern at every start position (finditer), on its own words and separators."""
    for spec in (*keyword_specs(*pattern_words(pattern), limit=3), *_rotated(i, 1)):
        text = BUILT.get(spec) or spec.build(SIZE)
        assert all(m.end() <= len(text) for m in pattern.finditer(text))


@pytest.mark.parametrize(
    "pattern,tail", [(citations.MARKER, "[1]"), (subject.MARKERS, "[1]"), (quotes._ELLIPSIS, "…")]
)
def test_patterns_that_start_with_spaces(pattern: re.Pattern[str], tail: str) -> None:
    """A run of spaces not followed by what the pattern wants is read once, not once per space; one
    that is followed by it belongs to the match."""
    assert list(pattern.finditer(" " * SIZE + "x")) == []
    assert [m.span() for m in pattern.finditer("x" + " " * SIZE + tail)] == [(1, SIZE + 1 + len(tail))]


# The hostile inputs that were quadratic, with their exact results.


def test_state_question_of_repeated_words(whole_questions: None) -> None:
    assert expected_kind("state is " * 11_000) == "other"
    assert expected_kind("state is " * 11_000 + "\nWhich state is Senator Morrow from?") == "state"
    assert expected_kind("which " + "u.s. " * 20_000 + "state") == "name"
    assert expected_kind("u.s. " * 20_000 + "which u.s. state") == "state"


def test_year_question_and_a_run_of_spaces(whole_questions: None) -> None:
    assert expected_kind("in what" + " " * SIZE + "year") != "year"
    assert expected_kind("In what year" + " " * SIZE) == "year"


def test_numbers_in_runs_of_digits_and_separators() -> None:
    terms: set[str] = set()
    assert holds_kind("What percentage voted?", "1," * 50_000 + "x", terms) == 0.0
    assert holds_kind("What percentage voted?", "1," * 50_000 + "1 percent", terms) == 1.0
    assert holds_kind("How much money did it raise?", "1." * 50_000 + "x", terms) == 0.0
    assert holds_kind("How much money did it raise?", "1." * 50_000 + "1 dollars", terms) == 1.0
    assert holds_kind("How much money did it raise?", "it raised .5 dollars", terms) == 1.0


def test_unclosed_brackets_in_an_answer() -> None:
    assert normalize_answer("(" * SIZE) == ""
    assert normalize_answer("(a) " * 25_000 + "(b") == "b"


def test_pronouns_and_markers_in_a_long_question() -> None:
    history = [("user", "Who won the Halvard Prize?"), ("assistant", "Idris Penhallow won it [1].")]
    assert is_follow_up("It " + "takes " * 20_000, history) is True
    assert is_follow_up("Idris Penhallow " + "he " * 30_000, history) is False
    assert rule_rewrite("and" + " " * SIZE + "why?", [("user", "Who won?"), ("assistant", " " * SIZE + "x")])


def test_time_phrases_after_long_runs(whole_questions: None) -> None:
    assert parse_time_scope("last" + " " * SIZE + "week", date(2024, 3, 17)) is None
    assert parse_time_scope("in the past " * 8_000 + "3 days", date(2024, 3, 17)) == TimeScope(
        date(2024, 3, 14), date(2024, 3, 17), "in the past 3 days"
    )


@pytest.mark.parametrize("unit", ["‘", "`", "“a ", "A. ", "x"])
def test_sentences_of_a_long_line(unit: str) -> None:
    """sentencex is quadratic on runs of opening quotation marks: a long line is read in windows."""
    text = unit * (SIZE // len(unit)) + "\nHe left. She stayed."
    spans = sentence_spans(text)
    assert _spans(text, spans) and [text[s:e] for s, e in spans[-2:]] == ["He left.", "She stayed."]


def test_question_read_up_to_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(answertype, "MAX_QUESTION_CHARS", 20_000)
    monkeypatch.setattr(timescope, "MAX_QUESTION_CHARS", 20_000)
    answertype._asked.cache_clear()
    assert expected_kind("x " * 10_000 + "In what year?") == "other"
    assert expected_kind("x " * 9_000 + "In what year?") == "year"
    assert parse_time_scope("x " * 10_000 + "yesterday", date(2024, 3, 17)) is None
