"""Watches corpus folders and asks for a sync when articles change (``assistant watch`` and the app).

``FolderWatcher`` follows its root folders with ``watchfiles``. Changes that are never a reason to sync
are dropped (``is_ignored``: editors' temporary and partial files, hidden names, unsupported suffixes;
also anything under a hidden folder, which the corpus loader skips too). Relevant changes are grouped
until they have settled: every changed path that still exists keeps the same (size, mtime) for
``settle_s`` seconds with no further relevant change, so a file written in two steps is synced only once
complete. Then ``on_change`` is called once with the watched roots (never single files: the ids of
articles depend on the folder synced) under which the changes happened. An error in ``on_change`` is
logged and the watching goes on.

``ready`` is set on the first tick of the watchfiles generator (it yields on every ``rust_timeout``):
watchfiles registers its watches when the generator is first advanced, before that tick, so a change
made after ``ready`` is set is always seen. No sleep or sentinel file is needed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import watchfiles

from assistant.corpus import SUPPORTED_SUFFIXES

log = logging.getLogger(__name__)

_TEMP_SUFFIXES = frozenset(
    {
        ".swp",
        ".swx",
        ".swo",
        ".tmp",
        ".temp",
        ".part",
        ".partial",
        ".crdownload",
        ".download",
        ".bak",
        ".lock",
    }
)
_RETRY_S = 1.0  # pause before watching again after watchfiles failed

Signature = tuple[int, int] | None


def is_ignored(path: Path) -> bool:
    """Editors' temporary and partial files, hidden files and unsupported suffixes: never a reason to
    sync. A folder is never ignored for its suffix; a path that no longer exists counts when it has a
    supported suffix or none (it may have been a folder that was removed)."""
    name = path.name
    if not name:
        return False
    if name.startswith((".", "~$")) or name.endswith("~"):  # .#x emacs locks, .x.swp, .~lock.x# too
        return True
    if len(name) > 1 and name.startswith("#") and name.endswith("#"):  # emacs autosave
        return True
    suffix = path.suffix.lower()
    if suffix in _TEMP_SUFFIXES:
        return True
    try:
        if path.is_dir():
            return False
        exists = path.exists()
    except OSError:
        exists = False
    if exists:
        return suffix not in SUPPORTED_SUFFIXES
    return bool(suffix) and suffix not in SUPPORTED_SUFFIXES


def _inode(root: Path) -> tuple[int, int] | None:
    try:
        st = root.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _signature(path: str) -> Signature:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


class FolderWatcher:
    """Calls ``on_change(roots)`` once per settled group of relevant changes under ``roots``."""

    def __init__(
        self,
        roots: Sequence[Path],
        on_change: Callable[[list[Path]], object],
        *,
        settle_s: float = 1.0,
        debounce_ms: int = 1600,
        step_ms: int = 50,
        force_polling: bool | None = None,
    ) -> None:
        if not roots:
            raise ValueError("no folder to watch")
        self.roots = list(roots)
        self.on_change = on_change
        self.settle_s = max(0.0, settle_s)
        self.debounce_ms = debounce_ms
        self.step_ms = step_ms
        self.force_polling = force_polling
        # how often the generator yields without changes: the granularity of the settling
        self.tick_ms = int(min(200, max(50, self.settle_s * 1000 / 4)))
        self.ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop: threading.Event | None = None
        # each root as strings to match reported paths against: as given (absolute) and resolved
        self._prefixes: list[tuple[int, str]] = []
        self._inodes: list[tuple[int, int] | None] = []

    # ---- running -------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Watches until ``stop`` is set (returns within a few ticks of it). Raises KeyboardInterrupt
        on Ctrl-C when run in the main thread."""
        try:
            while not stop.is_set():
                try:
                    self._watch(stop)
                except Exception:
                    log.exception("watching %s failed; trying again", ", ".join(map(str, self.roots)))
                    self.ready.clear()
                    stop.wait(_RETRY_S)
        finally:
            self.ready.clear()

    def start(self) -> threading.Thread:
        """Runs ``run`` in a daemon thread with its own stop event (the running thread if already started)."""
        if self._thread is not None and self._thread.is_alive():
            return self._thread
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self.run, args=(self._stop,), name="folder-watcher", daemon=True
        )
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Stops the thread of ``start`` and waits for it (5 s at most)."""
        if self._stop is not None:
            self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
            if thread.is_alive():
                log.warning("the folder watcher did not stop within 5 s (a sync still running?)")

    # ---- the loop ------------------------------------------------------------------------------

    def _prepare_roots(self) -> list[str]:
        prefixes: list[tuple[int, str]] = []
        for i, root in enumerate(self.roots):
            root.mkdir(parents=True, exist_ok=True)
            for form in {str(root.absolute()), str(root.resolve())}:
                prefixes.append((i, form.rstrip(os.sep) or os.sep))
        self._prefixes = prefixes
        self._inodes = [_inode(root) for root in self.roots]
        return [str(root.absolute()) for root in self.roots]

    def _roots_replaced(self) -> bool:
        """A watched root deleted or replaced: the watch on it is gone, so it must be set up again."""
        return [_inode(root) for root in self.roots] != self._inodes

    def _watch(self, stop: threading.Event) -> None:
        paths = self._prepare_roots()
        pending: set[str] = set()  # changed paths of the current group
        group: set[int] = set()  # indexes of the roots they are under
        signatures: dict[str, Signature] = {}
        quiet_since = 0.0
        for changes in watchfiles.watch(
            *paths,
            watch_filter=None,  # filtered here: every batch comes back, even an ignored one, so ticks go on
            debounce=self.debounce_ms,
            step=self.step_ms,
            stop_event=stop,
            rust_timeout=self.tick_ms,
            yield_on_timeout=True,
            recursive=True,
            force_polling=self.force_polling,
        ):
            self.ready.set()
            now = time.monotonic()
            if self._roots_replaced():
                changed = [root for i, root in enumerate(self.roots) if i in group] or list(self.roots)
                if not stop.is_set():
                    self._notify(changed)
                return  # run() watches the roots again (created anew if they are gone)
            for change, path in changes:
                roots = self._relevant(change, path)
                if roots:
                    pending.add(path)
                    group.update(roots)
                    quiet_since = now
            if not pending:
                continue
            current = {p: _signature(p) for p in pending}
            if current != signatures:
                signatures = current
                quiet_since = now
            elif now - quiet_since >= self.settle_s:
                changed = [root for i, root in enumerate(self.roots) if i in group]
                pending, group, signatures = set(), set(), {}
                if stop.is_set():
                    return
                self._notify(changed)

    def _relevant(self, change: watchfiles.Change, path: str) -> set[int]:
        """The indexes of the roots a change matters to (empty when it does not matter)."""
        roots: set[int] = set()
        for i, prefix in self._prefixes:
            if path == prefix:
                if change == watchfiles.Change.deleted:  # the root itself removed
                    roots.add(i)
                continue
            base = prefix if prefix.endswith(os.sep) else prefix + os.sep
            if not path.startswith(base):
                continue
            if any(part.startswith(".") for part in path[len(base) :].split(os.sep)[:-1]):
                continue  # under a hidden folder, which the corpus loader skips
            p = Path(path)
            if is_ignored(p):
                return set()
            if change == watchfiles.Change.modified and p.is_dir():
                continue  # a folder's own time changes with its entries, whose changes come as well
            roots.add(i)
        return roots

    def _notify(self, roots: list[Path]) -> None:
        log.info("changes under %s", ", ".join(map(str, roots)))
        try:
            self.on_change(roots)
        except Exception:
            log.exception("handling the changes under %s failed", ", ".join(map(str, roots)))
