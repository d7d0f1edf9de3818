"""The first useful answer with the local LLM, and whether the model earns its wait: prints figures,
asserts nothing.

Out-of-fold on a QA split: the weights are fitted on one half of the weeks (questions asked on their own
date) and the other half's questions are asked, then the halves swap. Each question is asked twice in
the same run, in alternating order:
  * quotes only (the extractive answerer): its answer time;
  * with the local LLM (llama.cpp): the time to the first useful content (the verified quotes shown
    before the model writes, ``useful_ms``), to the model's first token (``ttft_ms``) and to the checked
    answer (``total_ms``).
Answer figures (normalised containment of the gold answer, as ``assistant eval``): the quotes-only
answer, the model's final checked answer (``answer_contains`` with the model), and how often the model's
checked answer adds something the quotes lack: it is the model's own (not quotes shown instead) and
holds the gold where the quotes do not ("gains"), or the reverse ("losses"); and how often its text
names a name or number the quotes do not ("adds new words").

    .venv/bin/python bench/first_answer_bench.py ../shared/eval/realtimeqa-dev \
        --index-dir index/eval-realtimeqa-dev --questions 120 [--out /tmp/first.jsonl]

The index directory must hold an index of the split (``assistant eval`` builds one); it is synced (a
no-op when it is complete).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

_NAMED = re.compile(r"\b(?:[A-Z][a-z]+|\d[\d,.]*)\b")


def named(text: str) -> set[str]:
    """Names and numbers of a text (without its [n] markers)."""
    return {w.lower() for w in _NAMED.findall(re.sub(r"\[\d+\]", "", text))}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("split", type=Path)
    ap.add_argument("--index-dir", type=Path, required=True)
    ap.add_argument("--questions", type=int, default=120, help="questions asked (both halves, evenly)")
    ap.add_argument("--out", type=Path, help="one JSON line per question")
    args = ap.parse_args()

    from assistant.evaluate.fit import collect, fit
    from assistant.evaluate.run import holding_articles
    from assistant.evaluate.split import load_split, week_halves, week_of
    from assistant.service import Assistant
    from assistant.settings import Settings
    from assistant.textutil import contains_answer

    settings = Settings(index_dir=args.index_dir)
    settings.llm.backend = "llamacpp"
    assistant = Assistant.from_settings(settings)
    if assistant.backend.value != "llamacpp":
        raise SystemExit(f"the local LLM is not available ({assistant.backend_label}): run `make llm`")
    articles, questions = load_split(args.split)
    assistant.sync([args.split / "articles.jsonl"])
    first, second = week_halves(questions)
    print(f"collecting features of {len(questions)} questions for the fits…", file=sys.stderr)
    collected = collect(assistant, questions, holding_articles(articles))
    per_half = args.questions // 2
    rows: list[dict[str, Any]] = []
    out = args.out.open("w", encoding="utf-8") if args.out else None
    for train, test in ((first, second), (second, first)):
        fitted = fit(collected, {q.id for q in train}, k=settings.retrieval.k,
                     max_embedded=assistant.scorer.max_embedded)
        fold = assistant.with_fitted(fitted)
        step = max(1, len(test) // per_half)
        for i, q in enumerate(test[::step][:per_half]):
            runs: dict[str, Any] = {}
            order = ("extractive", "llamacpp") if i % 2 == 0 else ("llamacpp", "extractive")
            for backend in order:
                t0 = time.perf_counter()
                answer = fold.ask(q.question, today=q.date, backend=backend)
                runs[backend] = (answer, (time.perf_counter() - t0) * 1000)
            quotes, quotes_ms = runs["extractive"]
            model, _ = runs["llamacpp"]
            row = {
                "id": q.id,
                "week": week_of(q),
                "quotes_ms": round(quotes_ms, 1),
                "useful_ms": model.timings.get("useful_ms"),
                "ttft_ms": model.timings.get("ttft_ms"),
                "checked_ms": model.timings.get("total_ms"),
                "quotes_contains": bool(not quotes.refused and contains_answer(quotes.text, q.answer)),
                "model_contains": bool(not model.refused and contains_answer(model.text, q.answer)),
                "from_model": model.from_model,
                "refused_quotes": quotes.refused,
                "refused_model": model.refused,
                "adds_new_words": bool(model.from_model and named(model.text) - named(quotes.text)),
                "model_text": model.text[:400],
                "quotes_text": quotes.text[:400],
            }
            rows.append(row)
            if out:
                out.write(json.dumps(row) + "\n")
                out.flush()
            print(
                f"{len(rows):3d} {q.id:14s} quotes {row['quotes_ms']:6.0f} ms  useful {row['useful_ms']:6.0f} ms  "
                f"checked {row['checked_ms']:7.0f} ms  quotes {int(row['quotes_contains'])} "
                f"model {int(row['model_contains'])}{' (own)' if model.from_model else ''}",
                file=sys.stderr,
            )
    n = len(rows)
    mean = lambda key: sum(bool(r[key]) for r in rows) / n  # noqa: E731
    gains = sum(r["model_contains"] and not r["quotes_contains"] for r in rows)
    losses = sum(r["quotes_contains"] and not r["model_contains"] for r in rows)
    useful = [float(r["useful_ms"]) for r in rows]
    summary = {
        "questions": n,
        "out_of_fold": True,
        "answer_contains_quotes": round(mean("quotes_contains"), 3),
        "answer_contains_model": round(mean("model_contains"), 3),
        "model_own_answer": round(mean("from_model"), 3),
        "model_gains": gains,
        "model_losses": losses,
        "model_adds_new_words": round(mean("adds_new_words"), 3),
        "quotes_only_p50_ms": round(statistics.median(r["quotes_ms"] for r in rows), 1),
        "first_useful_p50_ms": round(statistics.median(useful), 1),
        "first_useful_p95_ms": round(pct(useful, 0.95), 1),
        "model_first_token_p50_ms": round(statistics.median(float(r["ttft_ms"]) for r in rows), 1),
        "checked_answer_p50_ms": round(statistics.median(float(r["checked_ms"]) for r in rows), 1),
    }
    print(json.dumps(summary, indent=1))
    beat = summary["answer_contains_model"] - summary["answer_contains_quotes"]
    print(
        f"first useful content p50 {summary['first_useful_p50_ms']:.0f} ms with the LLM on (target <= 1000: "
        f"{'met' if summary['first_useful_p50_ms'] <= 1000 else 'NOT met'}); quotes only "
        f"{summary['quotes_only_p50_ms']:.0f} ms; the model's checked answer "
        f"{summary['checked_answer_p50_ms']:.0f} ms\nthe model beats the quotes by {beat:+.3f} "
        f"(needs +0.05 to answer with the model by default: {'it does' if beat >= 0.05 else 'it does not'})"
    )


if __name__ == "__main__":
    main()
