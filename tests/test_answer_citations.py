"""A model's claims → citations (assistant/answer/citations.py), and the checks of what the model wrote
(assistant/answer/llm.py): invented quotes, numbers and names never reach the answer with a citation."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from assistant.answer.citations import MARKER, resolve_citations, restates_question, split_claims
from assistant.answer.llm import Checked, check_model_answer, format_sources
from assistant.answer.quotes import normalise, occurs, quoted_spans
from assistant.answer.types import Source, make_sources
from assistant.chunking import chunk_article
from assistant.corpus import load_paths
from assistant.store import StoredChunk
from tests.answer_fixtures import ARTICLE, WEATHER, check_invariants, sources
from tests.conftest import SEED

TEXTS = {"a": ARTICLE, "b": WEATHER}


def test_resolves_markers_to_supporting_sentences_and_renumbers() -> None:
    out = resolve_citations(
        "Farmers welcomed the rain forecast [2]. Parks spending rises 12 percent [1].",
        sources(),
        question="How did people react to the forecast and the budget?",
    )
    assert out.text == "Farmers welcomed the rain forecast. [1] Parks spending rises 12 percent. [2]"
    assert [c.quote for c in out.citations] == [
        "Farmers welcomed the forecast.",
        "Spending on parks rises by 12 percent.",
    ]
    check_invariants(out.text, out.citations, TEXTS)
    assert out.notes == []


def test_markers_to_nowhere_or_to_unsupporting_sources_are_moved_or_dropped() -> None:
    out = resolve_citations("Mayor Ana Silva said the plan protects libraries [7].", sources())
    assert "[7]" not in out.text and any("points to no source" in n for n in out.notes)
    # ... but the claim is still attached to the sentence that supports it
    assert [c.quote for c in out.citations] == ["Mayor Ana Silva said the plan protects libraries."]
    out = resolve_citations("The budget was approved by the council on Monday [2].", sources())
    assert out.citations[0].article_id == "a" and "does not support" in out.notes[0]
    out = resolve_citations("Aliens landed in Ohio [1].", sources())
    assert out.citations == [] and MARKER.search(out.text) is None


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "The council approved the budget",
                    "Parks get 12 percent more",
                    "Rain all week",
                    "Critics called it reckless",
                    "Something unrelated entirely",
                    "Silva protects libraries",
                    'Silva said "the plan protects libraries"',
                    'Silva said "the plan doubles libraries"',
                ]
            ),
            st.lists(st.integers(min_value=-1, max_value=4), max_size=3),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_citation_invariants_hold_for_any_model_output(parts) -> None:  # type: ignore[no-untyped-def]
    text = " ".join(claim + "".join(f"[{n}]" for n in nums) + "." for claim, nums in parts)
    out = resolve_citations(text, sources())
    check_invariants(out.text, out.citations, TEXTS)
    # every claim but the unrelated one has a supporting sentence: it is cited, wherever its marker pointed
    supported = [claim for claim, _ in parts if claim != "Something unrelated entirely"]
    assert len(out.citations) >= (1 if supported else 0)
    for claim, _ in parts:
        piece = "Something unrelated entirely." if claim == "Something unrelated entirely" else None
        if piece:
            assert piece in out.text and not re.search(r"Something unrelated entirely\. \[", out.text)
    assert "doubles" not in out.text  # the misquote is replaced by the source's own sentence


def test_split_claims_keeps_trailing_markers_with_their_sentence() -> None:
    assert split_claims("A cat sat. [1][2] Then left [3].") == [("A cat sat.", [1, 2]), ("Then left.", [3])]
    assert split_claims("Rep. Ana Silva spoke [1]. She left.") == [
        ("Rep. Ana Silva spoke.", [1]),
        ("She left.", []),
    ]


def test_an_answer_that_only_repeats_the_question_is_no_answer() -> None:
    q = "Which rival chef did the restaurateur fall out with?"
    assert restates_question("The restaurateur. [1]", q)
    assert restates_question("The restaurateur’s falling out was with a rival chef. [1]", q)
    assert not restates_question("The restaurateur fell out with Oskar Brandt. [1]", q)
    # one sentence that adds something is enough
    assert not restates_question("The restaurateur did fall out. [1] It was with Oskar Brandt. [2]", q)
    assert not restates_question("", q)


def test_unmarked_claim_is_cited_where_a_sentence_holds_what_it_adds_to_the_question() -> None:
    q = "Who said the plan protects libraries?"
    out = resolve_citations("The plan protects libraries, said Mayor Ana Silva.", sources(), question=q)
    assert out.text.endswith("[1]")
    assert out.citations[0].quote == "Mayor Ana Silva said the plan protects libraries."
    # what the claim adds ("Bob Jones") is in no sentence: no citation, however much it restates the question
    out = resolve_citations("Bob Jones said the plan protects libraries.", sources(), question=q)
    assert out.citations == [] and MARKER.search(out.text) is None


def test_unsupported_claims_are_left_out_when_asked() -> None:
    model_text = "Parks spending rises 12 percent [1]. This will make the city greener and richer."
    kept = resolve_citations(model_text, sources())
    assert "greener" in kept.text
    out = resolve_citations(model_text, sources(), drop_unsupported=True)
    assert out.text == "Parks spending rises 12 percent. [1]" and len(out.citations) == 1
    assert any("no source supports it" in n for n in out.notes)
    # nothing supported: nothing is dropped (the caller falls back to quotes)
    out = resolve_citations("Aliens landed in Ohio.", sources(), drop_unsupported=True)
    assert out.text == "Aliens landed in Ohio." and out.citations == []


def test_llm_sees_the_best_source_last_next_to_the_question() -> None:
    text = format_sources(sources(), window=1)
    assert text.index("[2] Weather") < text.index("[1] Budget passes (2024-03-01)")
    assert text.endswith("The council approved the budget on Monday.")


# ---- the checks on a model's answer, on the real seed article ----------------------------------------


def seed_sources() -> list[Source]:
    art = load_paths([SEED], 10**6).articles[0][1]
    chunks = [
        StoredChunk(c.id, c.article_id, c.text, c.start, c.end, art.title, art.url, art.source, 20250319)
        for c in chunk_article(art, 800, 160)
    ]
    srcs = make_sources(chunks)
    for s in srcs:
        s.scores = [0.5] * len(s.sentences)
    return srcs


SEED_SOURCES = seed_sources()
SEED_TEXT = load_paths([SEED], 10**6).articles[0][1].text
QUESTION = "What did Putin agree to limit attacks on?"


def check(model_text: str, question: str = QUESTION) -> Checked:
    """A model's answer after the checks, with every citation and every quotation left in the text
    checked to be verbatim in the seed article."""
    checked = check_model_answer(model_text, SEED_SOURCES, question, refuse_no_answer=False)
    for c in checked.citations:
        assert SEED_TEXT[c.start : c.end] == c.quote
    for q in quoted_spans(checked.text):  # every quotation left in the answer text is verbatim
        assert normalise(q).strip(" ,.") in normalise(SEED_TEXT)
    return checked


def shown(model_text: str, question: str = QUESTION) -> tuple[str, list[str]]:
    checked = check(model_text, question)
    return checked.text, [c.quote for c in checked.citations]


def test_a_correct_model_answer_is_kept_with_its_citation() -> None:
    text, quotes = shown("Putin agreed to limit attacks on Ukraine's energy infrastructure [1].")
    assert text == "Putin agreed to limit attacks on Ukraine's energy infrastructure. [1]"
    assert "energy infrastructure" in quotes[0]


def test_a_correct_quotation_is_kept() -> None:
    sentence = next(s for src in SEED_SOURCES for s in src.sentences if "effectively rejected" in s.text)
    n = _n(SEED_SOURCES, sentence.text)
    model = f'Zelenskiy said "Putin effectively rejected the proposal for a full ceasefire" [{n}].'
    text, _ = shown(model, "What did Zelenskiy say about the ceasefire?")
    assert "“" not in text and '"Putin effectively rejected the proposal for a full ceasefire"' in text


TRUE_CLAIM = "Putin agreed only to limit attacks on Ukraine's energy infrastructure"
TRUE_N = next(src.n for src in SEED_SOURCES for s in src.sentences if TRUE_CLAIM in s.text)


@pytest.mark.parametrize(
    "invented_claim, invented, note",
    [
        (
            'Zelenskiy called the proposal "a total surrender" and said he would resign',
            "surrender",
            "no source supports it",
        ),
        (
            'Putin said "we will stop all attacks on energy infrastructure forever"',
            "forever",
            "not in the source it cites",
        ),
        ("Putin agreed to limit attacks on energy infrastructure for 45 days", "45", "no source supports it"),
        (
            "Emmanuel Macron agreed to limit attacks on energy infrastructure",
            "Macron",
            "no source supports it",
        ),
        ("Zelenskiy said he would resign", "resign", "no source supports it"),
    ],
)
def test_invented_words_never_reach_the_answer(invented_claim: str, invented: str, note: str) -> None:
    """Beside a true claim, the invented one is dropped or replaced; the model's answer stays its own."""
    checked = check(f"{TRUE_CLAIM} [{TRUE_N}]. {invented_claim} [{TRUE_N}].")
    assert checked.from_model and TRUE_CLAIM in checked.text
    assert invented not in checked.text
    assert any(note in x for x in checked.notes), checked.notes


SENTENCES = [s for src in SEED_SOURCES for s in src.sentences if len(s.text.split()) >= 10]
NUMBERED = [s for s in SENTENCES if re.search(r"\d", s.text)]
FAKE_NAMES = ["Zorbal Quintrell", "Maren Oxtaby", "Ilse Vantongeren", "Tobiah Krauss"]
FAKE_WORDS = ["cheese", "volcano", "banana", "orchestra", "tulips", "glacier", "saxophone", "pirates"]


def _n(srcs: list[Source], sentence_text: str) -> int:
    return next(src.n for src in srcs for s in src.sentences if s.text == sentence_text)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SENTENCES), st.lists(st.sampled_from(FAKE_WORDS), min_size=3, max_size=6))
def test_property_invented_quotes_are_dropped_or_corrected(sentence, words) -> None:  # type: ignore[no-untyped-def]
    n = _n(SEED_SOURCES, sentence.text)
    quote = " ".join(words)
    checked = check(f'{sentence.text.rstrip(".")}, and officials said "{quote}" [{n}].', "What happened?")
    assert quote not in checked.text
    # the claim is replaced by the sentence it paraphrased, still the model's answer, with a note
    assert checked.from_model and sentence.text in [c.quote for c in checked.citations]
    assert any("not in the source it cites" in x for x in checked.notes)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SENTENCES), st.integers(min_value=3, max_value=12), st.data())
def test_property_misquoting_a_real_sentence_is_caught(sentence, width, data) -> None:  # type: ignore[no-untyped-def]
    """A real sentence quoted with one word changed is not a quote."""
    words = sentence.text.rstrip(".").split()
    assume(len(words) >= width)
    start = data.draw(st.integers(min_value=0, max_value=len(words) - width))
    span = words[start : start + width]
    k = data.draw(st.integers(min_value=0, max_value=width - 1))
    changed = [*span[:k], data.draw(st.sampled_from(FAKE_WORDS)), *span[k + 1 :]]
    misquote = " ".join(changed)
    n = _n(SEED_SOURCES, sentence.text)
    checked = check(f'{TRUE_CLAIM} [{TRUE_N}]. The article says "{misquote}" [{n}].')
    assert misquote not in checked.text
    assert checked.from_model and TRUE_CLAIM in checked.text


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(NUMBERED), st.integers(min_value=1, max_value=97))
def test_property_invented_numbers_are_dropped(sentence, delta) -> None:  # type: ignore[no-untyped-def]
    m = re.search(r"\d+", sentence.text)
    assert m is not None
    wrong = str(int(m.group(0)) + delta)
    assume(wrong not in SEED_TEXT)
    model = sentence.text[: m.start()] + wrong + sentence.text[m.end() :]
    checked = check(f"{TRUE_CLAIM} [{TRUE_N}]. {model} [{_n(SEED_SOURCES, sentence.text)}]")
    assert wrong not in checked.text
    assert checked.from_model and TRUE_CLAIM in checked.text
    assert any("no source supports it" in x or "not in the source" in x for x in checked.notes)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SENTENCES), st.sampled_from(FAKE_NAMES))
def test_property_invented_names_are_dropped(sentence, name) -> None:  # type: ignore[no-untyped-def]
    model = f"According to {name}, {sentence.text[0].lower()}{sentence.text[1:]}"
    checked = check(f"{TRUE_CLAIM} [{TRUE_N}]. {model} [{_n(SEED_SOURCES, sentence.text)}]")
    assert name not in checked.text
    assert checked.from_model and TRUE_CLAIM in checked.text


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SENTENCES), st.data())
def test_property_true_sentences_keep_their_citation(sentence, data) -> None:  # type: ignore[no-untyped-def]
    """A sentence of a source, whole or with a few words left out, keeps its marker and quotes it."""
    words = sentence.text.split()
    plain = [i for i in range(1, len(words) - 1) if not set(words[i]) & set("\"“”‘’'")]
    assume(plain)
    drop = data.draw(st.sets(st.sampled_from(plain), max_size=2))
    claim = " ".join(w for i, w in enumerate(words) if i not in drop)
    # leaving out a word inside a quotation would misquote it
    assume(all(occurs(q, [sentence.text]) for q in quoted_spans(claim)))
    n = _n(SEED_SOURCES, sentence.text)
    checked = check(f"{claim} [{n}]", question="What happened?")
    assert checked.from_model and checked.notes == []
    assert checked.text.startswith(claim.rstrip(".")) and sentence.text in [
        c.quote for c in checked.citations
    ]
