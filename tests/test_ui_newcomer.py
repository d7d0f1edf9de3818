"""The page as a newcomer sees it, in Debian's Chromium against the real app in a subprocess (quotes
only): example questions made from the newest articles, the status line in plain words, a conversation
with an unrelated question in between whose follow-ups read as questions, and the layout at 1400 px and
400 px wide (screenshots in artifacts/). Every article here is invented for this test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.serverutil import ARTIFACTS, app_env, browser_page, free_port, start_app, stop_app
from tests.test_ui_archive import _md, _wait, _wait_text, ask

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EXPEL_TITLE = "House expels Rep. Corwin Alder after ethics report"
VOLCANO_TITLE = "Volcano near Skarvik erupts; spa evacuated"
FERRY_TITLE = "Ostby ferry gets a battery engine"
CORPUS = {
    "alder.md": _md(
        EXPEL_TITLE,
        "2024-11-29",
        "2024/11/alder-expelled",
        "capitolwire.example",
        [
            "By Noor Halvorsen, Capitol Wire",
            "The House voted 311 to 114 on Friday to expel Rep. Corwin Alder, the sixth member ever removed "
            "by his colleagues.",
            "An ethics report found that Alder spent campaign funds on Botox treatments and designer "
            "clothing.",
            "The last member expelled before him was Rep. Dwight Halloran, who was removed in 2002 after a "
            "bribery conviction.",
        ],
    ),
    "volcano.md": _md(
        VOLCANO_TITLE,
        "2024-11-30",
        "2024/11/skarvik-volcano",
        "northernledger.example",
        [
            "By Ilse Marrow, Northern Ledger",
            "A volcano near the town of Skarvik erupted on Saturday, sending lava towards the coast road.",
            "Authorities evacuated the Blue Fjord spa as a precaution, and about 4,000 residents left their "
            "homes overnight.",
        ],
    ),
    "ferry.md": _md(
        FERRY_TITLE,
        "2024-11-20",
        "2024/11/ostby-ferry",
        "coastalobserver.example",
        [
            "By Aoife Brannigan, Coastal Observer",
            "The Ostby ferry will run on a battery engine from next spring, the harbour board said.",
        ],
    ),
}


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("newcomer")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in CORPUS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    env = app_env(root, corpus, answer__min_support="0.3", watch="false")
    proc, url = start_app(env, free_port(), root / "app.log")
    try:
        yield {"url": url, "root": root}
    finally:
        stop_app(proc)


def _understood(answer: dict[str, Any]) -> str:
    m = re.search(r"Understood as: (.*)", answer["text"])
    return m.group(1).strip() if m else ""


def test_a_newcomer_sees_examples_from_their_articles_and_a_plain_status(newcomer: dict[str, Any]) -> None:
    with browser_page("newcomer-failed.png") as page:
        page.goto(newcomer["url"])
        _wait_text(page, "#index-status", "3 articles")
        status = page.inner_text("#index-status")
        assert re.search(r"3 articles, newest 30 Nov 2024, updated (just now|\d+ minutes? ago)", status), status
        assert "answers: quotes only" in status and "chunks" not in status and "embeddings" not in status
        # the examples are sent again by the page's first refresh: read them once they are there
        _wait_text(page, "#examples", "House expels Rep. Corwin Alder")
        _wait_text(page, "#examples", "Volcano near Skarvik")
        examples = page.inner_text("#examples")
        assert examples.index("Volcano near Skarvik") < examples.index("House expels Rep. Corwin Alder")
        assert "Putin" not in examples  # the seed's questions only when the seed is all there is
        page.locator("#examples").get_by_text("Volcano near Skarvik", exact=False).first.click()
        _wait(
            page,
            "() => document.querySelector('#question textarea').value.includes('Volcano near Skarvik')",
            None,
            10_000,
            lambda: f"the example did not fill the box: {page.input_value('#question textarea')!r}",
        )
        page.screenshot(path=str(ARTIFACTS / "newcomer-1400.png"), full_page=True)


def test_follow_ups_read_as_questions_across_an_unrelated_one(newcomer: dict[str, Any]) -> None:
    with browser_page("conversation-threeturn-failed.png") as page:
        page.goto(newcomer["url"])
        _wait_text(page, "#index-status", "3 articles")
        first = ask(page, "How many House members voted to expel Rep. Corwin Alder?")
        assert "311" in first["text"] and first["marker"], first
        second = ask(page, "Which spa did authorities evacuate?")  # unrelated; names its own subject
        assert "Blue Fjord" in second["text"] and not _understood(second), second
        # "he": not the spa's turn, which named no one, but the turn before it
        third = ask(page, "What did he spend his campaign funds on?")
        assert _understood(third) == "What did Corwin Alder spend his campaign funds on?", third
        assert "Botox" in third["text"], third
        fourth = ask(page, "Who was the last member expelled before him?")
        assert _understood(fourth) == "Who was the last member expelled before Corwin Alder?", fourth
        # the rewrite finds the right article (which sentence answers "who before X" is the ranking's)
        assert fourth["cards"] and all(EXPEL_TITLE in c["head"] for c in fourth["cards"]), fourth
        page.screenshot(path=str(ARTIFACTS / "conversation-threeturn.png"), full_page=True)


def test_the_page_at_400_px(newcomer: dict[str, Any]) -> None:
    with browser_page("narrow-failed.png") as page:
        page.set_viewport_size({"width": 400, "height": 800})
        page.goto(newcomer["url"])
        _wait_text(page, "#index-status", "3 articles")
        box = page.locator("#question textarea").bounding_box()
        chat = page.locator("#chat").bounding_box()
        assert box and chat and box["width"] >= 0.9 * chat["width"], (box, chat)  # full width
        answer = ask(page, "Which spa did authorities evacuate?")
        assert answer["marker"], answer
        page.locator('#chat a[href="#src-1"]').last.click()
        _wait(
            page,
            """() => { const r = document.getElementById('src-1')?.getBoundingClientRect();
                       return !!r && r.top >= 0 && r.bottom <= window.innerHeight + 1; }""",
            None,
            10_000,
            lambda: "[1] did not bring source 1 into view",
        )
        page.screenshot(path=str(ARTIFACTS / "newcomer-400.png"), full_page=False)
