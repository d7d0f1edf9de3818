"""A model's answer → its claims, each tied to the source sentence that supports it.

A claim is one sentence of the answer with the [n] markers the model put on it. It keeps a citation only
when one sentence of a source supports it:
- what the claim adds to the question (its content words beyond the question's) is mostly in that
  sentence (every word, when it adds one or two), or, for a claim that only restates the question, most
  of its words are;
- every number it adds occurs in that sentence, and every name it adds in that sentence, the ones next to
  it or the source's title;
- every span it puts in quotation marks occurs word for word in that source (``quotes``).
A marker that points to no source, or to a source with no such sentence, is moved to the source that has
one or dropped. A claim whose only fault is a quotation the source does not hold is replaced by the
sentence of the source that supports the rest of it, verbatim; a claim no source supports is left out
(when asked to) and listed in the notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.answer.quotes import quoted_spans, unbalanced, unverified_quotes
from assistant.answer.types import Citation, Sentence, Source, cite
from assistant.sentences import sentence_spans
from assistant.textutil import STOPWORDS, content_terms, stem, tokens

# Linear: a match never starts inside a run of spaces (the one from the run's first space covers it),
# and every run is taken whole ("\s*+", "\d++"): what follows it cannot be part of it.
MARKER = re.compile(r"(?!(?<=\s)\s)\s*+\[(-?\d++(?:\s*+[,;]\s*+-?\d++)*+)\]")
_MARKER_NUMBER = re.compile(r"-?\d++")
_NUMBER = re.compile(r"\d++(?:[.,]\d++)*+")
# Markers after the full stop belong to the claim before: "Claim. [1] Next" → "Claim [1]. Next".
_TRAILING_MARKERS = re.compile(r"([.!?…][\"”’)]*+)((?:\s*+\[-?\d++(?:\s*+[,;]\s*+-?\d++)*+\])++)")


def split_claims(text: str) -> list[tuple[str, list[int]]]:
    """Answer text → (sentence without markers, marker numbers in order) pairs."""
    out: list[tuple[str, list[int]]] = []
    text = _TRAILING_MARKERS.sub(r"\2\1", text)
    for s, e in sentence_spans(text):
        piece = text[s:e]
        nums = [int(x) for m in MARKER.finditer(piece) for x in _MARKER_NUMBER.findall(m.group(1))]
        claim = MARKER.sub("", piece).strip()
        if not claim and out:  # a sentence that is only markers belongs to the one before
            out[-1][1].extend(nums)
            continue
        out.append((claim, nums))
    return out


def numbers(text: str) -> set[str]:
    """The numbers written in digits, without thousands separators ("1,200" → "1200")."""
    return {m.group(0).replace(",", "").rstrip(".") for m in _NUMBER.finditer(text)}


def names(text: str) -> set[str]:
    """Stems of the capitalised words that are not stopwords (names, places, organisations)."""
    capitalised = {stem(w.lower()) for w in tokens(text) if w[0].isupper() and w.lower() not in STOPWORDS}
    return capitalised & set(content_terms(text))


@dataclass(frozen=True)
class Claim:
    text: str
    terms: frozenset[str]
    new: frozenset[str]  # what it adds to the question
    new_names: frozenset[str]
    new_numbers: frozenset[str]


def make_claim(text: str, question: str) -> Claim:
    q_terms = set(content_terms(question))
    terms = frozenset(content_terms(text))
    return Claim(
        text,
        terms,
        terms - q_terms,
        frozenset(names(text) - q_terms - names(question)),
        frozenset(numbers(text) - numbers(question)),
    )


def support_of(claim: Claim, s: Sentence, context_terms: frozenset[str] = frozenset()) -> float:
    """How well sentence s supports the claim, 0 when it does not: the share of what the claim adds
    that the sentence holds (or, for a claim that only restates the question, of its words).
    context_terms: the words of the source's title and of the sentences next to s, where a name the
    claim uses may stand instead ("Retired sprinter Ola Brandt…" before "She says she trained…")."""
    if not claim.terms:
        return 0.0
    if claim.new_numbers - numbers(s.text):
        return 0.0
    if claim.new_names - s.terms - context_terms:
        return 0.0
    if claim.new:
        held = len(claim.new & s.terms) / len(claim.new)
        needed = 1.0 if len(claim.new) <= 2 else 0.5
        return held if held >= needed else 0.0
    held = len(claim.terms & s.terms) / len(claim.terms)
    return held if held >= 0.6 else 0.0


def best_support(claim: Claim, src: Source) -> tuple[float, Sentence | None]:
    title_terms = frozenset(content_terms(src.chunk.title))
    best: tuple[float, Sentence | None] = (0.0, None)
    for i, s in enumerate(src.sentences):
        near = src.sentences[max(0, i - 1) : i + 2]
        sc = support_of(claim, s, title_terms.union(*(x.terms for x in near)))
        if sc > best[0]:
            best = (sc, s)
    return best


@dataclass
class Resolved:
    text: str
    citations: list[Citation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def resolve_citations(
    text: str, sources: list[Source], question: str = "", drop_unsupported: bool = False
) -> Resolved:
    """Maps every claim to the source sentence that supports it and renumbers the markers 1..m in order
    of appearance (see the module's docstring). With drop_unsupported, claims no source supports are left
    out (when some claim is supported)."""
    out = Resolved("")
    cites: dict[tuple[str, int, int], Citation] = {}
    pieces: list[str] = []
    unsupported: list[int] = []
    for claim_text, nums in split_claims(text):
        claim = make_claim(claim_text, question)
        chosen: list[tuple[Source, Sentence]] = []
        for n in dict.fromkeys(nums):
            if not 1 <= n <= len(sources):
                out.notes.append(f"marker [{n}] points to no source; dropped")
                continue
            score, s = best_support(claim, sources[n - 1])
            if s is not None:
                chosen.append((sources[n - 1], s))
            else:
                out.notes.append(f"source [{n}] does not support “{_short(claim_text)}”; marker dropped")
        if not chosen and claim.terms:
            ranked = sorted(((best_support(claim, src), src) for src in sources), key=lambda x: -x[0][0])
            if ranked and ranked[0][0][1] is not None:
                chosen.append((ranked[0][1], ranked[0][0][1]))  # type: ignore[arg-type]
        if chosen and (quoted_spans(claim_text) or unbalanced(claim_text)):
            bad = unverified_quotes(
                claim_text, [t for src, _ in chosen for t in (src.chunk.text, src.chunk.title)]
            )
            if bad:
                src, s = chosen[0]
                out.notes.append(
                    f"“{_short(bad[0])}” is not in the source it cites; replaced by the source's own sentence"
                )
                claim_text, chosen = s.text, [(src, s)]
        markers = []
        for src, s in chosen:
            key = (src.chunk.article_id, s.start, s.end)
            if key not in cites:
                cites[key] = cite(len(cites) + 1, src, s)
            mark = f"[{cites[key].n}]"
            if mark not in markers:
                markers.append(mark)
        if markers:
            pieces.append(f"{claim_text} {''.join(markers)}")
        else:
            pieces.append(claim_text)
            unsupported.append(len(pieces) - 1)
    if drop_unsupported and cites and unsupported:
        for i in unsupported:
            if pieces[i]:
                out.notes.append(f"left out “{_short(pieces[i])}”: no source supports it")
                pieces[i] = ""
    out.text = " ".join(p for p in pieces if p)
    out.citations = list(cites.values())
    return out


def restates_question(text: str, question: str) -> bool:
    """True when no sentence of an answer says anything the question does not ("The chef." for "Which
    rival did the chef fall out with?"): the model gave no answer."""
    q_terms = set(content_terms(question))
    claims = [set(content_terms(claim)) for claim, _ in split_claims(text)]
    return bool(claims) and all(terms <= q_terms for terms in claims)
