"""The chat page: rendering rules, a real server, gradio_client and a real headless Chromium."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
from pathlib import Path

import httpx
import pytest

from assistant.answer.types import Answer, Citation
from assistant.ui.history import history_turns, lenient_messages, plain_text
from assistant.ui.inputs import safe_filename
from assistant.ui.render import (
    UNDERSTOOD,
    answer_html,
    draft_html,
    final_html,
    inert,
    plain_title,
    safe_url,
    source_card,
    sources_html,
)
from tests.conftest import SEED
from tests.serverutil import ARTIFACTS, browser_page, free_port, start_app, stop_app

EVIL_TITLE = '<script>window.__xss=1</script>Evil <img src=x onerror="window.__xss=2"> headline'
EVIL = {
    "title": EVIL_TITLE,
    "url": "javascript:window.__xss=3",
    "source": "<b>bad</b>",
    "published": "2025-03-19",
    "text": 'The harbour crane <img src=x onerror="window.__xss=4"> lifted 42 containers of lemons on Tuesday. '
    "<script>window.__xss=5</script> Dock workers said the crane is the largest in the port.",
}


# ---- rendering -------------------------------------------------------------------------------------


def test_urls_must_be_http() -> None:
    assert safe_url("https://a.example/x") == "https://a.example/x"
    for bad in ("javascript:alert(1)", "data:text/html,hi", "//evil.example", "ftp://x", "", "http://"):
        assert safe_url(bad) == ""


def test_untrusted_text_is_escaped() -> None:
    c = Citation(
        1,
        "id",
        EVIL_TITLE,
        "javascript:alert(1)",
        "<b>s</b>",
        "2025-03-19",
        "<img src=x onerror=alert(1)>",
        0,
        29,
    )
    html_ = source_card(c, "<img src=x onerror=alert(1)> more text")
    assert "<script" not in html_ and "<img" not in html_ and "<b>" not in html_
    assert "javascript:" not in html_
    assert "&lt;img src=x onerror=alert(1)&gt;" in html_
    chat = answer_html("<script>x</script> [1] ![a](http://t.example/p.png)")
    assert "<script" not in chat and "](" not in chat.replace("\\](", "")
    assert '<a href="#src-1" class="cite">[1]</a>' in chat


def test_links_latex_and_markup_in_chat_text_stay_text() -> None:
    text = (
        "See https://evil.example/x, www.evil.example and ask@evil.example: $$\\rule{3000px}{9px}$$ <b>x</b>"
    )
    shown = inert(text)
    for live in ("https://", "www.", "@", "<b>", "$$"):
        assert live not in shown, live
    assert plain_text(shown) == text  # and the history a client sends back reads as what was shown
    assert "http" not in answer_html("Read more at https://evil.example [1].").split("&#58;")[1]


def test_titles_become_plain_example_questions() -> None:
    title = '<img src="https://px.example/p.png"> Storm *hits* $$\\rule{9px}{9px}$$ [coast](javascript:x)'
    got = plain_title(title)
    assert "<" not in got and "$" not in got and "*" not in got and "[" not in got
    assert got.startswith("Storm hits")
    assert len(plain_title("word " * 1000)) <= 90


def test_quote_is_highlighted_in_its_paragraph() -> None:
    text = "First paragraph.\nBefore the quote. The quoted sentence. After it.\nNext paragraph."
    start = text.index("The quoted")
    c = Citation(1, "a", "T", "https://x.example/a", "x", "", "The quoted sentence.", start, start + 20)
    card = source_card(c, text)
    assert "Before the quote. <mark>The quoted sentence.</mark> After it." in card
    assert "First paragraph" not in card and "Next paragraph" not in card
    assert 'href="https://x.example/a"' in card and 'rel="noopener noreferrer nofollow"' in card


def test_history_in_every_shape_a_client_sends() -> None:
    browser = [
        {"role": "user", "content": [{"type": "text", "text": "What did Putin agree to limit attacks on?"}]},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "text",
                    "text": final_html(
                        Answer("Energy infrastructure. [1]", question="q", standalone_question="q2")
                    ),
                }
            ],
            "metadata": None,
        },
        {
            "role": "user",
            "content": [
                {"type": "file", "file": {"path": "/tmp/x.png"}},
                {"type": "text", "text": "and this?"},
            ],
        },
    ]
    assert history_turns(browser) == [
        ("user", "What did Putin agree to limit attacks on?"),
        ("assistant", "Energy infrastructure. [1]"),  # markup and the "Understood as" line are not the answer
        ("user", "and this?"),
    ]
    client = [
        {"role": "user", "content": "Who won?"},
        {"role": "assistant", "content": answer_html("Paul *Lynch* [1]")},
        {"role": "assistant", "content": "thinking…", "metadata": {"title": "thought"}},
        {"role": "system", "content": "ignored"},
        "not a message",
        {"role": "user", "content": [[{"type": "text", "text": "nested lists are not parts"}]]},
        {"role": "user", "content": {"path": "/tmp/file.txt"}},
        {"role": "user"},
    ]
    assert history_turns(client) == [("user", "Who won?"), ("assistant", "Paul *Lynch* [1]")]
    assert plain_text([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]) == "a b"
    assert plain_text(None) == "" and plain_text(42) == ""


def test_chat_history_model_takes_string_or_parts_content() -> None:
    from pydantic import ValidationError

    model = lenient_messages()
    got = model.model_validate(
        [
            {"role": "user", "content": "What did Putin agree to?"},
            {"role": "assistant", "content": [{"type": "text", "text": "Energy. [1]"}]},
            {"role": "user", "content": {"type": "text", "text": "and Zelenskiy?"}},
        ]
    ).model_dump()
    assert [m["content"][0]["text"] for m in got] == [
        "What did Putin agree to?",
        "Energy. [1]",
        "and Zelenskiy?",
    ]
    with pytest.raises(ValidationError):
        model.model_validate([{"role": "user", "content": 42}])


def test_a_draft_is_shown_as_unchecked_and_the_final_answer_says_how_it_was_understood() -> None:
    d = draft_html('Putin said "we will win" [1]')
    assert "not yet checked" in d and 'class="draft"' in d and 'href="#src-1"' not in d
    same = final_html(Answer("Energy. [1]", question="What?", standalone_question="What?"))
    assert UNDERSTOOD not in same and 'href="#src-1"' in same
    other = final_html(Answer("Energy. [1]", question="and he?", standalone_question="and he? (Putin *x*)"))
    assert f"{UNDERSTOOD}and he? \\(Putin \\*x\\*\\)" in other  # inert: Markdown escaped


def test_refusal_shows_no_sources() -> None:
    assert "No source supports" in sources_html(Answer("x", refused=True), {})


def test_the_closest_passage_is_set_apart_from_an_answer_and_from_a_refusal() -> None:
    from assistant.answer.types import Citation

    c = Citation(
        1, "a", "Bridge reopens", "https://n.example/b", "n.example", "2015-03-10", "It cost $38m.", 0, 13
    )
    text = "The closest passage I found, which may not answer this: “It cost $38m.” [1]"
    closest = Answer(text, [c], refused=True, kind="closest")
    html_closest = final_html(closest)
    assert 'class="closest"' in html_closest and 'class="refused"' not in html_closest
    assert 'href="#src-1"' in html_closest  # its source card is one click away
    assert 'id="src-1"' in sources_html(closest, {"a": "It cost $38m."})
    refusal = final_html(Answer("The indexed articles don't say.", refused=True, kind="none"))
    assert 'class="refused"' in refusal and 'class="closest"' not in refusal
    answer = final_html(Answer("It cost $38m. [1]", [c]))
    assert 'class="closest"' not in answer and 'class="refused"' not in answer


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\win.md", "win.md"),
        ("a b/c?.json", "c.json"),
        ("<script>.html", "script.html"),
        (".hidden.txt", "hidden.txt"),
        ("....txt", "article.txt"),
    ],
)
def test_upload_names_are_safe(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


# ---- a real server ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("server")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    (corpus / "evil.json").write_text(json.dumps(EVIL))
    env = {
        "ASSISTANT_INDEX_DIR": str(root / "index"),
        "ASSISTANT_CORPUS_DIRS": json.dumps([str(corpus)]),
        "ASSISTANT_UPLOAD_DIR": str(root / "uploads"),
        "ASSISTANT_LLM__BACKEND": "extractive",
        "ASSISTANT_FETCH__ALLOW": json.dumps(["127.0.0.1/32"]),  # the test serves its own page
        # The page's API is tested here, not the support threshold fitted on the dev split (a one-article
        # corpus sits near it): a fixed one keeps these tests independent of each refit.
        "ASSISTANT_ANSWER__MIN_SUPPORT": "0.3",
    }
    proc, url = start_app(env, free_port(), root / "server.log")
    yield {"url": url, "root": root}
    stop_app(proc)


@pytest.mark.slow
def test_gradio_client_gets_answer_and_citations(server) -> None:  # type: ignore[no-untyped-def]
    from gradio_client import Client

    client = Client(server["url"], verbose=False)
    history, sources, answer, note, box = client.predict(
        "What did Putin agree to limit attacks on?", [], api_name="/chat"
    )
    assert box == ""
    assert "energy infrastructure" in answer["answer"] and not answer["refused"]
    quote = answer["citations"][0]["quote"]
    assert quote in SEED.read_text()
    assert "<mark>" in sources and "Answered by" in note
    assert history[-1]["role"] == "assistant"


def _text(content) -> str:  # type: ignore[no-untyped-def]
    return (
        content
        if isinstance(content, str)
        else " ".join(p["text"] for p in content if p.get("type") == "text")
    )


def _as_parts(history: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    """The history as Gradio 6's browser sends it: content as a list of parts."""
    return [{**m, "content": [{"type": "text", "text": _text(m["content"])}]} for m in history]


def _as_strings(history: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    """The history as a script may send it: content as a string."""
    return [{"role": m["role"], "content": _text(m["content"])} for m in history]


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["strings", "parts"])
def test_gradio_client_follow_up_uses_the_history_in_either_shape(server, shape: str) -> None:  # type: ignore[no-untyped-def]
    from gradio_client import Client

    client = Client(server["url"], verbose=False)
    history, _, first, _, _ = client.predict(
        "What did Putin agree to limit attacks on?", [], api_name="/chat"
    )
    assert first["rewrite"] == "as asked"
    sent = _as_strings(history) if shape == "strings" else _as_parts(history)
    history, _, answer, _, _ = client.predict("and what did Zelenskiy say?", sent, api_name="/chat")
    assert answer["rewrite"] == "rule" and "Putin" in answer["standalone_question"]
    assert "Zelenskiy" in answer["answer"] and not answer["refused"]
    assert "Understood as: What did Zelenskiy say?" in _text(history[-1]["content"])
    # a question that names its own subject is left as typed, whatever came before
    sent = _as_strings(history) if shape == "strings" else _as_parts(history)
    history, _, answer, _, _ = client.predict(
        "Who will lead the US delegation to Saudi Arabia?", sent, api_name="/chat"
    )
    assert answer["standalone_question"] == "Who will lead the US delegation to Saudi Arabia?"
    assert answer["rewrite"] == "as asked" and "Rubio" in answer["answer"]
    assert "Understood as" not in _text(history[-1]["content"])


@pytest.mark.slow
def test_fetch_an_article_by_url(server) -> None:  # type: ignore[no-untyped-def]
    from gradio_client import Client

    page = (
        "<html><head><title>Owls return to the old mill</title>"
        '<meta property="article:published_time" content="2025-03-18"></head><body><article>'
        "<h1>Owls return to the old mill</h1>"
        + "<p>A pair of barn owls has nested in the old mill at Fenwick for the first time in twenty years.</p>"
        * 3
        + "</article></body></html>"
    ).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *a) -> None:  # type: ignore[no-untyped-def]
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        client = Client(server["url"], verbose=False)
        line, status = client.predict(f"http://127.0.0.1:{httpd.server_port}/owls", api_name="/fetch_url")
        assert "Owls return to the old mill" in line and "1 added" in line
        _, _, answer, _, _ = client.predict(
            "Which birds nested in the old mill at Fenwick?", [], api_name="/chat"
        )
        assert "barn owls" in answer["answer"]
        assert answer["citations"][0]["url"].startswith("http://127.0.0.1")
        line, _ = client.predict("javascript:alert(1)", api_name="/fetch_url")
        assert "http(s)" in line
    finally:
        httpd.shutdown()


@pytest.mark.slow
@pytest.mark.browser
def test_browser_chat_sources_upload_and_inert_articles(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with browser_page("failure.png") as page:
        run_browser_flow(page, server, tmp_path)


def run_browser_flow(page, server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if True:
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(server["url"])
        page.wait_for_selector("#question textarea")
        assert "answers: quotes only" in page.inner_text("#index-status")

        # ask; the answer arrives with a [1] marker and the quote is highlighted in the sources panel
        page.fill("#question textarea", "What did Putin agree to limit attacks on?")
        page.click("#ask")
        page.wait_for_selector("#sources mark", timeout=60_000)
        bot = page.locator("#chat .message-content").last
        assert "energy infrastructure" in bot.inner_text()
        marker = page.locator('#chat a[href="#src-1"]').last
        assert marker.inner_text() == "[1]"
        quote = page.inner_text("#sources mark")
        assert "limit attacks on Ukraine's energy infrastructure" in quote and quote in SEED.read_text()
        marker.click()
        page.wait_for_selector("#src-1.flash", timeout=5_000)  # the source was brought into view
        assert "Answered by" in page.inner_text("#answer-note")
        page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)

        # a follow-up is understood with the conversation (the browser sends content as parts) ...
        page.fill("#question textarea", "and what did Zelenskiy say?")
        page.click("#ask")
        page.wait_for_function(
            "[...document.querySelectorAll('#chat .message-content')].at(-1).innerText.includes('Understood as')",
            timeout=60_000,
        )
        understood = page.locator("#chat .understood").last.inner_text()
        assert "What did Zelenskiy say?" in understood and "Putin" in understood
        assert "Zelenskiy" in page.locator("#chat .message-content").last.inner_text()
        # ... and an unrelated question after it is left as typed
        n_understood = page.locator("#chat .understood").count()
        page.fill("#question textarea", "Who will lead the US delegation to Saudi Arabia?")
        page.click("#ask")
        page.wait_for_function(
            "[...document.querySelectorAll('#chat .message-content')].at(-1).innerText.includes('Rubio')",
            timeout=60_000,
        )
        assert page.locator("#chat .understood").count() == n_understood
        page.screenshot(path=str(ARTIFACTS / "conversation.png"), full_page=True)

        # upload a new article, re-index, ask about it
        new = tmp_path / "lighthouse.md"
        new.write_text(
            "---\ntitle: Lighthouse keeper retires\npublished: 2025-03-19\n---\n"
            "Margaret Quill retired on Tuesday after 38 years as keeper of the Skerry lighthouse.\n"
        )
        page.click("#add-articles")
        page.set_input_files("#upload input[type=file]", str(new))
        page.wait_for_function(
            "document.querySelector('#reindex-result').innerText.includes('1 added')", timeout=120_000
        )
        assert (server["root"] / "uploads" / "lighthouse.md").exists()
        page.fill("#question textarea", "Who retired as keeper of the Skerry lighthouse?")
        page.click("#ask")
        page.wait_for_function(
            "[...document.querySelectorAll('#sources mark')].some(m => m.innerText.includes('Margaret Quill'))",
            timeout=60_000,
        )
        assert "Margaret Quill" in page.locator("#chat .message-content").last.inner_text()

        # an article whose title and text carry <script> and <img onerror> renders inert
        page.fill("#question textarea", "How many containers of lemons did the harbour crane lift?")
        page.click("#ask")
        page.wait_for_function(
            "[...document.querySelectorAll('#sources mark')].some(m => m.innerText.includes('lemons'))",
            timeout=60_000,
        )
        sources = page.locator("#sources")
        assert "<script>window.__xss=1</script>Evil" in sources.inner_text()  # shown as text
        assert sources.locator("script, img").count() == 0
        assert page.locator("#chat img[src='x'], #chat script").count() == 0
        assert page.locator('#sources a[href^="javascript"]').count() == 0
        page.wait_for_timeout(500)
        assert page.evaluate("window.__xss") is None and dialogs == []
        page.screenshot(path=str(ARTIFACTS / "inert-article.png"), full_page=True)


@pytest.mark.slow
def test_login_when_username_and_password_are_set(tmp_path: Path) -> None:
    from gradio_client import Client

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    env = {
        "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
        "ASSISTANT_CORPUS_DIRS": json.dumps([str(corpus)]),
        "ASSISTANT_UPLOAD_DIR": str(tmp_path / "uploads"),
        "ASSISTANT_LLM__BACKEND": "extractive",
        "ASSISTANT_UI__USERNAME": "ana",
        "ASSISTANT_UI__PASSWORD": "s3cret",
    }
    proc, url = start_app(env, free_port(), tmp_path / "server.log")
    try:
        from gradio_client.exceptions import AuthenticationError

        with pytest.raises(AuthenticationError, match="credentials were not provided"):
            Client(url, verbose=False).predict("What did Putin agree to?", [], api_name="/chat")
        with pytest.raises(ValueError, match="Could not login"):
            Client(url, auth=("ana", "wrong"), verbose=False)
        # nothing of the page's config or API is served without the login
        assert httpx.get(url + "config").status_code == 401
        _, _, answer, _, _ = Client(url, auth=("ana", "s3cret"), verbose=False).predict(
            "What did Putin agree to limit attacks on?", [], api_name="/chat"
        )
        assert "energy infrastructure" in answer["answer"]
    finally:
        stop_app(proc)


def test_history_text_of_hostile_markup_is_read_in_one_pass() -> None:
    # once quadratic: "<" * n without ">" was retried from every "<"
    assert plain_text("<" * 100_000) == "<" * 100_000
    assert plain_text("‹" * 100_000) == "‹" * 100_000
    assert plain_text('<div class="understood">' + "x" * 100_000) == "x" * 100_000
    assert plain_text('a <b>x</b> <div class="understood">Understood as: q</div> y') == "a x  y"


def test_a_failing_sync_is_one_line_and_stays_in_the_status_until_a_sync_succeeds(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from assistant.settings import Settings
    from assistant.ui.page import ChatApp

    class Store:  # our own logic under test: a store whose sync raises, then works
        fail = True

        def stats(self) -> dict[str, object]:
            return {"articles": 1, "chunks": 2, "embedding_model": "m"}

        def problems(self) -> list[str]:
            return []

    store = Store()

    def sync(folders: object, progress: object = None) -> object:
        if store.fail:
            raise RecursionError("maximum recursion depth exceeded")
        return SimpleNamespace(
            added=0, updated=0, unchanged=1, removed=0, failed=[], chunks_embedded=0, seconds=0.1, repaired=0, relinked=0
        )

    settings = Settings(index_dir=tmp_path / "i", corpus_dirs=[tmp_path / "c"], upload_dir=tmp_path / "u")
    fake = SimpleNamespace(
        settings=settings, index=store, backend_label="quotes only", backend="extractive", sync=sync
    )
    app = ChatApp(fake)  # type: ignore[arg-type]
    line = app.adding.sync_all()
    assert line.startswith("Re-index failed (RecursionError") and "still there" in line
    assert "The last sync failed" in app.ctx.status.line() and "RecursionError: maximum recursion" in app.ctx.status.line()
    store.fail = False
    assert app.adding.sync_all().startswith("Re-indexed: 0 added")
    assert "failed" not in app.ctx.status.line()


# ---- what's new, feeds and answer filters ------------------------------------------------------------


def _manifest(n: int, **extra: object) -> dict[str, dict[str, object]]:
    """n articles, one a day from 2025-03-01 (article i published on day i+1)."""
    return {
        f"a{i:03d}": {
            "title": f"Article {i:03d}",
            "url": f"https://news.example/{i}",
            "source": "news.example",
            "published_date": f"2025-03-{i + 1:02d}",
            "published": 20250301 + i,
            **extra,
        }
        for i in range(n)
    }


def test_latest_articles_render_untrusted_fields_as_text() -> None:
    from assistant.ui.render import latest_html, newest_first

    manifest = {
        "x1": {
            "title": EVIL_TITLE,
            "url": "javascript:window.__xss=3",
            "source": "<b>bad</b> [click](javascript:alert(1))",
            "published_date": "2025-03-19",
            "published": 20250319,
        },
        "x2": {
            "title": "[Read me](javascript:alert(2)) and **bold** " + "long " * 3000,
            "url": 'https://ok.example/a?x="><script>',
            "source": "",
            "published_date": "2025-03-18",
            "published": 20250318,
        },
        "x3": {"title": "", "url": "data:text/html,<script>", "source": "s", "published": 0},
    }
    html_ = latest_html(newest_first(manifest), 1)
    assert "<script" not in html_ and "<img" not in html_ and "<b>" not in html_
    assert "javascript:" not in html_.replace("(javascript:", "") and "data:" not in html_
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;Evil" in html_
    assert html_.count("<a ") == 1  # only the http(s) link, with its quote escaped
    assert 'href="https://ok.example/a?x=&quot;&gt;&lt;script&gt;"' in html_
    assert 'rel="noopener noreferrer nofollow"' in html_
    assert "[Read me](javascript:alert(2))" in html_  # Markdown stays text in an HTML block
    long = html_.split("[Read me]", 1)[1].split("</a>", 1)[0]  # a 15 000-character title is cut
    assert 250 < len(long) < 300 and long.endswith("…")
    assert html_.index("Evil") < html_.index("Read me") < html_.index(">x3<")  # newest first, no date last


def test_latest_articles_are_newest_first_then_by_title() -> None:
    from assistant.ui.render import newest_first

    manifest = {
        "b": {"title": "beta", "published": 20250301},
        "a": {"title": "Alpha", "published": 20250301},
        "c": {"title": "Gamma", "published": 20250302},
        "d": {"title": "Delta", "published": "not a number"},
    }
    assert [m["id"] for m in newest_first(manifest)] == ["c", "a", "b", "d"]


@pytest.mark.parametrize(
    "n, page, shown, pages, first, last",
    [
        (0, 1, 1, 1, None, None),
        (10, 1, 1, 1, 9, 0),
        (10, 2, 1, 1, 9, 0),  # past the end: the last page
        (11, 1, 1, 2, 10, 1),
        (11, 2, 2, 2, 0, 0),
        (11, 0, 1, 2, 10, 1),  # before the start: the first page
        (25, 3, 3, 3, 4, 0),
    ],
)
def test_latest_articles_paging(
    n: int, page: int, shown: int, pages: int, first: int | None, last: int | None
) -> None:
    import re

    from assistant.ui.render import latest_html, newest_first, page_span

    assert page_span(n, page)[:2] == (shown, pages)
    html_ = latest_html(newest_first(_manifest(n)), page)
    assert f"page {shown} of {pages}" in html_
    titles = [int(t) for t in re.findall(r"Article (\d{3})", html_)]
    if first is None:
        assert titles == [] and "No articles are indexed yet" in html_
    else:
        assert titles[0] == first and titles[-1] == last and len(titles) <= 10
        assert f'start="{(shown - 1) * 10 + 1}"' in html_


def test_feed_list_renders_untrusted_fields_as_text() -> None:
    from datetime import datetime

    from assistant.corpus.feeds.registry import Feed
    from assistant.ui.render import feed_choices, feeds_html, poller_line

    feeds = [
        Feed(
            "https://ok.example/feed.xml",
            EVIL_TITLE,
            "2025-03-01T00:00:00+00:00",
            polled_at="2025-03-19T08:30:00+00:00",
            ok=True,
            result="2 entries: 2 new",
        ),
        Feed(
            "javascript:alert(1)",
            "[x](javascript:alert(1))",
            "2025-03-01T00:00:00+00:00",
            ok=False,
            result="<img src=x onerror=alert(1)>",
        ),
    ]
    line = poller_line(30, "<b>2025</b>: 1 feeds polled", datetime(2025, 3, 19, 9, 0))
    html_ = feeds_html(feeds, line)
    assert "<script" not in html_ and "<img" not in html_ and "<b>" not in html_
    assert html_.count("<a ") == 1 and 'href="https://ok.example/feed.xml"' in html_
    assert "last poll 2025-03-19 08:30:00 UTC · 2 entries: 2 new" in html_ and "not polled yet" in html_
    assert 'class="feed failed"' in html_ and "Next poll: 2025-03-19 09:00:00" in html_
    assert "does not poll" in poller_line(0, "", None)
    assert feed_choices(feeds)[0][1] == "https://ok.example/feed.xml"
    assert "No feeds are followed yet" in feeds_html([])


def test_source_choices_and_the_filter_note() -> None:
    from datetime import date

    from assistant.ask.retrieve import Filters
    from assistant.ui.render import filters_note, source_choices

    manifest = {
        "a": {"source": "b.example"},
        "b": {"source": " "},
        "c": {"source": "A.example"},
        "d": {},
        "e": {"source": "b.example"},
    }
    assert source_choices(manifest) == ["A.example", "b.example"]
    assert filters_note(Filters()) == ""
    note = filters_note(Filters(date(2025, 3, 1), None, ("[x](javascript:1)", "https://evil.example")))
    assert "only" in note and "from 2025-03-01" in note
    assert "](" not in note and "https://" not in note  # inert: no link in the Markdown note


@pytest.mark.parametrize(
    "date_from, date_to, problem",
    [
        ("2025-13-01", "", "“from” date"),
        ("", "yesterday", "“to” date"),
        ("20250301", "", "YYYY-MM-DD"),  # Python would read it; the page asks for one form
        ("2025-03-01T10:00", "", "YYYY-MM-DD"),
        ("x" * 10_000, "", "…"),
        ("2025-03-20", "2025-03-10", "after the “to” date"),
        ("2025-02-30", "", "not a date"),
    ],
)
def test_bad_filter_dates_are_one_clear_note(date_from: str, date_to: str, problem: str) -> None:
    from assistant.ui.inputs import answer_filters

    filters, note = answer_filters([], date_from, date_to)
    assert problem in note and "\n" not in note and len(note) < 300


def test_filter_inputs_in_every_shape_a_client_sends() -> None:
    from datetime import date

    from assistant.ui.inputs import answer_filters

    f, note = answer_filters(None, None, None)
    assert note == "" and f.sources == () and f.date_from is None
    f, note = answer_filters("cnn.com", " 2025-03-01 ", "2025-03-31")
    assert note == "" and f.sources == ("cnn.com",) and f.date_from == date(2025, 3, 1)
    f, note = answer_filters(["a", 3, None, {"x": 1}, " ", "a", "b"], "", "")
    assert note == "" and f.sources == ("a", "b")
    _, note = answer_filters([f"s{i}" for i in range(1000)], "", "")
    assert "Too many sources" in note


def test_chat_with_a_bad_date_gives_a_note_and_no_answer(seeded) -> None:  # type: ignore[no-untyped-def]
    from assistant.ui.page import ChatApp

    app = ChatApp(seeded)
    question = "What did Putin agree to limit attacks on?"
    [(history, sources, answer, note, box)] = list(app.chat.answer(question, [], "", [], "2025-31-12", ""))
    assert history == [] and answer == {} and box == question
    assert "YYYY-MM-DD" in note and "Sources for the answer appear here" in sources


def test_chat_answers_only_from_the_chosen_sources_and_days(seeded) -> None:  # type: ignore[no-untyped-def]
    from assistant.ui.page import ChatApp

    app = ChatApp(seeded)
    question = "Which spa did authorities evacuate as a precaution?"

    def ask(sources: object, date_from: str = "", date_to: str = "") -> tuple[dict, str]:  # type: ignore[type-arg]
        *_, (_, _, answer, note, _) = app.chat.answer(question, [], "", sources, date_from, date_to)
        return answer, note

    answer, note = ask([])
    assert "Blue Lagoon" in answer["answer"] and "filtered" not in note
    answer, note = ask(["example.org"], "2024-03-01", "2024-03-31")
    assert "Blue Lagoon" in answer["answer"]
    assert "filtered: only example.org, from 2024-03-01, to 2024-03-31" in note
    assert {c["title"] for c in answer["citations"]} == {"Volcano erupts near Reykjavik"}
    for sources, lo, hi in ((["nowhere.example"], "", ""), ([], "2024-04-01", ""), ([], "", "2024-03-01")):
        answer, _ = ask(sources, lo, hi)
        assert "Volcano erupts near Reykjavik" not in {c["title"] for c in answer["citations"]}, (
            sources,
            lo,
            hi,
        )


def test_the_page_view_lists_the_indexed_articles_and_their_sources(seeded) -> None:  # type: ignore[no-untyped-def]
    from assistant.ui.page import ChatApp

    view = ChatApp(seeded).view(1)
    assert (
        "Volcano erupts near Reykjavik" in view["latest"]
        and 'href="https://news.example.org/volcano"' in view["latest"]
    )
    assert "4 articles · page 1 of 1" in view["latest"]
    assert view["latest"].index("Volcano erupts") < view["latest"].index("Central bank holds")
    assert "example.org" in view["sources"]
    assert view["newer"] is False and view["older"] is False
    assert "No feeds are followed yet" in view["feeds"] and view["feed_choices"] == []
    assert "articles" in view["status"]


@pytest.fixture
def feed_app(seeded, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The seeded assistant on a page whose feed list lives in tmp_path, fetching nothing on loopback."""
    from assistant.corpus.feeds.poll import FeedPoller
    from assistant.corpus.feeds.registry import FeedRegistry
    from assistant.ui.page import ChatApp
    from assistant.updates import Updater

    settings = seeded.settings.model_copy(deep=True)
    settings.upload_dir = tmp_path / "uploads"
    settings.feeds.host_delay_s = 0
    settings.fetch.allow = []
    settings.fetch.timeout_s = 3.0
    poller = FeedPoller(FeedRegistry(tmp_path / "index"), settings)
    return ChatApp(seeded, Updater(seeded, poller))


@pytest.mark.parametrize(
    "url, why",
    [
        ("", "Give the http(s) address"),
        ("   ", "Give the http(s) address"),
        ("javascript:alert(1)", "Only http(s) addresses"),
        ("file:///etc/passwd", "Only http(s) addresses"),
        ("//evil.example/feed", "Only http(s) addresses"),
        ("https://" + "a" * 10_000, "too long (10,008 characters"),
        ("https://news.example/feed\x00.xml", "control characters"),
        ("https://news.example/fe\ned", "control characters"),
        ("https://news.example/\u202efeed", "control characters"),
        (None, "Give the http(s) address"),
        (["https://news.example/feed"], "Give the http(s) address"),
    ],
)
def test_adding_a_feed_refuses_what_is_not_an_http_address_before_any_fetch(
    feed_app, url: object, why: str
) -> None:  # type: ignore[no-untyped-def]
    line = feed_app.whats_new.add_feed(url, "<b>name</b>", client="9.9.9.9")
    assert why in line and "\n" not in line and "Traceback" not in line
    assert feed_app.ctx.updater.feeds() == []


def test_adding_a_loopback_feed_is_the_fetchers_refusal(feed_app) -> None:  # type: ignore[no-untyped-def]
    from tests.feedsite import FeedSite

    with FeedSite() as site:
        site.set_feed("/feed.xml", [])
        line = feed_app.whats_new.add_feed(site.url("/feed.xml"), "", client="")
        assert line.startswith(f"Could not fetch {site.url('/feed.xml')}: ") and "\n" not in line
        assert site.hits("/feed.xml") == 0 and feed_app.ctx.updater.feeds() == []


def test_adding_a_page_that_is_not_a_feed_is_one_line(feed_app) -> None:  # type: ignore[no-untyped-def]
    from tests.feedsite import FeedSite

    feed_app.ctx.updater.poller.settings.fetch.allow = ["127.0.0.0/8"]
    with FeedSite() as site:
        site.set_page("/news", "A page", ["Not a feed, just a page of news text."])
        site.set_raw(
            "/fake.xml", b"<html><body>not a feed <script>x</script></body></html>", "application/xml"
        )
        for path, why in (
            ("/news", "not an RSS or Atom feed"),
            ("/fake.xml", "not an RSS or Atom feed"),
        ):
            line = feed_app.whats_new.add_feed(site.url(path), "", client="")
            assert site.url(path) in line and why in line and "\n" not in line, line
            assert "Traceback" not in line and len(line) < 600
    assert feed_app.ctx.updater.feeds() == []


def test_adding_feeds_is_rate_limited_per_address(feed_app) -> None:  # type: ignore[no-untyped-def]
    from assistant.ui.guard import RateLimiter

    feed_app.ctx.fetch_limiter = RateLimiter(1)
    url = "http://127.0.0.1:9/feed.xml"  # refused by the fetcher: nothing is fetched
    assert feed_app.whats_new.add_feed(url, "", client="1.2.3.4").startswith("Could not fetch")
    assert "Too many fetches" in feed_app.whats_new.add_feed(url, "", client="1.2.3.4")
    assert feed_app.whats_new.add_feed(url, "", client="5.6.7.8").startswith("Could not fetch")
    assert "Only http(s)" in feed_app.whats_new.add_feed("ftp://x.example/f", "", client="1.2.3.4")  # refused first


def test_removing_a_feed_that_is_not_followed_is_one_line(feed_app) -> None:  # type: ignore[no-untyped-def]
    assert "Choose a followed feed" in feed_app.whats_new.remove_feed("")
    assert "Choose a followed feed" in feed_app.whats_new.remove_feed(None)
    assert "not followed" in feed_app.whats_new.remove_feed("https://news.example/feed.xml")


def test_a_feed_added_on_the_page_is_polled_indexed_listed_and_removed(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from assistant.service import Assistant
    from assistant.settings import FeedsSettings, FetchSettings, Settings
    from assistant.ui.page import ChatApp
    from tests.feedsite import Entry, FeedSite

    settings = Settings(
        index_dir=tmp_path / "index",
        corpus_dirs=[tmp_path / "corpus"],
        upload_dir=tmp_path / "uploads",
        fetch=FetchSettings(allow=["127.0.0.0/8"], timeout_s=3.0),
        feeds=FeedsSettings(host_delay_s=0),
        watch=False,
    )
    settings.llm.backend = "extractive"
    (tmp_path / "corpus").mkdir()
    app = ChatApp(Assistant.from_settings(settings, with_llm=False))
    owls = [
        "A pair of barn owls has nested in the old mill at Fenwick for the first time in twenty years, the warden said.",
        "Volunteers counted four eggs in the nest box last week, and the first chick hatched on Sunday morning.",
    ]
    with FeedSite() as site:
        site.set_page("/owls", "Owls return to the old mill", owls, site_name="Fenwick <Times>")
        site.set_feed(
            "/feed.xml",
            [Entry("Owls <return>", "/owls", datetime(2025, 3, 18, 9, tzinfo=UTC))],
            title="Fenwick [feed](javascript:x)",
        )
        line = app.whats_new.add_feed(site.url("/feed.xml"), "", client="")
        assert line.startswith("Now following “Fenwick [feed](javascript:x)”: 1 entry: 1 new"), line
        assert "Index: added 1" in line and "\n" not in line
        view = app.view(1)
        assert "Owls &lt;return&gt;" in view["latest"] and "2025-03-18" in view["latest"]
        # the feed's own title is the articles' source (not the page's site name or its address)
        assert "Fenwick [feed](javascript:x) · 2025-03-18" in view["latest"]
        assert view["sources"] == ["Fenwick [feed](javascript:x)"]
        assert site.url("/feed.xml") in view["feeds"] and "1 entry: 1 new" in view["feeds"]
        assert view["feed_choices"] == [
            (f"Fenwick [feed](javascript:x) — {site.url('/feed.xml')}", site.url("/feed.xml"))
        ]
        again = app.whats_new.add_feed(site.url("/feed.xml"), "Fenwick", client="")
        assert again.startswith("Already following “Fenwick”") and "not modified" in again
        assert "The index is unchanged" in again
    assert app.whats_new.remove_feed(site.url("/feed.xml")).startswith("Stopped following “Fenwick”")
    view = app.view(1)
    assert view["feed_choices"] == [] and "Owls &lt;return&gt;" in view["latest"]  # the article stays


@pytest.mark.parametrize(
    "history",
    [
        None,
        "What did Putin agree to?",
        [],
        [{"role": "assistant", "content": "no question before"}],
        [{"role": "user"}],
        [{"role": "user", "content": None}],
        [{"role": "user", "content": [{"type": "image", "url": "x"}]}],
        [{"role": "user", "content": "x" * 50_000}],
        [{"role": "user", "content": "<script>alert(1)</script> [1]"}, {"role": "assistant", "content": 7}],
        [42, "junk", {"content": "no role"}],
    ],
)
def test_explain_takes_any_history_a_client_sends(seeded, history) -> None:  # type: ignore[no-untyped-def]
    """/explain answers the last question of the history again; whatever a client sends, it gives a
    one-line note or an answer, never a traceback (here without a model: it says so)."""
    from assistant.ui.page import ChatApp

    updates = list(ChatApp(seeded).chat.explain(history, "", [], "", ""))
    assert updates, history
    _, sources, answer, note, box = updates[-1]
    assert isinstance(note, str) and "Traceback" not in note and len(note) < 600
    assert answer == {} and "Sources for the answer appear here" in sources
