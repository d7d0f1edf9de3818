"""The figures of one assistant on some questions of a QA split: retrieval, answer, citation and refusal,
with BM25-only and dense-only baselines measured in the same run on the same chunks.

Metrics (chunk level; a question's gold articles are its ``gold_article_ids``):
- ``art@k``: a gold article's chunk is among the first k retrieved chunks;
- ``ans@k``: one of the first k chunks contains the (normalised) answer string;
- ``mrr@10``: mean reciprocal rank of the first gold-article chunk in the first 10;
- ``answer_contains``: the normalised answer occurs in the assistant's answer text; with an LLM split
  into ``answer_contains_model`` (the model's own checked answer holds it) and
  ``answer_contains_fallback`` (quotes shown instead of the model's answer hold it): the two add up;
- ``refused_answerable``: share of the questions (asked normally) that the assistant refuses (a
  "closest passage" hedge counts as a refusal here and in ``refusal_rate``);
- ``closest_contains``: of the questions answered with the closest passage (``closest`` of them),
  the share whose passage holds the answer;
- where the answers were lost (questions asked normally; "held": one of the k sources the answerer
  gets contains the answer): ``lost_right`` (answered, holding it), ``lost_refused_held`` (refused
  although a source holds it), ``lost_wrong_held`` (answered with another sentence although a source
  holds it), ``lost_not_held`` (no source holds it); the four add up to 1;
- ``answer_contains_legacy_metric``, ``ans@1_legacy_metric``: the same with the metric before
  possessives were normalised ("Kroger's" did not hold "Kroger"), to compare figures;
- ``quotes_verbatim``: share of citations whose quote is exactly ``article.text[start:end]`` of the
  split's own article text (checked against the file, not the index);
- ``refusal_rate``: the same questions asked with their gold articles *and every other article whose
  text contains the answer* excluded from retrieval, so that nothing searchable holds the answer: the
  share the assistant refuses;
- ``refusal_rate_gold_only``: the questions asked with only their gold articles excluded, counted only
  where the answer then appears in none of the first 10 retrieved chunks (so a question that is still
  answerable counts in neither refusal figure); ``gold_only_questions`` says how many those are;
- ``p50_ms``/``p95_ms``: answer latency; ``ttft_p50_ms``: time to the first text shown;
  ``context_tokens_p50``: tokens of sources given to an LLM (0 without one).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from assistant.answer.types import Answer, Citation
from assistant.ask.retrieve import Filters
from assistant.evaluate.split import Question
from assistant.settings import Backend
from assistant.store import StoredChunk
from assistant.textutil import contains_answer, normalize_answer

RETRIEVAL_KEYS = ("art@1", "art@5", "ans@1", "ans@5", "mrr@10")
LOSS_KEYS = ("lost_right", "lost_refused_held", "lost_wrong_held", "lost_not_held")
ROW_KEYS = (
    *RETRIEVAL_KEYS,
    "answer_contains",
    "closest_contains",
    "closest",
    *LOSS_KEYS,
    "answer_contains_legacy_metric",
    "ans@1_legacy_metric",
    "answer_contains_model",
    "answer_contains_fallback",
    "refused_answerable",
    "refusal_rate",
    "refusal_rate_gold_only",
    "gold_only_questions",
    "quotes_verbatim",
    "p50_ms",
    "p95_ms",
    "ttft_p50_ms",
    "context_tokens_p50",
)


@dataclass
class Outcome:
    """One question's figures."""

    question: Question
    retrieval: dict[str, float]
    answer: Answer
    contains: bool
    refused_unanswerable: bool
    gold_only_unanswerable: bool  # with only the gold articles excluded, no top-10 chunk holds the answer
    refused_gold_only: bool
    loss: str = ""  # a LOSS_KEYS name, for the question asked normally
    contains_legacy: bool = False  # contains, by the metric before possessives were normalised
    ans1_legacy: bool = False
    cited: list[Citation] = field(default_factory=list)  # every citation shown, for quotes_verbatim
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)


def retrieval_scores(chunks: list[StoredChunk], q: Question) -> dict[str, float]:
    art = [c.article_id in q.gold for c in chunks]
    ans = [contains_answer(c.text, q.answer) for c in chunks]
    rr = next((1.0 / (i + 1) for i, ok in enumerate(art[:10]) if ok), 0.0)
    return {
        "art@1": float(any(art[:1])),
        "art@5": float(any(art[:5])),
        "ans@1": float(any(ans[:1])),
        "ans@5": float(any(ans[:5])),
        "mrr@10": rr,
    }


def loss_of(answer: Answer, contains: bool, given: list[StoredChunk], gold_answer: str) -> str:
    """Where a question asked normally was lost (a LOSS_KEYS name); given: the sources the answerer got."""
    if contains:
        return "lost_right"
    if not any(contains_answer(c.text, gold_answer) for c in given):
        return "lost_not_held"
    return "lost_refused_held" if answer.refused else "lost_wrong_held"


def holding_articles(articles: dict[str, dict[str, Any]]) -> Callable[[str], set[str]]:
    """answer → the ids of every article whose (normalised) text contains it."""
    normalized = {aid: f" {normalize_answer(rec.get('text', ''))} " for aid, rec in articles.items()}

    def holding(answer: str) -> set[str]:
        needle = f" {normalize_answer(answer)} "
        return {aid for aid, text in normalized.items() if needle in text}

    return holding


def run_questions(
    assistant: Any,
    questions: Sequence[Question],
    articles: dict[str, dict[str, Any]],
    *,
    backend: str | None = None,
    baselines: bool = True,
    asked_later: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> list[Outcome]:
    """Asks every question three ways (normally, with every article holding the answer excluded, with
    only its gold articles excluded) and measures retrieval (and, with baselines, BM25-only and
    dense-only retrieval on the same chunks). asked_later: each question is asked this many days after
    its own date (the same index: people ask about last month's and last year's news too)."""
    holding = holding_articles(articles)
    k = assistant.settings.retrieval.k
    out = []
    for i, q in enumerate(questions):
        today = q.date + timedelta(days=asked_later) if q.date else None
        ranked = [src.chunk for src in assistant.rank(q.question, k=10, today=today)]
        base = {}
        if baselines:
            for mode in ("bm25", "dense"):
                hits = assistant.search.search(q.question, k=10, today=today, mode=mode)
                base[mode] = retrieval_scores([h.chunk for h in hits], q)
        ans = assistant.ask(q.question, today=today, backend=backend)
        strict = Filters(exclude_articles=tuple(sorted(q.gold | holding(q.answer))))
        unans = assistant.ask(q.question, today=today, backend=backend, filters=strict)
        gold_only = Filters(exclude_articles=tuple(sorted(q.gold)))
        left = assistant.rank(q.question, k=10, today=today, filters=gold_only)
        still_answerable = any(contains_answer(s.chunk.text, q.answer) for s in left)
        loose = (
            None
            if still_answerable
            else assistant.ask(q.question, today=today, backend=backend, filters=gold_only)
        )
        contains = not ans.refused and contains_answer(ans.text, q.answer)
        out.append(
            Outcome(
                question=q,
                retrieval=retrieval_scores(ranked, q),
                answer=ans,
                contains=contains,
                refused_unanswerable=unans.refused,
                gold_only_unanswerable=loose is not None,
                refused_gold_only=loose is not None and loose.refused,
                loss=loss_of(ans, contains, ranked[:k], q.answer),
                contains_legacy=not ans.refused and contains_answer(ans.text, q.answer, possessive=False),
                ans1_legacy=bool(ranked) and contains_answer(ranked[0].text, q.answer, possessive=False),
                cited=[*ans.citations, *unans.citations, *(loose.citations if loose else [])],
                baselines=base,
            )
        )
        if progress:
            progress(i + 1, len(questions))
    return out


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return round(s[min(len(s) - 1, int(round(p * (len(s) - 1))))], 1)


def _share(count: float, n: int) -> float:
    return round(count / n, 4) if n else 0.0


def summarize(outcomes: Sequence[Outcome], articles: dict[str, dict[str, Any]]) -> dict[str, float]:
    """One row of figures (the keys of ROW_KEYS) over the outcomes."""
    n = len(outcomes)
    cited = [c for o in outcomes for c in o.cited]
    verbatim = sum(articles.get(c.article_id, {}).get("text", "")[c.start : c.end] == c.quote for c in cited)
    llm = [o for o in outcomes if o.answer.backend != Backend.EXTRACTIVE]
    eligible = [o for o in outcomes if o.gold_only_unanswerable]
    closest = [o for o in outcomes if o.answer.kind == "closest"]
    row: dict[str, float] = {
        k: round(statistics.fmean(o.retrieval[k] for o in outcomes), 4) if n else 0.0 for k in RETRIEVAL_KEYS
    }
    row.update(
        answer_contains=_share(sum(o.contains for o in outcomes), n),
        closest_contains=_share(
            sum(contains_answer(o.answer.text, o.question.answer) for o in closest), len(closest)
        ),
        closest=len(closest),
        **{key: _share(sum(o.loss == key for o in outcomes), n) for key in LOSS_KEYS},
        answer_contains_legacy_metric=_share(sum(o.contains_legacy for o in outcomes), n),
        **{"ans@1_legacy_metric": _share(sum(o.ans1_legacy for o in outcomes), n)},
        answer_contains_model=_share(sum(o.contains and o.answer.from_model for o in llm), n),
        answer_contains_fallback=_share(sum(o.contains and not o.answer.from_model for o in llm), n),
        refused_answerable=_share(sum(o.answer.refused for o in outcomes), n),
        refusal_rate=_share(sum(o.refused_unanswerable for o in outcomes), n),
        refusal_rate_gold_only=_share(sum(o.refused_gold_only for o in eligible), len(eligible)),
        gold_only_questions=len(eligible),
        quotes_verbatim=_share(verbatim, len(cited)) if cited else 1.0,
        p50_ms=_pct([o.answer.timings.get("total_ms", 0.0) for o in outcomes], 0.5),
        p95_ms=_pct([o.answer.timings.get("total_ms", 0.0) for o in outcomes], 0.95),
        ttft_p50_ms=_pct([o.answer.timings.get("ttft_ms", 0.0) for o in outcomes], 0.5),
        context_tokens_p50=_pct([float(o.answer.context_tokens) for o in outcomes], 0.5),
    )
    return row


def baseline_rows(outcomes: Sequence[Outcome]) -> dict[str, dict[str, float]]:
    return {
        mode: {
            k: round(statistics.fmean(o.baselines[mode][k] for o in outcomes), 4) if outcomes else 0.0
            for k in RETRIEVAL_KEYS
        }
        for mode in ("bm25", "dense")
        if all(mode in o.baselines for o in outcomes)
    }
