"""The page with the real local LLM (llama.cpp), in Debian's Chromium: it answers with the verified quotes,
offers "Explain with the local model", and when asked shows the quotes before the model's first token,
then the model's checked answer with the quotes kept under it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serverutil import ARTIFACTS, REPO, app_env, browser_page, free_port, start_app, stop_app
from tests.test_ui_archive import _wait, _wait_text, ask

pytestmark = [pytest.mark.browser, pytest.mark.llm, pytest.mark.slow]

# When the verified quotes and the model's first draft text first appear in the conversation.
WATCH = """
() => {
  window.__seen = {};
  const chat = document.querySelector('#chat');
  new MutationObserver(() => {
    if (!window.__seen.evidence && chat.querySelector('.evidence a.cite')) window.__seen.evidence = performance.now();
    const d = chat.querySelector('.draft');
    if (!window.__seen.draft && d && d.innerText.trim()) window.__seen.draft = performance.now();
  }).observe(chat, {subtree: true, childList: true, characterData: true});
}
"""


@pytest.fixture(scope="module")
def model_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root: Path = tmp_path_factory.mktemp("model-app")
    env = {**app_env(root, REPO / "seeds", watch="false"), "ASSISTANT_LLM__BACKEND": "llamacpp"}
    proc, url = start_app(env, free_port(), root / "app.log", timeout=300)
    try:
        yield url
    finally:
        stop_app(proc)


def test_quotes_first_then_the_model_on_request(model_app: str) -> None:
    with browser_page("model-failed.png") as page:
        page.goto(model_app)
        _wait_text(page, "#index-status", "answers: quotes;")
        first = ask(page, "What did Putin agree to limit attacks on?")
        assert "energy infrastructure" in first["text"] and first["marker"], first
        assert "Answered by quoting the articles" in first["note"] and "Explain with the local model" in first["note"]
        assert page.locator("#explain").is_visible()
        page.evaluate(WATCH)
        n = page.locator("#chat .message-content").count()
        page.click("#explain")
        _wait(
            page,
            """([n]) => { const note = document.querySelector('#answer-note')?.innerText || '';
                          return note.includes('Answered by') && !note.includes('quoting')
                                 && document.querySelectorAll('#chat .message-content').length >= n; }""",
            [n],
            240_000,
            lambda: f"no explained answer; note: {page.inner_text('#answer-note')!r}",
        )
        seen: dict[str, Any] = page.evaluate("() => window.__seen")
        assert "evidence" in seen, seen  # the quotes were shown while the model worked ...
        assert "draft" not in seen or seen["evidence"] < seen["draft"], seen  # ... before its first token
        final = page.locator("#chat .message-content").last
        text = final.inner_text()
        assert "energy" in text and final.locator('a[href="#src-1"]').count() > 0, text
        if final.locator("details.quotes").count():  # the model's own answer keeps the quotes under it
            assert "energy infrastructure" in (final.locator("details.quotes").text_content() or "")
        page.screenshot(path=str(ARTIFACTS / "explain.png"), full_page=True)
