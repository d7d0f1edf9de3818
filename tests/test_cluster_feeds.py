"""Followed feeds in cluster mode: the feed list, the entries seen and the articles in a real PostgreSQL,
vectors in a real `chroma run`, feeds served by a real HTTP server on 127.0.0.1 (tests/feedsite.py). A
page (or the CLI) queues a poll; a worker polls, keeps the articles as documents and queues their
indexing; every page answers from them."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from assistant.settings import FeedsSettings, FetchSettings, Settings
from tests.feedsite import Entry, FeedSite
from tests.test_cluster import _consistent, cluster, machine_env, tree
from tests.test_feeds import BRIDGE, OWLS, day


@pytest.fixture
def site() -> Iterator[FeedSite]:
    with FeedSite() as s:
        s.set_page("/owls", "Owls return to the old mill", OWLS, site_name="Fenwick Times")
        s.set_page("/bridge", "Kelby bridge to close", BRIDGE)
        yield s


def feed_settings(pg_url: str, chroma_port: int, root: Path) -> Settings:
    s = cluster(pg_url, chroma_port, root)
    s.fetch = FetchSettings(allow=["127.0.0.0/8"], timeout_s=5.0)
    s.feeds = FeedsSettings(host_delay_s=0, interval_minutes=0)  # polls are queued by the tests
    s.llm.backend = "extractive"  # type: ignore[assignment]
    s.ui.job_wait_s = 120
    return s


@contextmanager
def running_worker(assistant: Any, name: str) -> Iterator[None]:
    """An ingest worker in a thread of this process for the block (its own machine in all but name)."""
    from assistant.worker import Worker

    stop = threading.Event()
    runner = threading.Thread(target=Worker(assistant, name).run, args=(stop,), daemon=True)
    runner.start()
    try:
        yield
    finally:
        stop.set()
        runner.join(60)


def test_a_page_queues_a_poll_a_worker_polls_and_another_page_answers(
    tmp_path: Path, postgres, chroma_server: int, site: FeedSite
) -> None:
    from assistant.enqueue import queue_of
    from assistant.service import Assistant
    from assistant.updates import Updater

    s = feed_settings(postgres.url, chroma_server, tmp_path)
    page = Updater(Assistant.from_settings(s, with_llm=False))
    other_page = Assistant.from_settings(s, with_llm=False)
    worker_side = Assistant.from_settings(s, with_llm=False)
    site.set_feed("/a.xml", [Entry("Owls return", "/owls", day(18)), Entry("No link", None, day(18))])
    site.set_feed("/b.xml", [Entry("Bridge to close", "/bridge", day(19))], kind="atom")
    feed_a, _, added = page.poller.add(site.url("/a.xml"), "Fenwick")
    assert added and [f.name for f in Updater(other_page).feeds()] == ["Fenwick"]  # one list for all
    page.poller.add(site.url("/b.xml"))

    with running_worker(worker_side, "w1"):
        first = page.sync_feeds()
        assert not first.pending, first.summary()
        assert [(f.new, len(f.failed)) for f in first.poll.feeds] == [(1, 1), (1, 0)]
        assert first.poll.feeds[0].failed == ["“No link”: the entry has no link to an article"]
        assert first.index is not None and first.index.added == 2 and first.index.chunks_embedded > 0
        answer = other_page.ask("How many eggs did volunteers count in the owl nest box?")
        assert not answer.refused and "four eggs" in answer.text, answer.text
        assert answer.citations and answer.citations[0].url == site.url("/owls")
        assert site.hits("/owls") == 1

        second = page.sync_feeds([feed_a])  # a conditional GET answered 304: no page, nothing embedded
        assert second.poll.feeds[0].not_modified and second.index is None and not second.pending
        assert site.hits("/owls") == 1

        # an updated entry: its document replaced, its article embedded again, nothing duplicated
        site.set_page("/owls", "Owls return to the old mill", [*OWLS[:1], "Volunteers counted five eggs."])
        site.set_feed("/a.xml", [Entry("Owls return", "/owls", day(18), updated=day(20))])
        third = page.sync_feeds([feed_a])
        assert third.poll.feeds[0].updated == 1 and third.index is not None and third.index.updated == 1
        assert "five eggs" in other_page.ask("How many eggs did volunteers count in the owl nest box?").text

        # removed with purge: the articles only it gave leave the documents and the index
        n, index, pending = page.remove_feed(feed_a, purge=True)
        assert n == 1 and not pending and index is not None and index.removed == 1, (index, pending)
        assert [a["url"] for a in other_page.index.manifest().values()] == [site.url("/bridge")]
        assert queue_of(page.assistant).document_names() == [
            str(page.poller.articles.path_of(site.url("/bridge")))
        ]
        assert [f.url for f in page.feeds()] == [site.url("/b.xml")]
        _consistent(Assistant.from_settings(s, with_llm=False).index)  # counts read afresh


def test_idle_workers_queue_one_poll_when_it_is_due(tmp_path: Path, postgres, chroma_server: int) -> None:
    from assistant.enqueue import queue_of
    from assistant.service import Assistant
    from assistant.updates import Updater
    from assistant.worker import Worker

    s = feed_settings(postgres.url, chroma_server, tmp_path)
    page = Updater(Assistant.from_settings(s, with_llm=False))
    queue = queue_of(page.assistant)
    assert queue.schedule_feeds(0.001) is None  # no feed followed: nothing to poll
    page.poller.registry.add("http://127.0.0.1:9/feed.xml", "Nowhere", True)

    # eight idle workers at once: one poll queued
    barrier = threading.Barrier(8)
    got: list[int | None] = []

    def idle() -> None:
        barrier.wait()
        got.append(queue.schedule_feeds(0.001))

    threads = [threading.Thread(target=idle) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    first = [j for j in got if j is not None]
    assert len(got) == 8 and len(first) == 1, got
    assert queue.schedule_feeds(0.001) is None  # still queued: not queued twice

    Worker(page.assistant, "w").run_one()  # the feed cannot be reached: the job is done, its line says so
    state = queue.state(first[0])
    assert state is not None and state.state == "done"
    assert state.result is not None and state.result["feeds"][0]["ok"] is False
    assert queue.schedule_feeds(3600) is None  # polled within the hour
    assert queue.schedule_feeds(0.001) is not None  # due again

    # jobs that ended more than a week ago are forgotten; queued and recent ones stay
    with page.assistant.index.stores.database.transaction() as db:
        db.execute("UPDATE jobs SET finished = now() - interval '8 days' WHERE id = %s", (first[0],))
    assert queue.prune() == 1 and queue.state(first[0]) is None
    assert queue.counts() == {"queued": 1}


def test_what_a_cut_off_poll_wrote_is_indexed_by_the_next_one(
    tmp_path: Path, postgres, chroma_server: int, site: FeedSite
) -> None:
    """A worker that dies after its poll kept an article and before it queued the article's sync: the
    sync stays owed (in the article's own transaction), and the next poll queues it."""
    from assistant.service import Assistant
    from assistant.updates import Updater

    s = feed_settings(postgres.url, chroma_server, tmp_path)
    page = Updater(Assistant.from_settings(s, with_llm=False))
    site.set_feed("/a.xml", [Entry("Owls return", "/owls", day(18))])
    page.poller.add(site.url("/a.xml"))
    cut_off = page.poller.poll()  # what a worker's poll does before it queues anything
    assert cut_off.feeds[0].new == 1 and page.assistant.index.stats()["articles"] == 0

    with running_worker(page.assistant, "w"):
        again = page.sync_feeds()
    assert again.poll.feeds[0].not_modified  # nothing new in the feed…
    assert again.index is not None and again.index.added == 1  # …and what was owed is indexed
    assert "four eggs" in page.assistant.ask("How many eggs did volunteers count in the owl nest box?").text


def test_hostile_jobs_and_oversized_feed_rows_are_one_line_each(
    tmp_path: Path, postgres, chroma_server: int
) -> None:
    from assistant.enqueue import queue_of
    from assistant.service import Assistant
    from assistant.store.postgres.jobs import DOCUMENTS, FEEDS, FOLDERS
    from assistant.updates import Updater
    from assistant.worker import Worker

    s = feed_settings(postgres.url, chroma_server, tmp_path)
    page = Updater(Assistant.from_settings(s, with_llm=False))
    queue = queue_of(page.assistant)
    jobs = [
        queue.enqueue(DOCUMENTS, {"names": "abc"}),
        queue.enqueue(DOCUMENTS, {"names": [1, 2]}),
        queue.enqueue(FOLDERS, {}),
        queue.enqueue(FEEDS, {"urls": 5}),
        queue.enqueue(FEEDS, {"urls": {"a": 1}}),
    ]
    with page.assistant.index.stores.database.transaction() as db:  # a payload that is not an object
        row = db.execute(
            "INSERT INTO jobs (coll, kind, payload) VALUES (%s, %s, '[1, 2]') RETURNING id",
            (queue.coll, DOCUMENTS),
        ).fetchone()
        jobs.append(int(row[0]))
    lines: list[str] = []
    assert Worker(page.assistant, "w", say=lines.append).run(threading.Event(), once=True) == len(jobs)
    for job in jobs:
        state = queue.state(job)
        assert state is not None and state.state == "failed", state
        assert "payload has no list of strings" in state.result["error"], state.result
    assert queue.counts() == {"failed": len(jobs)}

    # an address and an entry key longer than a B-tree entry may be: kept, found, replaced
    feeds = page.poller.registry
    url = "http://127.0.0.1:9/" + "é" * 3000
    assert feeds.add(url, "Long", True) and feeds.follows(url) and not feeds.add(url, "Longer", True)
    key = "k" * 4000
    feeds.record_item(url, key, "s1", error="timed out", retry=True)
    feeds.record_item(url, key, "s1", error="timed out", retry=True)
    item = feeds.item(url, key)
    assert item is not None and item.attempts == 2
    assert [f.name for f in feeds.feeds()] == ["Longer"]
    feeds.remove(url)
    assert feeds.feeds() == [] and feeds.item(url, key) is None


def test_cli_feeds_on_two_machines_with_a_worker_on_a_third(
    tmp_path: Path, postgres, chroma_server: int, site: FeedSite
) -> None:
    s = feed_settings(postgres.url, chroma_server, tmp_path)
    a, b, c = (tmp_path / f"machine-{m}" for m in "abc")
    for m in (a, b, c):
        m.mkdir()
    before = tree(tmp_path, skip=(a, b, c))

    def env(work: Path) -> dict[str, str]:
        return machine_env(work, s) | {
            "ASSISTANT_FETCH__ALLOW": json.dumps(["127.0.0.0/8"]),
            "ASSISTANT_FEEDS__HOST_DELAY_S": "0",
            "ASSISTANT_FEEDS__INTERVAL_MINUTES": "0",
            "ASSISTANT_UI__JOB_WAIT_S": "200",
        }

    def cli(work: Path, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "assistant.cli", *args],
            cwd=work,
            env=env(work),
            capture_output=True,
            text=True,
            timeout=300,
        )

    site.set_feed("/feed.xml", [Entry("Owls return", "/owls", day(18))])
    r = cli(a, "feeds", "add", site.url("/feed.xml"), "--name", "Fenwick")
    assert r.returncode == 0 and "Following “Fenwick”" in r.stdout, r.stderr[-2000:]
    r = cli(b, "feeds", "list", "--json")
    assert r.returncode == 0 and [f["name"] for f in json.loads(r.stdout)] == ["Fenwick"], r.stderr[-2000:]
    r = cli(b, "feeds", "sync", "nothing-like-it")
    assert r.returncode == 2 and "no followed feed" in r.stderr and "Traceback" not in r.stderr

    log = c / "worker.log"
    with open(log, "w") as errors:
        worker = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "worker", "--name", "c1"],
            cwd=c,
            env=env(c),
            stderr=errors,
            text=True,
        )
    try:
        deadline = time.monotonic() + 300
        while "taking jobs" not in log.read_text() and time.monotonic() < deadline:
            assert worker.poll() is None, log.read_text()[-3000:]
            time.sleep(0.5)
        r = cli(b, "feeds", "sync", "--json")
        assert r.returncode == 0, r.stdout + r.stderr[-2000:]
        out = json.loads(r.stdout)
        assert out["feeds"][0]["new"] == 1 and out["index"]["added"] == 1, out
        r = cli(a, "ask", "How many eggs did volunteers count in the owl nest box?", "--json")
        assert r.returncode == 0 and "four eggs" in json.loads(r.stdout)["answer"], (
            r.stdout + r.stderr[-2000:]
        )
        r = cli(a, "feeds", "remove", "fenwick", "--purge")
        assert r.returncode == 0 and "Removed 1 of its articles" in r.stdout, r.stdout + r.stderr[-2000:]
        assert "removed 1" in r.stdout, r.stdout
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    r = cli(b, "stats", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["articles"] == 0, r.stdout + r.stderr[-2000:]
    assert tree(tmp_path, skip=(a, b, c)) == before, "a machine wrote outside its working folder"


def test_the_page_follows_a_feed_through_a_worker_and_says_when_none_is_there(
    tmp_path: Path, postgres, chroma_server: int, site: FeedSite
) -> None:
    from assistant.service import Assistant
    from assistant.ui.page import ChatApp

    s = feed_settings(postgres.url, chroma_server, tmp_path)
    s.ui.job_wait_s = 2
    app = ChatApp(Assistant.from_settings(s, with_llm=False))
    site.set_feed("/a.xml", [Entry("Owls return", "/owls", day(18))], title="Fenwick Times")
    site.set_feed("/b.xml", [Entry("Bridge to close", "/bridge", day(19))], title="Kelby News")

    # no worker: the feed is followed and its poll stays queued, in one line
    line = app.whats_new.add_feed(site.url("/a.xml"), "", client="")
    assert line.startswith("Now following “Fenwick Times”: its first poll is queued as job"), line
    assert "\n" not in line and [c[1] for c in app.view(1)["feed_choices"]] == [site.url("/a.xml")]

    app.ctx.settings.ui.job_wait_s = 120
    with running_worker(app.ctx.assistant, "w"):
        line = app.whats_new.add_feed(site.url("/b.xml"), "", client="")
        assert line.startswith("Now following “Kelby News”: 1 entry: 1 new"), line
        assert "Index: added 1" in line or "Index: added 2" in line, line  # and the queued poll of a.xml
    latest = app.view(1)["latest"]
    assert "Kelby bridge to close" in latest or "Bridge to close" in latest, latest[:2000]
    assert app.whats_new.remove_feed(site.url("/b.xml")).startswith("Stopped following “Kelby News”")
    assert [f.url for f in app.ctx.updater.feeds()] == [site.url("/a.xml")]
    assert app.whats_new.add_feed("javascript:alert(1)", "", client="").count("\n") == 0


def test_retention_expires_articles_and_polls_take_turns(
    tmp_path: Path, postgres, chroma_server: int, site: FeedSite
) -> None:
    from datetime import date

    from assistant.enqueue import queue_of, wait_jobs
    from assistant.service import Assistant
    from assistant.updates import FeedsSync, Updater

    s = feed_settings(postgres.url, chroma_server, tmp_path)
    s.feeds.retention_days = 7
    page = Updater(Assistant.from_settings(s, with_llm=False))
    queue = queue_of(page.assistant)
    site.set_feed("/a.xml", [Entry("Owls return", "/owls", day(18)), Entry("Bridge", "/bridge", day(1))])
    page.poller.add(site.url("/a.xml"))

    # one poll at a time across the cluster: a poll waits while another holds the poll's lock
    polled: list[FeedsSync] = []
    with page.poller.locks.polling():
        other = threading.Thread(target=lambda: polled.append(page.poll_feeds_here(None, date(2025, 3, 20))))
        other.start()
        other.join(3)
        assert other.is_alive() and not polled
    other.join(60)
    [first] = polled
    assert (first.poll.feeds[0].new, first.poll.feeds[0].skipped_old) == (1, 1) and len(first.jobs) == 1

    with running_worker(page.assistant, "w"):
        index, pending = wait_jobs(queue, first.jobs, 120)
        assert not pending and index is not None and index.added == 1
        later = page.poll_feeds_here(None, date(2025, 4, 30))  # the owls article is 43 days old
        assert later.poll.expired == 1 and len(later.jobs) == 1
        index, pending = wait_jobs(queue, later.jobs, 120)
        assert not pending and index is not None and index.removed == 1
    assert page.assistant.index.manifest() == {} and queue.document_names() == []
    assert page.poller.registry.articles() == []
