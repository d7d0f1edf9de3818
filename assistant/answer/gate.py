"""Whether the sources an answerer gets support an answer at all: judged before any model runs,
because a small local model happily answers from its own memory."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from assistant.answer.models import SupportModel, age_days
from assistant.answer.types import Source, Support


@dataclass(frozen=True)
class SupportGate:
    """Each source is judged on its own best sentence, coverage and age (mixing the best sentence of one
    source with the coverage of another and the age of a third let stale or partial matches through);
    the most likely source decides, corroborated by the next one's own estimate."""

    model: SupportModel = field(default_factory=SupportModel)

    def judge(self, src: Source, reference: date | None = None) -> Support:
        """One source's own estimate: its best sentence, its coverage and its age."""
        age = age_days(src.chunk, reference)
        return Support(
            src.n,
            src.best_score,
            src.coverage,
            age,
            self.model.probability(src.best_score, src.coverage, age),
        )

    def support(self, sources: list[Source], reference: date | None = None) -> Support:
        """reference: the newest date the answer could come from (today, or the newest indexed article)."""
        judged = sorted(
            (self.judge(src, reference) for src in sources if src.sentences), key=lambda j: -j.probability
        )
        if not judged:
            return Support(None, 0.0, 0.0, 0.0, 0.0)
        second = judged[1].probability if len(judged) > 1 else 0.0
        return replace(
            judged[0], probability=self.model.combined(judged[0].probability, second), second=second
        )


def is_supported(sup: Support, min_probability: float) -> bool:
    return sup.n is not None and sup.probability >= min_probability


def why_refused(sup: Support, min_probability: float) -> str:
    """The refusal's note: the estimate, the deciding source's features and the next source's own."""
    why = (
        f"best source [{sup.n}]: sentence {sup.score:.2f}, coverage {sup.coverage:.2f}, "
        f"age {sup.age_days:.0f} days; next source {sup.second:.2f}"
        if sup.n is not None
        else "no sources"
    )
    return f"support {sup.probability:.2f} below {min_probability} ({why})"
