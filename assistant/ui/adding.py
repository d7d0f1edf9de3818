"""The "Add articles" panel: uploaded files, a page fetched by its address, and re-indexing the folders
(waiting for a sync that the watcher or the feed poller is running); ``sync_all`` is also the app's
start-up sync.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.corpus import SUPPORTED_SUFFIXES
from assistant.textutil import plural
from assistant.ui.inputs import safe_filename
from assistant.ui.render import safe_url
from assistant.ui.shared import PageContext

log = logging.getLogger(__name__)


@dataclass
class AddParts:
    files: Any
    url: Any
    fetch: Any
    reindex: Any
    result: Any


class AddArticlesPanel:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.last_failed: list[Any] = []  # the files the last sync could not index

    def upload(self, files: list[Any] | None, progress: Any = None) -> tuple[str, str]:
        if not files:
            return "No files chosen.", self.ctx.status.line()
        saved, problems = [], []
        new: list[Path] = []
        folder = Path(self.ctx.settings.upload_dir)
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
            if size > self.ctx.settings.ui.max_upload_bytes:
                problems.append(
                    f"{original}: {size:,} bytes is over the upload limit of {self.ctx.settings.ui.max_upload_bytes:,}"
                )
                continue
            target = _free_target(folder, name, src)
            if target.exists():  # the same file again: nothing to do
                saved.append(target.name)
                continue
            shutil.copyfile(src, target)
            saved.append(target.name)
            new.append(target)
        if self.ctx.updater.cluster:
            return self._queued(new, saved, problems)
        line = self.sync_all(progress) if saved else "Nothing was added."
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
        return prefix + line, self.ctx.status.line()

    def fetch_url(self, url: str, progress: Any = None) -> tuple[str, str]:
        from assistant.corpus import ArticleError
        from assistant.corpus.fetch import FetchError
        from assistant.corpus.pages import save_page

        url = (url if isinstance(url, str) else "").strip()
        if not safe_url(url):
            return "Give an http(s) address of an article page.", self.ctx.status.line()
        try:
            saved = save_page(
                url,
                self.ctx.settings.fetch,
                self.ctx.settings.corpus,
                Path(self.ctx.settings.upload_dir) / "fetched",
            )
        except FetchError as e:
            return str(e), self.ctx.status.line()
        except ArticleError as e:
            return f"{url}: {e}", self.ctx.status.line()
        if self.ctx.updater.cluster:
            line = self._submit({f"fetched/{saved.path.name}": saved.path.read_text(encoding="utf-8")})
            return f"Fetched “{saved.title}”. {line}", self.ctx.status.line()
        return f"Fetched “{saved.title}”. " + self.sync_all(progress), self.ctx.status.line()

    def _submit(self, docs: dict[str, str] | None) -> str:
        """Cluster mode: the texts kept in PostgreSQL and queued for the workers; one line, never raises."""

        def queue() -> str:
            line = self.ctx.updater.submit(docs)
            return line[:1].upper() + line[1:] + "."

        return self._said(queue, "Could not queue it")

    def _said(self, work: Any, failed: str) -> str:
        """``work()``'s line, or what failed; the status line and the article list updated; never raises
        (the page keeps serving what is indexed)."""
        try:
            line = str(work())
            self.ctx.status.sync_ok()
            return line
        except Exception as e:  # noqa: BLE001 - the page keeps serving what is indexed
            log.exception("%s", failed)
            self.ctx.status.sync_failed(f"{type(e).__name__}: {str(e)[:200]}")
            return f"{failed} ({type(e).__name__}: {str(e)[:200]}); what was indexed before is still there."
        finally:
            self.ctx.articles.changed()

    def _queued(self, new: list[Path], saved: list[str], problems: list[str]) -> tuple[str, str]:
        """Cluster mode's upload: the saved files' texts queued for the workers (the files, in this
        process's own folder, are not kept: the texts are PostgreSQL's)."""
        from assistant.corpus import ArticleError
        from assistant.corpus.files import read_text

        docs: dict[str, str] = {}
        for target in new:
            try:
                docs[f"uploads/{target.name}"] = read_text(target, self.ctx.settings.max_file_bytes)
            except ArticleError as e:
                problems.append(f"{target.name}: {e}")
            target.unlink(missing_ok=True)
        prefix = f"Saved {', '.join(saved)}. " if docs else ""
        line = self._submit(docs) if docs else "Nothing was added."
        if problems:
            prefix += "Refused: " + "; ".join(problems) + ". "
        return prefix + line, self.ctx.status.line()

    def reindex(self, progress: Any = None) -> tuple[str, str]:
        return self.sync_all(progress), self.ctx.status.line()

    def sync_all(self, progress: Any = None) -> str:
        """Syncs every folder (waiting for a sync that the watcher or the feed poller is running): one
        line for the person; never raises (a failed sync is said, and the page serves what is indexed).
        In cluster mode: every kept document queued again for the workers."""
        if self.ctx.updater.cluster:
            return self._submit(None)
        return self._said(lambda: self._sync(progress), "Re-index failed")

    def _sync(self, progress: Any = None) -> str:
        report = self.ctx.updater.sync(progress=self.ctx.progress(progress))
        self.last_failed = list(report.failed)
        line = (
            f"Re-indexed: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
            f"{report.removed} removed, {len(report.failed)} failed ({plural(report.chunks_embedded, 'chunk')} "
            f"embedded in {report.seconds:.1f} s)."
        )
        if report.repaired or report.relinked:
            line += (
                f" Repaired: {plural(report.repaired, 'article')} rebuilt from their records, "
                f"{report.relinked} re-linked to the vectors they had."
            )
        if report.failed:
            line += " Failed: " + "; ".join(f"{f.path}: {f.error}" for f in report.failed[:10])
            if len(report.failed) > 10:
                line += f"; and {len(report.failed) - 10} more"
        return line

    def build(self) -> AddParts:
        import gradio as gr

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
        return AddParts(files, url, fetch, reindex, result)


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
