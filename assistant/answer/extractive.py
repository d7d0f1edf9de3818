"""The answerer without an LLM: the best one or two sentences of the sources, verbatim, each followed by
its citation marker."""

from __future__ import annotations

from assistant.answer.types import Citation, Sentence, Source, cite


def best_sentences(
    sources: list[Source], max_sentences: int = 2, ratio: float = 0.85
) -> list[tuple[Source, Sentence]]:
    """The highest-scoring sentences (at most max_sentences, each within ratio of the best; no sentence
    twice)."""
    ranked = sorted(
        ((sc, i, j) for i, src in enumerate(sources) for j, sc in enumerate(src.scores)), key=lambda x: -x[0]
    )
    picked: list[tuple[Source, Sentence]] = []
    seen: set[str] = set()
    for sc, i, j in ranked:
        if len(picked) >= max_sentences or sc < ranked[0][0] * ratio:
            break
        s = sources[i].sentences[j]
        if s.text in seen:
            continue
        seen.add(s.text)
        picked.append((sources[i], s))
    return picked


def extractive_answer(
    sources: list[Source], max_sentences: int = 2, ratio: float = 0.85
) -> tuple[str, list[Citation]]:
    """(text, citations): the best sentences quoted verbatim, numbered in order; one number per sentence
    of an article."""
    cites: dict[tuple[str, int, int], Citation] = {}
    parts = []
    for src, s in best_sentences(sources, max_sentences, ratio):
        key = (src.chunk.article_id, s.start, s.end)
        if key not in cites:
            cites[key] = cite(len(cites) + 1, src, s)
        parts.append(f"{s.text} [{cites[key].n}]")
    return " ".join(parts), list(cites.values())
