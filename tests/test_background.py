"""The app's own updates (assistant/background.py): the feed poller polls at once and then every
interval, through the one lock that uploads and re-index also take."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.background import Background
from assistant.service import Assistant
from assistant.updates import Updater
from tests.feedsite import Entry, FeedSite
from tests.test_feeds import OWLS, day, make_settings


@pytest.fixture
def site() -> Iterator[FeedSite]:
    with FeedSite() as s:
        s.set_page("/owls", "Owls return to the old mill", OWLS)
        s.set_feed("/feed.xml", [Entry("Owls return", "/owls", day(18))])
        yield s


def wait_for(check: object, timeout: float = 60.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_the_poller_polls_at_start_and_indexes_what_it_finds(tmp_path: Path, site: FeedSite) -> None:
    settings = make_settings(tmp_path, interval_minutes=30)
    updater = Updater(Assistant.from_settings(settings, with_llm=False))
    updater.poller.add(site.url("/feed.xml"))
    background = Background(updater)
    background.start()
    try:
        assert wait_for(lambda: len(updater.assistant.index.manifest()) == 1)
        assert wait_for(lambda: "1 new" in background.last_poll)
        assert background.next_poll is not None
    finally:
        t = time.perf_counter()
        background.stop()
        assert time.perf_counter() - t < 5  # the 30-minute wait is interrupted


def test_no_poll_without_an_interval_and_none_without_feeds(tmp_path: Path, site: FeedSite) -> None:
    updater = Updater(Assistant.from_settings(make_settings(tmp_path, interval_minutes=0), with_llm=False))
    updater.poller.add(site.url("/feed.xml"))
    background = Background(updater)
    background.start()
    time.sleep(1.0)
    background.stop()
    assert site.hits("/owls") == 0 and background.last_poll == ""
    empty = Updater(Assistant.from_settings(make_settings(tmp_path / "other"), with_llm=False))
    Background(empty).poll_once()
    assert empty.feeds() == []


def test_a_poll_fetches_meanwhile_but_syncs_only_after_a_sync_that_holds_the_lock(
    tmp_path: Path, site: FeedSite
) -> None:
    """The network part of a poll does not hold up uploads; writing the index waits for the one lock."""
    updater = Updater(Assistant.from_settings(make_settings(tmp_path), with_llm=False))
    updater.poller.add(site.url("/feed.xml"))
    background = Background(updater)
    with updater.lock:  # e.g. an upload's sync
        poll = threading.Thread(target=background.poll_once)
        poll.start()
        assert wait_for(lambda: site.hits("/owls") == 1, 30)
        time.sleep(0.5)
        assert updater.assistant.index.manifest() == {}  # not synced while the other sync runs
        assert poll.is_alive()
    poll.join(60)
    assert len(updater.assistant.index.manifest()) == 1


def test_a_failing_poll_is_reported_and_the_poller_goes_on(
    tmp_path: Path, site: FeedSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    updater = Updater(Assistant.from_settings(make_settings(tmp_path), with_llm=False))
    updater.poller.add(site.url("/feed.xml"))
    background = Background(updater)

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(updater.assistant, "sync", broken)
    background.poll_once()
    assert "failed (OSError: disk full)" in background.last_poll
    monkeypatch.undo()
    background.poll_once()  # the feed is unchanged (304), but what the failed poll wrote gets indexed
    assert len(updater.assistant.index.manifest()) == 1 and site.hits("/owls") == 1
    assert "1 feeds polled" in background.last_poll
