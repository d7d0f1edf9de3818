"""Fitting the answer weights and halving a split by weeks (assistant/evaluate/fit.py, split.py): our own
logic, on hand-made candidates (the end-to-end run on a real index is in test_eval.py)."""

from __future__ import annotations

from datetime import date

import numpy as np

from assistant.answer.models import Fitted, load_fitted
from assistant.answer.scoring import SentenceFeatures
from assistant.answer.types import make_sources
from assistant.evaluate.fit import Case, Collected, conditional_logit, fit, replay, threshold_for
from assistant.evaluate.split import Question, week_halves
from assistant.store import StoredChunk


def q(i: int, week: str) -> Question:
    return Question(f"q{i}", f"Who won race {i}?", f"Rider{i}", date(2024, 5, 1), {f"a{i}"}, week)


def test_week_halves_keep_whole_weeks_and_alternate() -> None:
    weeks = ["20240105", "20240112", "20240119", "20240126", "20240202"]
    qs = [q(i, weeks[i % 5]) for i in range(23)]
    first, second = week_halves(qs)
    assert len(first) + len(second) == 23
    w1, w2 = {x.week for x in first}, {x.week for x in second}
    assert not w1 & w2 and w1 | w2 == set(weeks)
    assert w1 == {"20240105", "20240119", "20240202"}  # every other week, in date order


def test_conditional_logit_learns_which_feature_marks_the_answer() -> None:
    rng = np.random.RandomState(0)
    groups = []
    for _ in range(60):
        X = rng.rand(8, 2)
        y = np.zeros(8)
        y[int(np.argmax(X[:, 0] + 0.1 * rng.rand(8)))] = 1  # feature 0 marks the answer; feature 1 is noise
        groups.append((X, y))
    w = conditional_logit(groups, l2=0.01)
    assert w[0] > 5 and abs(w[1]) < w[0] / 4


def test_threshold_refuses_the_target_share_of_negatives() -> None:
    negatives = [i / 100 for i in range(100)]
    th = threshold_for(negatives, 0.87)
    assert sum(p < th for p in negatives) == 87
    assert threshold_for([0.3] * 10, 0.87) > 0.3  # ties: all refused rather than none


def text_case(question: Question, answerable: bool, answer_first: bool) -> Case:
    """Two candidate chunks: one holding the answer in a sentence that shares few words with the question
    but holds a name, one sharing the question's words without an answer."""
    holding = f"{question.answer} crossed the line first. The crowd cheered."
    distractor = f"Race {question.id[1:]} was held on Sunday. Who won race {question.id[1:]} was the talk."
    texts = ([holding] if answerable else []) + [distractor]
    if not answer_first:
        texts.reverse()
    chunks = [
        StoredChunk(f"c{n}{question.id}", f"a{n}{question.id}", t, 0, len(t), "Race", "", "", 20240501)
        for n, t in enumerate(texts)
    ]
    sources = make_sources(chunks, [0.05, 0.04][: len(chunks)])
    feats = []
    for i, src in enumerate(sources):
        for j, s in enumerate(src.sentences):
            holds = question.answer in s.text
            feats.append(
                SentenceFeatures(i, j, lex=0.2 if holds else 0.8, typ=1.0 if holds else 0.0, dense=0.5)
            )
    return Case(
        question,
        answerable,
        date(2024, 5, 2),
        False,
        sources,
        feats,
        [question.answer in sources[f.i].sentences[f.j].text for f in feats],
        [question.answer in s.chunk.text for s in sources],
    )


def test_fit_and_replay_learn_the_answer_kind_over_shared_words() -> None:
    qs = [q(i, f"2024010{i % 4}") for i in range(40)]
    collected = Collected(
        [(text_case(x, True, i % 2 == 0), text_case(x, False, True)) for i, x in enumerate(qs)]
    )
    before = replay(collected, Fitted(), k=2, max_embedded=12, max_sentences=1)
    fitted = fit(collected, {x.id for x in qs[:20]}, k=2, max_embedded=12, provenance={"by": "test"})
    assert (
        fitted.sentence.w_type > fitted.sentence.w_lex
    )  # the answer sentence holds a name, shares few words
    assert abs(fitted.sentence.w_dense + fitted.sentence.w_lex + fitted.sentence.w_type - 1) < 1e-6
    assert fitted.provenance["questions"] == 20 and fitted.provenance["by"] == "test"
    after = replay(collected, fitted, {x.id for x in qs[20:]}, k=2, max_embedded=12, max_sentences=1)
    assert after["answer_contains"] > before["answer_contains"] and after["answer_contains"] >= 0.9
    assert after["refusal_rate"] >= 0.85  # the rule's target on the training half carries over here
    dropped = fit(collected, {x.id for x in qs[:20]}, k=2, max_embedded=12, drop=("sentence.type",))
    assert dropped.sentence.w_type == 0.0


def test_packaged_weights_load_and_record_where_they_came_from() -> None:
    fitted = load_fitted()
    assert fitted.min_support > 0 and fitted.provenance.get("by")
