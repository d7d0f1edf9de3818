"""The answering pipeline as an LCEL chain over one typed state, built from its steps (``ChainParts``):

    rewrite the question → hybrid retrieval → sentence scoring, reranking and the support estimate →
    answerer (the chat model behind the prompts in ``prompts/``, or the extractive answerer) → checks

Evidence first: with a model, as soon as the sources are ranked and judged to hold an answer, it yields
``{"evidence": Answer}``, the verified quotes (what the extractive answerer says); then ``{"draft": text}``
parts while the model writes (unchecked text: show it as a draft); it ends with ``{"answer": Answer}``,
whose text, quotes and citations are checked against the sources. The model's checked answer keeps the
quotes reachable (``Answer.quotes``), numbered in one series with its own citations
(``answer.evidence.with_quotes``).

What the answer is (``Answer.kind``): "answer" when the support estimate passes; "closest" when it does
not but the best passage is on the question's topic (it covers at least ``answer.closest_coverage`` of
the question's idf-weighted words): that passage is quoted, said to be only the closest; else "none",
the refusal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableGenerator, RunnableLambda

from assistant import prompts
from assistant.answer.evidence import with_quotes
from assistant.answer.extractive import extractive_answer
from assistant.answer.gate import is_supported, why_refused
from assistant.answer.llm import check_model_answer, format_sources
from assistant.answer.refusal import closest_passage, refusal_text
from assistant.answer.types import Answer, Citation, Source, Support
from assistant.ask.rank import Ranker
from assistant.ask.retrieve import Filters, HybridRetriever
from assistant.ask.rewrite import Standalone, Turn
from assistant.settings import AnswerSettings, Backend


@dataclass(frozen=True)
class ChainParts:
    """The steps a chain is built from (``service.Assistant.chain`` assembles them)."""

    rewrite: Callable[[str, Sequence[Turn]], Standalone]
    retriever: HybridRetriever  # scoped per request (date, filters)
    candidates: int  # chunks the ranker chooses from
    ranker: Ranker
    verify: Callable[[list[Citation]], list[Citation]]
    answer: AnswerSettings
    min_support: float
    backend: Backend
    chat_model: Any = None  # None: the extractive answerer


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
        return self.standalone.search if self.standalone else self.request.question


def not_supported(
    ans: Answer, question: str, sources: list[Source], support: Support, cfg: AnswerSettings
) -> None:
    """Fills in a closest-passage hedge or a refusal."""
    on_topic = support.n is not None and support.coverage >= cfg.closest_coverage
    text, cites = closest_passage(sources, support.n) if on_topic else ("", [])
    if text:
        ans.text, ans.citations, ans.kind = text, cites, "closest"
    else:
        ans.text, ans.kind = refusal_text(question), "none"
    ans.refused = True


def build_chain(parts: ChainParts) -> Runnable[Request, dict[str, Any]]:
    model = parts.chat_model if parts.backend != Backend.EXTRACTIVE else None
    if parts.backend != Backend.EXTRACTIVE and model is None:
        raise RuntimeError(f"backend {parts.backend.value!r} is not available in this assistant")
    write: Runnable[dict[str, str], str] | None = None
    if model is not None:
        write = (
            ChatPromptTemplate.from_messages(
                [("system", prompts.load("answer_system")), ("human", prompts.load("answer_user"))]
            )
            | model
            | StrOutputParser()
        )
    cfg = parts.answer

    def start(request: Request) -> State:
        return State(request)

    def rewrite(state: State) -> State:
        r = state.request
        return replace(state, standalone=parts.rewrite(r.question, r.history))

    def retrieve(state: State) -> State:
        r = state.request
        retriever = parts.retriever.scoped(
            k=parts.candidates, today=r.today, filters=r.filters, scope_from=r.question
        )
        return replace(state, docs=tuple(retriever.invoke(state.query)))

    def prepare(state: State) -> State:
        context = state.standalone.context if state.standalone else ""
        sources, support = parts.ranker.rank(
            state.query, list(state.docs), state.request.today, context=context
        )
        ok = is_supported(support, parts.min_support)
        return replace(state, sources=tuple(sources), support=support, supported=ok)

    def answer(states: Iterator[State]) -> Iterator[dict[str, Any]]:
        state = next(iter(states))
        std = state.standalone or Standalone(state.request.question, "as asked")
        ans = Answer(
            text="",
            backend=parts.backend.value,
            question=state.request.question,
            standalone_question=std.question,
            rewrite=std.how,
        )
        sources = list(state.sources)
        support = state.support
        assert support is not None
        if not state.supported:
            not_supported(ans, state.request.question, sources, support, cfg)
            ans.notes.append(why_refused(support, parts.min_support))
        elif write is None:
            ans.text, ans.citations = extractive_answer(sources, cfg.max_sentences)
        else:
            quoted, quote_cites = extractive_answer(sources, cfg.max_sentences)
            quote_cites = parts.verify(quote_cites)
            if quote_cites:
                yield {"evidence": replace(ans, text=quoted, citations=quote_cites, notes=[])}
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
                not_supported(ans, state.request.question, sources, support, cfg)
            elif checked.from_model and quote_cites:
                ans.text, ans.citations, ans.quotes = with_quotes(checked.text, checked.citations, quoted, quote_cites)
            else:
                ans.text, ans.citations = checked.text, checked.citations
            ans.from_model = checked.from_model
            ans.notes.extend(checked.notes)
        if not ans.refused and not ans.citations:  # every sentence was boilerplate: nothing to quote
            not_supported(ans, state.request.question, sources, support, cfg)
            ans.notes.append("no sentence of the sources may be quoted as an answer")
        ans.citations = parts.verify(ans.citations)
        yield {"answer": ans}

    return (
        RunnableLambda(start, name="request")
        | RunnableLambda(rewrite, name="rewrite_question")
        | RunnableLambda(retrieve, name="hybrid_retriever")
        | RunnableLambda(prepare, name="score_sentences")
        | RunnableGenerator(answer, name="answer_and_check")
    )
