"""Fits the answer weights on a QA split and writes them where the product loads them
(``assistant/answer/fitted.json``, with the split's hash and the date), after printing what they are
worth on questions they were not fitted on:

- out-of-fold figures (``assistant.evaluate.fit.replay``: the extractive product on the collected
  candidates): fitted on one half of the split's weeks, measured on the other, swapped and pooled;
- what each feature adds, out-of-fold: the same with that feature's weight held at 0;
- the in-sample figures of the weights written (fitted on every question: optimistic by construction).

    .venv/bin/python bench/fit_models.py ../shared/eval/realtimeqa-dev --index-dir /tmp/devidx [--cache F]

``--cache F`` keeps the collected candidates and features (a pickle) so that a second run skips
retrieval; ``--dry-run`` prints without writing the weights file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pickle
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from assistant.answer.models import PACKAGED_WEIGHTS, Fitted  # noqa: E402
from assistant.evaluate.fit import (  # noqa: E402
    RERANK_FEATURES,
    SENTENCE_FEATURES,
    SUPPORT_FEATURES,
    Collected,
    collect,
    fit,
    replay,
)
from assistant.evaluate.run import holding_articles  # noqa: E402
from assistant.evaluate.split import load_split, split_hash, week_halves  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402

KEYS = ("ans@1", "answer_contains", "refused_answerable", "refusal_rate")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("split", type=Path)
    ap.add_argument("--index-dir", type=Path, default=Path("index/eval-fit"))
    ap.add_argument("--cache", type=Path, help="pickle of the collected candidates (read if present)")
    ap.add_argument("--out", type=Path, default=PACKAGED_WEIGHTS)
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--no-ablations", action="store_true")
    ap.add_argument(
        "--asked-later",
        default="",
        help="also replay the out-of-fold weights on the questions asked N days later (e.g. 60,365)",
    )
    args = ap.parse_args()
    settings = Settings(index_dir=args.index_dir)
    assistant = Assistant.from_settings(settings, with_llm=False, fitted=Fitted())
    articles, questions = load_split(args.split)
    if args.cache and args.cache.exists():
        collected: Collected = pickle.loads(args.cache.read_bytes())
    else:
        assistant.sync([args.split / "articles.jsonl"])
        t0 = time.perf_counter()
        collected = collect(assistant, questions, holding_articles(articles))
        print(f"collected {len(questions)} questions in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        if args.cache:
            args.cache.write_bytes(pickle.dumps(collected))
    k, emb, sents = settings.retrieval.k, assistant.scorer.max_embedded, settings.answer.max_sentences
    first, second = week_halves(questions)

    def oof(drop: tuple[str, ...] = (), on: Collected | None = None) -> dict[str, float]:
        """Fitted on one half's questions asked on their own date, replayed on the other half's
        (``on``: the same questions collected in another shape, e.g. asked later)."""
        sums = dict.fromkeys(KEYS, 0.0)
        for train, test in ((first, second), (second, first)):
            f = fit(collected, {q.id for q in train}, k=k, max_embedded=emb, drop=drop)
            r = replay(on or collected, f, {q.id for q in test}, k=k, max_embedded=emb, max_sentences=sents)
            for key in KEYS:
                sums[key] += r[key] * r["questions"]
        return {key: round(v / len(questions), 3) for key, v in sums.items()}

    print(
        f"weeks: {len({q.week for q in first})} + {len({q.week for q in second})}; questions {len(first)} + {len(second)}"
    )
    print("out-of-fold (extractive replay):", oof())
    for days in (int(d) for d in args.asked_later.split(",") if d.strip()):
        t0 = time.perf_counter()
        later = collect(assistant, questions, holding_articles(articles), asked_later=days)
        print(f"collected asked {days} days later in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        print(f"out-of-fold, asked {days} days later:", oof(on=later))
    if not args.no_ablations:
        for part, names in (
            ("sentence", SENTENCE_FEATURES),
            ("rerank", RERANK_FEATURES),
            ("support", SUPPORT_FEATURES),
        ):
            for name in names:
                print(f"  without {part}.{name}:", oof((f"{part}.{name}",)))
    fitted = fit(
        collected,
        None,
        k=k,
        max_embedded=emb,
        provenance={
            "split": args.split.resolve().name,
            "split_sha256": split_hash(args.split),
            "fitted_on": dt.date.today().isoformat(),
            "by": "bench/fit_models.py",
        },
    )
    print(
        "in-sample (fitted on every question):",
        replay(collected, fitted, k=k, max_embedded=emb, max_sentences=sents),
    )
    print(fitted.to_json())
    if not args.dry_run:
        args.out.write_text(fitted.to_json(), encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
