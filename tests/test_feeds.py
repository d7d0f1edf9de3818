"""Feeds (assistant/corpus/feeds/, assistant/updates.py) against a real HTTP server on 127.0.0.1
(tests/feedsite.py), with a real index in tmp_path and the real packaged embedding model."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.corpus.feeds.parse import FeedError, parse_feed
from assistant.corpus.feeds.polite import HostPacer
from assistant.corpus.feeds.registry import FeedRegistry
from assistant.corpus.feeds.urls import canonical_url
from assistant.corpus.fetch import UNREACHABLE, FetchError
from assistant.service import Assistant
from assistant.settings import FeedsSettings, FetchSettings, Settings
from assistant.updates import FeedsSync, Updater
from tests.feedsite import Entry, FeedSite, atom, rss1, rss2

ALLOW = ["127.0.0.0/8"]

OWLS = [
    "A pair of barn owls has nested in the old mill at Fenwick for the first time in twenty years, the warden said.",
    "Volunteers counted four eggs in the nest box last week, and the first chick hatched on Sunday morning.",
    "The mill closed in 1961 and was restored by a trust in 2019, when the owl box was put up again.",
]
BRIDGE = [
    "The Kelby bridge will close for repairs for six weeks from Monday, the county council announced.",
    "Traffic will be diverted through Ashby, adding about twenty minutes to journeys into the town centre.",
    "Engineers found cracks in two of the piers in January during a routine inspection of the crossing.",
]
FERRY = [
    "A new electric ferry will link Port Amsel and the island of Vey from April, the operator said on Friday.",
    "The crossing will take 35 minutes and the boat carries 40 cars and 300 passengers on each trip.",
    "Islanders had campaigned for a more frequent service since the old diesel ferry was withdrawn in 2022.",
]


def day(d: int, month: int = 3) -> datetime:
    return datetime(2025, month, d, 9, 0, tzinfo=UTC)


@pytest.fixture
def site() -> Iterator[FeedSite]:
    with FeedSite() as s:
        s.set_page("/owls", "Owls return to the old mill", OWLS, site_name="Fenwick Times")
        s.set_page("/bridge", "Kelby bridge to close", BRIDGE)
        s.set_page("/ferry", "Electric ferry for Vey", FERRY, published="2025-03-14")
        yield s


def make_settings(tmp_path: Path, **feeds: object) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    s = Settings(
        index_dir=tmp_path / "index",
        corpus_dirs=[corpus],
        upload_dir=tmp_path / "uploads",
        fetch=FetchSettings(allow=ALLOW, timeout_s=3.0),
        feeds=FeedsSettings(host_delay_s=0, **feeds),  # type: ignore[arg-type]
        watch=False,
    )
    s.llm.backend = "extractive"
    return s


@pytest.fixture
def updater(tmp_path: Path) -> Updater:
    return Updater(Assistant.from_settings(make_settings(tmp_path), with_llm=False))


def follow(updater: Updater, url: str, name: str = "") -> None:
    updater.poller.add(url, name)


def feed_files(updater: Updater) -> list[Path]:
    return sorted(updater.poller.articles.folder.glob("*.md"))


# ---- the whole path: feed → files → index → answer ----------------------------------------------


def test_a_new_entry_is_indexed_and_answerable_then_a_second_poll_costs_nothing(
    updater: Updater, site: FeedSite
) -> None:
    """The entry's page is fetched once, written as a file named from its URL, embedded, and cited in an
    answer with its address; the next poll is a conditional GET answered 304: no page, no chunk."""
    site.set_feed("/feed.xml", [Entry("Owls return", "/owls?utm_source=rss", day(18), author="Ann Lee")])
    follow(updater, site.url("/feed.xml"), "Fenwick Times")
    first = updater.sync_feeds()
    assert first.poll.feeds[0].new == 1 and not first.poll.feeds[0].failed
    assert first.index is not None and first.index.added == 1 and first.index.chunks_embedded > 0
    [path] = feed_files(updater)
    text = path.read_text(encoding="utf-8")
    assert f'"url": "{site.url("/owls")}"' in text  # the tracking parameter is gone
    assert '"published": "2025-03-18"' in text and '"author": "Ann Lee"' in text

    answer = updater.assistant.ask(
        "How many eggs did volunteers count in the owl nest box?", today=date(2025, 3, 20)
    )
    assert not answer.refused
    assert answer.citations and answer.citations[0].url == site.url("/owls")
    assert "four eggs" in answer.text

    second = updater.sync_feeds()
    assert second.poll.feeds[0].not_modified
    assert second.poll.pages_fetched == 0 and second.index is None
    assert site.hits("/owls") == 1
    assert site.requests[-1].headers.get("If-None-Match")


def test_rss1_and_atom_feeds_are_read_too(updater: Updater, site: FeedSite) -> None:
    site.set_feed("/rdf", [Entry("Owls return", "/owls", day(18))], kind="rss1")
    site.set_feed("/atom", [Entry("Bridge to close", "/bridge", day(19))], kind="atom")
    follow(updater, site.url("/rdf"))
    follow(updater, site.url("/atom"))
    result = updater.sync_feeds()
    assert [f.new for f in result.poll.feeds] == [1, 1]
    assert result.index is not None and result.index.added == 2
    dates = sorted(json.loads(p.read_text().split("\n")[1])["published"] for p in feed_files(updater))
    assert dates == ["2025-03-18", "2025-03-19"]


def test_an_entry_seen_again_is_not_fetched_again_even_when_the_feed_changes(
    updater: Updater, site: FeedSite
) -> None:
    site.set_feed("/feed.xml", [Entry("Owls return", "/owls", day(18))])
    follow(updater, site.url("/feed.xml"))
    updater.sync_feeds()
    site.set_feed(
        "/feed.xml", [Entry("Bridge to close", "/bridge", day(19)), Entry("Owls return", "/owls", day(18))]
    )
    result = updater.sync_feeds()
    f = result.poll.feeds[0]
    assert (f.new, f.unchanged) == (1, 1)
    assert site.hits("/owls") == 1 and site.hits("/bridge") == 1
    assert result.index is not None and (result.index.added, result.index.unchanged) == (1, 1)


def test_an_updated_entry_replaces_its_file_and_is_embedded_once(updater: Updater, site: FeedSite) -> None:
    site.set_feed("/feed.xml", [Entry("Owls return", "/owls", day(18))])
    follow(updater, site.url("/feed.xml"))
    updater.sync_feeds()
    [before] = feed_files(updater)
    site.set_page(
        "/owls", "Owls return to the old mill", [*OWLS, "Update: a second chick hatched on Tuesday night."]
    )
    site.set_feed("/feed.xml", [Entry("Owls return", "/owls", day(18), updated=day(19))])
    result = updater.sync_feeds()
    assert result.poll.feeds[0].updated == 1
    assert result.index is not None and result.index.updated == 1 and result.index.chunks_embedded > 0
    assert feed_files(updater) == [before] and "second chick" in before.read_text()
    again = updater.sync_feeds()
    assert again.index is None and again.poll.pages_fetched == 0


def test_an_updated_entry_whose_page_did_not_change_is_not_embedded_again(
    updater: Updater, site: FeedSite
) -> None:
    site.set_feed("/feed.xml", [Entry("Owls return", "/owls", day(18))])
    follow(updater, site.url("/feed.xml"))
    updater.sync_feeds()
    site.set_feed("/feed.xml", [Entry("Owls return", "/owls", day(18), summary="now with a summary")])
    result = updater.sync_feeds()
    assert result.poll.pages_fetched == 1 and result.index is None


def test_an_entry_that_drops_out_of_the_feed_stays(updater: Updater, site: FeedSite) -> None:
    site.set_feed("/feed.xml", [Entry("Owls return", "/owls", day(18))])
    follow(updater, site.url("/feed.xml"))
    updater.sync_feeds()
    site.set_feed("/feed.xml", [Entry("Bridge to close", "/bridge", day(19))])
    result = updater.sync_feeds()
    assert result.index is not None and result.index.removed == 0
    assert len(updater.assistant.index.manifest()) == 2


def test_retention_drops_old_articles_and_does_not_fetch_old_entries(tmp_path: Path, site: FeedSite) -> None:
    updater = Updater(Assistant.from_settings(make_settings(tmp_path, retention_days=7), with_llm=False))
    site.set_feed("/feed.xml", [Entry("Owls return", "/owls", day(18)), Entry("Bridge", "/bridge", day(1))])
    follow(updater, site.url("/feed.xml"))
    first = updater.sync_feeds(today=date(2025, 3, 20))
    assert (first.poll.feeds[0].new, first.poll.feeds[0].skipped_old) == (1, 1)
    assert site.hits("/bridge") == 0
    later = updater.sync_feeds(today=date(2025, 4, 30))  # the owls article is now 43 days old
    assert later.poll.expired == 1 and later.index is not None and later.index.removed == 1
    assert feed_files(updater) == [] and updater.assistant.index.manifest() == {}
    site.set_feed(
        "/feed.xml",
        [Entry("Owls return", "/owls", day(18)), Entry("Bridge", "/bridge", day(1)), Entry("x", None, None)],
    )
    updater.sync_feeds(today=date(2025, 4, 30))
    assert site.hits("/owls") == 1  # still in the feed, but not fetched again


# ---- duplicates ------------------------------------------------------------------------------------


def test_one_article_through_two_feeds_is_stored_once(updater: Updater, site: FeedSite) -> None:
    site.set_feed("/a.xml", [Entry("Owls return", "/owls", day(18))])
    site.set_feed("/b.xml", [Entry("Barn owls back at Fenwick", "/owls#comments", day(18))], kind="atom")
    follow(updater, site.url("/a.xml"))
    follow(updater, site.url("/b.xml"))
    result = updater.sync_feeds()
    assert [(f.new, f.duplicates) for f in result.poll.feeds] == [(1, 0), (0, 1)]
    assert len(feed_files(updater)) == 1 and site.hits("/owls") == 1


def test_one_text_under_two_addresses_is_stored_once(updater: Updater, site: FeedSite) -> None:
    site.set_page("/owls-amp", "Owls return to the old mill", OWLS)
    site.set_feed(
        "/feed.xml", [Entry("Owls return", "/owls", day(18)), Entry("Owls (AMP)", "/owls-amp", day(18))]
    )
    follow(updater, site.url("/feed.xml"))
    result = updater.sync_feeds()
    assert (result.poll.feeds[0].new, result.poll.feeds[0].duplicates) == (1, 1)
    assert len(feed_files(updater)) == 1


# ---- bad input: one clear line each, nothing indexed lost ---------------------------------------------


def test_bad_entries_each_give_one_line_and_good_ones_are_still_indexed(
    updater: Updater, site: FeedSite
) -> None:
    site.set_raw("/broken", b"<html><body>" + b"x" * 50 + b"</body></html>", status=500)
    site.set_raw("/gone", b"not here", status=404)
    site.set_raw("/report.pdf", b"%PDF-1.4 ...", content_type="application/pdf")
    site.set_huge("/huge", 6_000_000)
    site.set_raw("/slow", b"<html></html>", delay_s=5)
    site.set_page("/undated", "Undated story", BRIDGE)
    site.set_raw("/empty", b"<html><body><nav>Home</nav></body></html>")
    entries = [
        Entry("Owls return", "/owls", day(18)),
        Entry("Server error", "/broken", day(18)),
        Entry("Gone", "/gone", day(18)),
        Entry("A PDF", "/report.pdf", day(18)),
        Entry("Huge", "/huge", day(18)),
        Entry("Slow", "/slow", day(18)),
        Entry("No link at all", None, day(18)),
        Entry("No date anywhere", "/undated", None),
        Entry("Empty page", "/empty", day(18)),
        Entry("Mail link", "mailto:desk@example.org", day(18)),
    ]
    site.set_feed("/feed.xml", entries)
    follow(updater, site.url("/feed.xml"))
    result = updater.sync_feeds()
    f = result.poll.feeds[0]
    assert f.new == 1 and f.ok
    lines = {line.split("”: ", 1)[0].lstrip("“"): line.split("”: ", 1)[1] for line in f.failed}
    assert lines == {
        "Server error": "the server answered HTTP 500 Internal Server Error",
        "Gone": "the server answered HTTP 404 Not Found",
        "A PDF": "not a web page (content type application/pdf)",
        "Huge": "too large (over 5,000,000 bytes)",
        "Slow": "too slow (no complete answer within 3 s)",
        "No link at all": "the entry has no link to an article",
        "No date anywhere": "no publication date in the feed entry or on the page",
        "Empty page": "no article text found on the page",
        "Mail link": "the entry's link is not an http(s) address",
    }
    assert all("\n" not in line and "Traceback" not in line for line in f.failed)
    assert result.index is not None and result.index.added == 1 and not result.index.failed


def test_a_passing_error_is_retried_at_the_next_poll_and_a_lasting_one_is_not(
    updater: Updater, site: FeedSite
) -> None:
    site.set_raw("/owls", b"busy", status=503)
    site.set_raw("/gone", b"not here", status=404)
    site.set_feed("/feed.xml", [Entry("Owls return", "/owls", day(18)), Entry("Gone", "/gone", day(18))])
    follow(updater, site.url("/feed.xml"))
    assert len(updater.sync_feeds().poll.feeds[0].failed) == 2
    site.set_page("/owls", "Owls return to the old mill", OWLS)
    second = updater.sync_feeds()  # the feed is read again (no 304) because an entry is to be retried
    assert second.poll.feeds[0].new == 1
    assert site.hits("/owls") == 2 and site.hits("/gone") == 1


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        ("malformed", "not an RSS or Atom feed"),
        ("404", "the server answered HTTP 404 Not Found"),
        ("500", "the server answered HTTP 500 Internal Server Error"),
        ("slow", "too slow"),
        ("huge", "too large"),
        ("page", "not an RSS or Atom feed"),
    ],
)
def test_a_broken_feed_is_one_line_and_what_it_gave_before_stays(
    updater: Updater, site: FeedSite, route: str, expected: str
) -> None:
    site.set_feed("/feed.xml", [Entry("Owls return", "/owls", day(18))])
    follow(updater, site.url("/feed.xml"))
    updater.sync_feeds()
    match route:
        case "malformed":
            site.set_raw("/feed.xml", b"<?xml version='1.0'?><rss><chan", content_type="application/rss+xml")
        case "404" | "500":
            site.set_raw("/feed.xml", b"oops", status=int(route))
        case "slow":
            site.set_raw("/feed.xml", b"<rss/>", delay_s=5, content_type="application/rss+xml")
        case "huge":
            site.set_huge("/feed.xml", 6_000_000, content_type="application/rss+xml")
        case "page":
            site.set_page("/feed.xml", "A page", BRIDGE)
    result = updater.sync_feeds()
    f = result.poll.feeds[0]
    assert not f.ok and expected in f.error and site.url("/feed.xml") in f.error and "\n" not in f.error
    assert result.index is None
    assert len(updater.assistant.index.manifest()) == 1 and len(feed_files(updater)) == 1
    [listed] = updater.feeds()
    assert not listed.ok and expected in listed.result


def test_robots_txt_is_respected_for_article_pages(updater: Updater, site: FeedSite) -> None:
    site.set_robots("User-agent: *\nDisallow: /owls\n")
    site.set_feed("/feed.xml", [Entry("Owls return", "/owls", day(18)), Entry("Bridge", "/bridge", day(19))])
    follow(updater, site.url("/feed.xml"))
    f = updater.sync_feeds().poll.feeds[0]
    assert f.new == 1 and f.failed == ["“Owls return”: robots.txt does not allow fetching it"]
    assert site.hits("/owls") == 0 and site.hits("/robots.txt") == 1
    assert site.requests[-1].headers.get("User-Agent", "").startswith("news-assistant/")


def test_loopback_feeds_are_refused_unless_allowed(tmp_path: Path, site: FeedSite) -> None:
    settings = make_settings(tmp_path)
    settings.fetch.allow = []
    updater = Updater(Assistant.from_settings(settings, with_llm=False))
    site.set_feed("/feed.xml", [Entry("Owls return", "/owls", day(18))])
    with pytest.raises(FetchError) as e:
        follow(updater, site.url("/feed.xml"))
    assert e.value.reason == UNREACHABLE and site.hits("/feed.xml") == 0
    assert updater.feeds() == []


# ---- the parts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("HTTP://News.Example.ORG:80/a?utm_source=rss&id=3#top", "http://news.example.org/a?id=3"),
        ("https://news.example.org:443", "https://news.example.org/"),
        ("https://news.example.org:8443/a?fbclid=x", "https://news.example.org:8443/a"),
    ],
)
def test_canonical_urls(given: str, canonical: str) -> None:
    assert canonical_url(given) == canonical


@pytest.mark.parametrize(
    "bad", ["", "mailto:a@b.example", "javascript:alert(1)", "/relative", "urn:uuid:1", "http://"]
)
def test_not_an_article_address(bad: str) -> None:
    with pytest.raises(ValueError):
        canonical_url(bad)


def test_feed_bytes_are_never_taken_for_a_file_name_or_an_address(tmp_path: Path) -> None:
    """feedparser opens a str or bytes that names a file or URL; parse_feed must read them as content."""
    secret = tmp_path / "feed.xml"
    secret.write_bytes(
        rss2("Secret", "http://x.example/", [Entry("Secret entry", "http://x.example/s", day(1))])
    )
    for content in (str(secret).encode(), b"file://" + str(secret).encode()):
        with pytest.raises(FeedError):
            parse_feed(content, "http://127.0.0.1/feed.xml", 50)


def test_feed_parsing_hostile_bytes() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;'
        b'&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'
        b'&lol2;">]><rss><channel><item><title>&lol3;</title></item></channel></rss>'
    )
    for content in (b"", b"\x00\xff" * 100, b"<html><body>hi</body></html>", laughs):
        try:
            parsed = parse_feed(content, "http://127.0.0.1/feed.xml", 50)
        except FeedError as e:
            assert "\n" not in str(e)
        else:
            assert all(len(e.title) <= 500 for e in parsed.entries)
    many = rss2(
        "Big", "http://x.example/", [Entry(f"e{i}", f"http://x.example/{i}", day(1)) for i in range(300)]
    )
    assert len(parse_feed(many, "http://x.example/feed", 50).entries) == 50
    assert rss1("t", "http://x.example/", []) and atom("t", "http://x.example/", [])


def test_the_host_pacer_spaces_requests_to_one_host_only() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(round(s, 3))
        now[0] += s

    pacer = HostPacer(1.5, sleep=sleep, clock=lambda: now[0])
    for url in ("http://a.example/1", "http://b.example/1", "http://a.example/2", "http://a.example/3"):
        pacer.wait(url)
    assert slept == [1.5, 1.5]


def test_the_feed_list_lives_under_the_index_folder(tmp_path: Path) -> None:
    reg = FeedRegistry(tmp_path / "index")
    assert reg.add("http://x.example/feed", "X", True)
    assert not reg.add("http://x.example/feed", "X2", True)
    reg.close()
    again = FeedRegistry(tmp_path / "index")
    assert [(f.url, f.name) for f in again.feeds()] == [("http://x.example/feed", "X2")]
    assert again.feed("x2") is not None and again.feed("nope") is None


# ---- the command line ---------------------------------------------------------------------------------


def test_cli_feeds_add_list_sync_remove(
    tmp_path: Path, site: FeedSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.cli import app

    for key, value in {
        "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
        "ASSISTANT_CORPUS_DIRS": json.dumps([str(tmp_path / "corpus")]),
        "ASSISTANT_UPLOAD_DIR": str(tmp_path / "uploads"),
        "ASSISTANT_FETCH__ALLOW": json.dumps(ALLOW),
        "ASSISTANT_FEEDS__HOST_DELAY_S": "0",
    }.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "corpus").mkdir()
    site.set_feed("/feed.xml", [Entry("Owls return", "/owls", day(18)), Entry("No link", None, day(18))])
    runner = CliRunner()
    added = runner.invoke(app, ["feeds", "add", site.url("/feed.xml"), "--name", "Fenwick"])
    assert added.exit_code == 0 and "Following “Fenwick”" in added.output
    listed = runner.invoke(app, ["feeds", "list", "--json"])
    assert [f["name"] for f in json.loads(listed.output)] == ["Fenwick"]
    synced = runner.invoke(app, ["feeds", "sync", "--json"])
    assert synced.exit_code == 1  # one entry failed
    out = json.loads(synced.stdout)
    assert out["index"]["chunks_embedded"] > 0 and out["feeds"][0]["new"] == 1
    assert out["feeds"][0]["failed"] == ["“No link”: the entry has no link to an article"]
    removed = runner.invoke(app, ["feeds", "remove", "fenwick"])
    assert removed.exit_code == 0 and "Stopped following" in removed.output
    assert json.loads(runner.invoke(app, ["feeds", "list", "--json"]).output) == []
    assert len(list((tmp_path / "uploads" / "feeds").glob("*.md"))) == 1  # its articles stay


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["feeds", "add", "javascript:alert(1)"], "not an http(s) address"),
        (["feeds", "add", "file:///etc/passwd"], "not an http(s) address"),
        (["feeds", "add", "http://10.0.0.1/feed"], UNREACHABLE),
        (["feeds", "add", "http://" + "a" * 5000 + ".example/"], "error:"),
        (["feeds", "remove", "nothing-like-it"], "no followed feed"),
        (["feeds", "sync", "nothing-like-it"], "no followed feed"),
    ],
)
def test_cli_feed_mistakes_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], expected: str
) -> None:
    from assistant.cli import app

    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("ASSISTANT_FETCH__TIMEOUT_S", "2")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


# ---- found by a hostile review ------------------------------------------------------------------------


def test_what_the_loader_would_refuse_is_cleaned_or_one_line_never_a_failing_file(
    updater: Updater, site: FeedSite
) -> None:
    """A title with DEL and escape characters, a page with NUL bytes, a page longer than the text limit:
    no file is written that every later sync would fail on."""
    updater.settings.corpus.max_text_chars = 5_000
    site.set_raw("/nul", ("Plain text page.\x00 " + " ".join(OWLS) * 2).encode(), content_type="text/plain")
    site.set_raw("/long", ("Long page. " * 1_000).encode(), content_type="text/plain")
    site.set_feed(
        "/feed.xml",
        [
            Entry("Owls \x7f return \x1b[2J\x1b[31m", "/owls", day(18)),
            Entry("Nul page", "/nul", day(18)),
            Entry("Long page", "/long", day(18)),
        ],
    )
    follow(updater, site.url("/feed.xml"))
    result = updater.sync_feeds()
    f = result.poll.feeds[0]
    assert f.new == 2 and f.failed == ["“Long page”: the article text is over 5,000 characters"]
    assert result.index is not None and result.index.failed == [] and result.index.added == 2
    titles = {m["title"] for m in updater.assistant.index.manifest().values()}
    assert "Owls return [2J[31m" in titles  # control characters dropped, the rest kept
    for path in feed_files(updater):
        assert "\x00" not in path.read_text() and "\x7f" not in path.read_text()


def test_hostile_character_references_are_one_line(updater: Updater, site: FeedSite) -> None:
    site.set_feed("/feed.xml", [Entry("Owls return", "/owls", day(18))])
    follow(updater, site.url("/feed.xml"))
    updater.sync_feeds()
    for body in (b"<rss><channel><item><title>&#xD800;</title><link>/x", b"<rss><item><title>&#99999999;<"):
        site.set_raw("/feed.xml", body, content_type="application/rss+xml")
        f = updater.sync_feeds().poll.feeds[0]
        assert not f.ok and "\n" not in f.error and site.url("/feed.xml") in f.error
        [listed] = updater.feeds()
        assert not listed.ok  # the feed list says the last poll failed
    assert len(updater.assistant.index.manifest()) == 1


def test_a_robots_txt_that_could_not_be_read_is_read_again_at_the_next_poll(
    tmp_path: Path, site: FeedSite
) -> None:
    updater = Updater(Assistant.from_settings(make_settings(tmp_path, retries=1), with_llm=False))
    site.set_raw("/robots.txt", b"oops", status=503)
    site.set_feed("/feed.xml", [Entry("Owls return", "/owls", day(18))])
    follow(updater, site.url("/feed.xml"))
    for _ in range(3):  # more polls than retries: a robots problem is not the entry's fault
        f = updater.sync_feeds().poll.feeds[0]
        assert f.failed and "robots.txt could not be read" in f.failed[0]
    site.set_robots("User-agent: *\nAllow: /\n")
    assert updater.sync_feeds().poll.feeds[0].new == 1 and site.hits("/owls") == 1


def test_an_entry_hit_by_an_unexpected_error_is_tried_again(updater: Updater, site: FeedSite) -> None:
    folder = updater.poller.articles.folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("a file where the folder should be")
    site.set_feed("/feed.xml", [Entry("Owls return", "/owls", day(18))])
    follow(updater, site.url("/feed.xml"))
    f = updater.sync_feeds().poll.feeds[0]
    assert f.new == 0 and len(f.failed) == 1 and "\n" not in f.failed[0]
    folder.unlink()
    again = updater.sync_feeds()
    assert again.poll.feeds[0].new == 1 and len(feed_files(updater)) == 1


def test_two_feeds_on_two_hosts_with_the_same_articles_fetch_and_write_each_once(tmp_path: Path) -> None:
    updater = Updater(Assistant.from_settings(make_settings(tmp_path), with_llm=False))
    with FeedSite("127.0.0.3") as pages, FeedSite("127.0.0.1") as a, FeedSite("127.0.0.2") as b:
        entries = []
        for i in range(12):
            pages.set_page(f"/p{i}", f"Story {i}", [f"{s} (story {i})" for s in (OWLS if i % 2 else BRIDGE)])
            entries.append(Entry(f"Story {i}", pages.url(f"/p{i}"), day(1 + i)))
        a.set_feed("/feed.xml", entries)
        b.set_feed("/feed.xml", list(reversed(entries)), kind="atom")
        follow(updater, a.url("/feed.xml"))
        follow(updater, b.url("/feed.xml"))
        result = updater.sync_feeds()
        assert (
            sum(f.new for f in result.poll.feeds) == 12 and sum(f.duplicates for f in result.poll.feeds) == 12
        )
        assert all(pages.hits(f"/p{i}") == 1 for i in range(12))
        assert len(feed_files(updater)) == 12 and not list(updater.poller.articles.folder.glob(".*"))


def test_query_strings_are_kept_byte_for_byte() -> None:
    assert canonical_url("http://a.example/q?caf%E9") == "http://a.example/q?caf%E9"
    assert canonical_url("http://a.example/q?123&utm_source=x") == "http://a.example/q?123"
    assert canonical_url("http://a.example/?a=1&b=%20&fbclid=z") == "http://a.example/?a=1&b=%20"


def test_a_feed_is_found_by_the_address_as_typed_and_an_ambiguous_name_says_so(
    updater: Updater, site: FeedSite
) -> None:
    from assistant.corpus.feeds.registry import AmbiguousName

    site.set_feed("/a.xml", [Entry("Owls return", "/owls", day(18))])
    site.set_feed("/b.xml", [Entry("Bridge", "/bridge", day(18))])
    follow(updater, site.url("/a.xml") + "?utm_medium=rss")
    follow(updater, site.url("/b.xml"))
    registry = updater.poller.registry
    assert registry.feed(site.url("/a.xml") + "?utm_medium=rss") is not None
    with pytest.raises(AmbiguousName):
        registry.feed("Test feed")  # both feeds took their own (identical) title


def test_cli_a_damaged_feed_list_is_one_line_moved_aside_and_the_command_works(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "feeds.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(tmp_path / "index")}

    def feeds_list() -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "assistant.cli", "feeds", "list"]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)

    result = feeds_list()
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "No feeds followed" in result.stdout
    lines = [x for x in result.stderr.splitlines() if "feeds.sqlite3" in x]
    assert len(lines) == 1 and "feed registry (feeds.sqlite3): could not be opened" in lines[0], result.stderr
    assert "moved aside to feeds.sqlite3.damaged-" in lines[0]
    assert len(list((tmp_path / "index").glob("feeds.sqlite3.damaged-*"))) == 1  # kept, never deleted
    again = feeds_list()
    assert again.returncode == 0 and "could not be opened" not in again.stderr


def test_cli_watch_a_folder_that_cannot_be_made_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.cli import app

    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    (tmp_path / "file").write_text("x")
    for folder, expected in (
        (str(tmp_path / "file"), "is not a folder"),
        (str(tmp_path / "file" / "sub"), "cannot be created"),
        ("", "empty folder name"),
    ):
        result = CliRunner().invoke(app, ["watch", folder])
        assert result.exit_code == 2, result.output
        assert expected in result.stderr and "Traceback" not in result.output


def test_removing_a_feed_with_purge_removes_only_the_articles_no_other_feed_gave(
    updater: Updater, site: FeedSite
) -> None:
    site.set_feed("/a.xml", [Entry("Owls return", "/owls", day(18)), Entry("Bridge", "/bridge", day(19))])
    site.set_feed("/b.xml", [Entry("Bridge to close", "/bridge", day(19))], kind="atom")
    follow(updater, site.url("/a.xml"))
    follow(updater, site.url("/b.xml"))
    updater.sync_feeds()
    assert len(feed_files(updater)) == 2
    registry = updater.poller.registry
    feed_a = registry.feed(site.url("/a.xml"))
    assert feed_a is not None
    assert updater.poller.remove(feed_a, purge=True) == 1
    assert [a.url for a in registry.articles()] == [site.url("/bridge")]
    assert feed_files(updater) == [updater.poller.articles.path_of(site.url("/bridge"))]
    report = updater.sync()
    assert report.removed == 1 and len(updater.assistant.index.manifest()) == 1
    assert [f.url for f in updater.feeds()] == [site.url("/b.xml")]


# ---- removing a feed while it is polled -----------------------------------------------------------------


class GatedSite(FeedSite):
    """A FeedSite whose `gated` paths answer only once `gate` is set: a poll is held, deterministically,
    between reading its feed and writing the articles (`asked` says a gated page was asked for)."""

    def __init__(self) -> None:
        super().__init__()
        self.gated: set[str] = set()
        self.asked = threading.Event()
        self.gate = threading.Event()

    def _serve(self, h: http.server.BaseHTTPRequestHandler) -> None:
        if h.path in self.gated:
            self.asked.set()
            self.gate.wait(60)
        super()._serve(h)


@pytest.fixture
def gated() -> Iterator[GatedSite]:
    with GatedSite() as s:
        s.set_page("/owls", "Owls return to the old mill", OWLS)
        s.set_page("/bridge", "Kelby bridge to close", BRIDGE)
        s.set_page("/ferry", "Electric ferry for Vey", FERRY)
        yield s
        s.gate.set()


def test_remove_purge_while_a_sync_polls_the_feed_leaves_none_of_its_articles(
    tmp_path: Path, gated: GatedSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`feeds remove --purge` (its own poller, as in another process) while `feeds sync` waits for the
    feed's article pages: once the remove has answered, the running sync writes and indexes nothing of
    that feed, and the purge holds."""
    from assistant.cli import app

    settings = make_settings(tmp_path)
    settings.fetch.timeout_s = 60.0  # the held pages are not cut off while the remove runs
    updater = Updater(Assistant.from_settings(settings, with_llm=False))
    entries = [Entry("Owls return", "/owls", day(18)), Entry("Bridge", "/bridge", day(19))]
    gated.set_feed("/feed.xml", [*entries, Entry("Ferry", "/ferry", day(14))])
    follow(updater, gated.url("/feed.xml"))
    assert updater.sync_feeds().poll.feeds[0].new == 3 and len(feed_files(updater)) == 3
    # every entry updated: the next poll fetches all three pages again, and is held at the first one
    gated.set_feed("/feed.xml", [Entry(e.title, e.link, e.published, updated=day(21)) for e in entries])
    gated.gated = {"/owls", "/bridge", "/ferry"}
    done: list[object] = []
    sync = threading.Thread(target=lambda: done.append(updater.sync_feeds()))
    sync.start()
    try:
        assert gated.asked.wait(30)
        for key, value in {
            "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
            "ASSISTANT_CORPUS_DIRS": json.dumps([str(tmp_path / "corpus")]),
            "ASSISTANT_UPLOAD_DIR": str(tmp_path / "uploads"),
            "ASSISTANT_FETCH__ALLOW": json.dumps(ALLOW),
        }.items():
            monkeypatch.setenv(key, value)
        removed = CliRunner().invoke(app, ["feeds", "remove", "--purge", gated.url("/feed.xml")])
        assert removed.exit_code == 0, removed.output
        assert "Removed 3 of its articles" in removed.output and "removed 3" in removed.output
    finally:
        gated.gate.set()
        sync.join(60)
    [result] = done
    assert isinstance(result, FeedsSync)
    assert feed_files(updater) == [] and updater.poller.registry.articles() == []
    assert updater.feeds() == [] and updater.assistant.index.manifest().keys().isdisjoint(
        gated.url(p) for p in ("/owls", "/bridge", "/ferry")
    )
    [polled] = result.poll.feeds
    assert polled.removed and polled.new + polled.updated == 0 and result.index is None
    assert polled.line() == "stopped following it during this poll: nothing more was written for it"


def test_a_poll_of_a_feed_removed_before_it_started_reads_nothing(updater: Updater, site: FeedSite) -> None:
    """`feeds sync NAME` looked the feed up, then waited for another poll; meanwhile it was removed."""
    site.set_feed("/feed.xml", [Entry("Owls return", "/owls", day(18))])
    follow(updater, site.url("/feed.xml"))
    feed = updater.poller.registry.feed(site.url("/feed.xml"))
    assert feed is not None
    updater.poller.remove(feed)
    hits = site.hits("/feed.xml")
    result = updater.sync_feeds(only=[feed])
    assert site.hits("/feed.xml") == hits and feed_files(updater) == []
    assert updater.poller.registry.item(feed.url, site.url("/owls")) is None
    assert result.poll.feeds[0].removed and result.index is None
