"""The "What's new" panel: the latest indexed articles (paged, newest first) and the followed feeds with
the poller's line, following and unfollowing a feed; everything an open page refreshes by itself, so
that articles the feed poller brings in appear without reloading (``view``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from assistant.ui.feeds import FeedActions
from assistant.ui.render import feed_choices, feeds_html, latest_html, page_span, poller_line, when
from assistant.ui.shared import PageContext

LATEST_PER_PAGE = 10


def _instant(text: str) -> datetime | None:
    """A stored time ("…+00:00", or the poller's local "YYYY-MM-DDTHH:MM:SS: what it did") as UTC."""
    try:
        t = datetime.fromisoformat(text[:25].split(": ")[0])
    except ValueError:
        return None
    return (t if t.tzinfo else t.astimezone()).astimezone(UTC)


@dataclass
class WhatsNewParts:
    latest: Any
    newer: Any
    older: Any
    feeds: Any
    feed_url: Any
    feed_name: Any
    feed_add: Any
    feed_result: Any
    feed_pick: Any
    feed_remove: Any


class WhatsNewPanel:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.feeds = FeedActions(ctx)

    def latest(self, page: int = 1) -> tuple[str, int, int]:
        """(HTML of that page of the latest articles, the page shown, how many pages)."""
        rows = self.ctx.articles.read()[1]
        page, pages, _, _ = page_span(len(rows), page, LATEST_PER_PAGE)
        return latest_html(rows, page, LATEST_PER_PAGE), page, pages

    def last_poll(self, feeds: list[Any]) -> str:
        """When feeds were last polled, by the app's poller or from this page: the later of the two."""
        times = [t for f in feeds if (t := _instant(f.polled_at))]
        bg = self.ctx.background
        if bg is not None and bg.last_poll and (t := _instant(bg.last_poll)):
            times.append(t)
        return when(max(times).isoformat(timespec="seconds")) if times else ""

    def feeds_view(self) -> tuple[str, list[tuple[str, str]]]:
        """(HTML of the followed feeds with the poller's line, the choices for removing one)."""
        feeds = list(self.ctx.updater.feeds())
        bg = self.ctx.background
        interval = self.ctx.settings.feeds.interval_minutes
        poller = poller_line(interval, self.last_poll(feeds), bg.next_poll) if bg else ""
        return feeds_html(feeds, poller), feed_choices(feeds)

    def view(self, page: int = 1) -> dict[str, Any]:
        """The panel's parts an open page refreshes by itself."""
        latest, page, pages = self.latest(page)
        feeds, choices = self.feeds_view()
        return {
            "latest": latest,
            "page": page,
            "newer": page > 1,
            "older": page < pages,
            "feeds": feeds,
            "feed_choices": choices,
        }

    def add_feed(self, url: Any, name: Any = "", client: str = "", progress: Any = None) -> str:
        return self.feeds.add_feed(url, name, client, progress)

    def remove_feed(self, url: Any) -> str:
        return self.feeds.remove_feed(url)

    def build(self) -> WhatsNewParts:
        import gradio as gr

        first = self.view(1)
        with gr.Accordion("What's new", open=True, elem_id="whats-new"), gr.Row():
            with gr.Column(scale=3):
                gr.Markdown("### Latest articles")
                latest = gr.HTML(first["latest"], elem_id="latest")
                with gr.Row():
                    newer = gr.Button("Newer", size="sm", interactive=False, elem_id="latest-newer")
                    older = gr.Button("Older", size="sm", interactive=first["older"], elem_id="latest-older")
            with gr.Column(scale=2):
                gr.Markdown("### Feeds")
                feeds = gr.HTML(first["feeds"], elem_id="feeds")
                feed_url = gr.Textbox(
                    label="Feed URL (RSS or Atom)",
                    placeholder="https://…/feed.xml",
                    max_lines=1,
                    elem_id="feed-url",
                )
                feed_name = gr.Textbox(
                    label="Name (optional; the feed's own title otherwise)", max_lines=1, elem_id="feed-name"
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
        return WhatsNewParts(
            latest, newer, older, feeds, feed_url, feed_name, feed_add, feed_result, feed_pick, feed_remove
        )
