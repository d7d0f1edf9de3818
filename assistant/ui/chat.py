"""The chat panel: the conversation, the question box, the answer filters, example questions made from
the newest articles, and — with a local model — "Explain with the local model".

Evidence first: the verified quotes are shown (text with [n], the sources panel) as soon as the sources
are judged to hold an answer; a model's answer then streams under them, marked unchecked, and once
checked becomes the answer, the quotes kept under it. With ``ui.model_answers = "on_request"`` (the
default) the page answers with the quotes alone and the model writes only when asked.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from assistant.answer.types import Answer
from assistant.ask.retrieve import Filters
from assistant.settings import Backend
from assistant.ui.guard import RateLimiter
from assistant.ui.history import checked_messages, history_turns, plain_text
from assistant.ui.inputs import answer_filters
from assistant.ui.render import (
    draft_html,
    evidence_html,
    filters_note,
    final_html,
    inert,
    plain_title,
    source_choices,
)
from assistant.ui.shared import PageContext
from assistant.ui.sources import SourcesPanel

log = logging.getLogger(__name__)

SEED_ARTICLE = "000_f361700daea0b08c.txt"
SEED_EXAMPLES = [
    "What did Putin agree to limit attacks on?",
    "Who will lead the US delegation to Saudi Arabia?",
    "What did Zelenskiy say about the ceasefire proposal?",
]
EXPLAIN_LABEL = "Explain with the local model"

# (conversation, sources panel, answer as JSON, note, question box)
Update = tuple[list[dict[str, Any]], str, dict[str, Any], str, str]


def example_questions(rows: list[dict[str, Any]], limit: int = 3) -> list[str]:
    """Questions made from the newest articles' titles (rows newest first); the seed article's own
    questions only when it is all there is."""
    if rows and all(r.get("id") == SEED_ARTICLE for r in rows):
        return SEED_EXAMPLES
    out = []
    for r in rows:
        if r.get("id") == SEED_ARTICLE:
            continue
        title = plain_title(str(r.get("title") or ""))
        if title and f"What happened: {title}?" not in out:
            out.append(f"What happened: {title}?")
        if len(out) >= limit:
            break
    return out or ["What is in the news?"]


def answer_json(a: Answer) -> dict[str, Any]:
    d = a.to_dict()
    keys = (
        "answer",
        "citations",
        "refused",
        "backend",
        "timings",
        "standalone_question",
        "rewrite",
        "from_model",
        "quotes",
        "notes",
    )
    return {**{k: d[k] for k in keys}, "answer_kind": d["kind"]}


def _day_box(label: str, placeholder: str, elem_id: str) -> Any:
    import gradio as gr

    return gr.Textbox(value="", label=label, placeholder=placeholder, max_lines=1, elem_id=elem_id)


@dataclass
class ChatParts:
    """The panel's Gradio components, for the page's wiring."""

    chatbot: Any
    box: Any
    send: Any
    explain: Any
    filter_sources: Any
    filter_from: Any
    filter_to: Any
    note: Any
    examples: Any
    answer_json: Any


class ChatPanel:
    def __init__(self, ctx: PageContext, sources: SourcesPanel) -> None:
        self.ctx = ctx
        self.sources = sources
        self.limiter = RateLimiter(ctx.settings.ui.chat_per_minute)
        self._model_lock = threading.Lock()  # one answer at a time from the local model

    # ---- answering ---------------------------------------------------------------------------------

    def request_problem(self, message: str, history: list[Any], client: str) -> tuple[str, str]:
        """(what, why) a chat request is refused: ("question" | "conversation" | "rate", a message for
        the person), or ("", "")."""
        ui = self.ctx.settings.ui
        if len(message) > ui.max_question_chars:
            return "question", (
                f"The question is too long ({len(message):,} characters; the limit is "
                f"{ui.max_question_chars:,}). Ask it in fewer words."
            )
        size = sum(len(str(m.get("content", ""))) if isinstance(m, dict) else len(str(m)) for m in history)
        if len(history) > 2 * ui.max_history_turns or size > ui.max_history_chars:
            return "conversation", (
                f"The conversation is too long ({len(history)} messages, {size:,} characters; the limit is "
                f"{2 * ui.max_history_turns} messages and {ui.max_history_chars:,} characters). Clear it "
                "and ask again."
            )
        if client and not self.limiter.allow(client):
            return (
                "rate",
                f"Too many questions from your address (limit {ui.chat_per_minute} a minute); wait a little.",
            )
        return "", ""

    def backend(self, explain: bool) -> Backend:
        """Who answers: the quotes, or (asked for, or always by the settings) the local model."""
        if self.ctx.has_model and (explain or not self.ctx.model_on_request):
            return self.ctx.assistant.backend
        return Backend.EXTRACTIVE

    def answer(
        self,
        message: Any,
        history: Any,
        client: str = "",
        sources: Any = None,
        date_from: Any = "",
        date_to: Any = "",
        explain: bool = False,
    ) -> Iterator[Update]:
        """Streams (conversation, sources panel, answer as JSON, note, question box) updates. client:
        the caller's address, for the rate limit; sources, date_from, date_to ("YYYY-MM-DD"): only
        articles from those sources, published in those days, answer (nothing given: all). explain:
        the local model writes an answer under the quotes."""
        message = (message if isinstance(message, str) else "").strip()
        history = list(history) if isinstance(history, list) else []
        what, why = self.request_problem(message, history, client)
        if what:  # an oversized conversation is not echoed back; a question refused for the rate stays
            yield (
                [] if what == "conversation" else history,
                self.sources.empty(),
                {},
                why,
                (message if what == "rate" else ""),
            )
            return
        if not message:
            yield history, self.sources.empty(), {}, "", ""
            return
        filters, problem = answer_filters(sources, date_from, date_to)
        if problem:  # no answer; the question stays in the box to ask again with the dates fixed
            yield history, self.sources.empty(), {}, problem, message
            return
        yield from self._answer(message, history, filters, self.backend(explain))

    def explain(
        self, history: Any, client: str = "", sources: Any = None, date_from: Any = "", date_to: Any = ""
    ) -> Iterator[Update]:
        """The last question answered again, by the local model (its quotes first)."""
        history = list(history) if isinstance(history, list) else []
        last = max(
            (i for i, m in enumerate(history) if isinstance(m, dict) and m.get("role") == "user"), default=-1
        )
        if last < 0 or not self.ctx.has_model:
            why = "Ask a question first." if last < 0 else "No local model is available on this server."
            yield history, self.sources.empty(), {}, why, ""
            return
        question = plain_text(history[last].get("content", ""))
        yield from self.answer(question, history[:last], client, sources, date_from, date_to, explain=True)

    def _answer(
        self, message: str, history: list[dict[str, Any]], filters: Filters, backend: Backend
    ) -> Iterator[Update]:
        turns = history_turns(history)
        history = [
            *history,
            {"role": "user", "content": inert(message)},
            {"role": "assistant", "content": "…"},
        ]
        writer = self.ctx.assistant.backend_label
        yield history, self.sources.empty(), {}, "Finding the passages that answer it…", ""
        t0 = time.perf_counter()
        answer: Answer | None = None
        evidence: Answer | None = None
        draft = ""
        panel = self.sources.empty()  # the evidence's cards once it comes, read once (not per token)
        lock = self._model_lock if backend != Backend.EXTRACTIVE else contextlib.nullcontext()
        try:
            with lock:
                for part in self.ctx.assistant.stream(message, turns, filters=filters, backend=backend):
                    if "answer" in part:
                        answer = part["answer"]
                        continue
                    if "evidence" in part:
                        evidence = part["evidence"]
                        panel = self.sources.show(evidence)
                    else:
                        draft += part["draft"]
                    shown = evidence_html(evidence, writer, draft) if evidence else draft_html(draft)
                    history[-1] = {"role": "assistant", "content": shown}
                    note = f"Checked quotes; {writer} is writing an explanation under them…"
                    yield history, panel, {}, note, ""
            assert answer is not None
            panel = self.sources.show(answer)
        except Exception as e:  # noqa: BLE001 - e.g. the Chroma server is down: say so, keep serving
            log.exception("answering failed")
            why = inert(f"{type(e).__name__}: {str(e)[:200]}")
            note = f"No answer: the index is not answering right now ({why}). Ask again in a moment."
            yield history[:-2], self.sources.empty(), {}, note, message
            return
        history[-1] = {"role": "assistant", "content": final_html(answer)}
        yield (
            history,
            panel,
            answer_json(answer),
            self._note(answer, time.perf_counter() - t0, filters, backend),
            "",
        )

    def _note(self, answer: Answer, seconds: float, filters: Filters, backend: Backend) -> str:
        by = self.ctx.assistant.backend_label if backend != Backend.EXTRACTIVE else "quoting the articles"
        note = f"Answered by {by} in {seconds:.1f} s"
        if filters_note(filters):
            note += f" · {filters_note(filters)}"
        if answer.kind == "closest":
            note += " · no passage answers this for certain: showing the closest one"
        elif answer.refused:
            note += " · no supporting passage found"
        elif backend != Backend.EXTRACTIVE and not answer.from_model:
            note += " · showing quotes: the model's answer did not hold up against the sources"
        elif backend == Backend.EXTRACTIVE and self.ctx.has_model:
            note += f" · “{EXPLAIN_LABEL}” asks the model to write an answer from them"
        return note

    def examples(self) -> list[str]:
        return example_questions(self.ctx.articles.read()[1])

    # ---- the panel -----------------------------------------------------------------------------------

    def build(self) -> ChatParts:
        import gradio as gr

        chatbot = gr.Chatbot(
            elem_id="chat",
            height=480,
            label="Conversation",
            sanitize_html=True,
            render_markdown=True,
            latex_delimiters=[],  # "$$…$$" in a question or an article is text
        )
        # /chat and /explain take string content too, and name what is wrong with a history they cannot read
        chatbot.data_model = checked_messages()  # type: ignore[assignment]
        with gr.Row(elem_id="question-row"):
            box = gr.Textbox(
                placeholder="Ask a question about the articles…",
                show_label=False,
                scale=5,
                elem_id="question",
            )
            send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
        explain = gr.Button(
            EXPLAIN_LABEL,
            size="sm",
            elem_id="explain",
            visible=self.ctx.has_model and self.ctx.model_on_request,
        )
        with gr.Accordion("Filter answers", open=False, elem_id="filters"), gr.Row():
            # custom values: a script may name a source this page has not listed yet
            filter_sources = gr.Dropdown(
                choices=source_choices(self.ctx.articles.read()[0]),
                value=[],
                multiselect=True,
                allow_custom_value=True,
                label="Only these sources (none: all)",
                elem_id="filter-sources",
                scale=2,
            )
            filter_from = _day_box("Published from (YYYY-MM-DD)", "2025-03-01", "filter-from")
            filter_to = _day_box("Published to (YYYY-MM-DD)", "2025-03-31", "filter-to")
        note = gr.Markdown("", elem_id="answer-note")
        examples = gr.Dataset(
            components=[box], samples=[[e] for e in self.examples()], label="Examples", elem_id="examples"
        )
        return ChatParts(
            chatbot,
            box,
            send,
            explain,
            filter_sources,
            filter_from,
            filter_to,
            note,
            examples,
            gr.JSON(visible=False),
        )

    def wire(self, parts: ChatParts, sources_out: Any) -> None:
        """The panel's events: asking (button and Enter), explaining, and an example into the box."""
        import gradio as gr

        def on_chat(message, history, sources, date_from, date_to, request):  # type: ignore[no-untyped-def]
            from assistant.ui.inputs import client_of

            yield from self.answer(message, history, client_of(request), sources, date_from, date_to)

        def on_explain(history, sources, date_from, date_to, request):  # type: ignore[no-untyped-def]
            from assistant.ui.inputs import client_of

            yield from self.explain(history, client_of(request), sources, date_from, date_to)

        # Gradio passes the request to a parameter annotated gr.Request (hidden from the API).
        on_chat.__annotations__["request"] = gr.Request
        on_explain.__annotations__["request"] = gr.Request
        # The question box is emptied by the chat's first update, so a question typed while an answer
        # streams is never lost.
        outputs = [parts.chatbot, sources_out, parts.answer_json, parts.note, parts.box]
        filters = [parts.filter_sources, parts.filter_from, parts.filter_to]
        # the filters have values, so a caller of /chat may send only (message, history)
        inputs = [parts.box, parts.chatbot, *filters]
        parts.send.click(
            on_chat, inputs, outputs, api_name="chat", concurrency_limit=4, concurrency_id="chat"
        )
        parts.box.submit(on_chat, inputs, outputs, api_visibility="private", concurrency_id="chat")
        parts.explain.click(
            on_explain, [parts.chatbot, *filters], outputs, api_name="explain", concurrency_id="chat"
        )
        parts.examples.click(
            lambda sample: sample[0], [parts.examples], [parts.box], api_visibility="private"
        )
