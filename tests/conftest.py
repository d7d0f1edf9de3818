from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

from assistant.providers import SentenceEmbedder, make_chroma_client  # noqa: E402
from assistant.settings import EmbeddingSettings, Settings, StoreSettings  # noqa: E402
from assistant.store import Index  # noqa: E402
from tests.serverutil import free_port  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEV_SPLIT = SHARED / "eval" / "realtimeqa-dev"
SEED = REPO / "seeds" / "000_f361700daea0b08c.txt"

ARTICLES = {
    "volcano.md": """---
title: Volcano erupts near Reykjavik
url: https://news.example.org/volcano
source: example.org
published: 2024-03-17
---
A volcano on Iceland's Reykjanes peninsula erupted on Saturday evening, sending lava towards the town of Grindavik.

Authorities evacuated the Blue Lagoon spa as a precaution. Flights at Keflavik airport were not affected, officials said.
""",
    "rates.txt": """Central bank holds interest rates steady
The central bank kept its benchmark interest rate at 5.25 percent on Wednesday, citing slowing inflation.

Officials signalled that two rate cuts could come later in the year if price growth keeps easing.
""",
    "chess.txt": """Teenager wins national chess title
A 15-year-old from Leeds won the national chess championship on Sunday after a dramatic final round.

She defeated the defending champion with the black pieces in 42 moves.
""",
}


def write_corpus(folder: Path, articles: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (articles or ARTICLES).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def embedder() -> SentenceEmbedder:
    """The real packaged all-MiniLM-L6-v2, loaded once for the session."""
    return SentenceEmbedder(EmbeddingSettings())


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory):
    """A real `chroma run` server on 127.0.0.1, for the server-mode tests."""
    exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    assert exe, "the chroma command (from chromadb) is not installed"
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    log = open(data / "server.log", "wb")  # noqa: SIM115 - the server writes it until teardown
    proc = subprocess.Popen(
        [exe, "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    import chromadb

    deadline = time.time() + 60
    while True:
        try:
            chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()
            break
        except Exception:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError((data / "server.log").read_text(errors="replace")[-2000:]) from None
            time.sleep(0.3)
    yield port
    proc.terminate()
    proc.wait(10)


_collection_counter = iter(range(10**6))


@pytest.fixture(scope="session")
def postgres():  # type: ignore[no-untyped-def]
    """A real throwaway PostgreSQL (Debian's package, initdb in a temporary folder), for cluster mode."""
    from tests.pgserver import Postgres

    pg = Postgres()
    yield pg
    pg.stop()


@pytest.fixture(params=["local", "server", "cluster"])
def store_mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(tmp_path: Path, store_mode: str, request: pytest.FixtureRequest) -> Settings:
    store = StoreSettings(mode=store_mode, collection=f"t{next(_collection_counter):05d}")  # type: ignore[arg-type]
    if store_mode in ("server", "cluster"):
        store.port = request.getfixturevalue("chroma_server")
    if store_mode == "cluster":
        store.database_url = request.getfixturevalue("postgres").url
    return Settings(index_dir=tmp_path / "index", corpus_dirs=[tmp_path / "corpus"], store=store)


@pytest.fixture
def local_settings(tmp_path: Path) -> Settings:
    return Settings(index_dir=tmp_path / "index", corpus_dirs=[tmp_path / "corpus"])


def open_index(settings: Settings, embedder: SentenceEmbedder) -> Index:
    return Index(settings, embedder, make_client=make_chroma_client)


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """An extractive assistant over the seed article and three small dated articles (real index)."""
    from assistant.service import Assistant

    root = tmp_path_factory.mktemp("seeded")
    corpus = write_corpus(root / "corpus")
    shutil.copy(SEED, corpus / SEED.name)
    settings = Settings(index_dir=root / "index", corpus_dirs=[corpus], upload_dir=root / "uploads")
    settings.llm.backend = "extractive"
    assistant = Assistant.from_settings(settings)
    report = assistant.sync()
    assert report.added == 4 and not report.failed
    return assistant
