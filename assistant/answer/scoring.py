"""Every sentence of the candidate chunks scored against the question: meaning (embeddings of the most
promising few), shared words (names and numbers count double) and whether it holds the kind of answer
asked for; and each chunk's idf-weighted coverage of the question."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistant.answer.types import Source
from assistant.answertype import holds_kind
from assistant.textutil import content_terms, salient_terms


class SentenceScorer:
    def __init__(
        self,
        embedder: Any,
        idf: Callable[[str], float] | None = None,
        w_dense: float = 0.40,
        w_lex: float = 0.35,
        w_type: float = 0.25,
        max_embedded: int = 12,
    ) -> None:
        self.embedder = embedder
        self.idf = idf or (lambda t: 1.0)
        self.max_embedded = max_embedded
        self.w = (w_dense, w_lex, w_type)

    def score(self, question: str, sources: list[Source], context: str = "") -> None:
        """Sets every source's sentence scores, its coverage of the question and whether its best
        sentence holds the kind of answer asked for. context: words of the question that came from
        the conversation, not from the user (they count half)."""
        q_terms = set(content_terms(question))
        sal = salient_terms(question)
        added = set(content_terms(context)) - set(content_terms(question.replace(f"({context})", "")))
        weights = {t: (2.0 if t in sal else 1.0) * (0.5 if t in added else 1.0) for t in q_terms}
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

        def weighted_idf(t: str) -> float:
            return self.idf(t) * (0.5 if t in added else 1.0)

        idf_total = sum(weighted_idf(t) for t in q_terms) or 1.0
        for src in sources:
            terms = set().union(*(s.terms for s in src.sentences)) | set(content_terms(src.chunk.title))
            src.coverage = sum(weighted_idf(t) for t in q_terms & terms) / idf_total
