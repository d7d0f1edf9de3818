"""The folder watcher (assistant.watch) on real folders with real watchfiles: what is ignored, that a
group of changes is reported once and only when settled, and a sync of the real index from it."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assistant.watch import FolderWatcher, is_ignored

SETTLE = 0.5


class Calls:
    """What on_change was called with, and what the callback saw then."""

    def __init__(self, read: Path | None = None, fail_first: bool = False) -> None:
        self.roots: list[list[Path]] = []
        self.seen: list[str | None] = []
        self.read = read
        self.fail_first = fail_first
        self.cond = threading.Condition()

    def __call__(self, roots: list[Path]) -> None:
        seen = None
        if self.read is not None and self.read.exists():
            seen = self.read.read_text(encoding="utf-8")
        with self.cond:
            self.roots.append(roots)
            self.seen.append(seen)
            self.cond.notify_all()
        if self.fail_first and len(self.roots) == 1:
            raise RuntimeError("sync broke")

    def wait(self, n: int, timeout: float = 6.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: len(self.roots) >= n, timeout)


Start = Callable[[list[Path], Callable[[list[Path]], object]], FolderWatcher]


@pytest.fixture
def start() -> Iterator[Start]:
    """Starts watchers (waiting until they watch) and stops them all at the end."""
    started: list[FolderWatcher] = []

    def run(roots: list[Path], on_change: Callable[[list[Path]], object]) -> FolderWatcher:
        watcher = FolderWatcher(roots, on_change, settle_s=SETTLE, debounce_ms=400)
        started.append(watcher)
        watcher.start()
        assert watcher.ready.wait(5)
        return watcher

    yield run
    for w in started:
        w.stop()


def no_more_calls(calls: Calls, n: int) -> bool:
    """Waits out a settling and a margin: True when there is still no call beyond the n-th."""
    time.sleep(SETTLE + 1.5)
    return len(calls.roots) == n


@pytest.mark.parametrize(
    "name",
    [
        ".hidden.md",
        ".#x.md",
        ".x.md.swp",
        "y.md~",
        "#z.md#",
        "a.swp",
        "a.swx",
        "a.swo",
        "a.md.tmp",
        "a.temp",
        "x.md.part",
        "x.partial",
        "a.crdownload",
        "a.download",
        "a.md.bak",
        "a.lock",
        "A.MD.PART",
        "~$report.md",
        ".~lock.x.md#",
    ],
)
def test_temporary_partial_and_hidden_names_are_ignored(tmp_path: Path, name: str) -> None:
    assert is_ignored(tmp_path / name)  # missing
    (tmp_path / name).write_text("x")
    assert is_ignored(tmp_path / name)  # existing


@pytest.mark.parametrize("name", ["a.md", "b.txt", "c.json", "d.html", "e.JSONL", "f.markdown", "g.htm"])
def test_articles_are_not_ignored(tmp_path: Path, name: str) -> None:
    assert not is_ignored(tmp_path / name)
    (tmp_path / name).write_text("x")
    assert not is_ignored(tmp_path / name)


def test_unsupported_suffixes_and_folders(tmp_path: Path) -> None:
    """An existing file of another type is ignored; a folder never is for its suffix; a missing path
    without a suffix (maybe a removed folder) counts."""
    (tmp_path / "e.pdf").write_text("x")
    assert is_ignored(tmp_path / "e.pdf")
    (tmp_path / "README").write_text("x")
    assert is_ignored(tmp_path / "README")
    (tmp_path / "news.2024").mkdir()
    assert not is_ignored(tmp_path / "news.2024")
    assert not is_ignored(tmp_path / "gone")
    assert is_ignored(tmp_path / "gone.pdf")


def test_file_written_in_two_steps_is_reported_once_complete(tmp_path: Path, start: Start) -> None:
    root = tmp_path / "corpus"
    article = root / "a.md"
    calls = Calls(read=article)
    start([root], calls)
    with open(article, "w", encoding="utf-8") as f:
        f.write("first half\n")
        f.flush()
        time.sleep(0.3)  # < settle
        f.write("second half\n")
    assert calls.wait(1)
    assert no_more_calls(calls, 1)
    assert calls.roots == [[root]]
    assert calls.seen == ["first half\nsecond half\n"]


def test_partial_file_renamed_gives_one_call(tmp_path: Path, start: Start) -> None:
    """Writes to x.md.part alone are no reason; its rename to x.md is one."""
    root = tmp_path / "corpus"
    calls = Calls(read=root / "x.md")
    start([root], calls)
    part = root / "x.md.part"
    with open(part, "w", encoding="utf-8") as f:
        f.write("downloading\n")
        f.flush()
        time.sleep(0.3)
        f.write("done\n")
    assert no_more_calls(calls, 0)
    part.rename(root / "x.md")
    assert calls.wait(1)
    assert no_more_calls(calls, 1)
    assert calls.seen == ["downloading\ndone\n"]


def test_only_ignored_files_give_no_call(tmp_path: Path, start: Start) -> None:
    root = tmp_path / "corpus"
    calls = Calls()
    start([root], calls)
    for name in (".x.md.swp", "y.md~", "#z.md#", "notes.pdf"):
        (root / name).write_text("scratch")
    (root / ".git").mkdir()
    (root / ".git" / "a.md").write_text("under a hidden folder")
    os.remove(root / "y.md~")
    assert no_more_calls(calls, 0)


def test_deleting_an_article_gives_one_call(tmp_path: Path, start: Start) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "old.txt").write_text("An old article\nIts text.\n")
    calls = Calls()
    start([root], calls)
    (root / "old.txt").unlink()
    assert calls.wait(1)
    assert no_more_calls(calls, 1)
    assert calls.roots == [[root]]


def test_only_the_root_that_changed_is_passed(tmp_path: Path, start: Start) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    calls = Calls()
    start([one, two], calls)
    assert one.is_dir() and two.is_dir()  # created when missing
    (two / "sub").mkdir()
    (two / "sub" / "b.txt").write_text("B\ntext\n")
    assert calls.wait(1)
    assert no_more_calls(calls, 1)
    assert calls.roots == [[two]]


def test_a_root_deleted_and_made_again_is_still_watched(tmp_path: Path, start: Start) -> None:
    """watchfiles drops the watch of a deleted folder without a word; the watcher sets it up again."""
    import shutil

    root = tmp_path / "corpus"
    root.mkdir()
    (root / "a.md").write_text("# A\n\nText.\n")
    calls = Calls()
    start([root], calls)
    shutil.rmtree(root)
    assert calls.wait(1)
    deadline = time.time() + 5
    while not root.is_dir() and time.time() < deadline:
        time.sleep(0.05)
    root.mkdir(exist_ok=True)
    time.sleep(1.0)  # the watch is set up again
    n = len(calls.roots)
    (root / "b.md").write_text("# B\n\nText.\n")
    assert calls.wait(n + 1)


def test_an_error_in_on_change_is_logged_and_watching_goes_on(
    tmp_path: Path, start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "corpus"
    calls = Calls(fail_first=True)
    with caplog.at_level(logging.ERROR, logger="assistant.watch"):
        start([root], calls)
        (root / "a.txt").write_text("A\ntext\n")
        assert calls.wait(1)
        (root / "b.txt").write_text("B\ntext\n")
        assert calls.wait(2)
    errors = [r for r in caplog.records if r.name == "assistant.watch" and r.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info and "sync broke" in str(errors[0].exc_info[1])


def test_stop_is_prompt(tmp_path: Path) -> None:
    watcher = FolderWatcher([tmp_path / "corpus"], Calls(), settle_s=SETTLE)
    thread = watcher.start()
    assert watcher.ready.wait(5) and thread.daemon
    (tmp_path / "corpus" / "a.md").write_text("pending when stopped")
    time.sleep(0.2)
    t0 = time.monotonic()
    watcher.stop()
    assert time.monotonic() - t0 < 2
    assert not thread.is_alive() and not watcher.ready.is_set()


def test_stop_from_the_caller_thread_with_run(tmp_path: Path) -> None:
    """run() blocks until its event is set."""
    watcher = FolderWatcher([tmp_path / "corpus"], Calls(), settle_s=SETTLE)
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    t0 = time.monotonic()
    watcher.run(stop)
    assert 0.4 < time.monotonic() - t0 < 2


def test_syncs_the_real_index_once_with_the_whole_article(tmp_path: Path, start: Start) -> None:
    """End to end: an article written in two steps lands in the index once, complete."""
    from assistant.service import Assistant
    from assistant.settings import Settings

    assert os.environ.get("HF_HUB_OFFLINE") == "1"  # set by conftest
    corpus = tmp_path / "corpus"
    assistant = Assistant.from_settings(
        Settings(index_dir=tmp_path / "index", corpus_dirs=[corpus]), with_llm=False
    )
    reports = []

    def sync(roots: list[Path]) -> None:
        reports.append(assistant.sync(roots))

    calls = Calls()

    def on_change(roots: list[Path]) -> None:
        sync(roots)
        calls(roots)

    start([corpus], on_change)
    with open(corpus / "quake.md", "w", encoding="utf-8") as f:
        f.write("---\ntitle: Earthquake shakes the coast\npublished: 2024-05-02\n---\n")
        f.write("A magnitude 6.1 earthquake struck off the coast early on Thursday.\n\n")
        f.flush()
        time.sleep(0.3)
        f.write("No tsunami warning was issued, the seismology institute said.\n")
    assert calls.wait(1, timeout=30)
    assert no_more_calls(calls, 1)
    assert len(reports) == 1 and reports[0].added == 1 and not reports[0].failed
    manifest = assistant.index.manifest()
    assert len(manifest) == 1
    (article_id,) = manifest
    article = assistant.index.article(article_id)
    assert article is not None and "No tsunami warning was issued" in article.text
