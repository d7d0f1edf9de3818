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


class SplitError(ValueError):
    """A split file that cannot be read: names the file, the line and the reason."""


def _records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    out = []
    try:
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                rec = json.loads(line)
                if not isinstance(rec, dict):
                    raise SplitError(f"{path}:{n}: not a JSON object")
                out.append((n, rec))
    except (OSError, UnicodeDecodeError) as e:
        raise SplitError(f"{path}: {e}") from None
    except json.JSONDecodeError as e:
        raise SplitError(f"{path}:{n}: not JSON ({e.msg})") from None
    return out


def load_split(split_dir: Path) -> tuple[dict[str, dict[str, Any]], list[Question]]:
    articles: dict[str, dict[str, Any]] = {}
    rtqa_to_ours: dict[str, str] = {}
    for n, rec in _records(split_dir / "articles.jsonl"):
        if not isinstance(rec.get("id"), str):
            raise SplitError(f"{split_dir / 'articles.jsonl'}:{n}: an article needs a string id")
        ours = rec.get("url") or rec["id"]
        articles[ours] = rec
        rtqa_to_ours[rec["id"]] = ours
    questions = []
    path = split_dir / "questions.jsonl"
    for n, q in _records(path):
        try:
            d = date.fromisoformat(q["date"]) if q.get("date") else None
            gold = {rtqa_to_ours[g] for g in q.get("gold_article_ids", []) if g in rtqa_to_ours}
            questions.append(
                Question(str(q["id"]), str(q["question"]), str(q["answer"]), d, gold, str(q.get("week", "")))
            )
        except KeyError as e:
            raise SplitError(f"{path}:{n}: a question needs {e}") from None
        except (TypeError, ValueError) as e:
            raise SplitError(f"{path}:{n}: {e}") from None
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
