"""Whether the sources an answerer gets support an answer at all: judged before any model runs,
because a small local model happily answers from its own memory."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.answer.models import SupportFeatures, SupportModel
from assistant.answer.types import Source, Support


def support_features(sources: list[Source]) -> SupportFeatures:
    """The features of the sources an answerer gets, in their order (the reranker's first first)."""
    given = [s for s in sources if s.sentences]
    if not given:
        return SupportFeatures()
    best = max(given, key=lambda s: s.best_score)
    dense, lex, typ, names = best.best_parts
    return SupportFeatures(
        score=best.best_score,
        coverage=best.coverage,
        dense=dense,
        lex=lex,
        type=typ,
        names=names,
        names_coverage=best.names_coverage,
        out_of_period=best.out_of_period,
        first_coverage=given[0].coverage,
    )


@dataclass(frozen=True)
class SupportGate:
    """The source with the best sentence decides (its sentence's parts and coverage), with the
    reranker's first source's coverage. Never the article's age: an old story answers as well as a new
    one."""

    model: SupportModel = field(default_factory=SupportModel)

    def support(self, sources: list[Source]) -> Support:
        """sources: the ones the answerer gets, the reranker's first first."""
        given = [s for s in sources if s.sentences]
        if not given:
            return Support(None, 0.0, 0.0, 0.0)
        best = max(given, key=lambda s: s.best_score)
        return Support(
            best.n, best.best_score, best.coverage, self.model.probability(support_features(given))
        )


def is_supported(sup: Support, min_probability: float) -> bool:
    return sup.n is not None and sup.probability >= min_probability


def why_refused(sup: Support, min_probability: float) -> str:
    """The refusal's note: the estimate and the deciding source's features."""
    why = (
        f"best source [{sup.n}]: sentence {sup.score:.2f}, coverage {sup.coverage:.2f}"
        if sup.n is not None
        else "no sources"
    )
    return f"support {sup.probability:.2f} below {min_probability} ({why})"
