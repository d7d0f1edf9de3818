"""The data that crosses the answer modules: sentences, numbered sources, the support estimate,
citations and the answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.dates import ymd_iso
from assistant.sentences import sentence_spans
from assistant.store import StoredChunk
from assistant.textutil import content_terms


@dataclass(frozen=True)
class Sentence:
    start: int  # offsets into the article text
    end: int
    text: str
    terms: frozenset[str]


@dataclass
class Source:
    """One numbered source given to an answerer: a retrieved chunk, split into sentences."""

    n: int
    chunk: StoredChunk
    sentences: list[Sentence]
    scores: list[float] = field(default_factory=list)
    retrieval_score: float = 0.0  # fused retrieval score (RRF + recency)
    coverage: float = 0.0  # idf-weighted share of the question's terms in this chunk
    best_type: float = 0.0  # does its best sentence hold the kind of answer asked for
    # its best sentence's score parts: (meaning, shared words, answer kind)
    best_parts: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def best_score(self) -> float:
        return max(self.scores, default=0.0)

    @property
    def published_date(self) -> str:
        return ymd_iso(self.chunk.published)

    def window(self, size: int = 3) -> list[Sentence]:
        """The best-scoring sentence with its neighbours: what the LLM sees of this source."""
        if not self.sentences:
            return []
        best = max(range(len(self.sentences)), key=lambda i: self.scores[i] if self.scores else 0)
        lo = max(0, min(best - (size - 1) // 2, len(self.sentences) - size))
        return self.sentences[lo : lo + size]


def make_sources(chunks: list[StoredChunk], retrieval_scores: list[float] | None = None) -> list[Source]:
    sources = []
    for n, chunk in enumerate(chunks, 1):
        sents = []
        for s, e in sentence_spans(chunk.text):
            text = chunk.text[s:e]
            sents.append(Sentence(chunk.start + s, chunk.start + e, text, frozenset(content_terms(text))))
        sources.append(
            Source(n, chunk, sents, retrieval_score=retrieval_scores[n - 1] if retrieval_scores else 0.0)
        )
    return sources


@dataclass
class Support:
    """Whether the sources an answerer gets hold an answer: the source with the best sentence decides
    (answer/models.py, SupportModel)."""

    n: int | None  # the source that decided (None: no sources)
    score: float  # its best sentence's score
    coverage: float  # idf-weighted share of the question's terms found in it
    age_days: float  # how old its article is, relative to the newest news we could know
    probability: float  # calibrated: how likely the sources hold the answer


@dataclass(frozen=True)
class Citation:
    n: int
    article_id: str
    title: str
    url: str
    source: str
    published: str  # YYYY-MM-DD or ""
    quote: str  # == article.text[start:end]
    start: int
    end: int
    origin: str = ""  # the file the article came from, relative to its synced folder's parent


def cite(n: int, src: Source, s: Sentence) -> Citation:
    """Citation number n of sentence s of a source."""
    c = src.chunk
    return Citation(
        n, c.article_id, c.title, c.url, c.source, src.published_date, s.text, s.start, s.end, c.origin
    )


@dataclass
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    backend: str = "extractive"
    question: str = ""
    standalone_question: str = ""
    # How the standalone question was made: "as asked" (not a follow-up), "rule", "llm", or
    # "llm rejected" (the model's rewrite lost a name or number; the rule's was used).
    rewrite: str = "as asked"
    # Whether the text is the model's own (checked) answer, or quotes shown instead of it.
    from_model: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    context_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["answer"] = d.pop("text")
        return d
