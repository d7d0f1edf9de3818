"""A QA split in the RealTimeQA format (``articles.jsonl`` + ``questions.jsonl``): its questions, its
articles, its hash (what fitted weights record) and its two halves by week (for out-of-fold figures)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

SPLIT_FILES = ("articles.jsonl", "questions.jsonl")


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


def split_hash(split_dir: Path) -> str:
    """sha256 of the split's two files (what fitted weights record as the data they were fitted on)."""
    digest = hashlib.sha256()
    for name in SPLIT_FILES:
        with (split_dir / name).open("rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def week_of(q: Question) -> str:
    return q.week or (q.date.isoformat() if q.date else "")


def week_halves(questions: list[Question]) -> tuple[list[Question], list[Question]]:
    """Two halves that keep whole weeks: the split's weeks in date order, alternately to each half (so
    both halves span the whole period). Questions without a week or date count as one week."""
    weeks = sorted({week_of(q) for q in questions})
    first = set(weeks[0::2])
    return [q for q in questions if week_of(q) in first], [q for q in questions if week_of(q) not in first]
