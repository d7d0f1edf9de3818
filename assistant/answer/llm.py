"""What the model reads (the numbered sources), and what is done with what it writes: a "no answer"
becomes quotes or a refusal, its claims are checked against the sources (``citations``), and an answer
that only repeats the question, or that no source supports, is replaced by the best quotes."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.answer.citations import resolve_citations, restates_question
from assistant.answer.extractive import extractive_answer
from assistant.answer.refusal import looks_like_refusal, refusal_text
from assistant.answer.types import Citation, Source


def format_sources(sources: list[Source], window: int = 3) -> str:
    """The numbered sources as the LLM sees them: a few sentences around the best one of each chunk.

    The best source ([1]) comes last, right before the question: a small model leans on what it read
    last, and with the best source first the 1.5B model often answered from a distractor."""
    blocks = []
    for src in sorted(sources, key=lambda s: -s.n):
        head = f"[{src.n}] {src.chunk.title}"
        if src.published_date:
            head += f" ({src.published_date})"
        body = " ".join(s.text for s in src.window(window))
        blocks.append(f"{head}\n{body}")
    return "\n\n".join(blocks)


@dataclass
class Checked:
    """A model's answer after checking: the text shown, its citations, and whether it is still the
    model's own answer (False: quotes were shown instead) or a refusal."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    from_model: bool = True
    refused: bool = False
    notes: list[str] = field(default_factory=list)


def check_model_answer(
    text: str,
    sources: list[Source],
    question: str,
    *,
    refuse_no_answer: bool,
    max_sentences: int = 2,
) -> Checked:
    """refuse_no_answer: whether a model's "no answer" refuses (else the best quotes are shown)."""
    if looks_like_refusal(text):
        if refuse_no_answer:
            return Checked(
                refusal_text(question),
                from_model=False,
                refused=True,
                notes=["the model found no answer in the sources"],
            )
        quoted, cites = extractive_answer(sources, max_sentences)
        return Checked(
            quoted,
            cites,
            from_model=False,
            notes=["the model found no answer, but the sources look like they hold one; showing quotes"],
        )
    resolved = resolve_citations(text, sources, question=question, drop_unsupported=True)
    if resolved.citations and not restates_question(resolved.text, question):
        return Checked(resolved.text, resolved.citations, notes=resolved.notes)
    quoted, cites = extractive_answer(sources, max_sentences)
    why = (
        "the model's answer only restates the question; showing quotes instead"
        if resolved.citations
        else "the model's answer could not be matched to the sources; showing quotes instead"
    )
    return Checked(quoted, cites, from_model=False, notes=[*resolved.notes, why])
