"""Retrieved chunks → the numbered sources an answerer gets, and whether they support an answer at all.

Every sentence of the candidates is scored against the question (``answer.scoring``), the chunks are
reordered by the fitted reranker (article age counts only when the question asks about the present:
the retriever marks such a question's chunks ``timely``), and the support estimate judges the best k
(``answer.gate``; never by age).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from assistant.answer.gate import SupportGate
from assistant.answer.models import RerankModel
from assistant.answer.scoring import SentenceScorer
from assistant.answer.types import Source, Support, make_sources
from assistant.ask.retrieve import document_to_chunk
from assistant.dates import from_ymd


def timely_of(docs: list[Any]) -> bool:
    """Whether the retriever read the question as asking about the present (age then ranks)."""
    return any(d.metadata.get("timely") for d in docs)


def sources_of(docs: list[Any]) -> list[Source]:
    """The retriever's Documents as numbered sources, with what the retriever knew of each."""
    sources = make_sources([document_to_chunk(d) for d in docs], [d.metadata["score"] for d in docs])
    for src, d in zip(sources, docs):
        src.out_of_period = float(d.metadata.get("in_period") is False)
    return sources


@dataclass(frozen=True)
class Ranker:
    scorer: SentenceScorer
    reranker: RerankModel
    gate: SupportGate
    k: int  # sources an answerer gets (settings: retrieval.k)
    newest: Callable[[], int]  # the newest indexed article's day (YYYYMMDD, 0 when none)

    def reference_date(self, today: date | None = None) -> date:
        """The date articles' ages count from: today, or the newest indexed article when that is older
        (an archive's "latest" is its own latest news, not the calendar's)."""
        today = today or date.today()
        newest = self.newest()
        return min(today, from_ymd(newest)) if newest else today

    def rank(
        self,
        question: str,
        docs: list[Any],
        today: date | None = None,
        k: int | None = None,
        context: str = "",
    ) -> tuple[list[Source], Support]:
        """docs: the retriever's Documents. context: the words of the question that came from the
        conversation (they count half). Returns the best k sources (numbered) and the support estimate
        of the best ``self.k``."""
        sources = sources_of(docs)
        self.scorer.score(question, sources, context)
        ranked = self.reranker.order(sources, self.reference_date(today), timely_of(docs))
        support = self.gate.support(ranked[: self.k])
        return ranked[: k or self.k], support
