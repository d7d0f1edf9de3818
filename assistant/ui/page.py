"""The chat page (Gradio 6): ChatApp, the Blocks and their wiring. Here: streamed answers with a sources
panel of highlighted quotes and filters for the answers (sources, dates), the layout, and launching behind
the guard. The other parts are mixed in: adding.py (uploads, fetching a page by URL, re-indexing), feeds.py
(following feeds), whatsnew.py (the latest articles and the followed feeds, which refresh by themselves so
articles the feed poller brings in appear without reloading), state.py (what they share, the index status);
inputs.py parses what people send. No retrieval, answering or fetching logic lives here: it calls the
Assistant, the Updater and the corpus layer.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.answer.types import Answer
from assistant.background import Background
from assistant.corpus import SUPPORTED_SUFFIXES
from assistant.service import Assistant
from assistant.settings import Backend
from assistant.ui.adding import AddingArticles
from assistant.ui.feeds import FeedActions
from assistant.ui.history import history_turns, lenient_messages
from assistant.ui.inputs import (
    MAX_FEED_URL_CHARS,
    MAX_FILTER_SOURCES,
    answer_filters,
    client_of,
    feed_url_problem,
    parse_day,
    safe_filename,
)
from assistant.ui.render import (
    draft_html,
    filters_note,
    final_html,
    inert,
    plain_title,
    source_choices,
    sources_html,
)
from assistant.ui.whatsnew import LATEST_PER_PAGE, MANIFEST_TTL_S, WhatsNew
from assistant.updates import Updater

__all__ = [  # what the page module offered before its parts moved out; tests and serve.py import from here
    "CSS",
    "JS",
    "LATEST_PER_PAGE",
    "MANIFEST_TTL_S",
    "MAX_FEED_URL_CHARS",
    "MAX_FILTER_SOURCES",
    "REFRESH_S",
    "SEED_EXAMPLES",
    "ChatApp",
    "answer_filters",
    "client_of",
    "feed_url_problem",
    "parse_day",
    "safe_filename",
]

log = logging.getLogger(__name__)

SEED_EXAMPLES = [
    "What did Putin agree to limit attacks on?",
    "Who will lead the US delegation to Saudi Arabia?",
    "What did Zelenskiy say about the ceasefire proposal?",
]

CSS = """
#sources { max-height: 70vh; overflow-y: auto; }
.src-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; margin-bottom: 10px; }
.src-card.flash { outline: 3px solid #f59e0b; }
.src-head { font-weight: 600; }
.src-n { color: var(--color-accent); margin-right: 4px; }
.src-meta { font-size: 0.85em; opacity: 0.75; margin: 2px 0 6px 0; }
.src-ctx { font-size: 0.92em; line-height: 1.45; white-space: pre-wrap; }
.src-ctx mark { background: #fde68a; color: inherit; padding: 0 1px; }
.refused { font-style: italic; }
.closest { display: block; border-left: 3px solid #f59e0b; padding-left: 8px; font-style: italic; }
.draft { opacity: 0.55; }
.draft-label { font-size: 0.8em; font-style: italic; opacity: 0.8; margin-bottom: 4px; }
.understood { font-size: 0.85em; opacity: 0.75; margin-top: 6px; }
#chat a.cite { color: var(--color-accent); font-weight: 600; text-decoration: none; cursor: pointer; }
.latest-list { margin: 0; padding-left: 2.2em; }
.latest-item, .feed { margin-bottom: 8px; overflow-wrap: anywhere; }
.latest-title, .feed-title { font-weight: 600; }
.latest-meta, .feed-meta, .feed-url, .latest-pager, .feeds-poller { font-size: 0.85em; opacity: 0.8; }
.feed-list { list-style: none; margin: 0; padding: 0; }
.feed.failed .feed-meta { color: #b45309; opacity: 1; }
.feeds-poller { margin-bottom: 8px; }
"""

# Clicking a [n] marker (a link to #src-n) or a source card scrolls that source into view.
JS = """
() => {
  document.addEventListener('click', (e) => {
    const a = e.target.closest('a[href^="#src-"]');
    if (!a) return;
    const el = document.getElementById(a.getAttribute('href').slice(1));
    if (!el) return;
    e.preventDefault();
    el.scrollIntoView({behavior: 'smooth', block: 'center'});
    el.classList.add('flash');
    setTimeout(() => el.classList.remove('flash'), 1500);
  });
}
"""

REFRESH_S = 12.0  # how often an open page refreshes the latest articles, the feeds and the status


class ChatApp(AddingArticles, FeedActions, WhatsNew):
    def __init__(
        self, assistant: Assistant, updater: Updater | None = None, background: Background | None = None
    ) -> None:
        from assistant.ui.guard import RateLimiter

        super().__init__(assistant, updater, background)
        self._llm_lock = threading.Lock()
        self.chat_limiter = RateLimiter(self.settings.ui.chat_per_minute)

    def request_problem(self, message: str, history: list[Any], client: str) -> tuple[str, str]:
        """(what, why) a chat request is refused: ("question" | "conversation" | "rate", a message for
        the person), or ("", "")."""
        ui = self.settings.ui
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
        if client and not self.chat_limiter.allow(client):
            return (
                "rate",
                f"Too many questions from your address (limit {ui.chat_per_minute} a minute); wait a little.",
            )
        return "", ""

    # chat
    def chat(
        self,
        message: str,
        history: list[dict[str, Any]],
        client: str = "",
        sources: Any = None,
        date_from: Any = "",
        date_to: Any = "",
    ) -> Iterator[tuple[list[dict[str, Any]], str, dict[str, Any], str, str]]:
        """Streams (conversation, sources panel, answer as JSON, note, question box) updates. client:
        the caller's address, for the rate limit; sources, date_from, date_to ("YYYY-MM-DD"): only
        articles from those sources, published in those days, answer (nothing given: all)."""
        message = (message if isinstance(message, str) else "").strip()
        history = list(history) if isinstance(history, list) else []
        what, why = self.request_problem(message, history, client)
        if what:  # an oversized conversation is not echoed back; a question refused for the rate stays
            kept = [] if what == "conversation" else history
            yield kept, sources_html(None, {}), {}, why, (message if what == "rate" else "")
            return
        if not message:
            yield history, sources_html(None, {}), {}, "", ""
            return
        filters, problem = answer_filters(sources, date_from, date_to)
        if problem:  # no answer; the question stays in the box to ask again with the dates fixed
            yield history, sources_html(None, {}), {}, problem, message
            return
        turns = history_turns(history)
        history = history + [
            {"role": "user", "content": inert(message)},
            {"role": "assistant", "content": "…"},
        ]
        yield history, sources_html(None, {}), {}, f"Answering with {self.assistant.backend_label}…", ""
        t0 = time.perf_counter()
        draft = ""
        answer: Answer | None = None
        lock = self._llm_lock if self.assistant.backend != Backend.EXTRACTIVE else contextlib.nullcontext()
        try:
            with lock:
                for part in self.assistant.stream(message, turns, filters=filters):
                    if "draft" in part:
                        draft += part["draft"]
                        history[-1] = {"role": "assistant", "content": draft_html(draft)}
                        yield (
                            history,
                            sources_html(None, {}),
                            {},
                            f"Answering with {self.assistant.backend_label}…",
                            "",
                        )
                    elif "answer" in part:
                        answer = part["answer"]
            assert answer is not None
            texts = self.assistant.article_texts(answer.citations)
        except Exception as e:  # noqa: BLE001 - e.g. the Chroma server is down: say so, keep serving
            log.exception("answering failed")
            why = f"{type(e).__name__}: {str(e)[:200]}"
            note = f"No answer: the index is not answering right now ({inert(why)}). Ask again in a moment."
            yield history[:-2], sources_html(None, {}), {}, note, message
            return
        history[-1] = {"role": "assistant", "content": final_html(answer)}
        seconds = time.perf_counter() - t0
        note = f"Answered by {self.assistant.backend_label} in {seconds:.1f} s"
        if filters_note(filters):
            note += f" · {filters_note(filters)}"
        if answer.kind == "closest":
            note += " · no passage answers this for certain: showing the closest one"
        elif answer.refused:
            note += " · no supporting passage found"
        elif not answer.from_model and self.assistant.backend != Backend.EXTRACTIVE:
            note += " · showing quotes: the model's answer did not hold up against the sources"
        sources = sources_html(answer, texts, Path(self.settings.upload_dir).name, self.settings.feeds.folder)
        yield history, sources, _answer_json(answer), note, ""

    def examples(self) -> list[str]:
        ex = []
        if self.assistant.index.article("000_f361700daea0b08c.txt") is not None:
            ex += SEED_EXAMPLES
        manifest = self.assistant.index.manifest()
        newest = sorted(manifest.values(), key=lambda m: -int(m.get("published", 0)))[:3]
        for m in newest:
            title = plain_title(str(m.get("title", "")))
            if title and len(ex) < 3:
                ex.append(f"What happened: {title}?")
        return ex or ["What is in the news?"]

    # page
    def build(self):  # type: ignore[no-untyped-def]
        import gradio as gr

        with gr.Blocks(title="news-assistant") as demo:
            gr.Markdown(
                "## news-assistant\nAsk about the indexed news articles. Every answer quotes its sources word for word."
            )
            status = gr.Markdown(self.status(), elem_id="index-status")
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        elem_id="chat",
                        height=480,
                        label="Conversation",
                        sanitize_html=True,
                        render_markdown=True,
                        latex_delimiters=[],  # "$$…$$" in a question or an article is text
                    )
                    chatbot.data_model = lenient_messages()  # /chat takes string content too
                    with gr.Row():
                        box = gr.Textbox(
                            placeholder="Ask a question about the articles…",
                            show_label=False,
                            scale=5,
                            elem_id="question",
                        )
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                    with gr.Accordion("Filter answers", open=False, elem_id="filters"), gr.Row():
                        # custom values: a script may name a source this page has not listed yet
                        filter_sources = gr.Dropdown(
                            choices=source_choices(self.manifest()[0]),
                            value=[],
                            multiselect=True,
                            allow_custom_value=True,
                            label="Only these sources (none: all)",
                            elem_id="filter-sources",
                            scale=2,
                        )
                        filter_from = gr.Textbox(
                            value="",
                            label="Published from (YYYY-MM-DD)",
                            placeholder="2025-03-01",
                            max_lines=1,
                            elem_id="filter-from",
                        )
                        filter_to = gr.Textbox(
                            value="",
                            label="Published to (YYYY-MM-DD)",
                            placeholder="2025-03-31",
                            max_lines=1,
                            elem_id="filter-to",
                        )
                    note = gr.Markdown("", elem_id="answer-note")
                    gr.Examples(examples=[[e] for e in self.examples()], inputs=[box], label="Examples")
                with gr.Column(scale=2):
                    gr.Markdown("### Sources")
                    sources = gr.HTML(sources_html(None, {}), elem_id="sources")
            answer_json = gr.JSON(visible=False, label="answer")
            first = self.view(1)
            with gr.Accordion("What's new", open=True, elem_id="whats-new"), gr.Row():
                with gr.Column(scale=3):
                    gr.Markdown("### Latest articles")
                    latest = gr.HTML(first["latest"], elem_id="latest")
                    with gr.Row():
                        newer = gr.Button("Newer", size="sm", interactive=False, elem_id="latest-newer")
                        older = gr.Button(
                            "Older", size="sm", interactive=first["older"], elem_id="latest-older"
                        )
                with gr.Column(scale=2):
                    gr.Markdown("### Feeds")
                    feeds_list = gr.HTML(first["feeds"], elem_id="feeds")
                    feed_url = gr.Textbox(
                        label="Feed URL (RSS or Atom)",
                        placeholder="https://…/feed.xml",
                        max_lines=1,
                        elem_id="feed-url",
                    )
                    feed_name = gr.Textbox(
                        label="Name (optional; the feed's own title otherwise)",
                        max_lines=1,
                        elem_id="feed-name",
                    )
                    feed_add = gr.Button("Follow this feed", elem_id="feed-add")
                    feed_result = gr.Markdown("", elem_id="feed-result")
                    feed_pick = gr.Dropdown(
                        choices=first["feed_choices"],
                        value=None,
                        allow_custom_value=True,
                        label="Stop following a feed (its articles stay)",
                        elem_id="feed-pick",
                    )
                    feed_remove = gr.Button("Stop following", size="sm", elem_id="feed-remove")
            page_state = gr.State(1)
            shown = gr.State({})  # what this page was last sent, so that a refresh sends only changes
            timer = gr.Timer(REFRESH_S)
            with gr.Accordion("Add articles", open=False, elem_id="add-articles"):
                with gr.Row():
                    files = gr.File(
                        file_count="multiple",
                        file_types=list(SUPPORTED_SUFFIXES),
                        label=f"Upload articles ({', '.join(SUPPORTED_SUFFIXES)})",
                        elem_id="upload",
                    )
                    with gr.Column():
                        url = gr.Textbox(label="Article URL", placeholder="https://…", elem_id="url")
                        fetch = gr.Button("Fetch and index", elem_id="fetch")
                        reindex = gr.Button("Re-index folders", elem_id="reindex")
                result = gr.Markdown("", elem_id="reindex-result")

            # Gradio fills in progress trackers for parameters whose default is gr.Progress().
            def on_upload(files, progress=gr.Progress()):  # type: ignore[no-untyped-def]  # noqa: B008
                return self.upload(files, progress)

            def on_fetch(url, request, progress=gr.Progress()):  # type: ignore[no-untyped-def]  # noqa: B008
                if not self.fetch_limiter.allow(client_of(request)):
                    return "Too many fetches from your address; wait a minute.", self.status()
                return self.fetch_url(url, progress)

            def on_chat(message, history, sources, date_from, date_to, request):  # type: ignore[no-untyped-def]
                yield from self.chat(message, history, client_of(request), sources, date_from, date_to)

            def on_feed_add(url, name, request, progress=gr.Progress()):  # type: ignore[no-untyped-def]  # noqa: B008
                return inert(self.add_feed(url, name, client_of(request), progress)), self.status()

            def on_feed_remove(url):  # type: ignore[no-untyped-def]
                return inert(self.remove_feed(url)), self.status()

            # Gradio passes the request to a parameter annotated gr.Request (hidden from the API).
            on_fetch.__annotations__["request"] = gr.Request
            on_chat.__annotations__["request"] = gr.Request
            on_feed_add.__annotations__["request"] = gr.Request

            def updates(page, sent):  # type: ignore[no-untyped-def]
                """The refreshed lists and status; gr.skip() for what this page already shows."""
                try:
                    view = self.view(page if isinstance(page, int) else 1)
                except Exception:  # noqa: BLE001 - the page keeps what it shows; the next tick retries
                    log.exception("refreshing the page failed")
                    return [gr.skip()] * (len(refreshed) - 1) + [sent]
                sent = dict(sent) if isinstance(sent, dict) else {}
                out: list[Any] = []
                for key, make in (
                    ("latest", lambda v: v),
                    ("page", lambda v: v),
                    ("newer", lambda v: gr.Button(interactive=v)),
                    ("older", lambda v: gr.Button(interactive=v)),
                    ("feeds", lambda v: v),
                    ("feed_choices", lambda v: gr.Dropdown(choices=v, value=None)),  # a new list: no pick
                    ("sources", lambda v: gr.Dropdown(choices=v)),
                    ("status", lambda v: v),
                ):
                    same = key in sent and sent[key] == view[key]
                    out.append(gr.skip() if same else make(view[key]))
                    sent[key] = view[key]
                return [*out, sent]

            def on_newer(page, sent):  # type: ignore[no-untyped-def]
                return updates(max(1, page - 1), sent)

            def on_older(page, sent):  # type: ignore[no-untyped-def]
                return updates(page + 1, sent)

            def on_reindex(progress=gr.Progress()):  # type: ignore[no-untyped-def]  # noqa: B008
                return self.reindex(progress)

            # The question box is emptied by the chat's first update, so a question typed while an
            # answer streams is never lost.
            chat_outputs = [chatbot, sources, answer_json, note, box]
            # the filters have values, so a caller of /chat may send only (message, history)
            chat_inputs = [box, chatbot, filter_sources, filter_from, filter_to]
            send.click(
                on_chat,
                chat_inputs,
                chat_outputs,
                api_name="chat",
                concurrency_limit=4,
                concurrency_id="chat",
            )
            box.submit(on_chat, chat_inputs, chat_outputs, api_visibility="private", concurrency_id="chat")
            # the lists and the status: on load, every REFRESH_S, and after anything that changes them
            refreshed = [
                latest,
                page_state,
                newer,
                older,
                feeds_list,
                feed_pick,
                filter_sources,
                status,
                shown,
            ]
            quiet: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
            demo.load(updates, [page_state, shown], refreshed, **quiet)
            timer.tick(updates, [page_state, shown], refreshed, **quiet)
            newer.click(on_newer, [page_state, shown], refreshed, **quiet)
            older.click(on_older, [page_state, shown], refreshed, **quiet)
            for event in (
                files.upload(on_upload, [files], [result, status], api_name="upload", concurrency_id="index"),
                fetch.click(on_fetch, [url], [result, status], api_name="fetch_url", concurrency_id="index"),
                reindex.click(on_reindex, None, [result, status], api_name="reindex", concurrency_id="index"),
                feed_add.click(
                    on_feed_add,
                    [feed_url, feed_name],
                    [feed_result, status],
                    api_name="add_feed",
                    concurrency_id="index",
                ),
                feed_remove.click(on_feed_remove, [feed_pick], [feed_result, status], api_name="remove_feed"),
            ):
                event.then(updates, [page_state, shown], refreshed, **quiet)
        return demo

    def launch(self, demo: Any = None, **kwargs: Any) -> Any:
        import gradio as gr

        ui = self.settings.ui
        demo = demo or self.build()
        from starlette.middleware import Middleware

        from assistant.ui.guard import GuardMiddleware, HostPolicy, RateLimiter

        auth = (ui.username, ui.password) if ui.username and ui.password else None
        guard = Middleware(
            GuardMiddleware,  # type: ignore[arg-type]
            policy=HostPolicy(ui.host, ui.allowed_hosts),
            max_body=ui.max_request_bytes,
            login_limiter=RateLimiter(ui.login_per_minute),
        )
        kwargs.setdefault("app_kwargs", {}).setdefault("middleware", []).append(guard)
        return demo.queue(default_concurrency_limit=4, max_size=ui.queue_size).launch(
            server_name=ui.host,
            server_port=ui.port,
            share=ui.share,
            auth=auth,
            css=CSS,
            js=JS,
            theme=gr.themes.Soft(),
            footer_links=["api"],
            max_file_size=ui.max_upload_bytes,
            **kwargs,
        )


def _answer_json(a: Answer) -> dict[str, Any]:
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
        "notes",
    )
    return {**{k: d[k] for k in keys}, "answer_kind": d["kind"]}
