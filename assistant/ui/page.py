"""The chat page (Gradio 6): ChatApp composes the panels — chat (``chat.py``), sources (``sources.py``),
what's new (``whatsnew.py``), add articles (``adding.py``), each owning its state — over what they share
(``shared.py``), lays them out, wires what refreshes by itself, and launches the page behind the guard.
No retrieval, answering or fetching logic lives here: the panels call the Assistant, the Updater and
the corpus layer.
"""

from __future__ import annotations

import logging
from typing import Any

from assistant.background import Background
from assistant.service import Assistant
from assistant.ui.adding import AddArticlesPanel, AddParts
from assistant.ui.chat import ChatPanel, ChatParts
from assistant.ui.inputs import client_of
from assistant.ui.render import inert, source_choices
from assistant.ui.shared import PageContext
from assistant.ui.sources import SourcesPanel
from assistant.ui.whatsnew import WhatsNewPanel, WhatsNewParts
from assistant.updates import Updater

log = logging.getLogger(__name__)

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
.evidence { margin-bottom: 6px; }
.draft { opacity: 0.55; }
.draft-label { font-size: 0.8em; font-style: italic; opacity: 0.8; margin: 4px 0; }
details.quotes { font-size: 0.9em; margin-top: 6px; opacity: 0.9; }
.understood { font-size: 0.85em; opacity: 0.75; margin-top: 6px; }
#chat a.cite { color: var(--color-accent); font-weight: 600; text-decoration: none; cursor: pointer; }
.latest-list { margin: 0; padding-left: 2.2em; }
.latest-item, .feed { margin-bottom: 8px; overflow-wrap: anywhere; }
.latest-title, .feed-title { font-weight: 600; }
.latest-meta, .feed-meta, .feed-url, .latest-pager, .feeds-poller { font-size: 0.85em; opacity: 0.8; }
.feed-list { list-style: none; margin: 0; padding: 0; }
.feed.failed .feed-meta { color: #b45309; opacity: 1; }
.feeds-poller { margin-bottom: 8px; }
@media (max-width: 640px) {
  #question-row { flex-direction: column !important; gap: 6px; }
  #question-row > * { width: 100% !important; min-width: 0 !important; flex: 1 1 auto !important; }
  #sources { max-height: none; }
}
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
# What an open page refreshes, in the order of its outputs (the page number and what was sent besides).
REFRESHED = ("latest", "page", "newer", "older", "feeds", "feed_choices", "sources", "examples", "status")


class ChatApp:
    def __init__(
        self, assistant: Assistant, updater: Updater | None = None, background: Background | None = None
    ) -> None:
        self.ctx = PageContext(assistant, updater or Updater(assistant), background)
        self.sources = SourcesPanel(self.ctx)
        self.chat = ChatPanel(self.ctx, self.sources)
        self.whats_new = WhatsNewPanel(self.ctx)
        self.adding = AddArticlesPanel(self.ctx)

    def view(self, page: int = 1) -> dict[str, Any]:
        """Everything an open page refreshes by itself."""
        manifest = self.ctx.articles.read()[0]
        return {
            **self.whats_new.view(page),
            "sources": source_choices(manifest),
            "examples": self.chat.examples(),
            "status": self.ctx.status.line(),
        }

    def refresh(self, page: Any, sent: Any) -> list[Any]:
        """The refreshed parts (gr.skip() for what this page already shows) and what was sent."""
        import gradio as gr

        try:
            view = self.view(page if isinstance(page, int) else 1)
        except Exception:  # noqa: BLE001 - the page keeps what it shows; the next tick retries
            log.exception("refreshing the page failed")
            return [gr.skip()] * len(REFRESHED) + [sent]
        sent = dict(sent) if isinstance(sent, dict) else {}
        make = {
            "newer": lambda v: gr.Button(interactive=v),
            "older": lambda v: gr.Button(interactive=v),
            "feed_choices": lambda v: gr.Dropdown(choices=v, value=None),  # a new list: no pick
            "sources": lambda v: gr.Dropdown(choices=v),
            "examples": lambda v: gr.Dataset(samples=[[e] for e in v]),
        }
        out: list[Any] = []
        for key in REFRESHED:
            same = key in sent and sent[key] == view[key]
            out.append(gr.skip() if same else make.get(key, lambda v: v)(view[key]))
            sent[key] = view[key]
        return [*out, sent]

    def build(self) -> Any:
        import gradio as gr

        with gr.Blocks(title="news-assistant") as demo:
            gr.Markdown(
                "## news-assistant\nAsk about the indexed news articles. Every answer quotes its sources word for word."
            )
            status = gr.Markdown(self.ctx.status.line(), elem_id="index-status")
            with gr.Row():
                with gr.Column(scale=3, min_width=320):
                    chat = self.chat.build()
                with gr.Column(scale=2, min_width=320):
                    sources = self.sources.build()
            news = self.whats_new.build()
            adding = self.adding.build()
            self.chat.wire(chat, sources)
            self._wire_refresh(demo, chat, news, adding, status)
        return demo

    def _wire_refresh(
        self, demo: Any, chat: ChatParts, news: WhatsNewParts, adding: AddParts, status: Any
    ) -> None:
        """The lists, examples and status: on load, every REFRESH_S, and after anything that changes
        them; paging; following feeds and adding articles."""
        import gradio as gr

        page, shown = gr.State(1), gr.State({})  # shown: what this page was last sent
        refreshed = [
            news.latest,
            page,
            news.newer,
            news.older,
            news.feeds,
            news.feed_pick,
            chat.filter_sources,
            chat.examples,
            status,
            shown,
        ]
        quiet: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
        demo.load(self.refresh, [page, shown], refreshed, **quiet)
        gr.Timer(REFRESH_S).tick(self.refresh, [page, shown], refreshed, **quiet)
        news.newer.click(lambda p, s: self.refresh(max(1, p - 1), s), [page, shown], refreshed, **quiet)
        news.older.click(lambda p, s: self.refresh(p + 1, s), [page, shown], refreshed, **quiet)
        for event in self._wire_actions(news, adding, status):
            event.then(self.refresh, [page, shown], refreshed, **quiet)

    def _wire_actions(self, news: WhatsNewParts, adding: AddParts, status: Any) -> list[Any]:
        import gradio as gr

        status_line = self.ctx.status.line

        # Gradio fills in progress trackers for parameters whose default is gr.Progress().
        def on_upload(files, progress=gr.Progress()):  # type: ignore[no-untyped-def]  # noqa: B008
            return self.adding.upload(files, progress)

        def on_fetch(url, request, progress=gr.Progress()):  # type: ignore[no-untyped-def]  # noqa: B008
            if not self.ctx.fetch_limiter.allow(client_of(request)):
                return "Too many fetches from your address; wait a minute.", status_line()
            return self.adding.fetch_url(url, progress)

        def on_reindex(progress=gr.Progress()):  # type: ignore[no-untyped-def]  # noqa: B008
            return self.adding.reindex(progress)

        def on_feed_add(url, name, request, progress=gr.Progress()):  # type: ignore[no-untyped-def]  # noqa: B008
            return inert(self.whats_new.add_feed(url, name, client_of(request), progress)), status_line()

        def on_feed_remove(url):  # type: ignore[no-untyped-def]
            return inert(self.whats_new.remove_feed(url)), status_line()

        # Gradio passes the request to a parameter annotated gr.Request (hidden from the API).
        on_fetch.__annotations__["request"] = gr.Request
        on_feed_add.__annotations__["request"] = gr.Request
        out = [adding.result, status]
        return [
            adding.files.upload(on_upload, [adding.files], out, api_name="upload", concurrency_id="index"),
            adding.fetch.click(on_fetch, [adding.url], out, api_name="fetch_url", concurrency_id="index"),
            adding.reindex.click(on_reindex, None, out, api_name="reindex", concurrency_id="index"),
            news.feed_add.click(
                on_feed_add,
                [news.feed_url, news.feed_name],
                [news.feed_result, status],
                api_name="add_feed",
                concurrency_id="index",
            ),
            news.feed_remove.click(
                on_feed_remove, [news.feed_pick], [news.feed_result, status], api_name="remove_feed"
            ),
        ]

    def launch(self, demo: Any = None, **kwargs: Any) -> Any:
        import gradio as gr
        from starlette.middleware import Middleware

        from assistant.ui.guard import (
            ClientAddressMiddleware,
            GuardMiddleware,
            HostPolicy,
            RateLimiter,
            TrustedProxies,
            keep_the_peer_address,
        )

        ui = self.ctx.settings.ui
        demo = demo or self.build()
        auth = (ui.username, ui.password) if ui.username and ui.password else None
        guard = Middleware(
            GuardMiddleware,  # type: ignore[arg-type]
            policy=HostPolicy(ui.host, ui.allowed_hosts),
            max_body=ui.max_request_bytes,
            login_limiter=RateLimiter(ui.login_per_minute),
        )
        # The client's address for the rate limits, decided first: the TCP peer, or behind a proxy listed
        # in ui.trusted_proxies the right-most untrusted X-Forwarded-For hop (uvicorn's own reading of
        # that header, which trusts 127.0.0.1 by default, is switched off).
        keep_the_peer_address()
        client = Middleware(ClientAddressMiddleware, proxies=TrustedProxies(ui.trusted_proxies))  # type: ignore[arg-type]
        kwargs.setdefault("app_kwargs", {}).setdefault("middleware", []).extend([client, guard])
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
