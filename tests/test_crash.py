"""A sync killed (SIGKILL) at any point leaves an index that the next sync repairs exactly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.providers import SentenceEmbedder
from assistant.settings import Settings
from assistant.store import FAULT_POINTS
from tests.conftest import ARTICLES, REPO, open_index, write_corpus

EXTRA = {
    "bridge.md": "# Bridge opens in Porto\n\nA new bridge opened in Porto on Monday. It links two old districts.\n",
    "storm.txt": "Storm closes schools\nA winter storm closed schools across the region on Thursday.\n",
}


def run_index(corpus: Path, index_dir: Path, kill_at: str = "") -> subprocess.CompletedProcess[str]:
    """`assistant index`; kill_at "point:n" runs it through tests/crash_runner.py, which makes the sync
    SIGKILL its own process the n-th time it reaches that point."""
    env = dict(os.environ, ASSISTANT_EMBED_BATCH_CHUNKS="2")
    point, _, count = kill_at.partition(":")
    how = ["tests/crash_runner.py", point, count or "1"] if kill_at else ["-m", "assistant.cli"]
    return subprocess.run(
        [
            sys.executable,
            *how,
            "index",
            str(corpus),
            "--index-dir",
            str(index_dir),
            "--json",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def snapshot(settings: Settings, embedder: SentenceEmbedder) -> dict[str, object]:
    index = open_index(settings, embedder)
    chunks = index.chunks.get(include=["documents", "metadatas"])
    manifest = index.manifest()
    return {
        "chunks": sorted(zip(chunks["ids"], chunks["documents"], [m["start"] for m in chunks["metadatas"]])),
        "articles": sorted((i, m["fingerprint"], index.article(i).text) for i, m in manifest.items()),
        "lexical": lexical_ids(index),
    }


def lexical_ids(index) -> list[str]:  # type: ignore[no-untyped-def]
    return index.stores.lexical.chunk_ids()


@pytest.mark.slow
@pytest.mark.parametrize(
    "kill_at, then_delete",
    [(f"{p}:2", False) for p in FAULT_POINTS if p != "removed"]
    + [("removed:1", False), ("chunks_stored:1", True)],
)
def test_killed_sync_then_resync_matches_clean_build(
    tmp_path: Path, embedder: SentenceEmbedder, kill_at: str, then_delete: bool
) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    assert run_index(corpus, index_dir).returncode == 0

    # changes: one edited, one deleted, two new
    (corpus / "rates.txt").write_text(ARTICLES["rates.txt"] + "\nMarkets rose after the decision.\n")
    (corpus / "chess.txt").unlink()
    write_corpus(corpus, EXTRA)

    killed = run_index(corpus, index_dir, kill_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    if then_delete:  # the article being written when the process died is gone before the next run
        (corpus / "rates.txt").unlink()

    resumed = run_index(corpus, index_dir)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads(resumed.stdout)["failed"] == []

    clean_dir = tmp_path / "clean"
    assert run_index(corpus, clean_dir).returncode == 0
    got = snapshot(Settings(index_dir=index_dir), embedder)
    want = snapshot(Settings(index_dir=clean_dir), embedder)
    assert got == want
    # and one more run does nothing
    assert json.loads(run_index(corpus, index_dir).stdout)["chunks_embedded"] == 0
