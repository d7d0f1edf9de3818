"""Every sentence of the candidate chunks scored against the question (``SentenceModel``): meaning
(embeddings of the most promising few), shared words (names and numbers count double), whether it holds
the kind of answer asked for, the names and numbers it adds, its neighbours' shared words, and whether it
opens its article; and each chunk's idf-weighted coverage of the question.

Some sentences are never the answer, whatever they score: bylines, datelines, credits and boilerplate
(``boilerplate.is_boilerplate``), and sentences that only restate the question (they add no name or
number, no word but one, and not the kind of answer asked for). They score 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assistant.answer.answertype import holds_kind, names_and_numbers
from assistant.answer.boilerplate import is_boilerplate
from assistant.answer.models import SentenceModel
from assistant.answer.types import Source
from assistant.textutil import content_terms, salient_terms


@dataclass
class SentenceFeatures:
    """One candidate sentence's features: sources[i].sentences[j]. dense is None where it was not
    computed (only the most promising sentences are embedded)."""

    i: int
    j: int
    lex: float
    typ: float
    names: float = 0.0
    neighbour: float = 0.0
    lead: float = 0.0
    dense: float | None = None
    never: bool = False  # boilerplate, or only restates the question: never the answer

    def cheap(self, model: SentenceModel) -> float:
        return model.cheap(self.lex, self.typ, self.names, self.neighbour, self.lead)


class SentenceScorer:
    def __init__(
        self,
        embedder: Any,
        idf: Callable[[str], float] | None = None,
        model: SentenceModel | None = None,
        max_embedded: int = 12,
    ) -> None:
        self.embedder = embedder
        self.idf = idf or (lambda t: 1.0)
        self.max_embedded = max_embedded
        self.model = model or SentenceModel()

    def features(
        self, question: str, sources: list[Source], context: str = "", *, embed: int | None = None
    ) -> list[SentenceFeatures]:
        """Every sentence's features, and every source's coverage of the question. Embeddings are
        computed for the sentences the cheap features rank first: max_embedded of them, or embed
        (fitting embeds more, so that other weights' choice can be replayed). context: words of the
        question that came from the conversation (they count half)."""
        q_terms = set(content_terms(question))
        sal = salient_terms(question)
        own = question.replace(context, "") if context else question
        added = set(content_terms(context)) - set(content_terms(own))
        weights = {t: (2.0 if t in sal else 1.0) * (0.5 if t in added else 1.0) for t in q_terms}
        total = sum(weights.values()) or 1.0
        asked = names_and_numbers(" " + question)
        feats = []
        for i, src in enumerate(sources):
            lex = [sum(weights[t] for t in q_terms & s.terms) / total for s in src.sentences]
            for j, s in enumerate(src.sentences):
                typ = holds_kind(question, s.text, q_terms)
                names = min(len(names_and_numbers(s.text) - asked), 5) / 5
                restates = not typ and not names and len(s.terms - q_terms) <= 1
                feats.append(
                    SentenceFeatures(
                        i,
                        j,
                        lex[j],
                        typ,
                        names=names,
                        neighbour=max(lex[j - 1] if j else 0.0, lex[j + 1] if j + 1 < len(lex) else 0.0),
                        lead=float(src.chunk.start == 0 and j == 0),
                        never=restates or is_boilerplate(s.text),
                    )
                )
        if feats:
            chosen = self.worth_embedding(feats, embed or self.max_embedded)
            vecs = self.embedder.encode([sources[f.i].sentences[f.j].text for f in chosen])
            qv = self.embedder.embed_query(question)
            for f, v in zip(chosen, vecs):
                f.dense = max(0.0, sum(a * b for a, b in zip(qv, v)))

        def weighted_idf(t: str) -> float:
            return self.idf(t) * (0.5 if t in added else 1.0)

        idf_total = sum(weighted_idf(t) for t in q_terms) or 1.0
        named = sal & q_terms
        for src in sources:
            terms = set().union(*(s.terms for s in src.sentences)) | set(content_terms(src.chunk.title))
            src.coverage = sum(weighted_idf(t) for t in q_terms & terms) / idf_total
            src.names_coverage = len(named & terms) / len(named) if named else 1.0
        return feats

    def worth_embedding(self, feats: list[SentenceFeatures], n: int) -> list[SentenceFeatures]:
        """The n sentences the cheap features rank first (never one that may not be the answer before
        one that may): those whose meaning is computed."""
        return sorted(feats, key=lambda f: (f.never, -f.cheap(self.model)))[:n]

    def apply(self, sources: list[Source], feats: list[SentenceFeatures], top_embedded: bool = False) -> None:
        """Sets every source's sentence scores and whether its best sentence holds the kind of answer
        asked for. top_embedded: use the dense feature only for the sentences the product would embed
        (replaying features computed with a larger embed)."""
        keep_dense: set[tuple[int, int]] | None = None
        if top_embedded:
            keep_dense = {(f.i, f.j) for f in self.worth_embedding(feats, self.max_embedded)}
        for src in sources:
            src.scores = [0.0] * len(src.sentences)
            src.kinds = [0.0] * len(src.sentences)
        best_of: dict[int, tuple[float, tuple[float, float, float, float]]] = {}
        for f in feats:
            dense = f.dense or 0.0
            if keep_dense is not None and (f.i, f.j) not in keep_dense:
                dense = 0.0
            score = 0.0 if f.never else self.model.score(dense, f.cheap(self.model))
            sources[f.i].scores[f.j] = score
            sources[f.i].kinds[f.j] = 0.0 if f.never else f.typ
            parts = (0.0, 0.0, 0.0, 0.0) if f.never else (dense, f.lex, f.typ, f.names)
            if f.i not in best_of or score > best_of[f.i][0]:
                best_of[f.i] = (score, parts)
        for i, (_sc, parts) in best_of.items():
            sources[i].best_type = parts[2]
            sources[i].best_parts = parts

    def score(self, question: str, sources: list[Source], context: str = "") -> None:
        """Sets every source's sentence scores, its coverage of the question and whether its best
        sentence holds the kind of answer asked for."""
        self.apply(sources, self.features(question, sources, context))
