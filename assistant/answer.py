"""Ranked chunks → Answer(text, citations, refused).

Everything a user sees as a quote is ``article.text[start:end]`` for offsets we computed from the stored
chunks; text a model writes is only ever matched against those spans, never shown as a quote.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any

from assistant.answertype import holds_kind
from assistant.sentences import sentence_spans
from assistant.index import StoredChunk
from assistant.textutil import content_terms, salient_terms

MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
REFUSAL_PATTERNS = re.compile(
    r"don'?t (?:say|mention|contain|provide|specify)|do(?:es)? not (?:say|mention|contain|provide|specify|state)"
    r"|not (?:mentioned|specified|stated|provided|included)|no (?:information|mention)"
    r"|(?:cannot|can'?t|unable to) (?:answer|determine|find)",
    re.I,
)


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


@dataclass
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    backend: str = "extractive"
    question: str = ""
    standalone_question: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    context_tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["answer"] = d.pop("text")
        return d


def ymd_to_date(ymd: int) -> date:
    """A chunk's `published` (YYYYMMDD as an int, non-zero) as a date."""
    return date(ymd // 10000, ymd // 100 % 100, ymd % 100)


# How old an article without a date is taken to be.
UNKNOWN_AGE_DAYS = 7.0


def age_days(chunk: StoredChunk, reference: date | None) -> float:
    """How many days before the reference date (today, or the newest news we could know) the chunk's
    article was published."""
    if not chunk.published or reference is None:
        return UNKNOWN_AGE_DAYS
    return float((reference - ymd_to_date(chunk.published)).days)


def age_feature(days: float) -> float:
    """Age as the two models use it: in months, from 0 (today or later) up to 2 (60 days or more)."""
    return min(max(days, 0.0), 60.0) / 30


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

    @property
    def best_score(self) -> float:
        return max(self.scores, default=0.0)

    @property
    def published_date(self) -> str:
        p = self.chunk.published
        return f"{p // 10000:04d}-{p // 100 % 100:02d}-{p % 100:02d}" if p else ""

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
    """Whether the sources hold an answer, judged source by source on the ones the answerer gets: each
    source's own best sentence, coverage and age give it a probability; the most likely source decides,
    and a second source that also looks likely corroborates it. (Mixing the best sentence of one source
    with the coverage of another and the age of a third let stale or partial matches through and
    refused fresh ones.)"""

    n: int | None  # the source that decided (None: no sources)
    score: float  # its best sentence's score
    coverage: float  # idf-weighted share of the question's terms found in it
    age_days: float  # how old its article is, relative to the newest news we could know
    probability: float  # calibrated: how likely the sources hold the answer
    second: float = 0.0  # the next most likely source's own probability (0: none)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def log_odds(p: float) -> float:
    """Log-odds of a probability, clipped so that 0 and 1 stay finite: how the combined support estimate
    (and bench/fit_models.py, which fits it) takes the best source's probability."""
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


@dataclass(frozen=True)
class SupportModel:
    """Two small logistic models, fitted on the RealTimeQA dev split (answerable questions vs the same
    questions with every article holding the answer removed), see bench/fit_models.py:

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
        return _sigmoid(z + self.bias)

    def combined(self, best: float, second: float) -> float:
        return _sigmoid(self.w_best * log_odds(best) + self.w_second * second + self.bias_combined)


class SentenceScorer:
    """Scores every sentence of the sources against the question: meaning (embeddings), shared
    words (weighted, names and numbers count double) and whether it holds the kind of answer asked for.
    Then estimates whether the reranker's best source supports an answer at all (`support`)."""

    def __init__(
        self,
        embedder: Any,
        idf: Callable[[str], float] | None = None,
        w_dense: float = 0.40,
        w_lex: float = 0.35,
        w_type: float = 0.25,
        max_embedded: int = 12,
        model: SupportModel | None = None,
    ) -> None:
        self.embedder = embedder
        self.idf = idf or (lambda t: 1.0)
        self.max_embedded = max_embedded
        self.w = (w_dense, w_lex, w_type)
        self.model = model or SupportModel()

    def score(self, question: str, sources: list[Source]) -> None:
        """Sets every source's sentence scores, its coverage of the question and whether its best
        sentence holds the kind of answer asked for."""
        q_terms = set(content_terms(question))
        sal = salient_terms(question)
        weights = {t: (2.0 if t in sal else 1.0) for t in q_terms}
        total = sum(weights.values()) or 1.0
        flat = [(i, j, s) for i, src in enumerate(sources) for j, s in enumerate(src.sentences)]
        for src in sources:
            src.scores = [0.0] * len(src.sentences)
        if not flat:
            return
        # Cheap features for every sentence; embeddings only for the most promising few.
        cheap = []
        for i, _j, s in flat:
            lex = sum(weights[t] for t in q_terms & s.terms) / total
            typ = holds_kind(question, s.text, q_terms)
            cheap.append((lex, typ, 0.03 / (1 + i)))
        order = sorted(
            range(len(flat)), key=lambda x: -(self.w[1] * cheap[x][0] + self.w[2] * cheap[x][1] + cheap[x][2])
        )
        dense_for = order[: self.max_embedded]
        vecs = self.embedder.encode([flat[x][2].text for x in dense_for])
        qv = self.embedder.embed_query(question)
        dense_of = {x: max(0.0, sum(a * b for a, b in zip(qv, v))) for x, v in zip(dense_for, vecs)}
        best_of: dict[int, tuple[float, float]] = {}
        for x, (i, j, _s) in enumerate(flat):
            lex, typ, rank_prior = cheap[x]
            score = self.w[0] * dense_of.get(x, 0.0) + self.w[1] * lex + self.w[2] * typ + rank_prior
            sources[i].scores[j] = score
            if i not in best_of or score > best_of[i][0]:
                best_of[i] = (score, typ)
        for i, (_sc, typ) in best_of.items():
            sources[i].best_type = typ
        idf_total = sum(self.idf(t) for t in q_terms) or 1.0
        for src in sources:
            terms = set().union(*(s.terms for s in src.sentences)) | set(content_terms(src.chunk.title))
            src.coverage = sum(self.idf(t) for t in q_terms & terms) / idf_total

    def support(self, sources: list[Source], reference: date | None = None) -> Support:
        """How likely the sources the answerer gets hold the answer: the most likely one's estimate,
        corroborated by the next one's. reference: the newest date the answer could come from (today,
        or the newest indexed article)."""
        judged = sorted(
            (self.judge(src, reference) for src in sources if src.sentences), key=lambda j: -j.probability
        )
        if not judged:
            return Support(None, 0.0, 0.0, 0.0, 0.0)
        second = judged[1].probability if len(judged) > 1 else 0.0
        return replace(
            judged[0], probability=self.model.combined(judged[0].probability, second), second=second
        )

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


@dataclass(frozen=True)
class RerankModel:
    """Orders retrieved chunks by how likely they hold the answer: the fused retrieval score (relative to
    the best candidate), the best sentence's score, the chunk's idf-weighted coverage of the question,
    whether its best sentence holds the kind of answer asked for, and how old its article is (news
    questions ask about the latest news; without it last year's Screen Actors Guild Awards story
    outranked this year's). A listwise logistic model ("which of these chunks contains the answer", a
    softmax over each question's candidates) fitted on the RealTimeQA dev split, see bench/fit_models.py."""

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


def is_supported(sup: Support, min_probability: float) -> bool:
    return sup.n is not None and sup.probability >= min_probability


def extractive_text(question: str, sources: list[Source], max_sentences: int = 2, ratio: float = 0.85) -> str:
    """The best one or two sentences, verbatim, each followed by its source marker."""
    ranked = sorted(
        ((sc, src.n, j) for src in sources for j, sc in enumerate(src.scores)), key=lambda x: -x[0]
    )
    if not ranked:
        return ""
    picked: list[tuple[int, int]] = []
    seen_text: set[str] = set()
    for sc, n, j in ranked:
        if len(picked) >= max_sentences or sc < ranked[0][0] * ratio:
            break
        text = sources[n - 1].sentences[j].text
        if text in seen_text:
            continue
        seen_text.add(text)
        picked.append((n, j))
    return " ".join(f"{sources[n - 1].sentences[j].text} [{n}]" for n, j in picked)


def refusal_text(question: str) -> str:
    q = question.strip().rstrip("?")
    return f"The indexed articles don't say. Nothing in them answers “{q}?”"


def split_claims(text: str) -> list[tuple[str, list[int]]]:
    """Answer text → (sentence without markers, marker numbers in order) pairs."""
    out: list[tuple[str, list[int]]] = []
    # "Claim. [1] Next claim" → "Claim [1]. Next claim": markers after the full stop belong to the claim before.
    text = re.sub(r"([.!?…][\"”’)]*)((?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+)", r"\2\1", text)
    for s, e in sentence_spans(text):
        piece = text[s:e]
        nums = [int(x) for m in MARKER.finditer(piece) for x in re.split(r"\s*[,;]\s*", m.group(1))]
        claim = MARKER.sub("", piece).strip()
        if not claim and out:  # a sentence that is only markers belongs to the one before
            out[-1][1].extend(nums)
            continue
        out.append((claim, nums))
    return out


def _overlap(claim_terms: set[str], sent: Sentence) -> float:
    if not claim_terms or not sent.terms:
        return 0.0
    shared = claim_terms & sent.terms
    return len(shared) / min(len(claim_terms), len(sent.terms))


def _attach(
    claim_terms: set[str], question_terms: set[str], sources: list[Source], attach_overlap: float
) -> tuple[Source, Sentence] | None:
    """The sentence that supports a claim written without a (valid) marker, if one clearly does. What the
    claim adds to the question is its content: most of those words (and every one, when there is only one)
    must occur in one source sentence. A claim that only restates the question needs a high overlap."""
    new = claim_terms - question_terms
    best: tuple[float, Source, Sentence] | None = None
    for src in sources:
        for s in src.sentences:
            ov = _overlap(claim_terms, s)
            if new:
                held = len(new & s.terms) / len(new)
                if held < 0.6 or (len(new) == 1 and held < 1):
                    continue
                key = held + 0.5 * ov
            elif ov >= attach_overlap:
                key = ov
            else:
                continue
            if best is None or key > best[0]:
                best = (key, src, s)
    return (best[1], best[2]) if best else None


def resolve_citations(
    text: str,
    sources: list[Source],
    min_overlap: float = 0.34,
    attach_overlap: float = 0.6,
    question: str = "",
    drop_unsupported: bool = False,
) -> tuple[str, list[Citation], list[str]]:
    """Maps every [n] to the sentence of source n that supports its claim; renumbers markers 1..m in
    order of appearance; drops markers that point to no source or to a source that does not support the
    claim (moving them to the source that does, when one does). A claim without a marker gets one when a
    source sentence holds most of what it adds to the question. With drop_unsupported, claims no source
    supports are left out (when some claim is supported). Returns (text, citations, notes)."""
    notes: list[str] = []
    q_terms = set(content_terms(question))
    cites: dict[tuple[str, int, int], Citation] = {}
    pieces: list[str] = []
    unsupported: list[int] = []
    for claim, nums in split_claims(text):
        terms = set(content_terms(claim))
        chosen: list[tuple[Source, Sentence]] = []
        for n in dict.fromkeys(nums):
            if not 1 <= n <= len(sources):
                notes.append(f"marker [{n}] points to no source; dropped")
                continue
            src = sources[n - 1]
            best = max(src.sentences, key=lambda s: _overlap(terms, s), default=None)
            if best is not None and _overlap(terms, best) >= min_overlap:
                chosen.append((src, best))
            else:
                notes.append(f"source [{n}] does not support “{claim[:60]}”; marker dropped")
        if not chosen and terms:
            found = _attach(terms, q_terms, sources, attach_overlap)
            if found:
                chosen.append(found)
        markers = []
        for src, s in chosen:
            key = (src.chunk.article_id, s.start, s.end)
            if key not in cites:
                cites[key] = Citation(
                    n=len(cites) + 1,
                    article_id=src.chunk.article_id,
                    title=src.chunk.title,
                    url=src.chunk.url,
                    source=src.chunk.source,
                    published=src.published_date,
                    quote=s.text,
                    start=s.start,
                    end=s.end,
                )
            mark = f"[{cites[key].n}]"
            if mark not in markers:
                markers.append(mark)
        if markers:
            pieces.append(f"{claim} {''.join(markers)}")
        else:
            pieces.append(claim)
            unsupported.append(len(pieces) - 1)
    if drop_unsupported and cites and unsupported:
        for i in unsupported:
            if pieces[i]:
                notes.append(f"left out “{pieces[i][:60]}”: no source supports it")
                pieces[i] = ""
    return " ".join(p for p in pieces if p), list(cites.values()), notes


def looks_like_refusal(text: str) -> bool:
    return bool(REFUSAL_PATTERNS.search(text))


def restates_question(text: str, question: str) -> bool:
    """True when no sentence of an answer says anything the question does not ("Rowling." for "Which
    author did Rowling get in a row with?"): the model gave no answer."""
    q_terms = set(content_terms(question))
    claims = [set(content_terms(claim)) for claim, _ in split_claims(text)]
    return bool(claims) and all(terms <= q_terms for terms in claims)


def format_sources(sources: list[Source], window: int = 3) -> str:
    """The numbered sources as the LLM sees them: a few sentences around the best one of each chunk.

    The best source ([1]) comes last, right before the question: a small model leans on what it read
    last, and with the best source first the 1.5B model often answered from a distractor ("McDonald's"
    for Subway, "Kevin Durant" for LeBron James, both from the last source)."""
    blocks = []
    for src in sorted(sources, key=lambda s: -s.n):
        head = f"[{src.n}] {src.chunk.title}"
        if src.published_date:
            head += f" ({src.published_date})"
        body = " ".join(s.text for s in src.window(window))
        blocks.append(f"{head}\n{body}")
    return "\n\n".join(blocks)
