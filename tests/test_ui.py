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
from assistant.ui.page import safe_filename
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
from tests.conftest import REPO, SEED
from tests.serverutil import CHROMIUM, CHROMIUM_ARGS, free_port, start_app, stop_app

ARTIFACTS = REPO / "artifacts"
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
    assert "Understood as: and what did Zelenskiy say?" in _text(history[-1]["content"])
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
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian chromium is required: apt-get install -y chromium"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            run_browser_flow(page, server, tmp_path)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()


def run_browser_flow(page, server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if True:
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(server["url"])
        page.wait_for_selector("#question textarea")
        assert "answerer: quotes only" in page.inner_text("#index-status")

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
        assert "and what did Zelenskiy say?" in understood and "Putin" in understood
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

    store = Store()

    def sync(folders: object, progress: object = None) -> object:
        if store.fail:
            raise RecursionError("maximum recursion depth exceeded")
        return SimpleNamespace(
            added=0, updated=0, unchanged=1, removed=0, failed=[], chunks_embedded=0, seconds=0.1
        )

    settings = Settings(index_dir=tmp_path / "i", corpus_dirs=[tmp_path / "c"], upload_dir=tmp_path / "u")
    fake = SimpleNamespace(
        settings=settings, index=store, backend_label="quotes only", backend="extractive", sync=sync
    )
    app = ChatApp(fake)  # type: ignore[arg-type]
    line = app._reindex()
    assert line.startswith("Re-index failed (RecursionError") and "still there" in line
    assert "The last sync failed" in app.status() and "RecursionError: maximum recursion" in app.status()
    store.fail = False
    assert app._reindex().startswith("Re-indexed: 0 added")
    assert "failed" not in app.status()
