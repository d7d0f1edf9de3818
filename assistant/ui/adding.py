"""Adding articles from the page: uploaded files, a page fetched by its address, and re-indexing the
folders (waiting for a sync that the watcher or the feed poller is running).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from assistant.corpus import SUPPORTED_SUFFIXES
from assistant.ui.inputs import safe_filename
from assistant.ui.render import safe_url
from assistant.ui.state import PageState

log = logging.getLogger(__name__)


class AddingArticles(PageState):
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
