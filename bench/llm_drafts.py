"""What the checks do to the local LLM's answers: records the model's drafts on a QA split once, then
replays the current checks (assistant/answer/llm.py: refusal, claim support, quoted speech) on them
without running the model again.

    .venv/bin/python bench/llm_drafts.py record ../shared/eval/realtimeqa-dev --index-dir /tmp/devidx --out /tmp/drafts.jsonl
    .venv/bin/python bench/llm_drafts.py replay /tmp/drafts.jsonl

Replay prints, over the questions the support gate let through: how many drafts contain the gold answer,
how many of those stay the model's own answer after the checks and still contain it (and how many are
replaced by quotes, and why), and how many drafts without the answer are kept as the model's answer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.answer.llm import check_model_answer, format_sources  # noqa: E402
from assistant.answer.types import make_sources  # noqa: E402
from assistant.store import StoredChunk  # noqa: E402
from assistant.textutil import contains_answer  # noqa: E402


def record(split: Path, index_dir: Path, out: Path, limit: int | None) -> None:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    from assistant import prompts
    from assistant.answer.gate import is_supported
    from assistant.evaluate.split import load_split
    from assistant.service import Assistant
    from assistant.settings import Settings

    settings = Settings(index_dir=index_dir)
    settings.llm.backend = "llamacpp"
    assistant = Assistant.from_settings(settings)
    _, questions = load_split(split)
    assistant.sync([split / "articles.jsonl"])
    write = (
        ChatPromptTemplate.from_messages(
            [("system", prompts.load("answer_system")), ("human", prompts.load("answer_user"))]
        )
        | assistant.chat_model
        | StrOutputParser()
    )
    with out.open("w", encoding="utf-8") as fh:
        for i, q in enumerate(questions[:limit] if limit else questions):
            r = assistant.candidates_retriever(q.date, None, scope_from=q.question)
            sources, support = assistant.rerank(q.question, r.invoke(q.question), q.date)
            if not is_supported(support, assistant.min_support):
                continue
            draft = write.invoke(
                {
                    "today": q.date.isoformat() if q.date else "",
                    "sources": format_sources(sources, settings.answer.window),
                    "question": q.question,
                }
            )
            rec = {
                "id": q.id,
                "question": q.question,
                "answer": q.answer,
                "draft": draft,
                "sources": [{"chunk": s.chunk.__dict__, "scores": s.scores, "n": s.n} for s in sources],
            }
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            print(f"{i + 1}/{len(questions)}", file=sys.stderr)


def replay(path: Path, show: int) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    tally: Counter[str] = Counter()
    shown = 0
    for rec in rows:
        sources = make_sources([StoredChunk(**s["chunk"]) for s in rec["sources"]])
        for src, s in zip(sources, rec["sources"]):
            src.scores, src.n = s["scores"], s["n"]
        checked = check_model_answer(rec["draft"], sources, rec["question"], refuse_no_answer=False)
        draft_ok = contains_answer(rec["draft"], rec["answer"])
        final_ok = contains_answer(checked.text, rec["answer"])
        tally["drafts"] += 1
        tally["draft contains the answer"] += draft_ok
        if checked.from_model:
            tally["kept as the model's answer"] += 1
            tally["kept and contains the answer"] += final_ok
            tally["kept without the answer"] += not final_ok
            tally["kept, a sentence left out"] += any("no source supports it" in n for n in checked.notes)
            tally["kept, a quotation replaced"] += any("not in the source" in n for n in checked.notes)
        else:
            tally["replaced by quotes"] += 1
            tally["replaced, the draft held the answer"] += draft_ok
            tally["replaced, quotes hold the answer"] += final_ok
            if draft_ok and shown < show:
                shown += 1
                print(
                    f"--- {rec['id']}: {rec['question']}\n  gold: {rec['answer']}\n  draft: {rec['draft']!r}"
                )
                print(f"  notes: {checked.notes}")
    for k, v in tally.items():
        print(f"{k:40} {v}")


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("split", type=Path)
    rec.add_argument("--index-dir", type=Path, required=True)
    rec.add_argument("--out", type=Path, required=True)
    rec.add_argument("--limit", type=int)
    rep = sub.add_parser("replay")
    rep.add_argument("drafts", type=Path)
    rep.add_argument(
        "--show", type=int, default=20, help="print this many drafts that held the answer but were replaced"
    )
    args = ap.parse_args()
    if args.cmd == "record":
        record(args.split, args.index_dir, args.out, args.limit)
    else:
        replay(args.drafts, args.show)


if __name__ == "__main__":
    main()
