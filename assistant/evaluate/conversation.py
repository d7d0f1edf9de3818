"""`assistant eval SPLIT --conversation`: how the assistant holds up in a conversation.

- **After an unrelated question**: every question of the split is asked right after another question of
  the split from a different week (with the assistant's real answer to it in the history). Reported:
  the share whose standalone form changed (a question that names its own subject must be left as
  typed) and ``answer_contains`` beside the same questions asked alone. When the standalone question is
  unchanged the rest of the chain is the same as alone, so the alone answer is reused; the others are
  asked again.
- **Follow-ups**: two-turn conversations that need the history ("Where is he from?"), from a JSON-lines
  file (``bench/conversations.jsonl``): the first question is asked, then the follow-up with the
  first answer in the history. Reported: the share whose standalone question carries the antecedent
  (overall, and among those whose antecedent the conversation holds at all: a first answer that does
  not name "Nicole Shanahan" leaves nothing for "Who is her husband?" to point at), and
  ``answer_contains`` of the follow-up's answer.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from assistant.answer.types import Answer
from assistant.evaluate.split import Question
from assistant.shipped import default_conversations
from assistant.textutil import contains_answer

DEFAULT_CONVERSATIONS = default_conversations()
CONVERSATION_KEYS = (
    "answer_contains_alone",
    "answer_contains_after_unrelated",
    "standalone_changed",
    "follow_ups",
    "follow_ups_carrying_antecedent",
    "follow_ups_with_antecedent_in_conversation",
    "carrying_antecedent_where_in_conversation",
    "follow_up_answer_contains",
    "follow_ups_carrying_antecedent_llm",
)


@dataclass(frozen=True)
class Conversation:
    id: str
    first: str
    date: date | None
    follow_up: str
    antecedent: tuple[str, ...]
    answer: str
    corpus: Path | None  # an extra article file the conversation is about (else the split's articles)


def load_conversations(path: Path, questions: list[Question]) -> list[Conversation]:
    """The follow-up set; a line names its first question by the split's question id (``first_id``) or
    gives it (``first`` and ``date``)."""
    by_id = {q.id: q for q in questions}
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        rec = json.loads(line)
        if "first_id" in rec:
            q = by_id.get(rec["first_id"])
            if q is None:  # a question outside this split (or outside --limit)
                continue
            first, day = q.question, q.date
        else:
            first, day = rec["first"], date.fromisoformat(rec["date"]) if rec.get("date") else None
        corpus = (path.parent / rec["corpus"]).resolve() if rec.get("corpus") else None
        out.append(
            Conversation(
                str(rec.get("id", n)),
                first,
                day,
                rec["follow_up"],
                tuple(rec["antecedent"]),
                rec["answer"],
                corpus,
            )
        )
    return out


def unrelated_to(questions: list[Question], i: int) -> int:
    """Another question, from a different week and about other articles (deterministic)."""
    n = len(questions)
    for step in range(n // 2, n // 2 + n):
        j = (i + step) % n
        q, other = questions[i], questions[j]
        if j != i and other.week != q.week and not (q.gold & other.gold):
            return j
    return (i + 1) % n


def _contains(answer: Answer, gold: str) -> float:
    return float(not answer.refused and contains_answer(answer.text, gold))


def run_conversation_eval(
    assistant: Any,
    questions: list[Question],
    alone: list[Answer],
    conversations_file: Path,
    *,
    backend: str | None = None,
    llm_rewrites: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """llm_rewrites: also rewrite each follow-up with the chat model (the carrying figure with the LLM;
    -1 without one)."""
    conversations = load_conversations(conversations_file, questions) if conversations_file.exists() else []
    extra = sorted({c.corpus for c in conversations if c.corpus is not None})
    if extra:
        assistant.sync(extra)
    total = len(questions) + len(conversations)
    after, changed = [], []
    examples: list[dict[str, str]] = []
    for i, q in enumerate(questions):
        j = unrelated_to(questions, i)
        history = [("user", questions[j].question), ("assistant", alone[j].text)]
        std = assistant.standalone(q.question, history, backend)
        if std.question == q.question.strip():
            ans = alone[i]
        else:
            ans = assistant.ask(q.question, history, today=q.date, backend=backend)
            if len(examples) < 10:
                examples.append({"question": q.question, "standalone": std.question})
        changed.append(float(std.question != q.question.strip()))
        after.append(_contains(ans, q.answer))
        if progress:
            progress(i + 1, total)
    carried, carried_llm, follow_contains, available = [], [], [], []
    use_llm = llm_rewrites and assistant.chat_model is not None
    misses: list[dict[str, str]] = []
    for k, c in enumerate(conversations):
        first = assistant.ask(c.first, today=c.date, backend=backend)
        ans = assistant.ask(
            c.follow_up, [("user", c.first), ("assistant", first.text)], today=c.date, backend=backend
        )
        ok = any(a.lower() in ans.standalone_question.lower() for a in c.antecedent)
        carried.append(float(ok))
        if use_llm:
            turns = [("user", c.first), ("assistant", first.text)]
            llm = assistant.standalone(c.follow_up, turns, assistant.backend).question.lower()
            carried_llm.append(float(any(a.lower() in llm for a in c.antecedent)))
        # A rewrite can only carry an antecedent that the conversation holds (the first answer may not name it)
        said = f"{c.first} {first.text}".lower()
        available.append(float(any(a.lower() in said for a in c.antecedent)))
        follow_contains.append(_contains(ans, c.answer))
        if not ok and len(misses) < 10:
            misses.append({"id": c.id, "follow_up": c.follow_up, "standalone": ans.standalone_question})
        if progress:
            progress(len(questions) + k + 1, total)

    def mean(xs: list[float]) -> float:
        return round(statistics.fmean(xs), 4) if xs else 0.0

    result = {
        "answer_contains_alone": mean([_contains(a, q.answer) for a, q in zip(alone, questions)]),
        "answer_contains_after_unrelated": mean(after),
        "standalone_changed": mean(changed),
        "follow_ups": len(conversations),
        "follow_ups_carrying_antecedent": mean(carried),
        "follow_ups_with_antecedent_in_conversation": mean(available),
        "carrying_antecedent_where_in_conversation": mean([c for c, a in zip(carried, available) if a]),
        "follow_up_answer_contains": mean(follow_contains),
        "follow_ups_carrying_antecedent_llm": mean(carried_llm) if use_llm else -1.0,
    }
    return {"result": result, "changed_examples": examples, "antecedent_misses": misses}


def format_conversation(result: dict[str, Any]) -> str:
    return (
        f"conversation: answer_contains alone {result['answer_contains_alone']:.3f}, after an unrelated "
        f"question {result['answer_contains_after_unrelated']:.3f}; standalone changed "
        f"{result['standalone_changed']:.3f}\n"
        f"follow-ups: {result['follow_ups']}, carrying the antecedent "
        f"{result['follow_ups_carrying_antecedent']:.3f} (antecedent in the conversation for "
        f"{result['follow_ups_with_antecedent_in_conversation']:.3f}; of those, carried "
        f"{result['carrying_antecedent_where_in_conversation']:.3f}), answer_contains "
        f"{result['follow_up_answer_contains']:.3f}"
        + (
            f"; with the LLM's rewrites carrying {result['follow_ups_carrying_antecedent_llm']:.3f}"
            if result.get("follow_ups_carrying_antecedent_llm", -1.0) >= 0
            else ""
        )
    )
