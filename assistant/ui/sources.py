"""The sources panel: a card per citation (title linked, source, date, where the article came from) with
the quote highlighted in its paragraph. ``[n]`` in an answer links to card n (the page's script brings it
into view)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.answer.types import Answer
from assistant.ui.render import sources_html
from assistant.ui.shared import PageContext


class SourcesPanel:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx

    def empty(self) -> str:
        return sources_html(None, {})

    def show(self, answer: Answer) -> str:
        """The cards of an answer's citations (the articles' stored texts read for the paragraphs)."""
        texts = self.ctx.assistant.article_texts(answer.citations)
        settings = self.ctx.settings
        return sources_html(answer, texts, Path(settings.upload_dir).name, settings.feeds.folder)

    def build(self) -> Any:
        import gradio as gr

        gr.Markdown("### Sources")
        return gr.HTML(self.empty(), elem_id="sources")
