"""The page's "What's new" part against the real app in a subprocess: following a feed served by a real
HTTP server on 127.0.0.1 (tests/feedsite.py), the latest articles, answer filters through gradio_client,
and the whole path in Debian's Chromium: add a feed, see its articles listed, ask about one, see it cited.
Races between the panel's feed actions are driven in-process, through the panel's action functions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from assistant.ui.history import plain_text
from tests.conftest import write_corpus
from tests.feedsite import Entry, FeedSite
from tests.serverutil import ARTIFACTS, browser_page, feed_app_env, free_port, start_app, stop_app
from tests.test_feeds import GatedSite

HARBOUR = [
    "The Port of Lindmoor opened its new harbour crane on Thursday, lifting the first container just after seven.",
    "The crane cost fourteen million euros and can lift 65 tonnes, twice as much as the one it replaces.",
    "Dock workers said the crane would cut the time ships spend waiting in port by about a third.",
]
ORCHARD = [
    "About 300 volunteers planted a community orchard of 120 apple trees in Brenmoor on Saturday.",
    "The trees are of forty old local varieties, some of which had not been grown in the valley for a century.",
    "The first apples are expected in three years, and the harvest will be shared with the village school.",
]
FERRY = [
    "An electric ferry will link Port Amsel and the island of Vey from April, the operator said on Friday.",
    "The crossing will take 35 minutes, and the boat carries forty cars and 300 passengers on each trip.",
    "Islanders had campaigned for a more frequent service since the old diesel ferry was withdrawn in 2022.",
]
LIGHTHOUSE = [
    "The Skerry lighthouse was painted red and white again this week for the first time since 1990.",
    "Painters worked from ropes for eleven days, and the light itself stayed on every night of the work.",
    "The lighthouse trust said the paint should last for about fifteen years in the salt wind.",
]
# older articles in the corpus, so that the latest list has two pages whichever test runs first (7 here,
# conftest's 3, and 2 or more from feeds)
FILLER = {
    f"filler-{i}.md": f"---\ntitle: Village notice {i}\nsource: parish.example\npublished: 2024-01-{i + 10:02d}\n---\n"
    f"The parish council of Holt number {i} met on a Monday and agreed to mend {i + 3} benches on the green.\n"
    for i in range(7)
}


def day(d: int) -> datetime:
    return datetime(2025, 3, d, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def site() -> Iterator[FeedSite]:
    with FeedSite() as s:
        s.set_page("/harbour", "Lindmoor opens its new harbour crane", HARBOUR, site_name="Lindmoor Post")
        s.set_page("/orchard", "Volunteers plant a Brenmoor orchard", ORCHARD, site_name="Lindmoor Post")
        s.set_page("/ferry", "Electric ferry for Vey", FERRY)
        s.set_page("/lighthouse", "Skerry lighthouse repainted", LIGHTHOUSE, site_name="Lindmoor Post")
        s.set_feed(
            "/news.xml",
            [
                Entry("Volunteers plant a Brenmoor orchard", "/orchard", day(19)),
                Entry("Lindmoor opens its new harbour crane", "/harbour", day(18)),
            ],
            title="Lindmoor Post",
        )
        s.set_feed("/ferry.xml", [Entry("Electric ferry for Vey", "/ferry", day(14))], title="Island news")
        yield s


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The real app (quotes only) on its own folders; it fetches loopback, polls no feed by itself and
    watches no folder."""
    root = tmp_path_factory.mktemp("feeds-page")
    corpus = write_corpus(root / "corpus")  # conftest's three articles, one of them from example.org
    write_corpus(corpus, FILLER)
    env = feed_app_env(root, corpus)
    proc, url = start_app(env, free_port(), root / "server.log")
    yield {"url": url, "root": root}
    stop_app(proc)


def _titles(answer: dict[str, Any]) -> set[str]:
    return {c["title"] for c in answer["citations"]}


@pytest.mark.slow
def test_chat_api_keeps_two_arguments_and_takes_filters(app: dict[str, Any], site: FeedSite) -> None:
    from gradio_client import Client

    client = Client(app["url"], verbose=False)
    # existing callers send only (message, history): the filters take their defaults
    _, _, answer, note, box = client.predict("Which spa did authorities evacuate?", [], api_name="/chat")
    assert "Blue Lagoon" in answer["answer"] and box == "" and "filtered" not in note

    line, status = client.predict(site.url("/ferry.xml"), "Island Ferries", api_name="/add_feed")
    assert "following “Island Ferries”" in plain_text(line) and "articles" in status
    question = "How long will the crossing of the electric ferry to Vey take?"
    _, _, answer, _, _ = client.predict(question, [], api_name="/chat")
    assert "35 minutes" in answer["answer"] and "Electric ferry for Vey" in _titles(answer)
    assert answer["citations"][0]["url"] == site.url("/ferry")

    # a source filter that leaves the ferry's source out: the ferry article is not cited
    _, _, answer, note, _ = client.predict(question, [], ["example.org"], "", "", api_name="/chat")
    assert "Electric ferry for Vey" not in _titles(answer) and "filtered: only example.org" in note
    _, _, answer, _, _ = client.predict(question, [], ["Island Ferries"], "2025-03-01", "", api_name="/chat")
    assert _titles(answer) == {"Electric ferry for Vey"}
    _, _, answer, _, _ = client.predict(question, [], [], "", "2025-03-13", api_name="/chat")
    assert "Electric ferry for Vey" not in _titles(answer)  # published on the 14th
    # a bad date: a note, no answer, the question kept in the box
    history, _, answer, note, box = client.predict(question, [], [], "14/03/2025", "", api_name="/chat")
    assert answer == {} and history == [] and box == question and "YYYY-MM-DD" in note

    # the result line is inert Markdown, as the page shows it
    line, _ = client.predict("javascript:alert(1)", "", api_name="/add_feed")
    assert plain_text(line).startswith("Only http")
    line, _ = client.predict(site.url("/ferry"), "", api_name="/add_feed")  # a page, not a feed
    line = plain_text(line)
    assert site.url("/ferry") in line and "not an RSS or Atom feed" in line and "\n" not in line


@pytest.mark.slow
@pytest.mark.browser
def test_browser_follow_a_feed_see_its_articles_and_ask_about_one(
    app: dict[str, Any], site: FeedSite
) -> None:
    with browser_page("feeds-failure.png") as page:
        run_feed_flow(page, app, site)


def _wait_text(page: Any, selector: str, text: str, timeout: int = 60_000) -> None:
    page.wait_for_function(
        "([sel, text]) => (document.querySelector(sel)?.innerText || '').includes(text)",
        arg=[selector, text],
        timeout=timeout,
    )


def run_feed_flow(page: Any, app: dict[str, Any], site: FeedSite) -> None:
    from gradio_client import Client

    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(app["url"])
    page.wait_for_selector("#question textarea")
    _wait_text(page, "#latest", "page 1 of")
    assert "Lindmoor" not in page.inner_text("#latest")

    # follow the feed on the page: it is polled at once and its two articles are listed, newest first
    page.locator("#feed-url textarea, #feed-url input").first.fill(site.url("/news.xml"))
    page.click("#feed-add")
    _wait_text(page, "#feed-result", "following “Lindmoor Post”", timeout=120_000)
    result = page.inner_text("#feed-result")
    assert "2 new" in result and "added 2" in result, result
    _wait_text(page, "#latest", "Lindmoor opens its new harbour crane")
    latest = page.inner_text("#latest")
    assert latest.index("Volunteers plant a Brenmoor orchard") < latest.index(
        "Lindmoor opens its new harbour crane"
    )
    assert "Lindmoor Post · 2025-03-19" in latest
    link = page.locator("#latest a", has_text="Lindmoor opens its new harbour crane")
    assert link.get_attribute("href") == site.url("/harbour")
    _wait_text(page, "#feeds", site.url("/news.xml"))
    assert "2 entries: 2 new" in page.inner_text("#feeds")
    page.screenshot(path=str(ARTIFACTS / "feeds.png"), full_page=True)

    # paging: 10 a page, older articles on the next one
    page.click("#latest-older")
    _wait_text(page, "#latest", "page 2 of 2")
    assert "Teenager wins national chess title" in page.inner_text("#latest")  # no date: last
    assert "Lindmoor" not in page.inner_text("#latest")
    page.click("#latest-newer")
    _wait_text(page, "#latest", "page 1 of 2")

    # ask about one of them: the answer cites it in the sources panel
    page.fill("#question textarea", "How many apple trees were planted in the Brenmoor community orchard?")
    page.click("#ask")
    _wait_text(page, "#sources", "Volunteers plant a Brenmoor orchard")
    assert "120 apple trees" in page.inner_text("#sources mark")
    assert page.locator("#sources a", has_text="Volunteers plant a Brenmoor orchard").get_attribute(
        "href"
    ) == site.url("/orchard")

    # an article the feed brings later (here: polled by another client) appears without a reload
    site.set_feed(
        "/news.xml",
        [
            Entry("Skerry lighthouse repainted", "/lighthouse", day(20)),
            Entry("Volunteers plant a Brenmoor orchard", "/orchard", day(19)),
            Entry("Lindmoor opens its new harbour crane", "/harbour", day(18)),
        ],
        title="Lindmoor Post",
    )
    line, _ = Client(app["url"], verbose=False).predict(site.url("/news.xml"), "", api_name="/add_feed")
    assert "1 new" in line, line
    _wait_text(page, "#latest", "Skerry lighthouse repainted", timeout=45_000)

    # stop following it: the feed leaves the list, its articles stay
    page.click("#feed-pick input")
    page.locator(
        '[data-testid="dropdown-option"]', has_text=f"Lindmoor Post — {site.url('/news.xml')}"
    ).click()
    page.click("#feed-remove")
    _wait_text(page, "#feed-result", "Stopped following “Lindmoor Post”")
    page.wait_for_function(
        "([sel, text]) => !document.querySelector(sel).innerText.includes(text)",
        arg=["#feeds", site.url("/news.xml")],
        timeout=30_000,
    )
    assert "Skerry lighthouse repainted" in page.inner_text("#latest")
    assert page.input_value("#feed-pick input") == ""  # the removed feed is no longer picked
    assert dialogs == []
    page.screenshot(path=str(ARTIFACTS / "feeds-removed.png"), full_page=True)


def test_removing_a_feed_while_its_add_polls_it_says_so_and_does_not_follow_it(tmp_path: Path) -> None:
    """“Follow this feed”, then “Stop following” while the add still waits for the feed's article page:
    the add's line says the feed was removed, and nothing more of it is written or followed."""
    from assistant.service import Assistant
    from assistant.settings import FeedsSettings, FetchSettings, Settings
    from assistant.ui.page import ChatApp

    (tmp_path / "corpus").mkdir()
    settings = Settings(
        index_dir=tmp_path / "index",
        corpus_dirs=[tmp_path / "corpus"],
        upload_dir=tmp_path / "uploads",
        fetch=FetchSettings(allow=["127.0.0.0/8"], timeout_s=30.0),
        feeds=FeedsSettings(host_delay_s=0),
        watch=False,
    )
    settings.llm.backend = "extractive"
    app = ChatApp(Assistant.from_settings(settings, with_llm=False))
    with GatedSite() as site:
        site.set_page("/harbour", "Lindmoor opens its new harbour crane", HARBOUR)
        site.set_feed("/news.xml", [Entry("Harbour crane", "/harbour", day(18))], title="Lindmoor Post")
        site.gated = {"/harbour"}
        added: list[str] = []
        adding = threading.Thread(
            target=lambda: added.append(app.whats_new.add_feed(site.url("/news.xml"), "", client=""))
        )
        adding.start()
        try:
            assert site.asked.wait(30)  # followed, and its poll waits for the article page
            removed = app.whats_new.remove_feed(site.url("/news.xml"))
            assert removed.startswith("Stopped following “Lindmoor Post”"), removed
        finally:
            site.gate.set()
            adding.join(60)
    [line] = added
    assert not line.startswith("Now following"), line
    assert line.startswith("“Lindmoor Post” was removed while it was being added: it is not followed"), line
    assert "\n" not in line
    assert app.ctx.updater.feeds() == [] and app.view(1)["feed_choices"] == []
    assert list((tmp_path / "uploads").rglob("*.md")) == []
    assert "Lindmoor opens its new harbour crane" not in app.view(1)["latest"]
