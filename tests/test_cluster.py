"""Cluster mode: records, sync state and the lexical index in a real PostgreSQL (initdb in a temporary
folder), vectors in a real `chroma run` server. Each simulated machine is a process with its own empty
working folder (its cwd, HOME and TMPDIR), and nothing is written outside it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.locks import WriterBusy
from assistant.settings import Settings, StoreSettings
from assistant.store.postgres.database import Database
from assistant.store.postgres.locks import advisory_lock
from tests.conftest import ARTICLES, REPO, SEED, open_index, write_corpus

_names = iter(range(10**6))


def cluster(pg_url: str, chroma_port: int, root: Path, collection: str | None = None) -> Settings:
    store = StoreSettings(
        mode="cluster",  # type: ignore[arg-type]
        database_url=pg_url,
        port=chroma_port,
        collection=collection or f"c{next(_names):05d}",
    )
    return Settings(index_dir=root / "index", corpus_dirs=[root / "corpus"], store=store)


def machine_env(work: Path, s: Settings) -> dict[str, str]:
    """A process of another machine: its own working folder as cwd, HOME and TMPDIR."""
    for sub in ("home", "tmp"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env |= {
        "HOME": str(work / "home"),
        "TMPDIR": str(work / "tmp"),
        "ASSISTANT_STORE__MODE": "cluster",
        "ASSISTANT_STORE__DATABASE_URL": s.store.database_url,
        "ASSISTANT_STORE__PORT": str(s.store.port),
        "ASSISTANT_STORE__COLLECTION": s.store.collection,
        "ASSISTANT_LLM__BACKEND": "extractive",
    }
    return env


def cli(work: Path, s: Settings, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        cwd=work,
        env=machine_env(work, s),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def tree(root: Path, skip: tuple[Path, ...] = ()) -> dict[str, int]:
    """Every file under root (outside the skipped folders) with its size."""
    out: dict[str, int] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if Path(dirpath, d) not in skip]
        for f in filenames:
            p = Path(dirpath, f)
            try:
                out[str(p)] = p.stat().st_size
            except OSError:
                pass
    return out


def test_two_machines_share_the_stores_and_write_only_their_own_folders(
    tmp_path: Path, postgres, chroma_server: int
) -> None:
    s = cluster(postgres.url, chroma_server, tmp_path)
    a, b = tmp_path / "machine-a", tmp_path / "machine-b"
    write_corpus(a / "corpus")
    b.mkdir()
    (a / "corpus" / SEED.name).write_bytes(SEED.read_bytes())
    before = tree(tmp_path, skip=(a, b))
    repo_before = subprocess.run(
        ["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True
    ).stdout

    r = cli(a, s, "index", "corpus", "--json")
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout)["added"] == 4
    r = cli(b, s, "ask", "What did Putin agree to limit attacks on?", "--json")
    assert r.returncode == 0, r.stderr[-3000:]
    answer = json.loads(r.stdout)
    assert not answer["refused"] and "energy" in answer["answer"].lower()
    assert answer["citations"][0]["quote"] in SEED.read_text(encoding="utf-8")
    r = cli(b, s, "stats", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["articles"] == 4, r.stdout + r.stderr[-2000:]

    # an article changed on machine A is answered on machine B at its next question
    (a / "corpus" / "chess.txt").write_text(
        ARTICLES["chess.txt"].replace("42 moves", "57 moves"), encoding="utf-8"
    )
    r = cli(a, s, "index", "corpus", "--json")
    assert json.loads(r.stdout)["updated"] == 1, r.stderr[-2000:]
    r = cli(b, s, "ask", "In how many moves did she defeat the defending champion?", "--json")
    assert "57 moves" in json.loads(r.stdout)["answer"], r.stdout

    assert tree(tmp_path, skip=(a, b)) == before, "a machine wrote outside its working folder"
    after = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True).stdout
    assert after == repo_before
    # and in its own folder, no store file: the stores are the servers'
    for work in (a, b):
        written = [p for p in tree(work) if "/home/" not in p and "/corpus/" not in p]
        assert not [p for p in written if "sqlite3" in p or "lexical" in p or "chroma" in p], written


def test_the_lexical_index_ranks_as_the_local_one(
    tmp_path: Path, postgres, chroma_server: int, embedder
) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus)
    (corpus / SEED.name).write_bytes(SEED.read_bytes())
    local = Settings(index_dir=tmp_path / "local", corpus_dirs=[corpus])
    shared = cluster(postgres.url, chroma_server, tmp_path)
    li, ci = open_index(local, embedder), open_index(shared, embedder)
    li.sync([corpus])
    ci.sync([corpus])
    lx, cx = li.stores.lexical, ci.stores.lexical
    assert lx.n_docs == cx.n_docs and sorted(lx.chunk_ids()) == cx.chunk_ids()
    for q in ("Putin energy attacks", "interest rate inflation", "volcano lava Grindavik", "chess champion"):
        want, got = lx.search(q, 5), cx.search(q, 5)
        assert [c for c, _ in got] == [c for c, _ in want], q
        for (_, w), (_, g) in zip(want, got):
            assert g == pytest.approx(w, rel=0.05), q  # tantivy keeps lengths to one byte
        assert cx.idf("putin") == pytest.approx(lx.idf("putin"))
    from assistant.store.filters import ChunkFilter

    f = ChunkFilter(lo=20240301, hi=20240331)
    assert [c for c, _ in cx.search("volcano lava", 5, f)] == [c for c, _ in lx.search("volcano lava", 5, f)]
    f = ChunkFilter(sources=("example.org",))
    assert [c for c, _ in cx.search("volcano chess", 5, f)] == [
        c for c, _ in lx.search("volcano chess", 5, f)
    ]


def test_the_writer_lock_is_one_holder_and_dies_with_its_process(postgres) -> None:
    db = Database(postgres.url)
    code = (
        "import sys, time; from assistant.store.postgres.database import Database;"
        "from assistant.store.postgres.locks import advisory_lock;"
        f"db = Database({postgres.url!r});"
        "cm = advisory_lock(db, 'news-assistant:test-lock'); cm.__enter__(); print('held', flush=True);"
        "time.sleep(600)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(WriterBusy, match="another process is writing"),
            advisory_lock(db, "news-assistant:test-lock", timeout_s=0.5),
        ):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        t0 = time.monotonic()
        with advisory_lock(db, "news-assistant:test-lock", timeout_s=30):
            pass
        assert time.monotonic() - t0 < 30
    finally:
        holder.kill()
        db.close()


def test_an_unreachable_database_is_one_line(tmp_path: Path, chroma_server: int) -> None:
    from tests.serverutil import free_port

    s = cluster(f"postgresql://news@127.0.0.1:{free_port()}/postgres", chroma_server, tmp_path)
    (tmp_path / "w").mkdir()
    r = cli(tmp_path / "w", s, "stats", timeout=120)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr and "PostgreSQL at 127.0.0.1" in r.stderr, r.stderr[-2000:]
    s.store.database_url = ""
    r = cli(tmp_path / "w", s, "stats", timeout=120)
    assert r.returncode != 0 and "Traceback" not in r.stderr and "ASSISTANT_STORE__DATABASE_URL" in r.stderr
