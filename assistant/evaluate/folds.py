"""Out-of-fold figures: everything answering takes from data is fitted on one half of the split's weeks
and measured on the other, then the halves swap; the row pools both halves' questions (so it is the
question-weighted average of the two). The product's own figure is this one: users only ask about news
the weights were not fitted on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from assistant.evaluate.fit import collect, fit
from assistant.evaluate.run import Outcome, holding_articles, run_questions, summarize
from assistant.evaluate.split import Question, week_halves, week_of

# Fewer questions than this in a half cannot fit the models (the reranker alone has 5 weights).
MIN_HALF = 20


def out_of_fold(
    assistant: Any,
    questions: list[Question],
    articles: dict[str, dict[str, Any]],
    *,
    backend: str | None = None,
    asked_later: Sequence[int] = (),
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """{"row": figures over both halves, "folds": each half's figures and fitted threshold,
    "asked_later": {days: the row with every question asked that many days after its date, with the
    same fitted weights}} or {"skipped": why} when the split is too small to halve by weeks. The
    weights are fitted on questions asked on their own date only."""
    first, second = week_halves(questions)
    if min(len(first), len(second)) < MIN_HALF:
        weeks = len({week_of(q) for q in questions})
        return {
            "skipped": f"{len(questions)} questions in {weeks} week(s): each half of the weeks needs "
            f"at least {MIN_HALF} questions to fit on"
        }
    done = 0

    def step(i: int, n: int) -> None:
        if progress:
            progress(done + i, (2 + len(asked_later)) * len(questions))

    collected = collect(assistant, questions, holding_articles(articles), progress=step)
    done += len(questions)
    cfg = assistant.settings
    outcomes: list[Outcome] = []
    later: dict[int, list[Outcome]] = {days: [] for days in asked_later}
    folds = []
    for train, test in ((first, second), (second, first)):
        fitted = fit(
            collected,
            {q.id for q in train},
            k=cfg.retrieval.k,
            max_embedded=assistant.scorer.max_embedded,
            provenance={"weeks": sorted({week_of(q) for q in train})},
        )
        outs = run_questions(
            assistant.with_fitted(fitted), test, articles, backend=backend, baselines=False, progress=step
        )
        done += len(test)
        outcomes.extend(outs)
        for days in asked_later:
            later[days] += run_questions(
                assistant.with_fitted(fitted),
                test,
                articles,
                backend=backend,
                baselines=False,
                asked_later=days,
                progress=step,
            )
            done += len(test)
        folds.append(
            {
                "fitted_on_weeks": fitted.provenance["weeks"],
                "min_support": fitted.min_support,
                **summarize(outs, articles),
                "questions": len(test),
            }
        )
    return {
        "row": summarize(outcomes, articles),
        "folds": folds,
        "asked_later": {str(days): summarize(outs, articles) for days, outs in later.items()},
    }
