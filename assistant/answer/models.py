"""The two small fitted models of answering and the age feature both use:

- ``RerankModel`` orders the retrieved chunks (which holds the answer);
- ``SupportModel`` estimates whether the sources an answerer gets hold the answer at all.

Both were fitted on the RealTimeQA dev split by ``bench/fit_models.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from assistant.answer.types import Source
from assistant.dates import from_ymd
from assistant.index import StoredChunk

# How old an article without a date is taken to be.
UNKNOWN_AGE_DAYS = 7.0


def age_days(chunk: StoredChunk, reference: date | None) -> float:
    """How many days before the reference date (today, or the newest news we could know) the chunk's
    article was published."""
    if not chunk.published or reference is None:
        return UNKNOWN_AGE_DAYS
    return float((reference - from_ymd(chunk.published)).days)


def age_feature(days: float) -> float:
    """Age as the two models use it: in months, from 0 (today or later) up to 2 (60 days or more)."""
    return min(max(days, 0.0), 60.0) / 30


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def log_odds(p: float) -> float:
    """Log-odds of a probability, clipped so that 0 and 1 stay finite: how the combined support estimate
    (and bench/fit_models.py, which fits it) takes the best source's probability."""
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


@dataclass(frozen=True)
class SupportModel:
    """Two small logistic models (answerable questions vs the same questions with every article holding
    the answer removed):

    - `probability`: one source's own, from its best sentence's score, its coverage and its age;
    - `combined`: the sources', from the most likely source's probability (as log-odds) and the next
      most likely one's. A second source that also looks likely is more evidence: news is reported by
      several outlets, while a question whose answer is not indexed tends to find one near miss."""

    w_score: float = 2.94
    w_coverage: float = 4.24
    w_age: float = -2.11  # on age_feature: per 30 days, capped at 60 days
    bias: float = -3.91
    w_best: float = 1.14  # on the best source's log-odds
    w_second: float = 1.17  # on the second source's probability
    bias_combined: float = -0.56

    def probability(self, score: float, coverage: float, age_days: float) -> float:
        z = self.w_score * score + self.w_coverage * coverage + self.w_age * age_feature(age_days)
        return sigmoid(z + self.bias)

    def combined(self, best: float, second: float) -> float:
        return sigmoid(self.w_best * log_odds(best) + self.w_second * second + self.bias_combined)


@dataclass(frozen=True)
class RerankModel:
    """Orders retrieved chunks by how likely they hold the answer: the fused retrieval score (relative to
    the best candidate), the best sentence's score, the chunk's idf-weighted coverage of the question,
    whether its best sentence holds the kind of answer asked for, and how old its article is (news
    questions ask about the latest news). A listwise logistic model ("which of these chunks contains the
    answer", a softmax over each question's candidates)."""

    w_retrieval: float = 1.59
    w_sentence: float = 5.49
    w_coverage: float = 6.28
    w_type: float = 1.18
    w_age: float = -1.59  # on age_feature

    def order(self, sources: list[Source], reference: date | None = None) -> list[Source]:
        """reference: the date ages count from (today, or the newest news we could know)."""
        top = max((s.retrieval_score for s in sources), default=0.0) or 1.0
        key = {
            id(s): self.w_retrieval * s.retrieval_score / top
            + self.w_sentence * s.best_score
            + self.w_coverage * s.coverage
            + self.w_type * s.best_type
            + self.w_age * age_feature(age_days(s.chunk, reference))
            for s in sources
        }
        ranked = sorted(sources, key=lambda s: -key[id(s)])
        for n, s in enumerate(ranked, 1):
            s.n = n
        return ranked
