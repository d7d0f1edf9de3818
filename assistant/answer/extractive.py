"""The answerer without an LLM: the best one or two sentences of the sources, verbatim, each followed by
its citation marker.

Of the sentences picked, one that holds the kind of answer asked for (a year, an amount, a name…)
comes first. When they come from articles of different dates, the newest comes first and each says
its date, so that a reader sees which is the latest word.
"""

from __future__ import annotations

from datetime import date

from assistant.answer.types import Citation, Sentence, Source, cite


def best_sentences(
    sources: list[Source], max_sentences: int = 2, ratio: float = 0.85
) -> list[tuple[Source, Sentence]]:
    """The highest-scoring sentences (at most max_sentences, each within ratio of the best; no sentence
    twice), in the order they are shown."""
    ranked = sorted(
        ((sc, i, j) for i, src in enumerate(sources) for j, sc in enumerate(src.scores)), key=lambda x: -x[0]
    )
    picked: list[tuple[float, int, int]] = []
    seen: set[str] = set()
    for sc, i, j in ranked:
        if len(picked) >= max_sentences or sc <= 0 or sc < ranked[0][0] * ratio:
            break
        s = sources[i].sentences[j]
        if s.text in seen:
            continue
        seen.add(s.text)
        picked.append((sc, i, j))
    dated = dates_differ([sources[i] for _, i, _ in picked])

    def order(p: tuple[float, int, int]) -> tuple[int, int, float]:
        sc, i, j = p
        kinds = sources[i].kinds
        holds = int(bool(kinds and kinds[j] > 0))
        return (-sources[i].chunk.published if dated else 0, -holds, -sc)

    return [(sources[i], sources[i].sentences[j]) for _, i, j in sorted(picked, key=order)]


def dates_differ(sources: list[Source]) -> bool:
    """Whether the quoted sources carry more than one publication date (undated ones aside)."""
    return len({s.chunk.published for s in sources} - {0}) > 1


def _day(iso: str) -> str:
    d = date.fromisoformat(iso)
    return f"{d.day} {d:%b %Y}"


def extractive_answer(
    sources: list[Source], max_sentences: int = 2, ratio: float = 0.85
) -> tuple[str, list[Citation]]:
    """(text, citations): the best sentences quoted verbatim, numbered in order; one number per sentence
    of an article."""
    picked = best_sentences(sources, max_sentences, ratio)
    dated = dates_differ([src for src, _ in picked])
    cites: dict[tuple[str, int, int], Citation] = {}
    parts = []
    for src, s in picked:
        key = (src.chunk.article_id, s.start, s.end)
        if key not in cites:
            cites[key] = cite(len(cites) + 1, src, s)
        when = f" ({_day(src.published_date)})" if dated and src.published_date else ""
        parts.append(f"{s.text} [{cites[key].n}]{when}")
    return " ".join(parts), list(cites.values())
