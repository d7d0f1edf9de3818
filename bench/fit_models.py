"""Fits the two small logistic models of assistant/answer/models.py on a QA split and prints their weights:

- RerankModel: "which of the hybrid search's candidates contains the answer" from (retrieval score, best
  sentence score, idf coverage, answer type, article age): listwise, a softmax over each question's
  candidates (conditional logit), so the fit aims at the first place, which is what answerers use;
- SupportModel: "do these sources hold the answer", in two stages: from one source's best sentence score,
  coverage and age, fitted on the reranker's best source of each question asked normally (positive) and
  with every article holding the answer excluded (negative); then from the most likely of the k sources
  an answerer gets and the next most likely one. The held-out figures are printed for both rules.

Both are checked by cross-validation over questions (the reranker by 5 folds × 5 shuffles, against the
committed weights refitted the same way; the support model by odd/even), so the printed held-out
figures say how well they carry over to questions they were not fitted on.

    .venv/bin/python bench/fit_models.py ../shared/eval/realtimeqa-dev --index-dir /tmp/devidx
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.answer.models import age_days, age_feature, log_odds  # noqa: E402
from assistant.evaluate import load_split  # noqa: E402
from assistant.retrieve import Filters  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.textutil import contains_answer, normalize_answer  # noqa: E402


def collect(assistant: Assistant, split: Path):  # type: ignore[no-untyped-def]
    articles, questions = load_split(split)
    assistant.sync([split / "articles.jsonl"])
    normalized = {aid: f" {normalize_answer(r['text'])} " for aid, r in articles.items()}
    cands, support = [], []
    for q in questions:
        needle = f" {normalize_answer(q.answer)} "
        holding = {a for a, t in normalized.items() if needle in t}
        rows = []
        for exclude, label in ((set(), 1), (q.gold | holding, 0)):
            r = assistant.retriever.scoped(
                k=assistant.settings.retrieval.rerank_candidates,
                today=q.date,
                filters=Filters(exclude_articles=tuple(sorted(exclude))),
            )
            sources, _ = assistant.rerank(q.question, r.invoke(q.question), q.date, k=100)
            reference = assistant.reference_date(q.date)
            given = [
                assistant.gate.judge(s, reference)
                for s in sources[: assistant.settings.retrieval.k]
                if s.sentences
            ]
            if given:
                support.append(([(j.score, j.coverage, age_feature(j.age_days)) for j in given], label, q.id))
            if label:
                top = max((s.retrieval_score for s in sources), default=1.0) or 1.0
                for s in sources:
                    rows.append(
                        (
                            s.retrieval_score / top,
                            s.best_score,
                            s.coverage,
                            s.best_type,
                            age_feature(age_days(s.chunk, reference)),
                            contains_answer(s.chunk.text, q.answer),
                        )
                    )
        cands.append(rows)
    return questions, cands, support


def main() -> None:
    from scipy.optimize import minimize
    from sklearn.linear_model import LogisticRegression

    ap = argparse.ArgumentParser()
    ap.add_argument("split", type=Path)
    ap.add_argument("--index-dir", type=Path, default=Path("index/eval-fit"))
    args = ap.parse_args()
    settings = Settings(index_dir=args.index_dir)
    assistant = Assistant.from_settings(settings, with_llm=False)
    questions, cands, support = collect(assistant, args.split)
    n = len(questions)

    groups = [(np.array([r[:5] for r in rows]), np.array([r[5] for r in rows])) for rows in cands]

    def fit_rerank(idx, n_features=5, l2=0.1):  # type: ignore[no-untyped-def]
        """Conditional logit: maximise, per question, the softmax probability of its answer-holding
        candidates (questions whose candidates all or none hold it carry no information)."""
        data = [(X[:, :n_features], y) for X, y in (groups[i] for i in idx) if 0 < y.sum() < len(y)]

        def loss(w):  # type: ignore[no-untyped-def]
            total, grad = l2 * w @ w, 2 * l2 * w
            for X, y in data:
                s = X @ w
                p = np.exp(s - s.max())
                p /= p.sum()
                held = p[y == 1].sum()
                total -= np.log(held)
                grad -= (p * (y == 1) / held - p) @ X
            return total, grad

        return minimize(loss, np.ones(n_features), jac=True, method="L-BFGS-B").x

    def ans_at_1(w, idx):  # type: ignore[no-untyped-def]
        hits = sum(
            groups[i][1][int(np.argmax(groups[i][0][:, : len(w)] @ w))] for i in idx if len(groups[i][1])
        )
        return hits / len(idx)

    def cross_validated(n_features: int) -> float:
        scores = []
        for seed in range(5):
            perm = np.random.RandomState(seed).permutation(n)
            for fold in range(5):
                test = perm[fold::5]
                train = np.setdiff1d(perm, test)
                scores.append(ans_at_1(fit_rerank(train, n_features), test) * len(test))
        return sum(scores) / (5 * n)

    print(
        f"rerank held-out ans@1 (5 folds x 5 shuffles): {cross_validated(5):.3f}, without age {cross_validated(4):.3f}"
    )
    w = fit_rerank(np.arange(n))
    names = ("w_retrieval", "w_sentence", "w_coverage", "w_type", "w_age")
    print(
        "RerankModel",
        {k: round(float(v), 2) for k, v in zip(names, w)},
        f"ans@1 fitted {ans_at_1(w, range(n)):.3f}",
    )

    def fit_support(rows):  # type: ignore[no-untyped-def]
        """Both stages: each source's own probability (fitted on each question's best source), then the
        sources' from the most likely one's log-odds and the next one's probability."""
        own = LogisticRegression(C=1.0).fit(np.array([r[0][0] for r in rows]), np.array([r[1] for r in rows]))
        both = LogisticRegression(C=1.0).fit(
            np.array([combined_features(own, r) for r in rows]), np.array([r[1] for r in rows])
        )
        return own, both

    def own_probabilities(own, row):  # type: ignore[no-untyped-def]
        """Each given source's own probability, most likely first."""
        return sorted(own.predict_proba(np.array(row[0]))[:, 1], reverse=True)

    def combined_features(own, row):  # type: ignore[no-untyped-def]
        p = own_probabilities(own, row) + [0.0]
        return [log_odds(p[0]), p[1]]

    def supported(models, rows):  # type: ignore[no-untyped-def]
        own, both = models
        return both.predict_proba(np.array([combined_features(own, r) for r in rows]))[:, 1]

    qid = {q.id: i for i, q in enumerate(questions)}
    for part in (0, 1):
        tr = [r for r in support if qid[r[2]] % 2 == part]
        te = [r for r in support if qid[r[2]] % 2 != part]
        models = fit_support(tr)
        pos = np.array([r[1] == 1 for r in te])
        for name, p in (
            ("best source only", np.array([own_probabilities(models[0], r)[0] for r in te])),
            ("with the second", supported(models, te)),
        ):
            for th in (0.4, 0.42, 0.45, 0.5):
                print(
                    f"support fold {part}, {name}, threshold {th}: answered {np.mean(p[pos] >= th):.3f}, "
                    f"refused unanswerable {np.mean(p[~pos] < th):.3f}"
                )
    own, both = fit_support(support)
    print(
        "SupportModel",
        {k: round(float(v), 2) for k, v in zip(("w_score", "w_coverage", "w_age"), own.coef_[0])},
        "bias",
        round(float(own.intercept_[0]), 2),
        {k: round(float(v), 2) for k, v in zip(("w_best", "w_second"), both.coef_[0])},
        "bias_combined",
        round(float(both.intercept_[0]), 2),
    )


if __name__ == "__main__":
    main()
