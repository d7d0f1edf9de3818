"""Follow-up questions → standalone questions, before retrieval."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from assistant.textutil import QUESTION_WORDS, STOPWORDS, tokens

log = logging.getLogger(__name__)

FOLLOW_UP = re.compile(
    r"^\s*(?:and|but|also|so|then|what about|how about|and what|what else|why|how come)\b"
    r"|\b(?:he|she|they|it|its|his|her|hers|their|them|him|this|that|these|those|there|the same|else|other)\b",
    re.I,
)

Turn = tuple[str, str]  # (role, text): role is "user" or "assistant"


def is_follow_up(question: str, history: Sequence[Turn]) -> bool:
    if not any(role == "user" for role, _ in history):
        return False
    content = [w for w in tokens(question) if w.lower() not in STOPWORDS | QUESTION_WORDS]
    return bool(FOLLOW_UP.search(question)) or len(content) <= 2


def _topic_words(text: str, limit: int = 8) -> list[str]:
    words = []
    for w in tokens(text):
        low = w.lower()
        if low in STOPWORDS or low in QUESTION_WORDS or len(low) < 3 or w in words:
            continue
        words.append(w)
    return words[:limit]


def rule_rewrite(question: str, history: Sequence[Turn]) -> str:
    """Adds the topic words of the last user question that are not already in this one."""
    prev = next((text for role, text in reversed(history) if role == "user"), "")
    have = {w.lower() for w in tokens(question)}
    extra = [w for w in _topic_words(prev) if w.lower() not in have]
    return f"{question.strip()} ({' '.join(extra)})" if extra else question.strip()


def llm_rewrite(question: str, history: Sequence[Turn], model: Any, template: str) -> str:
    from langchain_core.messages import HumanMessage

    convo = "\n".join(
        f"{'User' if role == 'user' else 'Assistant'}: {text[:400]}" for role, text in history[-6:]
    )
    prompt = template.format(history=convo, question=question)
    try:
        out = model.invoke([HumanMessage(prompt)]).content
    except Exception as e:  # noqa: BLE001 - a failed rewrite falls back to the rule
        log.warning("question rewrite failed (%s); using the rule", e)
        return rule_rewrite(question, history)
    out = str(out).strip().strip('"').splitlines()[0].strip() if str(out).strip() else ""
    if not out or len(out) > 4 * len(question) + 200:
        return rule_rewrite(question, history)
    return out


def standalone(question: str, history: Sequence[Turn], model: Any = None, template: str = "") -> str:
    if not is_follow_up(question, history):
        return question.strip()
    if model is not None and template:
        return llm_rewrite(question, history, model, template)
    return rule_rewrite(question, history)
