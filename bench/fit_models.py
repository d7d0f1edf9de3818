"""Fits the two small logistic models of assistant/answer.py on a QA split and prints their weights:

- RerankModel: "does this retrieved chunk contain the answer" from (retrieval score, best sentence
  score, idf coverage, answer type), pointwise over the hybrid search's candidates;
- SupportModel: "do these sources hold the answer" from the reranker's best source (its best sentence
  score, its coverage, its age), on each question asked normally (positive) and with every article
  holding the answer excluded (negative).

Both are checked by 2-fold cross-validation over questions (odd/even), so the printed held-out figures
say how well they carry over to questions they were not fitted on.

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
            sources, sup = assistant.rerank(q.question, r.invoke(q.question), q.date, k=100)
            support.append((sup.score, sup.coverage, sup.age_days, label, q.id))
            if label:
                top = max((s.retrieval_score for s in sources), default=1.0) or 1.0
                for s in sources:
                    rows.append(
                        (
                            s.retrieval_score / top,
                            s.best_score,
                            s.coverage,
                            s.best_type,
                            contains_answer(s.chunk.text, q.answer),
                        )
                    )
        cands.append(rows)
    return questions, cands, support


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    ap = argparse.ArgumentParser()
    ap.add_argument("split", type=Path)
    ap.add_argument("--index-dir", type=Path, default=Path("index/eval-fit"))
    args = ap.parse_args()
    settings = Settings(index_dir=args.index_dir)
    assistant = Assistant.from_settings(settings, with_llm=False)
    questions, cands, support = collect(assistant, args.split)
    n = len(questions)

    def fit_rerank(idx):  # type: ignore[no-untyped-def]
        X = np.array([r[:4] for i in idx for r in cands[i]])
        y = np.array([r[4] for i in idx for r in cands[i]])
        return LogisticRegression(C=1.0, max_iter=1000).fit(X, y)

    def ans_at_1(clf, idx):  # type: ignore[no-untyped-def]
        hits = 0
        for i in idx:
            if cands[i]:
                s = clf.decision_function(np.array([r[:4] for r in cands[i]]))
                hits += cands[i][int(np.argmax(s))][4]
        return hits / len(idx)

    idx = np.arange(n)
    for part in (0, 1):
        tr, te = idx[idx % 2 == part], idx[idx % 2 != part]
        print(f"rerank fold {part}: held-out ans@1 {ans_at_1(fit_rerank(tr), te):.3f}")
    clf = fit_rerank(idx)
    names = ("w_retrieval", "w_sentence", "w_coverage", "w_type")
    print("RerankModel", {k: round(float(v), 2) for k, v in zip(names, clf.coef_[0])})

    def feats(rows):  # type: ignore[no-untyped-def]
        return np.array([[s, c, min(max(a, 0), 60) / 30] for s, c, a, _, _ in rows])

    def fit_support(rows):  # type: ignore[no-untyped-def]
        return LogisticRegression(C=1.0).fit(feats(rows), np.array([r[3] for r in rows]))

    qid = {q.id: i for i, q in enumerate(questions)}
    for part in (0, 1):
        tr = [r for r in support if qid[r[4]] % 2 == part]
        te = [r for r in support if qid[r[4]] % 2 != part]
        m = fit_support(tr)
        p = m.predict_proba(feats(te))[:, 1]
        pos = np.array([r[3] == 1 for r in te])
        for th in (0.4, 0.5, 0.6):
            print(
                f"support fold {part} threshold {th}: answered {np.mean(p[pos] >= th):.3f}, "
                f"refused unanswerable {np.mean(p[~pos] < th):.3f}"
            )
    m = fit_support(support)
    print(
        "SupportModel",
        {k: round(float(v), 2) for k, v in zip(("w_score", "w_coverage", "w_age"), m.coef_[0])},
        "bias",
        round(float(m.intercept_[0]), 2),
    )


if __name__ == "__main__":
    main()
