"""The chat page (Gradio 6): streamed answers, a sources panel with highlighted quotes, uploads,
fetching a page by URL, re-indexing and the index status. No retrieval, answering or fetching logic
lives here: it calls the Assistant and the corpus layer.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.answer.types import Answer
from assistant.corpus import SUPPORTED_SUFFIXES
from assistant.corpus.pages import SAFE_NAME
from assistant.service import Assistant
from assistant.ui.history import history_turns, lenient_messages
from assistant.ui.render import (
    draft_html,
    final_html,
    inert,
    plain_title,
    safe_url,
    sources_html,
    status_markdown,
)

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
    def __init__(self, assistant: Assistant) -> None:
        from assistant.ui.guard import RateLimiter

        self.assistant = assistant
        self.settings = assistant.settings
        self._reindex_lock = threading.Lock()
        self._llm_lock = threading.Lock()
        ui = self.settings.ui
        self.chat_limiter = RateLimiter(ui.chat_per_minute)
        self.fetch_limiter = RateLimiter(ui.fetch_per_minute)
        self.sync_problem = ""  # why the last sync (the start-up one included) failed, shown in the status
        self.last_failed: list[Any] = []

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
        self, message: str, history: list[dict[str, Any]], client: str = ""
    ) -> Iterator[tuple[list[dict[str, Any]], str, dict[str, Any], str, str]]:
        """Streams (conversation, sources panel, answer as JSON, note, question box) updates. client:
        the caller's address, for the rate limit."""
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
            for part in self.assistant.stream(message, turns):
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
        if answer.refused:
            note += " · no supporting passage found"
        elif not answer.from_model and self.assistant.backend != "extractive":
            note += " · showing quotes: the model's answer did not hold up against the sources"
        sources = sources_html(answer, texts, Path(self.settings.upload_dir).name)
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
        if not self._reindex_lock.acquire(blocking=False):
            return "A re-index is already running; questions keep working meanwhile."
        try:
            line = self._sync(progress)
            self.sync_problem = ""
            return line
        except Exception as e:  # noqa: BLE001 - the page keeps serving what is indexed
            log.exception("re-index failed")
            self.sync_problem = f"The last sync failed ({type(e).__name__}: {str(e)[:200]})."
            return f"Re-index failed ({type(e).__name__}: {str(e)[:200]}); what was indexed before is still there."
        finally:
            self._reindex_lock.release()

    def _sync(self, progress: Any = None) -> str:
        def update(done: int, total: int) -> None:
            if progress is not None and total:
                progress((done, total), desc="Embedding new or changed articles", unit="chunks")

        Path(self.settings.upload_dir).mkdir(parents=True, exist_ok=True)
        folders = list(dict.fromkeys([*self.settings.corpus_dirs, Path(self.settings.upload_dir)]))
        report = self.assistant.sync(folders, progress=update)
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
                    note = gr.Markdown("", elem_id="answer-note")
                    gr.Examples(examples=[[e] for e in self.examples()], inputs=[box], label="Examples")
                with gr.Column(scale=2):
                    gr.Markdown("### Sources")
                    sources = gr.HTML(sources_html(None, {}), elem_id="sources")
            answer_json = gr.JSON(visible=False, label="answer")
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

            def on_chat(message, history, request):  # type: ignore[no-untyped-def]
                yield from self.chat(message, history, client_of(request))

            # Gradio passes the request to a parameter annotated gr.Request (hidden from the API).
            on_fetch.__annotations__["request"] = gr.Request
            on_chat.__annotations__["request"] = gr.Request

            def on_reindex(progress=gr.Progress()):  # type: ignore[no-untyped-def]  # noqa: B008
                return self.reindex(progress)

            # The question box is emptied by the chat's first update, so a question typed while an
            # answer streams is never lost.
            chat_outputs = [chatbot, sources, answer_json, note, box]
            send.click(
                on_chat,
                [box, chatbot],
                chat_outputs,
                api_name="chat",
                concurrency_limit=4,
                concurrency_id="chat",
            )
            box.submit(on_chat, [box, chatbot], chat_outputs, api_visibility="private", concurrency_id="chat")
            files.upload(on_upload, [files], [result, status], api_name="upload", concurrency_id="index")
            fetch.click(on_fetch, [url], [result, status], api_name="fetch_url", concurrency_id="index")
            reindex.click(on_reindex, None, [result, status], api_name="reindex", concurrency_id="index")
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
