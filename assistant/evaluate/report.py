"""`assistant eval SPLIT_DIR`: the figures of the assistant as shipped (its packaged weights: in-sample
when they were fitted on this split, which the weights file records by the split's hash) beside the
out-of-fold figures (``folds``) and the BM25-only and dense-only baselines, and the table printing them."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from assistant.evaluate.folds import out_of_fold
from assistant.evaluate.run import RETRIEVAL_KEYS, ROW_KEYS, baseline_rows, run_questions, summarize
from assistant.evaluate.split import load_split, split_hash


def run_eval(
    assistant: Any,
    split_dir: Path,
    *,
    limit: int | None = None,
    backend: str | None = None,
    folds: bool = True,
    shipped: bool = True,
    asked_later: Sequence[int] = (),
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """{"result": the JSON figures, "details": what else a person reads, "answers", "questions"}.
    shipped=False measures only out-of-fold (an LLM run costs minutes per hundred questions).
    asked_later: also every question asked that many days after its own date, a row each (in
    ``result["asked_later"]`` and ``out_of_fold["asked_later"]``, keyed by the days)."""
    articles, questions = load_split(split_dir)
    questions = questions[:limit] if limit else questions
    report = assistant.sync([split_dir / "articles.jsonl"])
    if report.failed:
        print(f"warning: {len(report.failed)} articles failed to index", file=sys.stderr)
    total = len(questions) * (
        (2 + len(asked_later) if folds else 0) + (1 + len(asked_later) if shipped else 0)
    )

    def shipped_progress(i: int, n: int) -> None:
        if progress:
            progress(i, total)

    def fold_progress(i: int, n: int) -> None:
        if progress:
            progress((len(questions) * (1 + len(asked_later)) if shipped else 0) + i, total)

    provenance = assistant.fitted.provenance
    in_sample = provenance.get("split_sha256") == split_hash(split_dir)
    result: dict[str, Any] = {"questions": len(questions)}
    outcomes = []
    if shipped:
        outcomes = run_questions(assistant, questions, articles, backend=backend, progress=shipped_progress)
        result.update(summarize(outcomes, articles), in_sample=in_sample, baselines=baseline_rows(outcomes))
        later = {}
        for n, days in enumerate(asked_later, 1):

            def later_progress(i: int, _n: int, done: int = n * len(questions)) -> None:
                shipped_progress(done + i, total)

            outs = run_questions(
                assistant,
                questions,
                articles,
                backend=backend,
                baselines=False,
                asked_later=days,
                progress=later_progress,
            )
            later[str(days)] = summarize(outs, articles)
        if later:
            result["asked_later"] = later
    if folds:
        oof = out_of_fold(
            assistant, questions, articles, backend=backend, asked_later=asked_later, progress=fold_progress
        )
        result["out_of_fold"] = {**oof.get("row", {}), **{k: v for k, v in oof.items() if k != "row"}}
    details = {
        "backend": backend or assistant.backend,
        "chunks": assistant.index.chunks.count(),
        "weights": {**provenance, "min_support": assistant.min_support},
    }
    return {
        "result": result,
        "details": details,
        "answers": [o.answer for o in outcomes],
        "questions": questions,
    }


ANSWER_COLUMNS = (
    ("answer_contains", "contains"),
    ("answer_contains_legacy_metric", "contains_old"),
    ("closest_contains", "closest_ok"),
    ("answer_contains_model", "model"),
    ("answer_contains_fallback", "fallback"),
    ("refused_answerable", "refused_ans"),
    ("refusal_rate", "refusal"),
    ("refusal_rate_gold_only", "refusal_gold"),
    ("quotes_verbatim", "verbatim"),
)


LOSS_COLUMNS = (
    ("lost_right", "right"),
    ("lost_refused_held", "refused_held"),
    ("lost_wrong_held", "wrong_held"),
    ("lost_not_held", "not_held"),
)


def _later_rows(name: str, row: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(f"{name}, asked {days} days later", r) for days, r in (row.get("asked_later") or {}).items()]


def format_table(result: dict[str, Any], details: dict[str, Any]) -> str:
    sample = "in-sample" if result.get("in_sample") else "weights fitted elsewhere"
    oof = result.get("out_of_fold") or {}
    rows: list[tuple[str, dict[str, Any]]] = []
    if "answer_contains" in result:
        rows += [(f"shipped ({sample})", result), *_later_rows(f"shipped ({sample})", result)]
    if "skipped" in oof:
        note = f"out-of-fold: skipped ({oof['skipped']})"
    elif oof:
        rows += [("out-of-fold (weeks)", oof), *_later_rows("out-of-fold", oof)]
        note = "out-of-fold: fitted on half of the weeks, measured on the other half, and swapped"
    else:
        note = "out-of-fold: not run (--no-folds)"
    w = 44
    lines = [
        f"questions: {result['questions']}   backend: {details['backend']}   chunks: {details['chunks']}",
        note,
        f"{'':{w}}" + "".join(f"{k:>9}" for k in RETRIEVAL_KEYS),
    ]
    baselines = result.get("baselines", {})
    base = [("bm25 only", baselines.get("bm25")), ("dense only", baselines.get("dense"))]
    for name, row in [*rows, *base]:
        if row:
            lines.append(f"{name:{w}}" + "".join(f"{row[k]:>9.3f}" for k in RETRIEVAL_KEYS))
    lines.append(f"{'':{w}}" + "".join(f"{label:>13}" for _, label in ANSWER_COLUMNS))
    for name, row in rows:
        lines.append(f"{name:{w}}" + "".join(f"{row[k]:>13.3f}" for k, _ in ANSWER_COLUMNS))
    lines.append(
        "where the answers were lost (share of the questions asked normally; held: a source given holds it)"
    )
    lines.append(f"{'':{w}}" + "".join(f"{label:>13}" for _, label in LOSS_COLUMNS))
    for name, row in rows:
        lines.append(f"{name:{w}}" + "".join(f"{row[k]:>13.3f}" for k, _ in LOSS_COLUMNS))
    lines.append(
        "refused_ans and refusal count a closest-passage hedge as a refusal; closest_ok: the closest "
        "passage holds the answer ("
        + ", ".join(f"{name}: {row['closest']}" for name, row in rows)
        + " hedges); "
        "contains_old: the metric before possessives were normalised"
    )
    lines.append(
        "refusal: every article holding the answer excluded; refusal_gold: only the gold articles excluded, "
        "on the questions whose answer is then in none of the top 10 chunks ("
        + ", ".join(f"{name}: {row['gold_only_questions']}" for name, row in rows)
        + ")"
    )
    for name, row in rows:
        lines.append(
            f"{name}: latency p50 {row['p50_ms']:.0f} ms, p95 {row['p95_ms']:.0f} ms; ttft p50 "
            f"{row['ttft_p50_ms']:.0f} ms; context tokens p50 {row['context_tokens_p50']:.0f}"
        )
    for fold in oof.get("folds", []):
        lines.append(
            f"  fold fitted on {len(fold['fitted_on_weeks'])} weeks, measured on {fold['questions']} questions: "
            f"min_support {fold['min_support']:.3f}, ans@1 {fold['ans@1']:.3f}, answer_contains "
            f"{fold['answer_contains']:.3f}, refused_answerable {fold['refused_answerable']:.3f}, "
            f"refusal {fold['refusal_rate']:.3f}"
        )
    return "\n".join(lines)


__all__ = ["ROW_KEYS", "format_table", "run_eval"]
