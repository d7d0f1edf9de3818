"""What the page's panels share, each part owning its state: the assistant and its settings, the updater
(the one lock over uploads, re-index, the folder watcher and the feed poller), the app's background jobs,
the fetch rate limit (``PageContext``); the index status line and why the last sync failed
(``IndexStatus``); the article list read at most once every MANIFEST_TTL_S for all open pages
(``ArticleList``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from assistant.background import Background
from assistant.service import Assistant
from assistant.settings import Backend
from assistant.ui.guard import RateLimiter
from assistant.ui.render import inert, newest_first, status_markdown
from assistant.updates import Updater

log = logging.getLogger(__name__)

MANIFEST_TTL_S = 5.0  # one read of the article list serves every open page for this long


class ArticleList:
    """The indexed articles (id → metadata, and the same newest first), cached for MANIFEST_TTL_S."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, dict[str, Any]], list[dict[str, Any]]] | None = None

    def read(self) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
        with self._lock:
            cached = self._cached
            if cached is None or time.monotonic() - cached[0] > MANIFEST_TTL_S:
                manifest = self.assistant.index.manifest()
                cached = self._cached = (time.monotonic(), manifest, newest_first(manifest))
            return cached[1], cached[2]

    def changed(self) -> None:
        """Read afresh next time (after a sync from this page)."""
        with self._lock:
            self._cached = None


class IndexStatus:
    """The status line: the index in plain words, the answerer, and why the last sync failed."""

    def __init__(self, assistant: Assistant, answers: str) -> None:
        self.assistant = assistant
        self.answers = answers  # "quotes only", "quotes; the local model on request"…
        self.problem = ""

    def sync_failed(self, why: str) -> None:
        self.problem = f"The last sync failed ({why})."

    def sync_ok(self) -> None:
        self.problem = ""

    def line(self) -> str:
        try:
            text = status_markdown(self.assistant.index.stats(), self.answers)
            notes = self.assistant.index.problems()
        except Exception as e:  # noqa: BLE001 - a store that is down is shown, not raised
            log.warning("index status unavailable: %s", e)
            return f"⚠ The index is not answering right now ({inert(type(e).__name__)}); questions fail until it is back."
        if self.problem:
            notes.append(self.problem)
        return inert(text) + "".join(f"  \n⚠ {inert(n)}" for n in notes)


def answers_in_words(assistant: Assistant, model_on_request: bool) -> str:
    if assistant.backend == Backend.EXTRACTIVE:
        return "quotes only"
    if model_on_request:
        return f"quotes; {assistant.backend_label} on request"
    return f"quotes, then {assistant.backend_label}"


@dataclass
class PageContext:
    assistant: Assistant
    updater: Updater
    background: Background | None = None  # the watcher and the feed poller, when the app runs them
    status: IndexStatus = field(init=False)
    articles: ArticleList = field(init=False)
    fetch_limiter: RateLimiter = field(init=False)  # pages and feeds

    def __post_init__(self) -> None:
        self.status = IndexStatus(self.assistant, answers_in_words(self.assistant, self.model_on_request))
        self.articles = ArticleList(self.assistant)
        self.fetch_limiter = RateLimiter(self.settings.ui.fetch_per_minute)

    @property
    def settings(self) -> Any:
        return self.assistant.settings

    @property
    def model_on_request(self) -> bool:
        """Whether the page answers with quotes and gives the model's answer only when asked."""
        return self.settings.ui.model_answers == "on_request"

    @property
    def has_model(self) -> bool:
        return self.assistant.backend != Backend.EXTRACTIVE

    @staticmethod
    def progress(progress: Any) -> Callable[[int, int], None]:
        """A sync's progress as Gradio's progress bar (progress: gr.Progress or None)."""

        def update(done: int, total: int) -> None:
            if progress is not None and total:
                progress((done, total), desc="Embedding new or changed articles", unit="chunks")

        return update
