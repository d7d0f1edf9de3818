"""The answering pipeline as an LCEL chain over one typed state:

    rewrite the question → hybrid retrieval → sentence scoring, reranking and the support gate →
    answerer (the chat model behind the prompts in ``prompts/``, or the extractive answerer) → checks

It streams ``{"draft": text}`` parts while a model writes (unchecked text: show it as a draft) and ends
with ``{"answer": Answer}``, whose text, quotes and citations are checked against the sources.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Protocol

from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableGenerator, RunnableLambda

from assistant import prompts
from assistant.answer.extractive import extractive_answer
from assistant.answer.gate import is_supported, why_refused
from assistant.answer.llm import check_model_answer, format_sources
from assistant.answer.refusal import refusal_text
from assistant.answer.types import Answer, Citation, Source, Support
from assistant.retrieve import Filters, HybridRetriever
from assistant.rewrite import Standalone, Turn
from assistant.settings import Settings


class Steps(Protocol):
    """What the chain needs of the assistant (``service.Assistant`` provides it)."""

    settings: Settings
    chat_model: Any

    @property
    def min_support(self) -> float: ...

    def standalone(
        self, question: str, history: Sequence[Turn] = (), backend: str | None = None
    ) -> Standalone: ...

    def candidates_retriever(
        self,
        today: date | None,
        filters: Filters | None,
        *,
        k: int | None = None,
        scope_from: str | None = None,
    ) -> HybridRetriever: ...

    def rerank(
        self,
        question: str,
        docs: list[Any],
        today: date | None = None,
        k: int | None = None,
        context: str = "",
    ) -> tuple[list[Source], Support]: ...

    def verified(self, citations: list[Citation]) -> list[Citation]: ...


@dataclass(frozen=True)
class Request:
    question: str
    history: tuple[Turn, ...] = ()
    today: date = field(default_factory=date.today)
    filters: Filters = Filters()


@dataclass(frozen=True)
class State:
    """What the steps pass along; each step fills in its part."""

    request: Request
    standalone: Standalone | None = None
    docs: tuple[Document, ...] = ()
    sources: tuple[Source, ...] = ()
    support: Support | None = None
    supported: bool = False

    @property
    def query(self) -> str:
        return self.standalone.question if self.standalone else self.request.question


def build_chain(assistant: Steps, backend: str) -> Runnable[Request, dict[str, Any]]:
    use_llm = backend != "extractive"
    if use_llm and assistant.chat_model is None:
        raise RuntimeError(f"backend {backend!r} is not available in this assistant")
    model = assistant.chat_model if use_llm else None
    write: Runnable[dict[str, str], str] | None = None
    if model is not None:
        write = (
            ChatPromptTemplate.from_messages(
                [("system", prompts.load("answer_system")), ("human", prompts.load("answer_user"))]
            )
            | model
            | StrOutputParser()
        )
    cfg = assistant.settings.answer

    def start(request: Request) -> State:
        return State(request)

    def rewrite(state: State) -> State:
        r = state.request
        return replace(state, standalone=assistant.standalone(r.question, r.history, backend))

    def retrieve(state: State) -> State:
        r = state.request
        retriever = assistant.candidates_retriever(r.today, r.filters, scope_from=r.question)
        return replace(state, docs=tuple(retriever.invoke(state.query)))

    def prepare(state: State) -> State:
        context = state.standalone.context if state.standalone else ""
        sources, support = assistant.rerank(
            state.query, list(state.docs), state.request.today, context=context
        )
        ok = is_supported(support, assistant.min_support)
        return replace(state, sources=tuple(sources), support=support, supported=ok)

    def answer(states: Iterator[State]) -> Iterator[dict[str, Any]]:
        state = next(iter(states))
        std = state.standalone or Standalone(state.request.question, "as asked")
        ans = Answer(
            text="",
            backend=backend,
            question=state.request.question,
            standalone_question=std.question,
            rewrite=std.how,
        )
        sources = list(state.sources)
        support = state.support
        assert support is not None
        if not state.supported:
            ans.text, ans.refused = refusal_text(state.request.question), True
            ans.notes.append(why_refused(support, assistant.min_support))
        elif write is None:
            ans.text, ans.citations = extractive_answer(sources, cfg.max_sentences)
        else:
            context = format_sources(sources, cfg.window)
            ans.context_tokens = len(context) // 4
            draft = ""
            for piece in write.stream(
                {"today": state.request.today.isoformat(), "sources": context, "question": std.question}
            ):
                draft += piece
                yield {"draft": piece}
            checked = check_model_answer(
                draft,
                sources,
                std.question,
                refuse_no_answer=support.probability < cfg.confident_support,
                max_sentences=cfg.max_sentences,
            )
            if checked.refused:
                ans.text, ans.refused = refusal_text(state.request.question), True
            else:
                ans.text, ans.citations = checked.text, checked.citations
            ans.from_model = checked.from_model
            ans.notes.extend(checked.notes)
        ans.citations = assistant.verified(ans.citations)
        yield {"answer": ans}

    return (
        RunnableLambda(start, name="request")
        | RunnableLambda(rewrite, name="rewrite_question")
        | RunnableLambda(retrieve, name="hybrid_retriever")
        | RunnableLambda(prepare, name="score_sentences")
        | RunnableGenerator(answer, name="answer_and_check")
    )
