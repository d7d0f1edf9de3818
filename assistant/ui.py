"""The chat page (Gradio 6): streamed answers, a sources panel with highlighted quotes, uploads,
fetching a page by URL, re-indexing and the index status. No retrieval logic lives here.

Everything that comes from an article (text, title, url, source) is untrusted: it is HTML-escaped
before it reaches the page, and links are kept only when they are http(s).
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import logging
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from assistant.answer.types import Answer, Citation
from assistant.corpus import SUPPORTED_SUFFIXES
from assistant.service import Assistant
from assistant.settings import Settings

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

MARKER = re.compile(r"\[(\d+)\]")
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


# ---- rendering (pure functions, tested without a server) -------------------------------------------


def safe_url(url: str) -> str:
    """The url if it is an absolute http(s) link, else ""."""
    try:
        parsed = urlparse(url.strip())
    except ValueError:
        return ""
    return url.strip() if parsed.scheme in ("http", "https") and parsed.netloc else ""


def _inert(text: str) -> str:
    """Text as chat content that renders as itself: Markdown punctuation backslash-escaped, then HTML
    escaped."""
    return html.escape(re.sub(r"([\\`*_{}()#+!|~\[\]])", r"\\\1", text), quote=False)


def answer_html(text: str) -> str:
    """The checked answer as chat content: escaped text, with [n] markers as links to the sources panel."""
    return re.sub(
        r"\\\[(\d+)\\\]", lambda m: f'<a href="#src-{m.group(1)}" class="cite">[{m.group(1)}]</a>', _inert(text)
    )


DRAFT_LABEL = "Draft, not yet checked against the sources…"
UNDERSTOOD = "Understood as: "


def draft_html(text: str) -> str:
    """A model's answer while it is written: greyed, labelled unchecked, markers not linked."""
    return f'<div class="draft-label">{DRAFT_LABEL}</div><div class="draft">{_inert(text)}</div>'


def final_html(answer: Answer) -> str:
    """The checked answer, with the standalone question it answered when that differs from what was
    typed."""
    content = answer_html(answer.text)
    if answer.refused:
        content = f'<span class="refused">{content}</span>'
    if answer.standalone_question and answer.standalone_question != answer.question.strip():
        content += f'<div class="understood">{UNDERSTOOD}{_inert(answer.standalone_question)}</div>'
    return content


def _context(text: str, start: int, end: int, width: int = 280) -> tuple[str, str]:
    """The quote's paragraph (cut to ``width`` characters on each side)."""
    p0 = text.rfind("\n", 0, start) + 1
    p1 = text.find("\n", end)
    p1 = len(text) if p1 < 0 else p1
    before, after = text[max(p0, start - width) : start], text[end : min(p1, end + width)]
    if max(p0, start - width) > p0:
        before = "…" + before
    if min(p1, end + width) < p1:
        after = after + "…"
    return before, after


def source_card(c: Citation, article_text: str | None) -> str:
    title = html.escape(c.title or c.article_id)
    url = safe_url(c.url)
    head = (
        f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer nofollow">{title}</a>'
        if url
        else title
    )
    meta = " · ".join(html.escape(x) for x in (c.source, c.published) if x)
    if url:
        meta = (meta + " · " if meta else "") + html.escape(urlparse(url).netloc)
    before, after = _context(article_text, c.start, c.end) if article_text else ("", "")
    ctx = f"{html.escape(before)}<mark>{html.escape(c.quote)}</mark>{html.escape(after)}"
    return (
        f'<div class="src-card" id="src-{c.n}" data-start="{c.start}" data-end="{c.end}">'
        f'<div class="src-head"><a class="src-n" href="#src-{c.n}">[{c.n}]</a>{head}</div>'
        f'<div class="src-meta">{meta}</div><div class="src-ctx">{ctx}</div></div>'
    )


def sources_html(answer: Answer | None, texts: dict[str, str]) -> str:
    if answer is None:
        return '<div class="src-empty">Sources for the answer appear here.</div>'
    if not answer.citations:
        note = "No source supports an answer." if answer.refused else "No sources cited."
        return f'<div class="src-empty">{note}</div>'
    return "".join(source_card(c, texts.get(c.article_id)) for c in answer.citations)


def status_markdown(stats: dict[str, Any], backend_label: str) -> str:
    return (
        f"**{stats['articles']}** articles · **{stats['chunks']}** chunks · newest article "
        f"{stats.get('newest_article') or '—'} · last sync {stats.get('last_sync') or '—'} · "
        f"embeddings `{stats['embedding_model']}` · answerer: **{backend_label}**"
    )


def safe_filename(name: str) -> str:
    base = Path(name.replace("\\", "/")).name  # no folders, no traversal
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = SAFE_NAME.sub("-", stem).strip(".-") or "article"
    return f"{stem[:80]}{suffix}"


def _parts_message(message: Any) -> Any:
    """A chat message whose content is a string (or one part) as Gradio 6 wants it: a list of parts."""
    if isinstance(message, dict):
        content = message.get("content")
        if isinstance(content, str):
            return {**message, "content": [{"type": "text", "text": content}]}
        if isinstance(content, dict):
            return {**message, "content": [content]}
    return message


def lenient_messages() -> type:
    """Gradio 6's chat history model, also accepting a message whose content is a plain string (as
    scripts and gradio_client callers send it; Gradio's browser sends lists of parts)."""
    from gradio.components.chatbot import ChatbotDataMessages
    from pydantic import field_validator

    class Messages(ChatbotDataMessages):
        @field_validator("root", mode="before")
        @classmethod
        def _content_as_parts(cls, value: Any) -> Any:
            return [_parts_message(m) for m in value] if isinstance(value, list) else value

    return Messages


# ---- the app ----------------------------------------------------------------------------------------


class ChatApp:
    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self._reindex_lock = threading.Lock()
        self._llm_lock = threading.Lock()

    # chat
    def chat(
        self, message: str, history: list[dict[str, Any]]
    ) -> Iterator[tuple[list[dict[str, Any]], str, dict[str, Any], str, str]]:
        """Streams (conversation, sources panel, answer as JSON, note, question box) updates."""
        message = (message or "").strip()
        history = list(history or [])
        if not message:
            yield history, sources_html(None, {}), {}, "", ""
            return
        turns = history_turns(history)
        history = history + [
            {"role": "user", "content": _inert(message)},
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
        yield history, sources_html(answer, texts), _answer_json(answer), note, ""

    # new articles
    def upload(self, files: list[Any] | None, progress: Any = None) -> tuple[str, str]:
        if not files:
            return "No files chosen.", self.status()
        saved, problems = [], []
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
        line = self._reindex(progress) if saved else "Nothing was added."
        prefix = f"Saved {', '.join(saved)}. " if saved else ""
        if problems:
            prefix += "Refused: " + "; ".join(problems) + ". "
        return prefix + line, self.status()

    def fetch_url(self, url: str, progress: Any = None) -> tuple[str, str]:
        url = (url or "").strip()
        if not safe_url(url):
            return "Give an http(s) address of an article page.", self.status()
        try:
            import httpx

            with httpx.Client(
                follow_redirects=True, timeout=20.0, headers={"User-Agent": "news-assistant/0.1"}
            ) as client:
                r = client.get(url)
                r.raise_for_status()
                page = r.content[: self.settings.ui.max_upload_bytes]
        except Exception as e:  # noqa: BLE001 - network problems are reported, not raised
            return f"Could not fetch {url}: {type(e).__name__}: {str(e)[:200]}", self.status()
        from assistant.corpus import ArticleError, parse_html

        try:
            art = parse_html(Path("page.html"), page.decode("utf-8", errors="replace"), rel=url, url=url)
        except ArticleError as e:
            return f"{url}: {e}", self.status()
        folder = Path(self.settings.upload_dir)
        folder.mkdir(parents=True, exist_ok=True)
        slug = SAFE_NAME.sub("-", (urlparse(url).netloc + urlparse(url).path)).strip("-")[:80] or "page"
        target = folder / f"{slug}.md"
        front = {"title": art.title, "url": url, "source": art.source, "published": art.published}
        target.write_text(
            f"---\n{json.dumps(front, ensure_ascii=False)}\n---\n{art.text}\n", encoding="utf-8"
        )
        return f"Fetched “{art.title}”. " + self._reindex(progress), self.status()

    def reindex(self, progress: Any = None) -> tuple[str, str]:
        return self._reindex(progress), self.status()

    def _reindex(self, progress: Any = None) -> str:
        if not self._reindex_lock.acquire(blocking=False):
            return "A re-index is already running; questions keep working meanwhile."
        try:

            def update(done: int, total: int) -> None:
                if progress is not None and total:
                    progress((done, total), desc="Embedding new or changed articles", unit="chunks")

            Path(self.settings.upload_dir).mkdir(parents=True, exist_ok=True)
            folders = list(dict.fromkeys([*self.settings.corpus_dirs, Path(self.settings.upload_dir)]))
            report = self.assistant.sync(folders, progress=update)
        finally:
            self._reindex_lock.release()
        line = (
            f"Re-indexed: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.removed} removed, {len(report.failed)} failed ({report.chunks_embedded} chunks embedded "
            f"in {report.seconds:.1f} s)."
        )
        if report.failed:
            line += " Failed: " + "; ".join(f"{Path(f.path).name}: {f.error}" for f in report.failed[:10])
            if len(report.failed) > 10:
                line += f"; and {len(report.failed) - 10} more"
        return line

    def status(self) -> str:
        return status_markdown(self.assistant.index.stats(), self.assistant.backend_label)

    def examples(self) -> list[str]:
        ex = []
        if self.assistant.index.article("000_f361700daea0b08c.txt") is not None:
            ex += SEED_EXAMPLES
        manifest = self.assistant.index.manifest()
        newest = sorted(manifest.values(), key=lambda m: -int(m.get("published", 0)))[:3]
        for m in newest:
            title = str(m.get("title", "")).strip()
            if title and len(ex) < 3:
                ex.append(f"What happened: {title[:90]}?")
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

            def on_fetch(url, progress=gr.Progress()):  # type: ignore[no-untyped-def]  # noqa: B008
                return self.fetch_url(url, progress)

            def on_reindex(progress=gr.Progress()):  # type: ignore[no-untyped-def]  # noqa: B008
                return self.reindex(progress)

            # The question box is emptied by the chat's first update, so a question typed while an
            # answer streams is never lost.
            chat_outputs = [chatbot, sources, answer_json, note, box]
            send.click(
                self.chat,
                [box, chatbot],
                chat_outputs,
                api_name="chat",
                concurrency_limit=4,
                concurrency_id="chat",
            )
            box.submit(
                self.chat, [box, chatbot], chat_outputs, api_visibility="private", concurrency_id="chat"
            )
            files.upload(on_upload, [files], [result, status], api_name="upload", concurrency_id="index")
            fetch.click(on_fetch, [url], [result, status], api_name="fetch_url", concurrency_id="index")
            reindex.click(on_reindex, None, [result, status], api_name="reindex", concurrency_id="index")
        return demo

    def launch(self, demo: Any = None, **kwargs: Any) -> Any:
        import gradio as gr

        ui = self.settings.ui
        demo = demo or self.build()
        auth = (ui.username, ui.password) if ui.username and ui.password else None
        return demo.queue(default_concurrency_limit=4).launch(
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


_UNDERSTOOD_DIV = re.compile(r'<div class="understood">.*?</div>', re.S)
_DRAFT_LABEL_DIV = re.compile(r'<div class="draft-label">.*?</div>', re.S)


def _plain(content: Any) -> str:
    """A chat message's text, from any shape a client sends: a string (our HTML, or plain text), a list
    of parts (Gradio 6's browser: ``[{"type": "text", "text": …}, {"type": "file", …}]``, only text
    parts count), or one part. Files and other parts are ignored."""
    if isinstance(content, list | tuple):  # parts: one level only (a part that is a list is ignored)
        return " ".join(t for t in (_plain(p) for p in content if not isinstance(p, list | tuple)) if t).strip()
    if isinstance(content, dict):
        if content.get("type", "text") == "text" and isinstance(content.get("text"), str):
            return _plain(content["text"])
        return ""
    if not isinstance(content, str):
        return ""
    text = _DRAFT_LABEL_DIV.sub("", _UNDERSTOOD_DIV.sub("", content))
    text = re.sub(r"<[^>]+>", "", text)
    return html.unescape(re.sub(r"\\([\\`*_{}()#+!|~\[\]])", r"\1", text)).strip()


def history_turns(history: list[Any]) -> list[tuple[str, str]]:
    """The conversation as (role, text) turns, from the chat history a client sent (messages as dicts;
    thoughts, tool messages and anything else that is not a user or assistant message are skipped)."""
    turns = []
    for m in history or []:
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            continue
        if (m.get("metadata") or {}).get("title"):
            continue
        text = _plain(m.get("content"))
        if text:
            turns.append((str(m["role"]), text))
    return turns


def _answer_json(a: Answer) -> dict[str, Any]:
    d = a.to_dict()
    keys = ("answer", "citations", "refused", "backend", "timings", "standalone_question", "rewrite", "from_model", "notes")
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


def main(argv: list[str] | None = None) -> None:
    from assistant.providers import offline_env

    offline_env()
    ap = argparse.ArgumentParser(description="Serve the news-assistant chat page.")
    ap.add_argument("--port", type=int, help="port (default $ASSISTANT_UI__PORT or 7860)")
    ap.add_argument("--host", help="host (default $ASSISTANT_UI__HOST or 127.0.0.1)")
    ap.add_argument("--index-dir", type=Path, help="index folder (default $ASSISTANT_INDEX_DIR or index/)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "bm25s", "chromadb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from assistant.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    if args.port:
        settings.ui.port = args.port
    if args.host:
        settings.ui.host = args.host
    if args.index_dir:
        settings.index_dir = args.index_dir
    serve(settings)


def serve(settings: Settings) -> None:
    from assistant.index import IndexError_
    from assistant.providers import ConfigError, MissingExtra

    try:
        assistant = Assistant.from_settings(settings)
    except (ConfigError, MissingExtra, IndexError_) as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    app = ChatApp(assistant)
    assistant.index.embedder.embed_query("warm up")  # load the embedding model before the first question
    t0 = time.perf_counter()
    line = app._reindex()
    print(f"{line} ({time.perf_counter() - t0:.1f} s to sync)", file=sys.stderr)
    print(f"answerer: {assistant.backend_label}", file=sys.stderr)
    app.launch()
