"""The composition root: builds the whole assistant from settings, and the answering chain.

The chain is LCEL: rewrite the question → HybridRetriever → sentence scoring and refusal gate →
answerer (the chat model behind a prompt from ``prompts/``, or the extractive answerer) → citation
resolver. It streams: ``{"token": …}`` parts while the answer is written, then ``{"answer": Answer}``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableGenerator, RunnableLambda, RunnablePassthrough

from assistant import prompts
from assistant.answer import (
    Answer,
    Citation,
    RerankModel,
    SentenceScorer,
    Source,
    Support,
    extractive_text,
    format_sources,
    is_supported,
    looks_like_refusal,
    make_sources,
    refusal_text,
    resolve_citations,
    restates_question,
    ymd_to_date,
)
from assistant.index import Index, ProgressFn, SyncReport
from assistant.providers import LLM_LABELS, make_chat_model, make_chroma_client, make_embedder
from assistant.retrieve import Filters, HybridRetriever, HybridSearch, document_to_chunk
from assistant.rewrite import Turn, standalone
from assistant.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Assistant:
    settings: Settings
    index: Index
    search: HybridSearch
    retriever: HybridRetriever
    scorer: SentenceScorer
    reranker: RerankModel = field(default_factory=RerankModel)
    backend: str = "extractive"
    chat_model: Any = None
    _chains: dict[str, Runnable] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, *, with_llm: bool = True) -> Assistant:
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
            scorer=SentenceScorer(embedder, idf=lambda term: index.lexical.idf(term)),
            backend=backend,
            chat_model=model,
        )

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
            self._chains[backend] = self._build_chain(backend)
        return self._chains[backend]

    def _build_chain(self, backend: str) -> Runnable:
        use_llm = backend != "extractive"
        if use_llm and self.chat_model is None:
            raise RuntimeError(f"backend {backend!r} is not available in this assistant")
        model = self.chat_model if use_llm else None
        condense = prompts.load("condense")
        answer_prompt = ChatPromptTemplate.from_messages(
            [("system", prompts.load("answer_system")), ("human", prompts.load("answer_user"))]
        )
        cfg = self.settings.answer

        def rewrite(x: dict[str, Any]) -> str:
            return standalone(x["question"], x.get("history") or [], model, condense)

        def retrieve(x: dict[str, Any]) -> list[Any]:
            r = self._candidates_retriever(x.get("today"), x.get("filters"), scope_from=x["question"])
            return r.invoke(x["standalone"])

        def prepare(x: dict[str, Any]) -> dict[str, Any]:
            sources, support = self.rerank(x["standalone"], x["docs"], x.get("today"))
            ok = is_supported(support, cfg.min_support)
            return {"sources": sources, "support": support, "supported": ok}

        def answerer(x: dict[str, Any]) -> Any:
            prep = x["prepared"]
            if not prep["supported"]:
                return refusal_text(x["question"])
            if model is None:
                return extractive_text(x["standalone"], prep["sources"], cfg.max_sentences)
            llm_input: Runnable[Any, Any] = RunnableLambda(
                lambda y: {
                    "today": (y.get("today") or date.today()).isoformat(),
                    "sources": format_sources(y["prepared"]["sources"], cfg.window),
                    "question": y["standalone"],
                }
            )
            return llm_input | answer_prompt | model | StrOutputParser()

        def finish(parts: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
            t0 = time.perf_counter()
            state: dict[str, Any] = {}
            text = ""
            t_first = None
            for part in parts:
                for key, value in part.items():
                    if key == "answer":
                        if t_first is None:
                            t_first = time.perf_counter()
                        text += value
                        yield {"token": value}
                    else:
                        state[key] = value
            ans = self._finalise(state, text, backend)
            ans.timings["ttft_ms"] = round(((t_first or time.perf_counter()) - t0) * 1000, 1)
            yield {"answer": ans}

        return (
            RunnablePassthrough.assign(standalone=RunnableLambda(rewrite, name="rewrite_question"))
            | RunnablePassthrough.assign(docs=RunnableLambda(retrieve, name="hybrid_retriever"))
            | RunnablePassthrough.assign(prepared=RunnableLambda(prepare, name="score_sentences"))
            | RunnablePassthrough.assign(answer=RunnableLambda(answerer, name="answerer"))
            | RunnableGenerator(finish, name="resolve_citations")
        )

    def rerank(
        self, question: str, docs: list[Any], today: date | None = None, k: int | None = None
    ) -> tuple[list[Source], Support]:
        """Retrieved chunks → the best k as numbered sources (sentence-level reranking), and the
        estimate of whether they support an answer at all."""
        sources = make_sources([document_to_chunk(d) for d in docs], [d.metadata["score"] for d in docs])
        reference = self.reference_date(today)
        self.scorer.score(question, sources)
        ranked = self.reranker.order(sources, reference)
        support = self.scorer.support(ranked[: self.settings.retrieval.k], reference)
        return ranked[: k or self.settings.retrieval.k], support

    def reference_date(self, today: date | None = None) -> date:
        """The date articles' ages count from: today, or the newest indexed article when that is older
        (an archive is judged by its own latest news, not by the calendar)."""
        today = today or date.today()
        newest = self.index.lexical.newest
        return min(today, ymd_to_date(newest)) if newest else today

    def rank(
        self,
        question: str,
        *,
        k: int | None = None,
        today: date | None = None,
        filters: Filters | None = None,
    ) -> list[Source]:
        """The whole retrieval (hybrid search + reranking) for one standalone question."""
        r = self._candidates_retriever(today, filters, k=k)
        return self.rerank(question, r.invoke(question), today, k)[0]

    def _candidates_retriever(
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

    def _finalise(self, state: dict[str, Any], text: str, backend: str) -> Answer:
        prep = state["prepared"]
        sources: list[Source] = prep["sources"]
        support: Support = prep["support"]
        ans = Answer(
            text="",
            backend=backend,
            question=state["question"],
            standalone_question=state["standalone"],
        )
        if backend != "extractive":
            ans.context_tokens = len(format_sources(sources, self.settings.answer.window)) // 4
        if not prep["supported"]:
            ans.text, ans.refused = text.strip(), True
            why = (
                f"best source [{support.n}]: sentence {support.score:.2f}, coverage {support.coverage:.2f}, "
                f"age {support.age_days:.0f} days; next source {support.second:.2f}"
                if support.n is not None
                else "no sources"
            )
            ans.notes.append(
                f"support {support.probability:.2f} below {self.settings.answer.min_support} ({why})"
            )
            return ans
        from_model = backend != "extractive"  # text the model wrote, not our quotes
        if from_model and looks_like_refusal(text):
            if support.probability < self.settings.answer.confident_support:
                ans.text, ans.refused = refusal_text(state["question"]), True
                ans.notes.append("the model found no answer in the sources")
                return ans
            # The estimate says the sources hold the answer and the model missed it: quote them instead.
            ans.notes.append(
                "the model found no answer, but the sources look like they hold one; showing quotes"
            )
            text = extractive_text(state["standalone"], sources, self.settings.answer.max_sentences)
            from_model = False
        resolved, citations, notes = resolve_citations(
            text, sources, question=state["standalone"], drop_unsupported=from_model
        )
        ans.notes.extend(notes)
        if from_model and (not citations or restates_question(resolved, state["standalone"])):
            # The model's words match nothing in the sources, or only repeat the question: show the quotes.
            ans.notes.append(
                "the model's answer only restates the question; showing quotes instead"
                if citations
                else "the model's answer could not be matched to the sources; showing quotes instead"
            )
            resolved, citations, _ = resolve_citations(
                extractive_text(state["standalone"], sources, self.settings.answer.max_sentences), sources
            )
        ans.text, ans.citations = resolved, self._verified(citations)
        return ans

    def article_texts(self, citations: Sequence[Citation]) -> dict[str, str]:
        """The stored text of every cited article ("" for one no longer indexed)."""
        texts: dict[str, str] = {}
        for c in citations:
            if c.article_id not in texts:
                art = self.index.article(c.article_id)
                texts[c.article_id] = art.text if art else ""
        return texts

    def _verified(self, citations: list[Citation]) -> list[Citation]:
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
        t0 = time.perf_counter()
        payload = {
            "question": question,
            "history": list(history),
            "today": today or date.today(),
            "filters": filters or Filters(),
        }
        for part in self.chain(backend).stream(payload):
            if "answer" in part:
                part["answer"].timings["total_ms"] = round((time.perf_counter() - t0) * 1000, 1)
            yield part

    def ask(self, question: str, history: Sequence[Turn] = (), **kwargs: Any) -> Answer:
        answer = None
        for part in self.stream(question, history, **kwargs):
            if "answer" in part:
                answer = part["answer"]
        assert answer is not None
        return answer
