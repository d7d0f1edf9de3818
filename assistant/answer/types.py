"""The data that crosses the answer modules: sentences, numbered sources, the support estimate,
citations and the answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from assistant.answer.boilerplate import dateline_end
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
    kinds: list[float] = field(default_factory=list)  # each sentence: holds the kind of answer asked for
    retrieval_score: float = 0.0  # fused retrieval score (RRF + recency)
    coverage: float = 0.0  # idf-weighted share of the question's terms in this chunk
    names_coverage: float = 0.0  # share of the question's names and numbers in this chunk (1: it has none)
    out_of_period: float = 0.0  # 1: the question names a period that holds articles, and this is outside it
    best_type: float = 0.0  # does its best sentence hold the kind of answer asked for
    # its best sentence's score parts: (meaning, shared words, answer kind, names and numbers added)
    best_parts: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    @property
    def best_score(self) -> float:
        return max(self.scores, default=0.0)

    @property
    def published_date(self) -> str:
        return ymd_iso(self.chunk.published)

    @property
    def best_index(self) -> int:
        """The index of its best-scoring sentence (the first when none is scored yet)."""
        return max(range(len(self.sentences)), key=lambda i: self.scores[i] if self.scores else 0)

    def window(self, size: int = 3) -> list[Sentence]:
        """The best-scoring sentence with its neighbours: what the LLM sees of this source."""
        if not self.sentences:
            return []
        best = self.best_index
        lo = max(0, min(best - (size - 1) // 2, len(self.sentences) - size))
        return self.sentences[lo : lo + size]


# A dateline is cut only from a sentence that starts this close to the top of its article (a headline
# and a byline may come first); further in, "US — China talks…" is a sentence, not a dateline.
LEDE_CHARS = 400


def make_sources(chunks: list[StoredChunk], retrieval_scores: list[float] | None = None) -> list[Source]:
    sources = []
    for n, chunk in enumerate(chunks, 1):
        sents = []
        for s, e in sentence_spans(chunk.text):
            if chunk.start + s < LEDE_CHARS:  # "WASHINGTON — " opening the story is not quoted
                s += dateline_end(chunk.text[s:e])
                while s < e and chunk.text[s].isspace():
                    s += 1
            if e <= s:
                continue
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


# What an answer is: "answer" (the sources support it), "closest" (the best passage is on the
# question's topic but too weak to count as an answer: shown, said to be only the closest), "none" (a
# refusal: nothing on the topic). ``refused`` is true for "closest" and "none".
AnswerKind = Literal["answer", "closest", "none"]


@dataclass
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    kind: AnswerKind = "answer"
    backend: str = "extractive"  # a settings.Backend value
    question: str = ""
    standalone_question: str = ""
    # How the standalone question was made: "as asked" (not a follow-up), "rule", "llm", or
    # "llm rejected" (the model's rewrite lost a name or number; the rule's was used).
    rewrite: str = "as asked"
    # Whether the text is the model's own (checked) answer, or quotes shown instead of it.
    from_model: bool = False
    # Beside a model's own answer: the verified quotes shown before it (their [n] in the same series as
    # the answer's citations); "" otherwise.
    quotes: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    context_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["answer"] = d.pop("text")
        return d
