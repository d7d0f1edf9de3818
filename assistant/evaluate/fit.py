"""Fits everything answering takes from data (``answer.models.Fitted``) on questions of a QA split:

1. ``SentenceModel``: which sentence of the candidate chunks states the answer (a conditional logit over
   each question's candidate sentences; features: meaning, shared words, answer kind, names and
   numbers added, neighbours' shared words, article lead);
2. ``RerankModel``: which candidate chunk holds the answer (a conditional logit over each question's
   candidates, on the sentence scores of step 1);
3. ``SupportModel``: whether the sources an answerer gets hold the answer (``SupportFeatures``), from
   the questions asked normally (positive) and with every article holding the answer excluded
   (negative);
4. ``min_support`` by a rule: the lowest threshold that refuses ``refusal_target`` of those negatives.

``collect`` runs retrieval and computes the features once; ``fit`` and ``replay`` are then cheap, so
out-of-fold figures and feature ablations (``drop``) cost seconds. ``replay`` answers with the product's
own code (scorer, reranker, gate, extractive answerer) on the collected candidates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
from scipy.optimize import minimize

from assistant.answer.extractive import extractive_answer
from assistant.answer.gate import SupportGate, support_features
from assistant.answer.models import (
    Fitted,
    RerankModel,
    SentenceModel,
    SupportFeatures,
    SupportModel,
)
from assistant.answer.scoring import SentenceFeatures, SentenceScorer
from assistant.answer.types import Source
from assistant.ask.rank import sources_of, timely_of
from assistant.ask.retrieve import Filters
from assistant.evaluate.split import Question
from assistant.textutil import contains_answer

SENTENCE_FEATURES = ("dense", "lex", "type", "names", "neighbour", "lead")
RERANK_FEATURES = ("retrieval", "sentence", "coverage", "type", "age")
SUPPORT_FEATURES = tuple(f.name for f in fields(SupportFeatures))
# The rule for the support threshold: refuse this share of the training questions made unanswerable.
REFUSAL_TARGET = 0.85


@dataclass
class Case:
    """One question asked one way (answerable: normally; else with every article holding the answer
    excluded): its candidate chunks as sources, every sentence's features, and which hold the answer."""

    question: Question
    answerable: bool
    reference: date
    timely: bool  # the question asks about the present (the retriever says): age counts in reranking
    sources: list[Source]
    feats: list[SentenceFeatures]
    sentence_holds: list[bool]
    chunk_holds: list[bool]


# Collection embeds this many times the sentences the product embeds.
EMBED_FACTOR = 2


class _Memo:
    """The embedder with its sentence vectors kept (a question asked two ways shares most candidates)."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder
        self.vectors: dict[str, Any] = {}

    def encode(self, texts: list[str]) -> list[Any]:
        todo = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if todo:
            self.vectors.update(zip(todo, self.embedder.encode(todo)))
        return [self.vectors[t] for t in texts]

    def embed_query(self, text: str) -> Any:
        key = "\0query\0" + text
        if key not in self.vectors:
            self.vectors[key] = self.embedder.embed_query(text)
        return self.vectors[key]


@dataclass
class Collected:
    cases: list[tuple[Case, Case]] = field(default_factory=list)  # (asked normally, made unanswerable)


def collect(
    assistant: Any,
    questions: Sequence[Question],
    holding: Callable[[str], set[str]],
    progress: Callable[[int, int], None] | None = None,
    asked_later: int = 0,
) -> Collected:
    """Retrieval and every sentence's features (all sentences embedded) for each question, asked
    normally and with every article holding its answer excluded. holding: answer → those articles.
    Sentences are embedded EMBED_FACTOR times as many as the product embeds (ranked by the cheap
    features), so that other weights' choice of which to embed can be replayed. asked_later: each
    question asked this many days after its own date (to replay weights on that shape)."""
    out = Collected()
    base = assistant.scorer
    scorer = SentenceScorer(_Memo(base.embedder), base.idf, base.model, base.max_embedded)
    for n, q in enumerate(questions):
        pair = []
        for answerable in (True, False):
            filters = (
                Filters()
                if answerable
                else Filters(exclude_articles=tuple(sorted(q.gold | holding(q.answer))))
            )
            today = q.date + timedelta(days=asked_later) if q.date else None
            r = assistant.candidates_retriever(today, filters, scope_from=q.question)
            docs = r.invoke(q.question)
            sources = sources_of(docs)
            feats = scorer.features(q.question, sources, embed=EMBED_FACTOR * scorer.max_embedded)
            pair.append(
                Case(
                    q,
                    answerable,
                    assistant.ranker.reference_date(today),
                    timely_of(docs),
                    sources,
                    feats,
                    [contains_answer(sources[f.i].sentences[f.j].text, q.answer) for f in feats],
                    [contains_answer(s.chunk.text, q.answer) for s in sources],
                )
            )
        out.cases.append((pair[0], pair[1]))
        if progress:
            progress(n + 1, len(questions))
    return out


# ---- fitting ----------------------------------------------------------------------------------------


def conditional_logit(groups: list[tuple[np.ndarray, np.ndarray]], l2: float = 0.1) -> np.ndarray:
    """Weights maximising, per group, the softmax probability of its positive rows (groups whose rows
    are all or none positive carry no information)."""
    data = [(X, y) for X, y in groups if 0 < y.sum() < len(y)]
    n_features = groups[0][0].shape[1] if groups else 0

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = l2 * float(w @ w), 2 * l2 * w
        for X, y in data:
            s = X @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            held = p[y == 1].sum()
            total -= math.log(held)
            grad = grad - (p * (y == 1) / held - p) @ X
        return total, grad

    if not data:
        return np.ones(n_features)
    return np.asarray(minimize(loss, np.ones(n_features), jac=True, method="L-BFGS-B").x)


def logistic(X: np.ndarray, y: np.ndarray, l2: float = 1.0) -> tuple[np.ndarray, float]:
    """Plain L2-regularised logistic regression (the bias unpenalised): (weights, bias)."""
    Xb = np.hstack([X, np.ones((len(X), 1))])

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = Xb @ w
        p = 1 / (1 + np.exp(-z))
        eps = 1e-12
        reg = w.copy()
        reg[-1] = 0.0
        total = (
            -float(np.sum(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))) + 0.5 * float(reg @ reg) / l2
        )
        return total, Xb.T @ (p - y) + reg / l2

    w = np.asarray(minimize(loss, np.zeros(Xb.shape[1]), jac=True, method="L-BFGS-B").x)
    return w[:-1], float(w[-1])


def sentence_matrix(case: Case) -> np.ndarray:
    return np.array(
        [[f.dense or 0.0, f.lex, f.typ, f.names, f.neighbour, f.lead] for f in case.feats]
    ).reshape(-1, len(SENTENCE_FEATURES))


def fit_sentence(cases: Sequence[Case], drop: Collection[str] = ()) -> SentenceModel:
    mask = np.array([name not in drop for name in SENTENCE_FEATURES], dtype=float)
    groups = [(sentence_matrix(c) * mask, np.array(c.sentence_holds, dtype=float)) for c in cases if c.feats]
    w = conditional_logit(groups) * mask
    w[:3] = np.clip(w[:3], 0.0, None)
    scale = float(w[:3].sum()) or 1.0  # only ratios matter to a softmax; scores stay in [0, ~1]
    w = w / scale
    return SentenceModel(**{f"w_{name}": float(x) for name, x in zip(SENTENCE_FEATURES, w)})


def rerank_matrix(sources: list[Source], reference: date, timely: bool) -> np.ndarray:
    return np.array(RerankModel.features(sources, reference, timely)).reshape(-1, len(RERANK_FEATURES))


def fit_rerank(cases: Sequence[Case], drop: Collection[str] = ()) -> RerankModel:
    mask = np.array([name not in drop for name in RERANK_FEATURES], dtype=float)
    groups = [
        (rerank_matrix(c.sources, c.reference, c.timely) * mask, np.array(c.chunk_holds, dtype=float))
        for c in cases
        if c.sources
    ]
    w = conditional_logit(groups) * mask
    return RerankModel(*(float(x) for x in w))


def _given(case: Case, fitted: Fitted, k: int) -> list[Source]:
    return fitted.rerank.order(case.sources, case.reference, case.timely)[:k]


def support_matrix(case: Case, fitted: Fitted, k: int) -> list[float]:
    f = support_features(_given(case, fitted, k))
    return [getattr(f, name) for name in SUPPORT_FEATURES]


def fit_support(cases: Sequence[Case], fitted: Fitted, k: int, drop: Collection[str] = ()) -> SupportModel:
    mask = np.array([name not in drop for name in SUPPORT_FEATURES], dtype=float)
    rows = [support_matrix(c, fitted, k) for c in cases]
    labels = [float(c.answerable) for c in cases]
    w, b = logistic(np.array(rows) * mask, np.array(labels))
    return SupportModel(**{f"w_{name}": float(x) for name, x in zip(SUPPORT_FEATURES, w * mask)}, bias=b)


def support_of(case: Case, fitted: Fitted, k: int, ranked: list[Source] | None = None) -> float:
    """ranked: the case's sources already ordered by fitted.rerank (else they are ordered here)."""
    given = ranked[:k] if ranked is not None else _given(case, fitted, k)
    return SupportGate(fitted.support).support(given).probability


def threshold_for(negatives: Sequence[float], refusal_target: float) -> float:
    """The lowest threshold that refuses (probability below it) at least refusal_target of negatives."""
    if not negatives:
        return 0.5
    s = sorted(negatives)
    need = min(len(s), math.ceil(refusal_target * len(s)))
    below = s[need - 1]
    above = s[need] if need < len(s) else below + 1e-3
    return round((below + above) / 2, 4) if above > below else round(below + 1e-4, 4)


def fit(
    collected: Collected,
    ids: Collection[str] | None = None,
    *,
    k: int,
    max_embedded: int,
    refusal_target: float = REFUSAL_TARGET,
    drop: Collection[str] = (),
    provenance: dict[str, Any] | None = None,
) -> Fitted:
    """Fits the three models and the threshold on the questions with these ids (all when None).
    drop: feature names ("sentence.dense", "rerank.age", "support.coverage", …) forced to weight 0."""
    pairs = [p for p in collected.cases if ids is None or p[0].question.id in ids]
    normal = [p[0] for p in pairs]
    both = [c for p in pairs for c in p]

    def dropped(part: str) -> set[str]:
        return {d.split(".", 1)[1] for d in drop if d.startswith(part + ".")}

    sentence = fit_sentence(normal, dropped("sentence"))
    fitted = Fitted(sentence=sentence)
    for c in both:
        score_case(c, fitted, max_embedded)
    fitted = replace(fitted, rerank=fit_rerank(normal, dropped("rerank")))
    fitted = replace(fitted, support=fit_support(both, fitted, k, dropped("support")))
    negatives = [support_of(p[1], fitted, k) for p in pairs]
    return replace(
        fitted,
        min_support=threshold_for(negatives, refusal_target),
        provenance={
            **(provenance or {}),
            "questions": len(pairs),
            "refusal_target": refusal_target,
            "dropped": sorted(drop),
        },
    )


# ---- replaying the product on the collected candidates -----------------------------------------------


def score_case(case: Case, fitted: Fitted, max_embedded: int) -> None:
    """Scores the case's sentences as the product would (only its top max_embedded get the dense part)."""
    SentenceScorer(None, model=fitted.sentence, max_embedded=max_embedded).apply(
        case.sources, case.feats, top_embedded=True
    )


def replay(
    collected: Collected,
    fitted: Fitted,
    ids: Collection[str] | None = None,
    *,
    k: int,
    max_embedded: int,
    max_sentences: int,
) -> dict[str, float]:
    """The extractive product's figures on these questions with these weights, from the collected
    candidates: ans@1, answer_contains, refused_answerable, refusal_rate."""
    rows = []
    for normal, unans in collected.cases:
        if ids is not None and normal.question.id not in ids:
            continue
        for c in (normal, unans):
            score_case(c, fitted, max_embedded)
        ranked = fitted.rerank.order(normal.sources, normal.reference, normal.timely)
        ok = support_of(normal, fitted, k, ranked) >= fitted.min_support
        text = extractive_answer(ranked[:k], max_sentences)[0] if ok else ""
        top_holds = bool(ranked) and contains_answer(ranked[0].chunk.text, normal.question.answer)
        rows.append(
            (
                top_holds,
                ok and contains_answer(text, normal.question.answer),
                not ok,
                support_of(unans, fitted, k) < fitted.min_support,
            )
        )
    n = len(rows) or 1
    return {
        "questions": len(rows),
        "ans@1": round(sum(r[0] for r in rows) / n, 4),
        "answer_contains": round(sum(r[1] for r in rows) / n, 4),
        "refused_answerable": round(sum(r[2] for r in rows) / n, 4),
        "refusal_rate": round(sum(r[3] for r in rows) / n, 4),
    }
