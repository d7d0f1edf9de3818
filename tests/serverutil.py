"""Starting the real app in a subprocess (for tests and bench/load_bench.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts"  # screenshots of the browser tests
CHROMIUM = "/usr/bin/chromium"  # Debian's; never `playwright install`
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def app_env(root: Path, corpus: Path, **extra: str) -> dict[str, str]:
    """ASSISTANT_* variables for an app on its own folders under root, answering with quotes only."""
    return {
        "ASSISTANT_INDEX_DIR": str(root / "index"),
        "ASSISTANT_CORPUS_DIRS": json.dumps([str(corpus)]),
        "ASSISTANT_UPLOAD_DIR": str(root / "uploads"),
        "ASSISTANT_LLM__BACKEND": "extractive",
        **{f"ASSISTANT_{k.upper()}": v for k, v in extra.items()},
    }


def feed_app_env(root: Path, corpus: Path) -> dict[str, str]:
    """app_env for an app that follows the tests' own feed site on 127.0.0.1: it may fetch loopback,
    waits for no host delay, polls feeds only when asked and watches no folder."""
    return app_env(
        root,
        corpus,
        fetch__allow=json.dumps(["127.0.0.0/8"]),
        feeds__host_delay_s="0",
        feeds__interval_minutes="0",
        watch="false",
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_app(
    env: dict[str, str], port: int, log_path: Path, timeout: float = 180
) -> tuple[subprocess.Popen[bytes], str]:
    """Runs `python app.py --port P` with the given ASSISTANT_* variables; returns once the page answers."""
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError(log_path.read_text(errors="replace")[-3000:])
        time.sleep(0.5)


def stop_app(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


@contextmanager
def browser_page(failure_png: str) -> Iterator[Any]:
    """A page in Debian's Chromium (never `playwright install`); when the block fails, a full-page
    screenshot goes to artifacts/<failure_png>."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian chromium is required: apt-get install -y chromium"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            yield page
        except Exception:
            page.screenshot(path=str(ARTIFACTS / failure_png), full_page=True)
            raise
        finally:
            browser.close()
