"""Several processes on one index (vectors in a `chroma run` server, records and lexical index in the
shared index folder), and what happens when the Chroma server dies."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ARTICLES, REPO, write_corpus
from tests.serverutil import app_env, free_port, start_app, stop_app

pytestmark = pytest.mark.slow

CITIES = [
    "Aldmoor",
    "Brevik",
    "Calloway",
    "Dunmere",
    "Elsby",
    "Farrow",
    "Galloway",
    "Hexley",
    "Ilford",
    "Jarrow",
]


def big_corpus(folder: Path, n: int) -> Path:
    """n invented articles, each naming its own made-up library and number of books."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        city = f"{CITIES[i % len(CITIES)]}{i}"
        (folder / f"lib{i:03d}.md").write_text(
            f"---\ntitle: {city} opens a new library\npublished: 2025-03-{1 + i % 28:02d}\nsource: town{i % 5}.example\n---\n"
            f"The town of {city} opened the Zorvath{i} library on Monday with {1000 + 17 * i} books on its shelves.\n\n"
            f"The mayor of {city} said the building cost {2 + i % 7} million pounds and took two years to finish.\n",
            encoding="utf-8",
        )
    return folder


class ChromaServer:
    """A `chroma run` server that a test may kill and start again on the same data and port."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
        assert exe
        log = open(self.data.parent / "chroma.log", "ab")  # noqa: SIM115 - the server writes it
        self.proc = subprocess.Popen(
            [exe, "run", "--path", str(self.data), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None and time.time() < deadline, "chroma did not start"
            time.sleep(0.3)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma-data")
    yield server
    server.stop()


def server_env(root: Path, corpus: Path, port: int, collection: str = "news") -> dict[str, str]:
    return {
        **app_env(root, corpus),
        "ASSISTANT_STORE__MODE": "server",
        "ASSISTANT_STORE__PORT": str(port),
        "ASSISTANT_STORE__COLLECTION": collection,
        "ASSISTANT_WATCH": "false",
        "ASSISTANT_FEEDS__INTERVAL_MINUTES": "0",
        "ASSISTANT_UI__CHAT_PER_MINUTE": "0",
    }


def cli(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ask(url: str, question: str) -> dict[str, Any]:
    from gradio_client import Client

    _, _, answer, note, _ = Client(url, verbose=False).predict(question, [], api_name="/chat")
    return {"answer": answer, "note": note}


def test_two_pages_answer_while_a_third_process_syncs_200_articles(
    tmp_path: Path, chroma: ChromaServer
) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    env = server_env(tmp_path, corpus, chroma.port)
    pages = []
    try:
        for name in ("a", "b"):
            proc, url = start_app(env, free_port(), tmp_path / f"page-{name}.log")
            pages.append((proc, url))
        big = big_corpus(tmp_path / "big", 200)
        errors: list[str] = []
        answered = [0]
        done = threading.Event()

        def hammer(url: str) -> None:
            while not done.is_set():
                try:
                    got = ask(url, "What did the central bank do with interest rates?")
                    assert isinstance(got["answer"], dict) and got["answer"].get("citations"), got
                    answered[0] += 1
                except Exception as e:  # noqa: BLE001 - every failure is counted
                    errors.append(f"{url}: {type(e).__name__}: {e}")

        threads = [threading.Thread(target=hammer, args=(url,)) for _, url in pages]
        for t in threads:
            t.start()
        synced = cli(env, "index", str(big), "--json")
        done.set()
        for t in threads:
            t.join(120)
        assert synced.returncode == 0, synced.stderr[-2000:]
        assert json.loads(synced.stdout)["added"] == 200
        assert errors == [] and answered[0] >= 2
        # both pages see the new articles at their next question, without a restart
        for _, url in pages:
            got = ask(url, "How many books did the Zorvath137 library open with?")
            cited = [c["title"] for c in got["answer"]["citations"]]
            assert f"{CITIES[137 % len(CITIES)]}137 opens a new library" in cited[:1], got
        stats = json.loads(cli(env, "stats", "--json").stdout)
        assert stats["articles"] == 203 and stats["chunks"] >= 203
    finally:
        for proc, _ in pages:
            stop_app(proc)


def snapshot(env: dict[str, str]) -> dict[str, Any]:
    """Chunks (ids, texts), records (ids, fingerprints) and lexical entries of an index."""
    code = (
        "import json, sys;"
        "from assistant.settings import load_settings; from assistant.service import Assistant;"
        "a = Assistant.from_settings(load_settings(), with_llm=False); ix = a.index;"
        "got = ix.chunks.get(include=['documents']);"
        "print(json.dumps({'chunks': sorted(zip(got['ids'], got['documents'])),"
        " 'records': sorted((k, v['fingerprint']) for k, v in ix.manifest().items()),"
        " 'lexical': ix.stores.lexical.chunk_ids()}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_server_killed_during_a_sync_is_a_clear_error_and_the_next_sync_converges(
    tmp_path: Path, chroma: ChromaServer
) -> None:
    big = big_corpus(tmp_path / "big", 120)
    env = {**server_env(tmp_path, big, chroma.port), "ASSISTANT_EMBED_BATCH_CHUNKS": "8"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "index", str(big), "--json"],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # kill the server once some chunks are stored, while the sync goes on
    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=chroma.port)
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            if client.get_collection("news").count() >= 24:
                break
        except Exception:  # noqa: BLE001 - not created yet
            pass
        time.sleep(0.2)
    chroma.kill()
    out, errs = proc.communicate(timeout=300)
    assert proc.returncode == 2, (out, errs[-2000:])
    message = [line for line in errs.splitlines() if line.startswith("error:")]
    assert len(message) == 1 and "Traceback" not in errs, errs[-2000:]
    assert (
        "stopped answering" in message[0]
        or "cannot be written" in message[0]
        or "fails for everything" in message[0]
    )

    chroma.start()
    again = cli(env, "index", str(big), "--json")
    assert again.returncode == 0, again.stderr[-2000:]
    clean_env = {**server_env(tmp_path / "clean", big, chroma.port, "cleanbuild")}
    assert cli(clean_env, "index", str(big), "--json").returncode == 0
    assert snapshot(env) == snapshot(clean_env)
    assert json.loads(cli(env, "index", str(big), "--json").stdout)["chunks_embedded"] == 0


def test_the_server_killed_during_questions_is_a_clear_note_and_the_page_recovers(
    tmp_path: Path, chroma: ChromaServer
) -> None:
    corpus = write_corpus(tmp_path / "corpus", ARTICLES)
    env = server_env(tmp_path, corpus, chroma.port)
    proc, url = start_app(env, free_port(), tmp_path / "page.log")
    try:
        question = "What did the central bank do with interest rates?"
        assert ask(url, question)["answer"]["citations"]
        chroma.kill()
        got = ask(url, question)
        assert got["answer"] == {} and "index" in got["note"].lower() and "Traceback" not in got["note"]
        assert httpx.get(url, timeout=10).status_code == 200  # the page itself still serves
        chroma.start()
        deadline = time.time() + 60
        while True:
            got = ask(url, question)
            if got["answer"].get("citations") or time.time() > deadline:
                break
            time.sleep(1)
        assert got["answer"]["citations"], got
    finally:
        stop_app(proc)
