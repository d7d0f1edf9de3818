"""The chat page (Gradio 6): streamed answers, a sources panel with highlighted quotes, filters for
the answers (sources, dates), uploads, fetching a page by URL, re-indexing, the index status, and "What's
new": the latest indexed articles and the followed feeds (add, remove). The lists and the status refresh
by themselves, so articles the feed poller brings in appear without reloading. No retrieval, answering or
fetching logic lives here: it calls the Assistant, the Updater and the corpus layer.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from assistant.answer.types import Answer
from assistant.background import Background
from assistant.corpus import SUPPORTED_SUFFIXES
from assistant.corpus.pages import SAFE_NAME
from assistant.retrieve import Filters
from assistant.service import Assistant
from assistant.ui.history import history_turns, lenient_messages
from assistant.ui.render import (
    draft_html,
    feed_choices,
    feeds_html,
    filters_note,
    final_html,
    inert,
    latest_html,
    newest_first,
    page_span,
    plain_title,
    poller_line,
    safe_url,
    source_choices,
    sources_html,
    status_markdown,
)
from assistant.updates import Updater

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


LATEST_PER_PAGE = 10
REFRESH_S = 12.0  # how often an open page refreshes the latest articles, the feeds and the status
MANIFEST_TTL_S = 5.0  # one read of the article list serves every open page for this long
MAX_FEED_URL_CHARS = 2_000
MAX_FILTER_SOURCES = 100
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(value: Any, label: str) -> tuple[date | None, str]:
    """(the day, "") for "YYYY-MM-DD" or a blank, else (None, a one-line note for the person)."""
    text = (value if isinstance(value, str) else "" if value is None else str(value)).strip()
    if not text:
        return None, ""
    if len(text) == 10 and _DAY.fullmatch(text):
        try:
            return date.fromisoformat(text), ""
        except ValueError:
            pass
    shown = inert(" ".join(text[:40].split()) + ("…" if len(text) > 40 else ""))
    return None, f"The “{label}” date “{shown}” is not a date: write it as YYYY-MM-DD (e.g. 2025-03-18)."


def answer_filters(sources: Any, date_from: Any, date_to: Any) -> tuple[Filters, str]:
    """The answer filters from the page's inputs (sources: a list of names, or one name, or nothing),
    or (Filters(), a one-line note) when they cannot be used."""
    if isinstance(sources, str):
        sources = [sources]
    names = (
        [s.strip() for s in sources if isinstance(s, str) and s.strip()] if isinstance(sources, list) else []
    )
    names = list(dict.fromkeys(n[:500] for n in names))
    if len(names) > MAX_FILTER_SOURCES:
        return Filters(), f"Too many sources chosen ({len(names):,}; the limit is {MAX_FILTER_SOURCES})."
    lo, why_from = parse_day(date_from, "from")
    hi, why_to = parse_day(date_to, "to")
    if why_from or why_to:
        return Filters(), " ".join(x for x in (why_from, why_to) if x)
    if lo and hi and lo > hi:
        return Filters(), f"The “from” date {lo} is after the “to” date {hi}: no article can match."
    return Filters(date_from=lo, date_to=hi, sources=tuple(names)), ""


def feed_url_problem(url: str) -> str:
    """Why an address typed as a feed is refused before anything is fetched ("" when it may be tried)."""
    if not url:
        return "Give the http(s) address of an RSS or Atom feed."
    if len(url) > MAX_FEED_URL_CHARS:
        return f"The address is too long ({len(url):,} characters; the limit is {MAX_FEED_URL_CHARS:,})."
    if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in url):
        return "The address contains spaces or control characters; give the http(s) address of a feed."
    if not safe_url(url):
        return "Only http(s) addresses can be followed; give the http(s) address of an RSS or Atom feed."
    return ""


def client_of(request: Any) -> str:
    """The caller's address from a gr.Request ("" when unknown)."""
    client = getattr(request, "client", None)
    return str(getattr(client, "host", "") or "")


def safe_filename(name: str) -> str:
    base = Path(name.replace("\\", "/")).name  # no folders, no traversal
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = SAFE_NAME.sub("-", stem).strip(".-") or "article"
    return f"{stem[:80]}{suffix}"


class ChatApp:
    def __init__(
        self, assistant: Assistant, updater: Updater | None = None, background: Background | None = None
    ) -> None:
        from assistant.ui.guard import RateLimiter

        self.assistant = assistant
        self.settings = assistant.settings
        # the one lock over uploads, re-index, the folder watcher and the feed poller
        self.updater = updater or Updater(assistant)
        self.background = background  # the watcher and the feed poller, when the app runs them
        self._llm_lock = threading.Lock()
        ui = self.settings.ui
        self.chat_limiter = RateLimiter(ui.chat_per_minute)
        self.fetch_limiter = RateLimiter(ui.fetch_per_minute)
        self.sync_problem = ""  # why the last sync (the start-up one included) failed, shown in the status
        self.last_failed: list[Any] = []
        self._manifest_lock = threading.Lock()
        self._manifest: tuple[float, dict[str, dict[str, Any]], list[dict[str, Any]]] | None = None

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
        lock = self._llm_lock if self.assistant.backend != "extractive" else contextlib.nullcontext()
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
        history[-1] = {"role": "assistant", "content": final_html(answer)}
        seconds = time.perf_counter() - t0
        note = f"Answered by {self.assistant.backend_label} in {seconds:.1f} s"
        if filters_note(filters):
            note += f" · {filters_note(filters)}"
        if answer.refused:
            note += " · no supporting passage found"
        elif not answer.from_model and self.assistant.backend != "extractive":
            note += " · showing quotes: the model's answer did not hold up against the sources"
        sources = sources_html(answer, texts, Path(self.settings.upload_dir).name, self.settings.feeds.folder)
        yield history, sources, _answer_json(answer), note, ""

    # new articles
    def upload(self, files: list[Any] | None, progress: Any = None) -> tuple[str, str]:
        if not files:
            return "No files chosen.", self.status()
        saved, problems = [], []
        new: list[Path] = []
        folder = Path(self.settings.upload_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for f in files:
            src = Path(getattr(f, "name", None) or str(f))
            original = getattr(f, "orig_name", None) or src.name
            name = safe_filename(original)
            suffix = Path(name).suffix
            if suffix not in SUPPORTED_SUFFIXES:
                problems.append(
                    f"{original}: unsupported type '{suffix or '?'}' (use {' '.join(SUPPORTED_SUFFIXES)})"
                )
                continue
            size = src.stat().st_size if src.exists() else 0
            if size > self.settings.ui.max_upload_bytes:
                problems.append(
                    f"{original}: {size:,} bytes is over the upload limit of {self.settings.ui.max_upload_bytes:,}"
                )
                continue
            target = _free_target(folder, name, src)
            if target.exists():  # the same file again: nothing to do
                saved.append(target.name)
                continue
            shutil.copyfile(src, target)
            saved.append(target.name)
            new.append(target)
        line = self._reindex(progress) if saved else "Nothing was added."
        # A new file that failed as a whole is not kept: it would only fail again at every sync.
        failed_whole = {f.path: f.error for f in self.last_failed}
        dropped = [t for t in new if f"{folder.name}/{t.name}" in failed_whole]
        for t in dropped:
            t.unlink(missing_ok=True)
        kept = [n for n in saved if n not in {t.name for t in dropped}]
        prefix = f"Saved {', '.join(kept)}. " if kept else ""
        if dropped:
            why = (f"{folder.name}/{t.name}: {failed_whole[f'{folder.name}/{t.name}']}" for t in dropped)
            prefix += f"Not kept: {'; '.join(why)}. "
        if problems:
            prefix += "Refused: " + "; ".join(problems) + ". "
        return prefix + line, self.status()

    def fetch_url(self, url: str, progress: Any = None) -> tuple[str, str]:
        from assistant.corpus import ArticleError
        from assistant.corpus.fetch import FetchError
        from assistant.corpus.pages import save_page

        url = (url if isinstance(url, str) else "").strip()
        if not safe_url(url):
            return "Give an http(s) address of an article page.", self.status()
        try:
            saved = save_page(
                url, self.settings.fetch, self.settings.corpus, Path(self.settings.upload_dir) / "fetched"
            )
        except FetchError as e:
            return str(e), self.status()
        except ArticleError as e:
            return f"{url}: {e}", self.status()
        return f"Fetched “{saved.title}”. " + self._reindex(progress), self.status()

    def reindex(self, progress: Any = None) -> tuple[str, str]:
        return self._reindex(progress), self.status()

    def _reindex(self, progress: Any = None) -> str:
        """Syncs every folder (waiting for a sync that the watcher or the feed poller is running)."""
        try:
            line = self._sync(progress)
            self.sync_problem = ""
            return line
        except Exception as e:  # noqa: BLE001 - the page keeps serving what is indexed
            log.exception("re-index failed")
            self.sync_problem = f"The last sync failed ({type(e).__name__}: {str(e)[:200]})."
            return f"Re-index failed ({type(e).__name__}: {str(e)[:200]}); what was indexed before is still there."
        finally:
            self._manifest = None

    @staticmethod
    def _progress(progress: Any) -> Callable[[int, int], None]:
        def update(done: int, total: int) -> None:
            if progress is not None and total:
                progress((done, total), desc="Embedding new or changed articles", unit="chunks")

        return update

    def _sync(self, progress: Any = None) -> str:
        report = self.updater.sync(progress=self._progress(progress))
        self.last_failed = list(report.failed)
        line = (
            f"Re-indexed: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.removed} removed, {len(report.failed)} failed ({report.chunks_embedded} chunks embedded "
            f"in {report.seconds:.1f} s)."
        )
        if report.failed:
            line += " Failed: " + "; ".join(f"{f.path}: {f.error}" for f in report.failed[:10])
            if len(report.failed) > 10:
                line += f"; and {len(report.failed) - 10} more"
        return line

    # feeds
    def add_feed(self, url: Any, name: Any = "", client: str = "", progress: Any = None) -> str:
        """Follows a feed, polls it at once and syncs what it brought: one line for the person. client:
        the caller's address, for the rate limit (shared with fetching a page)."""
        from assistant.corpus.feeds.parse import FeedError
        from assistant.corpus.fetch import FetchError

        url = (url if isinstance(url, str) else "").strip()
        problem = feed_url_problem(url)
        if problem:
            return problem
        name = name if isinstance(name, str) else ""
        name = " ".join("".join(c if unicodedata.category(c)[0] != "C" else " " for c in name[:1000]).split())
        if client and not self.fetch_limiter.allow(client):
            return (
                f"Too many fetches from your address (limit {self.settings.ui.fetch_per_minute} a minute); "
                "wait a little."
            )
        try:
            feed, _, added = self.updater.poller.add(url, name)
        except (FetchError, FeedError) as e:
            return " ".join(str(e).split())
        except Exception as e:  # noqa: BLE001 - one line, never a traceback; the page keeps serving
            log.exception("adding the feed %s failed", url)
            return f"Could not follow {url[:200]}: {type(e).__name__}: {' '.join(str(e).split())[:200]}"
        head = f"{'Now following' if added else 'Already following'} “{feed.name}”"
        try:
            done = self.updater.sync_feeds(only=[feed], progress=self._progress(progress))
        except Exception as e:  # noqa: BLE001
            log.exception("polling the feed %s failed", feed.url)
            self.sync_problem = f"The last sync failed ({type(e).__name__}: {str(e)[:200]})."
            return f"{head}, but polling it failed ({type(e).__name__}: {' '.join(str(e).split())[:200]})."
        finally:
            self._manifest = None
        line = f"{head}: " + "; ".join(f.line() for f in done.poll.feeds)
        failed = [x for f in done.poll.feeds for x in f.failed]
        if failed:
            line += (
                ". Failed: "
                + "; ".join(failed[:5])
                + (f"; and {len(failed) - 5} more" if len(failed) > 5 else "")
            )
        if done.index is not None:
            self.sync_problem = ""
            line += f". Index: {done.index.summary()}."
        else:
            line += ". The index is unchanged."
        return line

    def remove_feed(self, url: Any) -> str:
        """Stops following a feed (its articles stay indexed): one line for the person."""
        url = (url if isinstance(url, str) else "").strip()
        if not url:
            return "Choose a followed feed to remove."
        feed = next((f for f in self.updater.feeds() if f.url == url), None)
        if feed is None:
            return "That feed is not followed."
        with self.updater.lock:  # not while a poll of it is running
            self.updater.poller.remove(feed)
        return f"Stopped following “{feed.name}”; the articles it brought stay in the index."

    # what's new
    def manifest(self) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
        """The indexed articles (id → metadata) and the same newest first, read at most once every
        MANIFEST_TTL_S for all open pages (and afresh after a sync from this page)."""
        with self._manifest_lock:
            cached = self._manifest
            if cached is None or time.monotonic() - cached[0] > MANIFEST_TTL_S:
                manifest = self.assistant.index.manifest()
                cached = self._manifest = (time.monotonic(), manifest, newest_first(manifest))
            return cached[1], cached[2]

    def latest(self, page: int = 1) -> tuple[str, int, int]:
        """(HTML of that page of the latest articles, the page shown, how many pages)."""
        rows = self.manifest()[1]
        page, pages, _, _ = page_span(len(rows), page, LATEST_PER_PAGE)
        return latest_html(rows, page, LATEST_PER_PAGE), page, pages

    def feeds_view(self) -> tuple[str, list[tuple[str, str]]]:
        """(HTML of the followed feeds with the app poller's line, the choices for removing one)."""
        feeds = self.updater.feeds()
        bg = self.background
        poller = poller_line(self.settings.feeds.interval_minutes, bg.last_poll, bg.next_poll) if bg else ""
        return feeds_html(feeds, poller), feed_choices(feeds)

    def view(self, page: int = 1) -> dict[str, Any]:
        """Everything the page refreshes by itself."""
        latest, page, pages = self.latest(page)
        feeds, choices = self.feeds_view()
        return {
            "latest": latest,
            "page": page,
            "newer": page > 1,
            "older": page < pages,
            "feeds": feeds,
            "feed_choices": choices,
            "sources": source_choices(self.manifest()[0]),
            "status": self.status(),
        }

    def status(self) -> str:
        line = status_markdown(self.assistant.index.stats(), self.assistant.backend_label)
        return f"{line}  \n⚠ {inert(self.sync_problem)}" if self.sync_problem else line

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
    return {k: d[k] for k in keys}


def _free_target(folder: Path, name: str, src: Path) -> Path:
    """A path in folder for name that does not overwrite a different file (same content: same path)."""
    target = folder / name
    n = 1
    while target.exists():
        if target.read_bytes() == src.read_bytes():
            return target
        target = folder / f"{Path(name).stem}-{n}{Path(name).suffix}"
        n += 1
    return target
