"""The composition root: builds the whole assistant from settings (``Assistant.from_settings``) and
assembles the question's chain (``assistant.ask.chain``) from its steps."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from langchain_core.runnables import Runnable

from assistant import prompts
from assistant.answer.gate import SupportGate
from assistant.answer.models import Fitted, load_fitted
from assistant.answer.scoring import SentenceScorer
from assistant.answer.types import Answer, Citation, Source, Support
from assistant.ask.chain import ChainParts, Request, build_chain
from assistant.ask.rank import Ranker
from assistant.ask.retrieve import Filters, HybridRetriever, HybridSearch
from assistant.ask.rewrite import Standalone, Turn, standalone
from assistant.ask.verify import QuoteCheck
from assistant.providers import LLM_LABELS, ConfigError, make_chat_model, make_chroma_client, make_embedder
from assistant.settings import Backend, Settings
from assistant.store import Index, ProgressFn, SyncReport

log = logging.getLogger(__name__)


@dataclass
class Assistant:
    settings: Settings
    index: Index
    search: HybridSearch
    retriever: HybridRetriever
    ranker: Ranker
    fitted: Fitted = field(default_factory=Fitted)
    backend: Backend = Backend.EXTRACTIVE
    chat_model: Any = None
    _chains: dict[Backend, Runnable] = field(default_factory=dict)

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
        index = Index(settings, embedder, make_client=make_chroma_client)
        search = HybridSearch(index, settings.retrieval)
        retriever = HybridRetriever(search=search, k=settings.retrieval.k)
        backend, model = make_chat_model(settings) if with_llm else (Backend.EXTRACTIVE, None)
        scorer = SentenceScorer(
            embedder,
            idf=partial(index.idf, min_docs=settings.answer.idf_min_chunks),
            model=fitted.sentence,
            max_embedded=settings.answer.max_embedded,
        )
        ranker = Ranker(
            scorer, fitted.rerank, SupportGate(fitted.support), settings.retrieval.k, lambda: index.newest
        )
        return cls(
            settings=settings,
            index=index,
            search=search,
            retriever=retriever,
            ranker=ranker,
            fitted=fitted,
            backend=backend,
            chat_model=model,
        )

    def with_fitted(self, fitted: Fitted) -> Assistant:
        """The same assistant (index, models, chat model) answering with other fitted weights."""
        old = self.ranker.scorer
        scorer = SentenceScorer(old.embedder, old.idf, fitted.sentence, old.max_embedded)
        ranker = replace(self.ranker, scorer=scorer, reranker=fitted.rerank, gate=SupportGate(fitted.support))
        return replace(self, ranker=ranker, fitted=fitted, _chains={})

    @property
    def scorer(self) -> SentenceScorer:
        return self.ranker.scorer

    @property
    def min_support(self) -> float:
        """The support threshold: the setting when given, else the fitted one."""
        given = self.settings.answer.min_support
        return self.fitted.min_support if given is None else given

    @property
    def backend_label(self) -> str:
        return LLM_LABELS.get(self.backend, str(self.backend))

    # ---- indexing ------------------------------------------------------------------------------

    def sync(self, paths: Sequence[Path] | None = None, progress: ProgressFn | None = None) -> SyncReport:
        return self.index.sync(list(paths) if paths else list(self.settings.corpus_dirs), progress)

    # ---- answering -----------------------------------------------------------------------------

    def chain(self, backend: Backend | str | None = None) -> Runnable:
        b = Backend(backend or self.backend)
        if b not in self._chains:
            model = self.chat_model if b != Backend.EXTRACTIVE else None
            self._chains[b] = build_chain(
                ChainParts(
                    rewrite=partial(self._rewrite, model=model),
                    retriever=self.retriever,
                    candidates=max(self.settings.retrieval.k, self.settings.retrieval.rerank_candidates),
                    ranker=self.ranker,
                    verify=QuoteCheck(self.index),
                    answer=self.settings.answer,
                    min_support=self.min_support,
                    backend=b,
                    chat_model=model,
                )
            )
        return self._chains[b]

    def _rewrite(self, question: str, history: Sequence[Turn], model: Any) -> Standalone:
        template = prompts.load("condense") if model is not None else ""
        return standalone(question, history, model, template, related=self.search.mentioned_together)

    def standalone(
        self, question: str, history: Sequence[Turn] = (), backend: Backend | str | None = None
    ) -> Standalone:
        """The question as it is searched for: a follow-up rewritten with the conversation (by the chat
        model when the backend has one, else by the rule)."""
        model = self.chat_model if (backend or self.backend) != Backend.EXTRACTIVE else None
        return self._rewrite(question, history, model)

    def candidates_retriever(
        self,
        today: date | None,
        filters: Filters | None,
        *,
        k: int | None = None,
        scope_from: str | None = None,
    ) -> HybridRetriever:
        """The retriever for the ranker's candidates (at least k of them)."""
        return self.retriever.scoped(
            k=max(k or 0, self.settings.retrieval.rerank_candidates),
            today=today,
            filters=filters or Filters(),
            scope_from=scope_from,
        )

    def rank(
        self,
        question: str,
        *,
        k: int | None = None,
        today: date | None = None,
        filters: Filters | None = None,
    ) -> list[Source]:
        """The whole retrieval (hybrid search + reranking) for one standalone question."""
        docs = self.candidates_retriever(today, filters, k=k, scope_from=question).invoke(question)
        return self.ranker.rank(question, docs, today, k)[0]

    def rerank(
        self, question: str, docs: list[Any], today: date | None = None
    ) -> tuple[list[Source], Support]:
        return self.ranker.rank(question, docs, today)

    def article_texts(self, citations: Sequence[Citation]) -> dict[str, str]:
        """The stored text of every cited article ("" for one no longer indexed)."""
        return QuoteCheck(self.index).texts(citations)

    def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        *,
        today: date | None = None,
        filters: Filters | None = None,
        backend: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """With a model: ``{"evidence": Answer}`` (the verified quotes, as soon as the sources are judged
        to hold an answer), ``{"draft": text}`` parts while the model writes (unchecked); always last
        ``{"answer": Answer}``. The answer's timings: ``useful_ms`` until the first checked content
        (the evidence, or the answer itself), ``ttft_ms`` until the model's first token (the answer,
        without one), ``total_ms`` until the checked answer."""
        t0 = time.perf_counter()
        first: float | None = None
        useful: float | None = None
        request = Request(question, tuple(history), today or date.today(), filters or Filters())
        for part in self.chain(backend).stream(request):
            now = time.perf_counter()
            if "draft" in part or "answer" in part:
                first = first or now
            if "evidence" in part or "answer" in part:
                useful = useful or now
            if "answer" in part:
                part["answer"].timings.update(
                    ttft_ms=round(((first or now) - t0) * 1000, 1),
                    useful_ms=round(((useful or now) - t0) * 1000, 1),
                    total_ms=round((now - t0) * 1000, 1),
                )
            yield part

    def ask(self, question: str, history: Sequence[Turn] = (), **kwargs: Any) -> Answer:
        answer = None
        for part in self.stream(question, history, **kwargs):
            if "answer" in part:
                answer = part["answer"]
        assert answer is not None
        return answer
