"""The small fitted models of answering and the age feature the reranker uses:

- ``SentenceModel`` scores each sentence of the candidates (which one states the answer);
- ``RerankModel`` orders the retrieved chunks (which holds the answer);
- ``SupportModel`` estimates whether the sources an answerer gets hold the answer at all;
- ``Fitted`` bundles them with the support threshold chosen by a rule.

Their weights are data, not code: ``assistant/answer/fitted.json``, written by ``bench/fit_models.py``
(``assistant/answer/fit.py`` does the fitting) with the hash of the split they were fitted on and the
date. The defaults below are neutral starting points, not fitted values.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from assistant.answer.types import Source
from assistant.dates import from_ymd
from assistant.store import StoredChunk

# How old an article without a date is taken to be.
UNKNOWN_AGE_DAYS = 7.0


def age_days(chunk: StoredChunk, reference: date | None) -> float:
    """How many days before the reference date (today, or the newest news we could know) the chunk's
    article was published."""
    if not chunk.published or reference is None:
        return UNKNOWN_AGE_DAYS
    return float((reference - from_ymd(chunk.published)).days)


def age_feature(days: float, *, timely: bool) -> float:
    """Age as the reranker uses it: in months, from 0 (today or later) up to 2 (60 days or more); 0
    for every article when the question does not ask about the present (``timely``), so that an
    article's age never counts against it unless the question says it should."""
    return min(max(days, 0.0), 60.0) / 30 if timely else 0.0


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


@dataclass(frozen=True)
class SupportFeatures:
    """What the support estimate reads of the sources an answerer gets: the one with the best sentence
    decides, with the reranker's first source's coverage. An article's age is not among them: the
    estimate judges whether a passage answers, and a story from last year answers as well as
    yesterday's (age as a feature made every question about an older article a refusal).

    Features that count agreeing sources (a second source naming the same new thing; the share of
    sources holding the kind of answer asked for) were measured too: out-of-fold on the dev split they
    added 0.014 to answer_contains (within noise), and they refuse a corpus with one article on a story
    (a person's own folder, the seed article), so they went."""

    score: float = 0.0  # the deciding source's best sentence score
    coverage: float = 0.0  # its idf-weighted coverage of the question
    dense: float = 0.0  # its best sentence's parts: meaning, shared words, answer kind
    lex: float = 0.0
    type: float = 0.0
    names: float = 0.0  # the names and numbers its best sentence adds to the question's (0..1)
    names_coverage: float = 0.0  # the share of the question's names and numbers it holds
    # 1 when the question names a period ("this week", "in March 2023") that holds articles and this
    # source lies outside it: what the question says, not how old the article is (a question naming no
    # period gets 0 for every article, whatever its age).
    out_of_period: float = 0.0
    first_coverage: float = 0.0  # the reranker's first source's coverage


@dataclass(frozen=True)
class SupportModel:
    """Whether the sources an answerer gets hold the answer: a logistic model on ``SupportFeatures``,
    fitted on questions asked normally (yes) and the same questions with every article holding the
    answer removed (no)."""

    w_score: float = 3.0
    w_coverage: float = 4.0
    w_dense: float = 0.0
    w_lex: float = 0.0
    w_type: float = 0.0
    w_names: float = 0.0
    w_names_coverage: float = 0.0
    w_out_of_period: float = 0.0
    w_first_coverage: float = 0.0
    bias: float = -4.0

    def probability(self, f: SupportFeatures) -> float:
        z = sum(getattr(self, f"w_{name}") * value for name, value in asdict(f).items())
        return sigmoid(z + self.bias)


@dataclass(frozen=True)
class RerankModel:
    """Orders retrieved chunks by how likely they hold the answer: the fused retrieval score (relative to
    the best candidate), the best sentence's score, the chunk's idf-weighted coverage of the question,
    whether its best sentence holds the kind of answer asked for, and how old its article is, only
    when the question asks about the present ("recently", "latest", "this week"). A listwise logistic model ("which of these chunks contains the
    answer", a softmax over each question's candidates)."""

    w_retrieval: float = 1.5
    w_sentence: float = 5.0
    w_coverage: float = 6.0
    w_type: float = 1.0
    w_age: float = -1.5  # on age_feature (0 for a question that does not ask about the present)

    @staticmethod
    def features(
        sources: list[Source], reference: date | None = None, timely: bool = False
    ) -> list[tuple[float, ...]]:
        """Each source's features, in the order of the weights (what bench/fit_models.py fits on)."""
        top = max((s.retrieval_score for s in sources), default=0.0) or 1.0
        return [
            (
                s.retrieval_score / top,
                s.best_score,
                s.coverage,
                s.best_type,
                age_feature(age_days(s.chunk, reference), timely=timely),
            )
            for s in sources
        ]

    def order(
        self, sources: list[Source], reference: date | None = None, timely: bool = False
    ) -> list[Source]:
        """reference: the date ages count from (today, or the newest news we could know); timely: the
        question asks about the present (else age does not count)."""
        w = (self.w_retrieval, self.w_sentence, self.w_coverage, self.w_type, self.w_age)
        key = {
            id(s): sum(a * b for a, b in zip(w, f))
            for s, f in zip(sources, self.features(sources, reference, timely))
        }
        ranked = sorted(sources, key=lambda s: -key[id(s)])
        for n, s in enumerate(ranked, 1):
            s.n = n
        return ranked


@dataclass(frozen=True)
class SentenceModel:
    """A sentence's score: its similarity of meaning to the question (packaged embedding model), the
    share of the question's words it holds (names and numbers count double), whether it holds the kind
    of answer asked for, how many names and numbers it adds to the question's, how many of the
    question's words its neighbours hold (a story often names its subject a sentence before the
    answer) and whether it opens its article. (How early its chunk came in the hybrid search was a
    feature too: out-of-fold it cost 0.018 of ans@1 and added nothing to answers, so it went.) Only the
    ratios of the weights are fitted (a conditional logit over each question's candidate sentences);
    they are scaled so that the first three sum to 1 and a score stays near [0, 1]."""

    w_dense: float = 0.40
    w_lex: float = 0.35
    w_type: float = 0.25
    w_names: float = 0.0  # on min(new names and numbers, 5) / 5
    w_neighbour: float = 0.0  # on the best shared-words share of the sentences either side
    w_lead: float = 0.0  # 1 for an article's first sentence

    def score(self, dense: float, cheap: float) -> float:
        return self.w_dense * dense + cheap

    def cheap(self, lex: float, typ: float, names: float, neighbour: float, lead: float) -> float:
        """The score without its dense part: which sentences are worth embedding."""
        return (
            self.w_lex * lex
            + self.w_type * typ
            + self.w_names * names
            + self.w_neighbour * neighbour
            + self.w_lead * lead
        )


@dataclass(frozen=True)
class Fitted:
    """Everything answering takes from data, as one unit: the three models and the support threshold
    (chosen by a rule: refuse ``refusal_target`` of the training questions made unanswerable)."""

    sentence: SentenceModel = field(default_factory=SentenceModel)
    rerank: RerankModel = field(default_factory=RerankModel)
    support: SupportModel = field(default_factory=SupportModel)
    min_support: float = 0.42
    # Where the weights came from: the split's hash, its questions, the date, the rule's target.
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Fitted:
        return cls(
            sentence=SentenceModel(**d.get("sentence", {})),
            rerank=RerankModel(**d.get("rerank", {})),
            support=SupportModel(**d.get("support", {})),
            min_support=float(d.get("min_support", 0.42)),
            provenance=dict(d.get("provenance", {})),
        )


PACKAGED_WEIGHTS = Path(__file__).with_name("fitted.json")


def load_fitted(path: Path | None = None) -> Fitted:
    """The fitted weights the product answers with: the packaged file, or another one (settings
    ``answer.weights_file``). A missing or unreadable file is an error naming it, not a silent default."""
    path = path or PACKAGED_WEIGHTS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return Fitted.from_dict(data)
    except (OSError, ValueError, TypeError, AttributeError) as e:
        raise ValueError(f"cannot read the fitted weights {path}: {e}") from None
