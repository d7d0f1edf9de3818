"""An archive spanning years, in Debian's Chromium against the real app in a subprocess (quotes only):
a question about the oldest article (one that names no time) is answered from it, and still is after a
followed feed (tests/feedsite.py, on 127.0.0.1) brings articles dated yesterday; the middle and the newest
articles answer their own questions too. Every article here is invented for this test."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.feedsite import Entry, FeedSite
from tests.serverutil import ARTIFACTS, browser_page, feed_app_env, free_port, start_app, stop_app

REFUSAL = "The indexed articles don't say"
HEDGE = "The closest passage I found"


def _md(title: str, published: str, slug: str, source: str, body: list[str]) -> str:
    front = f"---\ntitle: {title}\ndate: {published}\nurl: https://{source}/{slug}\nsource: {source}\n---\n"
    return front + "\n\n".join(body) + "\n"


# name -> (title, published, the fact a question asks for, the file's text)
BRIDGE_TITLE = "Lindqvist Bridge reopens after 14-month repair"
BRIDGE_FACT_SENTENCE = (
    "The Lindqvist Bridge over the Varna River reopened after a 14-month repair costing $38 million."
)
ORCHID_TITLE = "Serrin marsh orchid found again at Fenwick Moss after 62 years"
WIND_TITLE = "Carrow Bay wind farm sends its first power to the grid"
ARCHIVE: dict[str, tuple[str, str, str]] = {
    "2015-bridge.md": (
        BRIDGE_TITLE,
        "2015-03-10",
        _md(
            BRIDGE_TITLE,
            "2015-03-10",
            "2015/03/lindqvist-bridge-reopens",
            "northernledger.example",
            [
                "By Marta Oyelaran, Northern Ledger",
                "HALDEN FALLS, March 10 - Commuters crossed the river by car again on Monday morning. "
                + BRIDGE_FACT_SENTENCE
                + " The steel arch, built in 1931, had been closed since January last year after "
                "inspectors found corroded cables under the deck.",
                "Crews replaced all 112 suspension hangers and laid a new concrete deck, working through two "
                "winters. The regional transport office said about 21,000 vehicles a day used the bridge "
                "before it closed, and that the detour through Ostby had added up to 40 minutes to a trip.",
                "“We were told it would be a year, and it was a bit more, but it is a better bridge than the "
                "one we lost,” said Henrik Saale, who runs a bakery on the south bank.",
                "A footpath on the downstream side will open in May, once the railings are painted.",
            ],
        ),
    ),
    "2017-observatory.md": (
        "Kestrel Ridge observatory unveils its new telescope",
        "2017-06-14",
        _md(
            "Kestrel Ridge observatory unveils its new telescope",
            "2017-06-14",
            "2017/06/kestrel-ridge-telescope",
            "marburyherald.example",
            [
                "By Tobias Wren, Marbury Herald",
                "MARBURY, June 14 - The Kestrel Ridge observatory showed its new 2.4-metre telescope to the "
                "public on Wednesday, the largest optical telescope in the province.",
                "The mirror was cast in Jena and took nineteen months to polish. Astronomers plan to use the "
                "instrument to follow faint comets and to measure the light of distant supernovae.",
                "“On a clear night we can now see objects a hundred times fainter than before,” said the "
                "observatory's director, Dr Anneliese Korte.",
                "Public viewing evenings will be held on the first Friday of every month.",
            ],
        ),
    ),
    "2019-orchid.md": (
        ORCHID_TITLE,
        "2019-09-04",
        _md(
            ORCHID_TITLE,
            "2019-09-04",
            "2019/09/serrin-marsh-orchid",
            "fenlandgazette.example",
            [
                "By Priya Holloway, Fenland Gazette",
                "FENWICK, September 4 - A wild orchid last recorded in the county in 1957 has been found "
                "again on a peat bog near the village.",
                "Botanist Ilse Marrow counted 23 flowering plants of the Serrin marsh orchid at Fenwick Moss "
                "during a survey in late July.",
                "The bog was drained for farming in the 1960s and rewetted by a conservation trust in 2011. "
                "The trust said the orchid's seeds may have survived in the peat for decades.",
                "“I walked past the spot twice before I realised what I was looking at,” Marrow said.",
                "The exact location is being kept secret to protect the plants from collectors.",
            ],
        ),
    ),
    "2020-library.md": (
        "Oskarby library puts its medieval manuscripts online",
        "2020-05-19",
        _md(
            "Oskarby library puts its medieval manuscripts online",
            "2020-05-19",
            "2020/05/oskarby-manuscripts",
            "oskarbypost.example",
            [
                "By Lena Varga, Oskarby Post",
                "OSKARBY, May 19 - The city library has published scans of 1,200 medieval manuscripts on its "
                "website, completing a project that began in 2016.",
                "The collection includes a thirteenth-century herbal and the oldest surviving town charter of "
                "Oskarby. Each page was photographed under five kinds of light to bring out faded ink.",
                "“Scholars who once had to travel here can now read the charter from their kitchen table,” "
                "said head librarian Jonas Ekberg.",
            ],
        ),
    ),
    "2021-tram.md": (
        "Ostervik tram line reaches the airport",
        "2021-02-08",
        _md(
            "Ostervik tram line reaches the airport",
            "2021-02-08",
            "2021/02/ostervik-tram-airport",
            "ostervikdaily.example",
            [
                "By Samir Castellan, Ostervik Daily",
                "OSTERVIK, February 8 - Trams began running to Ostervik airport on Monday after the city "
                "opened a 9.6-kilometre extension of its Line 4.",
                "The extension adds seven stops and cuts the journey from the central station to the terminal "
                "to 22 minutes. The city said the line is expected to carry 14,000 passengers a day.",
                "“For the first time you can get off a plane and be in the old town without a car,” said "
                "transport councillor Maren Dahl.",
            ],
        ),
    ),
    "2023-windfarm.md": (
        WIND_TITLE,
        "2023-11-20",
        _md(
            WIND_TITLE,
            "2023-11-20",
            "2023/11/carrow-bay-wind-farm",
            "coastalobserver.example",
            [
                "By Aoife Brannigan, Coastal Observer",
                "CARROW, November 20 - The Carrow Bay offshore wind farm delivered its first electricity to "
                "the grid on Monday, two months ahead of schedule.",
                "When complete, the farm's 42 turbines will have a capacity of 310 megawatts, enough for "
                "about 280,000 homes.",
                "The turbines stand 14 kilometres off the coast, and the power comes ashore through a cable "
                "buried under the dunes at Innisreagh.",
                "“Every turbine that starts turning is a little less gas we have to import,” said the project "
                "manager, Declan Farrow.",
            ],
        ),
    ),
}

# what a followed feed brings: two articles dated yesterday, on other subjects (with amounts of their own)
CYCLE_LANES = [
    "Velden's council approved two new protected cycle lanes on Tuesday evening after a debate that lasted "
    "almost four hours.",
    "The lanes will run along Harbour Road and Mill Street and are expected to cost 2.6 million euros, paid "
    "for mostly by a regional grant.",
    "“Parents have asked us for years for a safe way to cycle their children to school,” said councillor "
    "Ruth Anselm, who proposed the plan.",
    "Work is due to start in the spring and to take about eight months.",
]
HERRING = [
    "Fishing boats landed the biggest herring catch of the season at Skarholm harbour on Tuesday, 640 tonnes "
    "in a single day.",
    "Auction prices held steady, and the day's catch was sold for about $1.9 million, the harbour office said.",
    "“The shoals came in close this year, and the weather let every boat go out,” said skipper Ola Brekke.",
    "Scientists will sample the catch to check the age of the fish before next year's quotas are set.",
]
CYCLE_TITLE = "Velden approves two protected cycle lanes"
HERRING_TITLE = "Skarholm boats land the season's biggest herring catch"

BRIDGE_Q = "How much did the repair of the Lindqvist Bridge cost?"
ORCHID_Q = "How many plants of the Serrin marsh orchid were found at Fenwick Moss?"
WIND_Q = "How many turbines does the Carrow Bay wind farm have?"


@pytest.fixture(scope="module")
def yesterday() -> date:
    return date.today() - timedelta(days=1)


@pytest.fixture(scope="module")
def site(yesterday: date) -> Iterator[FeedSite]:
    when = datetime(yesterday.year, yesterday.month, yesterday.day, 9, 0, tzinfo=UTC)
    with FeedSite() as s:
        for path, title, text, author in (
            ("/cycle-lanes", CYCLE_TITLE, CYCLE_LANES, "Nils Ferreira"),
            ("/herring", HERRING_TITLE, HERRING, "Kari Lund"),
        ):
            s.set_page(
                path, title, text, published=when.isoformat(), author=author, site_name="Harbour Gazette"
            )
        s.set_feed(
            "/news.xml",
            [Entry(HERRING_TITLE, "/herring", when), Entry(CYCLE_TITLE, "/cycle-lanes", when)],
            title="Harbour Gazette",
        )
        yield s


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The real app (quotes only) on the archive; it fetches loopback, polls feeds only when asked and
    watches no folder."""
    root = tmp_path_factory.mktemp("archive")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, (_, _, text) in ARCHIVE.items():
        (corpus / name).write_text(text, encoding="utf-8")
    env = feed_app_env(root, corpus)
    proc, url = start_app(env, free_port(), root / "server.log")
    yield {"url": url, "root": root, "corpus": corpus}
    stop_app(proc)


# ---- driving the page -----------------------------------------------------------------------------


def _wait(page: Any, js: str, arg: Any, timeout: int, what: Callable[[], str]) -> None:
    """Waits for a JS predicate; on timeout fails with what(), a description of what the page shows."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(js, arg=arg, timeout=timeout)
    except PlaywrightTimeout:
        raise AssertionError(what()) from None


def _wait_text(page: Any, selector: str, text: str, timeout: int = 60_000) -> None:
    _wait(
        page,
        "([sel, text]) => (document.querySelector(sel)?.innerText || '').includes(text)",
        [selector, text],
        timeout,
        lambda: f"{selector} never showed {text!r}; it shows: {page.inner_text(selector)!r}",
    )


_ANSWERED = """
([n]) => {
  const msgs = document.querySelectorAll('#chat .message-content');
  const note = document.querySelector('#answer-note')?.innerText || '';
  if (msgs.length < n + 2 || !note.includes('Answered by')) return false;
  const last = msgs[msgs.length - 1].innerText.trim();
  return last !== '' && last !== '…';
}
"""

_CARDS = """
() => [...document.querySelectorAll('#sources .src-card')].map(c => ({
  head: c.querySelector('.src-head')?.innerText || '',
  meta: c.querySelector('.src-meta')?.innerText || '',
  marks: [...c.querySelectorAll('mark')].map(m => m.innerText),
}))
"""


def ask(page: Any, question: str) -> dict[str, Any]:
    """Asks on the page and waits for the checked answer: its text, the note under it, whether it carries
    a [1] marker, and the source cards (head, meta, highlighted quotes)."""
    n = page.locator("#chat .message-content").count()
    page.fill("#question textarea", question)
    page.click("#ask")
    _wait(
        page,
        _ANSWERED,
        [n],
        90_000,
        lambda: (
            f"no answer to {question!r} within 90 s; note: {page.inner_text('#answer-note')!r}; "
            f"chat: {page.inner_text('#chat')[-1500:]!r}"
        ),
    )
    bot = page.locator("#chat .message-content").last
    return {
        "question": question,
        "text": bot.inner_text().strip(),
        "marker": bot.locator('a[href="#src-1"]').count() > 0,
        "note": page.inner_text("#answer-note"),
        "cards": page.evaluate(_CARDS),
    }


def assert_answered_from(
    answer: dict[str, Any], fact: str, title: str, published: str, article_text: str, when: str
) -> None:
    """The answer shows `fact` with a [1] marker, is neither the refusal nor a hedge, and a source card of
    the article `title` (dated `published`) highlights a quote, verbatim from the article, holding `fact`."""
    shown = (
        f"\n{when}, asked {answer['question']!r}, the page answered:\n  {answer['text']!r}\n"
        f"  note: {answer['note']!r}\n  sources: {json.dumps(answer['cards'], ensure_ascii=False)}"
    )
    assert REFUSAL not in answer["text"], "refused: " + shown
    assert HEDGE not in answer["text"], "hedged with the closest passage instead of answering: " + shown
    assert fact in answer["text"], f"the answer lacks {fact!r}: " + shown
    assert "[1]" in answer["text"] and answer["marker"], (
        "the answer has no [1] marker linked to a source: " + shown
    )
    cards = [c for c in answer["cards"] if title in c["head"]]
    assert cards, f"no source card for {title!r}: " + shown
    assert any(published in c["meta"] for c in cards), (
        f"the card of {title!r} is not dated {published}: " + shown
    )
    quotes = [m for c in cards for m in c["marks"] if fact in m]
    assert quotes, f"the card of {title!r} highlights no quote holding {fact!r}: " + shown
    assert all(" ".join(q.split()) in " ".join(article_text.split()) for q in quotes), (
        "a highlighted quote is not verbatim from the article: " + shown
    )


# ---- the test ---------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.browser
def test_browser_oldest_article_still_answered_after_a_feed_brings_yesterdays_news(
    app: dict[str, Any], site: FeedSite, yesterday: date
) -> None:
    with browser_page("archive-failure.png") as page:
        run_archive_flow(page, app, site, yesterday)


def run_archive_flow(page: Any, app: dict[str, Any], site: FeedSite, yesterday: date) -> None:
    bridge_title, bridge_date, bridge_text = ARCHIVE["2015-bridge.md"]
    orchid_title, orchid_date, orchid_text = ARCHIVE["2019-orchid.md"]
    wind_title, wind_date, wind_text = ARCHIVE["2023-windfarm.md"]
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(app["url"])
    page.wait_for_selector("#question textarea")
    _wait_text(page, "#latest", "6 articles · page 1 of 1")
    _wait_text(page, "#index-status", "newest 20 Nov 2023")
    assert "answers: quotes only" in page.inner_text("#index-status")

    # the archive alone: the oldest article (eight years before the newest) answers a question naming no time
    before = ask(page, BRIDGE_Q)
    assert_answered_from(
        before, "$38 million", bridge_title, bridge_date, bridge_text, "on the archive alone (2015 to 2023)"
    )
    assert BRIDGE_FACT_SENTENCE in " ".join(m for c in before["cards"] for m in c["marks"]), before

    # a followed feed brings two articles dated yesterday; wait until they are indexed and listed
    page.locator("#feed-url textarea, #feed-url input").first.fill(site.url("/news.xml"))
    page.click("#feed-add")
    _wait_text(page, "#feed-result", "following “Harbour Gazette”", timeout=120_000)
    result = page.inner_text("#feed-result")
    assert "2 new" in result and "added 2" in result, f"the feed's two articles were not indexed: {result!r}"
    _wait_text(page, "#latest", "8 articles")
    _wait_text(page, "#latest", HERRING_TITLE)
    _wait_text(page, "#latest", CYCLE_TITLE)
    latest = page.inner_text("#latest")
    assert f"Harbour Gazette · {yesterday.isoformat()}" in latest, latest
    _wait_text(page, "#index-status", f"newest {yesterday.day} {yesterday:%b %Y}")
    # the feed's articles are really answerable (the index took them)
    herring = ask(page, "How many tonnes of herring were landed at Skarholm harbour?")
    assert "640 tonnes" in herring["text"] and any(HERRING_TITLE in c["head"] for c in herring["cards"]), (
        f"yesterday's feed article does not answer its own question: {herring}"
    )

    # a new chat: the same question about the 2015 article is still answered from it
    page.goto(app["url"])
    page.wait_for_selector("#question textarea")
    _wait_text(page, "#index-status", f"newest {yesterday.day} {yesterday:%b %Y}")
    after = ask(page, BRIDGE_Q)
    assert_answered_from(
        after,
        "$38 million",
        bridge_title,
        bridge_date,
        bridge_text,
        f"after the feed added two articles dated {yesterday.isoformat()}",
    )

    # the middle and the newest articles of the archive answer their own questions
    orchid = ask(page, ORCHID_Q)
    assert_answered_from(
        orchid, "23 flowering plants", orchid_title, orchid_date, orchid_text, "the 2019 article"
    )
    wind = ask(page, WIND_Q)
    assert_answered_from(wind, "42 turbines", wind_title, wind_date, wind_text, "the 2023 article")
    assert dialogs == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "archive.png"), full_page=True)
