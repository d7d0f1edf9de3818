"""Quoted speech in a model's answer is checked here: every span between quotation marks (straight or
curly, double or single) must occur word for word in the source it cites, after normalising quotation
characters, whitespace and the case of its first letter. Trailing punctuation inside the marks ("win,"
for "win.") and an ellipsis between quoted parts are allowed; anything else is not a quote."""

from __future__ import annotations

import re
from collections.abc import Iterable

_SINGLE_QUOTED = re.compile(
    r"‘([^‘\n]+?)’(?![A-Za-z])"  # ‘…’ (a ’ followed by a letter is an apostrophe)
    r"|(?<![\w'])'(?=\S)([^'\n]+?)(?<=\S)'(?![\w])"  # '…' (an apostrophe inside a word is not a mark)
)
_DOUBLE = str.maketrans({"“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"'})
_SINGLE = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'"})
# Never starting inside a run of spaces (the match from the run's first space covers it): linear.
_ELLIPSIS = re.compile(r"(?!(?<=\s)\s)\s*+(?:…|\.\.\.|\[\.\.\.\]|\[…\])\s*+")


def normalise(text: str) -> str:
    """Quotation characters made plain and whitespace collapsed."""
    return " ".join(text.translate(_DOUBLE).translate(_SINGLE).split())


def _double_spans(text: str) -> list[str] | None:
    """The spans between double quotation marks, or None when the marks do not pair up: a straight
    mark opens after a space or an opening bracket (or at the start) and closes before a space or
    punctuation; a quotation opened inside another is not readable."""
    spans: list[str] = []
    opened: int | None = None
    for i, ch in enumerate(text):
        if ch not in '"“”':
            continue
        before = text[i - 1] if i else " "
        if ch == "“" or (ch == '"' and opened is None and (before.isspace() or before in "([{—–-/")):
            if opened is not None:
                return None
            opened = i + 1
        elif ch == "”" or (ch == '"' and opened is not None and not before.isspace()):
            if opened is None:
                return None
            spans.append(text[opened:i])
            opened = None
        else:
            return None
    return None if opened is not None else spans


def quoted_spans(text: str) -> list[str]:
    """The texts between quotation marks in a piece of answer text."""
    spans = list(_double_spans(text) or [])
    spans += [next(g for g in m.groups() if g is not None) for m in _SINGLE_QUOTED.finditer(text)]
    return [q for q in spans if q.strip()]


def _found(part: str, haystack: str, start: int) -> int:
    """Where part occurs in haystack from start (its first letter in either case), or -1."""
    at = haystack.find(part, start)
    if at < 0 and part[:1].isalpha():
        swapped = (part[0].lower() if part[0].isupper() else part[0].upper()) + part[1:]
        at = haystack.find(swapped, start)
    return at


def occurs(quote: str, haystacks: list[str]) -> bool:
    """True when the quoted words occur verbatim in one of the haystacks (in order, when an ellipsis
    joins parts)."""
    return _occurs(quote, (normalise(hay) for hay in haystacks))


def _occurs(quote: str, normalised: Iterable[str]) -> bool:
    parts = [p.strip(" ,.;:!?") for p in _ELLIPSIS.split(normalise(quote))]
    parts = [p for p in parts if p]
    if not parts:
        return True  # quotation marks around nothing but punctuation claim no words
    for h in normalised:
        at = 0
        for p in parts:
            at = _found(p, h, at)
            if at < 0:
                break
            at += len(p)
        else:
            return True
    return False


def unbalanced(text: str) -> bool:
    """True when double quotation marks do not pair up (a quotation whose extent cannot be read)."""
    return _double_spans(text) is None


def unverified_quotes(text: str, haystacks: list[str]) -> list[str]:
    """The quoted spans of text that occur in none of the haystacks (the whole text when its quotation
    marks do not pair up)."""
    if unbalanced(text):
        return [text]
    normalised = [normalise(hay) for hay in haystacks]  # once, not once per quote
    spans = quoted_spans(text)
    found = {q: _occurs(q, normalised) for q in dict.fromkeys(spans)}  # each distinct quote once
    return [q for q in spans if not found[q]]
