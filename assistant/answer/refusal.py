"""The refusal we show, and recognising a model's answer that as a whole says the sources hold none.

A model's sentence counts as "no answer" only when it cites nothing, says that something is not there
or cannot be answered, and says it of the sources (or of itself: "I cannot tell"). A sentence about
the news ("Investigators are unable to determine the cause [1].") is an answer, not a refusal; and an
answer is a refusal only when every one of its sentences is.
"""

from __future__ import annotations

import re

from assistant.answer.types import Citation, Source, cite
from assistant.sentences import sentence_spans

# Every run of spaces or digits is taken whole ("\s++", "\d++"): a word, "[" or "]" follows it.
MARKER = re.compile(r"\[\d++(?:\s*+[,;]\s*+\d++)*+\]")
NO_ANSWER = re.compile(
    r"\b(?:don'?t|doesn'?t|do not|does not|did not|didn'?t)\s++(?:say|mention|contain|provide|specify|state|"
    r"include|give|answer|address|discuss|tell|know|have)\b"
    r"|\bnot\s++(?:mentioned|specified|stated|provided|included|available|given|clear|possible)\b"
    r"|\bno\s++(?:information|mention|details?|data|answer|indication|source)\b"
    r"|\b(?:cannot|can'?t|unable to|could not|couldn'?t)\s++(?:answer|determine|find|tell|say|provide|know)\b"
    r"|\b(?:not|insufficient)\s++enough\b|\binsufficient\b",
    re.I,
)
ABOUT_SOURCES = re.compile(
    r"\b(?:sources?|articles?|texts?|context|passages?|documents?|provided|given|indexed|"
    r"I|I'm|I am|me)\b",
    re.I,
)


CLOSEST_LEAD = "The closest passage I found, which may not answer this:"
REFUSAL_LEAD = "The indexed articles don't say."


def refusal_text(question: str) -> str:
    q = question.strip().rstrip("?")
    return f"{REFUSAL_LEAD} Nothing in them answers “{q}?”"


def closest_passage(sources: list[Source], n: int | None) -> tuple[str, list[Citation]]:
    """The hedge shown when the best passage is on the question's topic but too weak to be an answer:
    that source's best sentence, quoted verbatim, cited as [1]. ("", []) when it has no sentence that
    may be quoted (every one scored 0: boilerplate)."""
    src = next((s for s in sources if s.n == n), None)
    if src is None or not src.sentences or max(src.scores, default=0.0) <= 0:
        return "", []
    c = cite(1, src, src.sentences[src.best_index])
    return f"{CLOSEST_LEAD} “{c.quote}” [1]", [c]


def is_refusal_sentence(sentence: str) -> bool:
    if MARKER.search(sentence):
        return False
    text = sentence.replace("’", "'")
    return bool(NO_ANSWER.search(text) and ABOUT_SOURCES.search(text))


def looks_like_refusal(text: str) -> bool:
    """True when the answer as a whole says the sources hold no answer."""
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    return bool(sentences) and all(is_refusal_sentence(s) for s in sentences)
