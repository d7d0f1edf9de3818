"""`assistant eval SPLIT_DIR`: retrieval, answer, citation and refusal figures on a QA split in the
RealTimeQA format (``articles.jsonl`` + ``questions.jsonl``), with BM25-only and dense-only baselines
measured in the same run on the same chunks.

Metrics (chunk level; a question's gold articles are its ``gold_article_ids``):
- ``art@k``: a gold article's chunk is among the first k retrieved chunks;
- ``ans@k``: one of the first k chunks contains the (normalised) answer string;
- ``mrr@10``: mean reciprocal rank of the first gold-article chunk in the first 10;
- ``answer_contains``: the normalised answer occurs in the assistant's answer text;
- ``quotes_verbatim``: share of citations whose quote is exactly ``article.text[start:end]`` of the
  split's own article text (checked against the file, not the index);
- ``refusal_rate``: the same questions asked with their gold articles *and every other article whose
  text contains the answer* excluded from retrieval, so that nothing searchable holds the answer: the
  share the assistant refuses. (Excluding only the gold articles leaves the answer in a quarter of the
  dev questions' remaining articles; that looser figure is printed as ``refusal_rate_gold_only``.)
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from assistant.answer.types import Answer, Citation
from assistant.index import StoredChunk
from assistant.retrieve import Filters
from assistant.textutil import contains_answer, normalize_answer

RETRIEVAL_KEYS = ("art@1", "art@5", "ans@1", "ans@5", "mrr@10")
TOP_KEYS = (
    "questions",
    *RETRIEVAL_KEYS,
    "answer_contains",
    "quotes_verbatim",
    "refusal_rate",
    "p50_ms",
    "p95_ms",
)


@dataclass
class Question:
    id: str
    question: str
    answer: str
    date: date | None
    gold: set[str]  # our article ids (urls)
    week: str = ""


def load_split(split_dir: Path) -> tuple[dict[str, dict[str, Any]], list[Question]]:
    articles: dict[str, dict[str, Any]] = {}
    rtqa_to_ours: dict[str, str] = {}
    with (split_dir / "articles.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                ours = rec.get("url") or rec["id"]
                articles[ours] = rec
                rtqa_to_ours[rec["id"]] = ours
    questions = []
    with (split_dir / "questions.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            q = json.loads(line)
            d = date.fromisoformat(q["date"]) if q.get("date") else None
            gold = {rtqa_to_ours[g] for g in q.get("gold_article_ids", []) if g in rtqa_to_ours}
            questions.append(Question(q["id"], q["question"], q["answer"], d, gold, str(q.get("week", ""))))
    return articles, questions


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


def _mean(rows: list[dict[str, float]], keys: tuple[str, ...]) -> dict[str, float]:
    return {k: round(statistics.fmean(r[k] for r in rows), 4) if rows else 0.0 for k in keys}


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return round(s[min(len(s) - 1, int(round(p * (len(s) - 1))))], 1)


def run_eval(
    assistant: Any,
    split_dir: Path,
    *,
    limit: int | None = None,
    backend: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    articles, questions = load_split(split_dir)
    questions = questions[:limit] if limit else questions
    report = assistant.sync([split_dir / "articles.jsonl"])
    if report.failed:
        print(f"warning: {len(report.failed)} articles failed to index", file=sys.stderr)

    per_mode: dict[str, list[dict[str, float]]] = {"hybrid": [], "bm25": [], "dense": []}
    contains, latencies, ttfts, ctx_tokens = [], [], [], []
    alone: list[Answer] = []
    model_own = fallback = contains_own = contains_fallback = 0
    cited: list[Citation] = []  # every citation shown, answerable or not, for quotes_verbatim
    refused_unanswerable = refused_gold_only = 0
    answered_refused = 0
    normalized = {aid: f" {normalize_answer(rec.get('text', ''))} " for aid, rec in articles.items()}
    for i, q in enumerate(questions):
        ranked = [src.chunk for src in assistant.rank(q.question, k=10, today=q.date)]
        per_mode["hybrid"].append(retrieval_scores(ranked, q))
        for mode in ("bm25", "dense"):
            hits = assistant.search.search(q.question, k=10, today=q.date, mode=mode)
            per_mode[mode].append(retrieval_scores([h.chunk for h in hits], q))
        ans = assistant.ask(q.question, today=q.date, backend=backend)
        latencies.append(ans.timings.get("total_ms", 0.0))
        ttfts.append(ans.timings.get("ttft_ms", 0.0))
        ctx_tokens.append(ans.context_tokens)
        alone.append(ans)
        ok = not ans.refused and contains_answer(ans.text, q.answer)
        contains.append(float(ok))
        if not ans.refused and ans.backend != "extractive":
            if ans.from_model:
                model_own += 1
                contains_own += ok
            else:
                fallback += 1
                contains_fallback += ok
        answered_refused += ans.refused
        cited.extend(ans.citations)
        needle = f" {normalize_answer(q.answer)} "
        holding = {aid for aid, text in normalized.items() if needle in text}
        for exclude, strict in ((q.gold | holding, True), (q.gold, False)):
            unans = assistant.ask(
                q.question,
                today=q.date,
                backend=backend,
                filters=Filters(exclude_articles=tuple(sorted(exclude))),
            )
            if strict:
                refused_unanswerable += unans.refused
            else:
                refused_gold_only += unans.refused
            cited.extend(unans.citations)
        if progress:
            progress(i + 1, len(questions))

    verbatim_ok = sum(
        articles.get(c.article_id, {}).get("text", "")[c.start : c.end] == c.quote for c in cited
    )
    hybrid = _mean(per_mode["hybrid"], RETRIEVAL_KEYS)
    n = len(questions)
    result: dict[str, Any] = {
        "questions": n,
        **hybrid,
        "answer_contains": round(statistics.fmean(contains), 4) if contains else 0.0,
        "quotes_verbatim": round(verbatim_ok / len(cited), 4) if cited else 1.0,
        "refusal_rate": round(refused_unanswerable / n, 4) if n else 0.0,
        "p50_ms": _pct(latencies, 0.5),
        "p95_ms": _pct(latencies, 0.95),
        "baselines": {m: _mean(per_mode[m], RETRIEVAL_KEYS) for m in ("bm25", "dense")},
    }
    details = {
        "backend": backend or assistant.backend,
        "refused_answerable": answered_refused,
        "refusal_rate_gold_only": round(refused_gold_only / n, 4) if n else 0.0,
        "ttft_p50_ms": _pct(ttfts, 0.5),
        "context_tokens_p50": _pct([float(t) for t in ctx_tokens], 0.5),
        "chunks": assistant.index.chunks.count(),
        # With an LLM: answers that are the model's own (checked) text vs quotes shown instead of it.
        "model_answers": model_own,
        "model_answers_containing": contains_own,
        "fallback_quotes": fallback,
        "fallback_quotes_containing": contains_fallback,
    }
    out: dict[str, Any] = {"result": result, "details": details, "answers": alone, "questions": questions}
    return out


def format_table(result: dict[str, Any], details: dict[str, Any]) -> str:
    lines = [
        f"questions: {result['questions']}   backend: {details['backend']}   chunks: {details['chunks']}"
    ]
    lines.append(f"{'':10}" + "".join(f"{k:>9}" for k in RETRIEVAL_KEYS))
    for name, row in [
        ("hybrid", result),
        ("bm25", result["baselines"]["bm25"]),
        ("dense", result["baselines"]["dense"]),
    ]:
        lines.append(f"{name:10}" + "".join(f"{row[k]:>9.3f}" for k in RETRIEVAL_KEYS))
    lines.append(
        f"answer_contains {result['answer_contains']:.3f}   quotes_verbatim {result['quotes_verbatim']:.3f}   "
        f"refusal_rate {result['refusal_rate']:.3f} (gold-only exclusion {details['refusal_rate_gold_only']:.3f}); "
        f"answerable questions refused: {details['refused_answerable']}"
    )
    lines.append(
        f"latency p50 {result['p50_ms']:.0f} ms, p95 {result['p95_ms']:.0f} ms; "
        f"ttft p50 {details['ttft_p50_ms']:.0f} ms; context tokens p50 {details['context_tokens_p50']:.0f}"
    )
    return "\n".join(lines)
