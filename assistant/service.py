"""The composition root: builds the whole assistant from settings (``Assistant.from_settings``) and
answers through the chain of ``assistant.chain``."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from langchain_core.runnables import Runnable

from assistant import prompts
from assistant.answer.gate import SupportGate
from assistant.answer.models import Fitted, RerankModel, load_fitted
from assistant.answer.scoring import SentenceScorer
from assistant.answer.types import Answer, Citation, Source, Support, make_sources
from assistant.chain import Request, build_chain
from assistant.dates import from_ymd
from assistant.providers import LLM_LABELS, ConfigError, make_chat_model, make_chroma_client, make_embedder
from assistant.retrieve import Filters, HybridRetriever, HybridSearch, document_to_chunk
from assistant.rewrite import Standalone, Turn, standalone
from assistant.settings import Settings
from assistant.store import Index, ProgressFn, SyncReport

log = logging.getLogger(__name__)


@dataclass
class Assistant:
    settings: Settings
    index: Index
    search: HybridSearch
    retriever: HybridRetriever
    scorer: SentenceScorer
    reranker: RerankModel = field(default_factory=RerankModel)
    gate: SupportGate = field(default_factory=SupportGate)
    fitted: Fitted = field(default_factory=Fitted)
    backend: str = "extractive"
    chat_model: Any = None
    _chains: dict[str, Runnable] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, with_llm: bool = True, fitted: Fitted | None = None
    ) -> Assistant:
        """fitted: weights to answer with instead of the settings' file (out-of-fold evaluation)."""
        if fitted is None:
            try:
                fitted = load_fitted(
                    Path(settings.answer.weights_file) if settings.answer.weights_file else None
                )
            except ValueError as e:
                raise ConfigError(str(e)) from None
        embedder = make_embedder(settings)
        client = make_chroma_client(settings)
        index = Index(settings, embedder, client)
        search = HybridSearch(index, settings.retrieval)
        retriever = HybridRetriever(search=search, k=settings.retrieval.k)
        backend, model = make_chat_model(settings) if with_llm else ("extractive", None)
        return cls(
            settings=settings,
            index=index,
            search=search,
            retriever=retriever,
            scorer=SentenceScorer(embedder, idf=index.idf, model=fitted.sentence),
            reranker=fitted.rerank,
            gate=SupportGate(fitted.support),
            fitted=fitted,
            backend=backend,
            chat_model=model,
        )

    def with_fitted(self, fitted: Fitted) -> Assistant:
        """The same assistant (index, models, chat model) answering with other fitted weights."""
        scorer = SentenceScorer(
            self.scorer.embedder, self.scorer.idf, fitted.sentence, self.scorer.max_embedded
        )
        return replace(
            self,
            scorer=scorer,
            reranker=fitted.rerank,
            gate=SupportGate(fitted.support),
            fitted=fitted,
            _chains={},
        )

    @property
    def min_support(self) -> float:
        """The support threshold: the setting when given, else the fitted one."""
        given = self.settings.answer.min_support
        return self.fitted.min_support if given is None else given

    @property
    def backend_label(self) -> str:
        return LLM_LABELS.get(self.backend, self.backend)

    # ---- indexing ------------------------------------------------------------------------------

    def sync(self, paths: Sequence[Path] | None = None, progress: ProgressFn | None = None) -> SyncReport:
        return self.index.sync(list(paths) if paths else list(self.settings.corpus_dirs), progress)

    # ---- answering -----------------------------------------------------------------------------

    def chain(self, backend: str | None = None) -> Runnable:
        backend = backend or self.backend
        if backend not in self._chains:
            self._chains[backend] = build_chain(self, backend)
        return self._chains[backend]

    def standalone(
        self, question: str, history: Sequence[Turn] = (), backend: str | None = None
    ) -> Standalone:
        """The question as it is searched for: a follow-up rewritten with the conversation (by the chat
        model when the backend has one, else by the rule)."""
        model = self.chat_model if (backend or self.backend) != "extractive" else None
        return standalone(question, history, model, prompts.load("condense") if model is not None else "")

    def rerank(
        self,
        question: str,
        docs: list[Any],
        today: date | None = None,
        k: int | None = None,
        context: str = "",
    ) -> tuple[list[Source], Support]:
        """Retrieved chunks → the best k as numbered sources (sentence-level reranking), and the
        estimate of whether they support an answer at all. context: the words of the question that came
        from the conversation (they count half)."""
        sources = make_sources([document_to_chunk(d) for d in docs], [d.metadata["score"] for d in docs])
        reference = self.reference_date(today)
        self.scorer.score(question, sources, context)
        ranked = self.reranker.order(sources, reference)
        support = self.gate.support(ranked[: self.settings.retrieval.k], reference)
        return ranked[: k or self.settings.retrieval.k], support

    def reference_date(self, today: date | None = None) -> date:
        """The date articles' ages count from: today, or the newest indexed article when that is older
        (an archive is judged by its own latest news, not by the calendar)."""
        today = today or date.today()
        newest = self.index.newest
        return min(today, from_ymd(newest)) if newest else today

    def rank(
        self,
        question: str,
        *,
        k: int | None = None,
        today: date | None = None,
        filters: Filters | None = None,
    ) -> list[Source]:
        """The whole retrieval (hybrid search + reranking) for one standalone question."""
        r = self.candidates_retriever(today, filters, k=k)
        return self.rerank(question, r.invoke(question), today, k)[0]

    def candidates_retriever(
        self,
        today: date | None,
        filters: Filters | None,
        *,
        k: int | None = None,
        scope_from: str | None = None,
    ) -> HybridRetriever:
        """The retriever for the reranker's candidates (at least k of them)."""
        return self.retriever.scoped(
            k=max(k or 0, self.settings.retrieval.rerank_candidates),
            today=today,
            filters=filters or Filters(),
            scope_from=scope_from,
        )

    def article_texts(self, citations: Sequence[Citation]) -> dict[str, str]:
        """The stored text of every cited article ("" for one no longer indexed)."""
        texts: dict[str, str] = {}
        for c in citations:
            if c.article_id not in texts:
                art = self.index.article(c.article_id)
                texts[c.article_id] = art.text if art else ""
        return texts

    def verified(self, citations: list[Citation]) -> list[Citation]:
        """Every quote is checked against the stored article text; a mismatch is a bug, never shown."""
        texts = self.article_texts(citations)
        for c in citations:
            if texts[c.article_id][c.start : c.end] != c.quote:  # pragma: no cover - invariant
                raise AssertionError(f"citation {c.n} is not a verbatim span of {c.article_id}")
        return citations

    def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        today: date | None = None,
        filters: Filters | None = None,
        backend: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """``{"draft": text}`` parts while a model writes (unchecked), then ``{"answer": Answer}``. The
        answer's timings: ``ttft_ms`` until the first text (draft or answer), ``total_ms`` until the end."""
        t0 = time.perf_counter()
        first: float | None = None
        request = Request(question, tuple(history), today or date.today(), filters or Filters())
        for part in self.chain(backend).stream(request):
            first = first or time.perf_counter()
            if "answer" in part:
                ms = round((time.perf_counter() - t0) * 1000, 1)
                part["answer"].timings.update(ttft_ms=round((first - t0) * 1000, 1), total_ms=ms)
            yield part

    def ask(self, question: str, history: Sequence[Turn] = (), **kwargs: Any) -> Answer:
        answer = None
        for part in self.stream(question, history, **kwargs):
            if "answer" in part:
                answer = part["answer"]
        assert answer is not None
        return answer
