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

from assistant.damage import StoreUnavailable
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


def _repo_files() -> set[str]:
    """The checkout's files (not the venv's, git's or caches'): a file written there shows up."""
    skip = tuple(
        REPO / d for d in (".git", ".venv", ".mypy_cache", ".ruff_cache", ".pytest_cache", "artifacts")
    )
    return {p for p in tree(REPO, skip=skip) if "__pycache__" not in p}


def test_two_machines_share_the_stores_and_write_only_their_own_folders(
    tmp_path: Path, postgres, chroma_server: int
) -> None:
    s = cluster(postgres.url, chroma_server, tmp_path)
    a, b = tmp_path / "machine-a", tmp_path / "machine-b"
    write_corpus(a / "corpus")
    b.mkdir()
    (a / "corpus" / SEED.name).write_bytes(SEED.read_bytes())
    before = tree(tmp_path, skip=(a, b))
    repo_before = _repo_files()

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
    r = cli(b, s, "check", "--json")  # the deep check, from a machine that holds no file of the index
    assert r.returncode == 0, r.stdout + r.stderr[-2000:]

    # an article changed on machine A is answered on machine B at its next question
    (a / "corpus" / "chess.txt").write_text(
        ARTICLES["chess.txt"].replace("42 moves", "57 moves"), encoding="utf-8"
    )
    r = cli(a, s, "index", "corpus", "--json")
    assert json.loads(r.stdout)["updated"] == 1, r.stderr[-2000:]
    r = cli(b, s, "ask", "In how many moves did she defeat the defending champion?", "--json")
    assert "57 moves" in json.loads(r.stdout)["answer"], r.stdout

    assert tree(tmp_path, skip=(a, b)) == before, "a machine wrote outside its working folder"
    assert _repo_files() == repo_before, "a machine wrote into the checkout"
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


def _articles(n: int, tag: str = "") -> dict[str, str]:
    """n small dated articles, each with a fact of its own."""
    towns = ["Arden", "Bexley", "Corran", "Dunmore", "Elgin", "Fenwick", "Garvan", "Harlow"]
    out = {}
    for i in range(n):
        town = towns[i % len(towns)]
        out[f"story-{tag}{i:03d}.md"] = (
            f"---\ntitle: {town} council votes on bridge number {i}{tag}\nurl: https://news.example.org/{tag}{i}\n"
            f"source: example.org\npublished: 2024-05-{1 + i % 28:02d}\n---\n"
            f"The council of {town} voted {i + 3} to 2 on Tuesday to rebuild bridge number {i}{tag}, "
            f"which has been closed since the floods of {1990 + i % 30}.\n\n"
            f"Work on the bridge is to cost {i + 10} million pounds and should end in {2026 + i % 4}, "
            f"the council's engineer, Mara Quill{i}, told reporters outside the town hall.\n\n"
            + " ".join(f"Residents of {town} spoke about detour {j} at length." for j in range(30))
            + "\n"
        )
    return out


def _consistent(index) -> None:  # type: ignore[no-untyped-def]
    """Records, vectors and lexical entries agree, chunk by chunk (nothing lost or duplicated)."""
    st = index.stores
    expected = st.records.expected_chunks()
    assert st.vectors.count() == expected
    assert st.lexical.n_docs == expected == len(st.lexical.chunk_ids())
    assert index.check("ids").sound


def test_workers_take_queued_jobs_and_every_page_answers_from_them(
    tmp_path: Path, postgres, chroma_server: int, embedder
) -> None:
    from assistant.enqueue import enqueue_documents, queue_of
    from assistant.service import Assistant
    from assistant.updates import Updater

    s = cluster(postgres.url, chroma_server, tmp_path)
    s.llm.backend = "extractive"  # type: ignore[assignment]
    page = Assistant.from_settings(s, with_llm=False)
    docs = _articles(24)
    names = sorted(docs)
    jobs = [
        enqueue_documents(page, {n: docs[n] for n in names[:12]}),
        enqueue_documents(page, {n: docs[n] for n in names[12:]}),
    ]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "worker", "--once", "--name", f"w{i}"],
            cwd=tmp_path / f"m{i}",
            env=machine_env(tmp_path / f"m{i}", s),
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for w in workers:
        _, errs = w.communicate(timeout=600)
        assert w.returncode == 0, errs[-3000:]
    queue = queue_of(page)
    states = [queue.state(j) for j in jobs]
    assert all(st is not None and st.state == "done" for st in states), states
    assert sum(st.result["added"] for st in states if st and st.result) == 24
    assert page.index.stats()["articles"] == 24
    _consistent(page.index)

    # a second page, in another process's place, answers from what a worker indexed after it started
    other = Assistant.from_settings(s, with_llm=False)
    updater = Updater(page)
    assert updater.cluster
    stop = __import__("threading").Event()
    from assistant.worker import Worker

    runner = __import__("threading").Thread(target=Worker(page, "in-process").run, args=(stop,), daemon=True)
    runner.start()
    try:
        line = updater.submit({"uploads/late.md": _articles(1, tag="late")["story-late000.md"]}, wait_s=120)
    finally:
        stop.set()
        runner.join(30)
    assert line.startswith("indexed by worker in-process: added 1"), line
    answer = other.ask("Who is the engineer of bridge number 0late?")
    assert not answer.refused and "Mara Quill0" in answer.text, answer.text
    # the same text again is unchanged, nothing embedded
    worker = Worker(page, "again")
    job = enqueue_documents(page, {"uploads/late.md": _articles(1, tag="late")["story-late000.md"]})
    worker.run_one()
    st = queue.state(job)
    assert st is not None and st.result is not None
    assert st.result["unchanged"] == 1 and st.result["chunks_embedded"] == 0


def test_a_bad_document_fails_alone_and_a_job_of_a_dead_store_stays_queued(
    tmp_path: Path, postgres, chroma_server: int
) -> None:
    from assistant.enqueue import enqueue_documents, queue_of
    from assistant.service import Assistant
    from assistant.worker import Worker

    s = cluster(postgres.url, chroma_server, tmp_path)
    page = Assistant.from_settings(s, with_llm=False)
    good = _articles(1)
    job = enqueue_documents(
        page,
        {
            **good,
            "empty.txt": "   \n",
            "binary.bin": "x",
            "deep.json": "[" * 10_000 + "]" * 10_000,
            "huge.txt": "word " * 2_000_000,
        },
    )
    Worker(page, "w").run_one()
    st = queue_of(page).state(job)
    assert st is not None and st.state == "done" and st.result is not None
    assert st.result["added"] == 1
    failed = {f["path"]: f["error"] for f in st.result["failed"]}
    assert set(failed) == {f"documents/{n}" for n in ("empty.txt", "binary.bin", "deep.json", "huge.txt")}
    assert "limit" in failed["documents/huge.txt"], failed
    with pytest.raises(ValueError, match="nul.txt: binary file"):  # PostgreSQL cannot keep it
        enqueue_documents(page, {"ok.txt": "fine text", "nul.txt": "a\x00b"})
    assert queue_of(page).documents(["ok.txt", "nul.txt"]) == {}

    # PostgreSQL gone: the job's worker says so in one line, and the job stays queued for later
    job = enqueue_documents(page, _articles(2, tag="x"))
    worker = Worker(page, "w")
    postgres.kill()
    try:
        with pytest.raises(StoreUnavailable, match="PostgreSQL at 127.0.0.1"):
            worker.run_one()
    finally:
        postgres.start()
    deadline = time.time() + 30
    while True:
        try:
            st = queue_of(page).state(job)
            break
        except StoreUnavailable:  # the pool reconnects
            assert time.time() < deadline
            time.sleep(0.5)
    assert st is not None and st.state == "queued"
    worker.run_one()
    st = queue_of(page).state(job)
    assert st is not None and st.state == "done" and st.result is not None and st.result["added"] == 2
    _consistent(page.index)


def test_two_writers_of_different_articles_do_not_wait_for_each_other(
    tmp_path: Path, postgres, chroma_server: int, embedder
) -> None:
    import threading

    index = open_index(cluster(postgres.url, chroma_server, tmp_path), embedder)
    st = index.stores
    entered: dict[str, float] = {}

    def take(name: str, ids: list[str], full: bool = False) -> None:
        with st.writer() if full else st.writing(ids):
            entered[name] = time.monotonic()

    with st.writing(["article-a"]):
        t0 = time.monotonic()
        threads = {
            "b": threading.Thread(target=take, args=("b", ["article-b"])),
            "a": threading.Thread(target=take, args=("a", ["article-a"])),
            "full": threading.Thread(target=take, args=("full", [], True)),
        }
        threads["b"].start()  # first: a full sync waiting in the lock queue holds back later writers
        threads["b"].join(20)
        assert "b" in entered  # another article: at once
        threads["a"].start()
        threads["full"].start()
        time.sleep(1.0)
        assert "a" not in entered and "full" not in entered  # the same article, and a full sync, wait
        released = time.monotonic()
    for t in threads.values():
        t.join(20)
    assert entered["a"] >= released and entered["full"] >= released
    assert entered["b"] - t0 < 5


def test_a_worker_killed_mid_job_leaves_it_to_another(tmp_path: Path, postgres, chroma_server: int) -> None:
    from assistant.enqueue import enqueue_documents, queue_of
    from assistant.service import Assistant

    s = cluster(postgres.url, chroma_server, tmp_path)
    s.embed_batch_chunks = 16  # several groups, so that the kill falls between or inside writes
    page = Assistant.from_settings(s, with_llm=False)
    job = enqueue_documents(page, _articles(40))
    env = machine_env(tmp_path / "m1", s) | {"ASSISTANT_EMBED_BATCH_CHUNKS": "16"}
    first = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "worker", "--name", "doomed"],
        cwd=tmp_path / "m1",
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert first.stderr is not None
    for line in first.stderr:
        if f"job {job} (documents) begun" in line:
            break
    deadline = time.time() + 120
    while page.index.stats()["articles"] < 5 and time.time() < deadline:  # some articles written
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    queue = queue_of(page)
    st = queue.state(job)
    assert st is not None and st.state == "queued", st  # back in the queue
    assert 0 < page.index.stats()["articles"] < 40
    r = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "worker", "--once", "--name", "heir"],
        cwd=tmp_path / "m2",
        env=machine_env(tmp_path / "m2", s) | {"ASSISTANT_EMBED_BATCH_CHUNKS": "16"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    st = queue.state(job)
    assert st is not None and st.state == "done" and st.worker == "heir", st
    assert page.index.stats()["articles"] == 40
    _consistent(page.index)


def test_postgres_killed_during_a_sync_and_questions(tmp_path: Path, postgres, chroma_server: int) -> None:
    """The database dies while a worker writes and while a question is asked: one line each, no
    traceback; once it is back the worker finishes the job, and nothing is lost or duplicated."""
    from assistant.enqueue import enqueue_documents, queue_of
    from assistant.service import Assistant

    s = cluster(postgres.url, chroma_server, tmp_path)
    page = Assistant.from_settings(s, with_llm=False)
    job = enqueue_documents(page, _articles(30))
    env = machine_env(tmp_path / "m1", s) | {"ASSISTANT_EMBED_BATCH_CHUNKS": "16"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "worker", "--name", "survivor", "--poll", "0.5"],
        cwd=tmp_path / "m1",
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stderr is not None
        for line in worker.stderr:
            if f"job {job} (documents) begun" in line:
                break
        deadline = time.time() + 120
        while page.index.stats()["articles"] < 3 and time.time() < deadline:
            time.sleep(0.05)
        postgres.kill()
        try:
            said = ""
            for line in worker.stderr:
                if line.startswith("worker survivor: a job"):
                    said = line
                    break
            assert "PostgreSQL at 127.0.0.1" in said and "Traceback" not in said, said
            r = cli(tmp_path / "m2", s, "ask", "Who is the engineer of bridge number 3?", timeout=120)
            assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
            assert "PostgreSQL at 127.0.0.1" in r.stderr, r.stderr
        finally:
            postgres.start()
        queue = None
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                queue = queue or queue_of(page)
                st = queue.state(job)
                if st is not None and st.state == "done":
                    break
            except StoreUnavailable:
                pass
            time.sleep(0.5)
        assert st is not None and st.state == "done" and st.worker == "survivor", st
    finally:
        worker.kill()
        worker.wait(10)
    assert page.index.stats()["articles"] == 30
    _consistent(page.index)
    hits = page.index.stores.lexical.search("Mara Quill3 engineer", 3)
    assert hits and hits[0][0].startswith("https://news.example.org/3:"), hits


def test_two_pages_and_a_worker_on_three_machines(tmp_path: Path, postgres, chroma_server: int) -> None:
    """A page queues an upload, a worker on another machine indexes it, and a page on a third answers
    from it; the pages sync nothing in their own processes, and nothing is written outside the three
    working folders."""
    import httpx
    from gradio_client import Client, handle_file

    from tests.serverutil import free_port

    s = cluster(postgres.url, chroma_server, tmp_path)
    machines = {name: tmp_path / name for name in ("page-a", "page-b", "worker")}
    for m in machines.values():
        m.mkdir()
    upload = tmp_path / "to-upload"
    upload.mkdir()
    (upload / "bridge.md").write_text(_articles(1, tag="up")["story-up000.md"], encoding="utf-8")
    before = tree(tmp_path, skip=(*machines.values(), upload))
    repo_before = _repo_files()
    procs = []
    try:
        urls = {}
        for name in ("page-a", "page-b"):
            port = free_port()
            env = machine_env(machines[name], s) | {"ASSISTANT_UI__JOB_WAIT_S": "240"}
            log = (machines[name] / "page.log").open("wb")
            procs.append(
                subprocess.Popen(
                    [sys.executable, str(REPO / "app.py"), "--port", str(port)],
                    cwd=machines[name],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            urls[name] = f"http://127.0.0.1:{port}/"
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "assistant.cli", "worker", "--name", "ingest-1", "--poll", "0.3"],
                cwd=machines["worker"],
                env=machine_env(machines["worker"], s),
                stdout=subprocess.DEVNULL,
                stderr=(machines["worker"] / "worker.log").open("wb"),
            )
        )
        deadline = time.time() + 240
        for url in urls.values():
            while True:
                try:
                    if httpx.get(url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.time() < deadline, (machines["page-a"] / "page.log").read_text()[-3000:]
                time.sleep(0.5)
        line, _ = Client(urls["page-a"], verbose=False).predict(
            [handle_file(str(upload / "bridge.md"))], api_name="/upload"
        )
        assert "Indexed by worker ingest-1: added 1" in line, line
        out = Client(urls["page-b"], verbose=False).predict(
            "Who is the engineer of bridge number 0up?", [], api_name="/chat"
        )
        answer = out[2]
        assert not answer["refused"] and "Mara Quill0" in answer["answer"], answer
        log_a = (machines["page-a"] / "page.log").read_text(errors="replace")
        assert "cluster mode" in log_a and "Re-indexed" not in log_a
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
    assert tree(tmp_path, skip=(*machines.values(), upload)) == before
    assert _repo_files() == repo_before
    # the text is PostgreSQL's: the page's upload folder keeps no copy (Gradio's own cache of what was
    # sent is in its TMPDIR, inside the machine's folder)
    assert not list((machines["page-a"] / "corpus").rglob("bridge.md")), "the page kept the upload's file"


def test_names_claims_and_hostile_fields(tmp_path: Path, postgres, chroma_server: int) -> None:
    """Two different uploads of one name are two articles; a document may not take over an article
    indexed from another document; fields PostgreSQL cannot hold fail alone; `assistant enqueue` of two
    files of one name and `assistant db-server` on a folder of other files are one line each."""
    from assistant.enqueue import enqueue_documents, queue_of
    from assistant.service import Assistant
    from assistant.updates import Updater
    from assistant.worker import Worker

    s = cluster(postgres.url, chroma_server, tmp_path)
    page = Assistant.from_settings(s, with_llm=False)
    updater = Updater(page)
    one, two = _articles(2, tag="n").values()
    updater.submit({"uploads/notes.md": one}, wait_s=0)
    updater.submit({"uploads/notes.md": two}, wait_s=0)
    updater.submit({"uploads/notes.md": one}, wait_s=0)  # the same text again keeps its name
    assert queue_of(page).document_names() == ["uploads/notes-1.md", "uploads/notes.md"]
    worker = Worker(page, "w")
    worker.run(__import__("threading").Event(), once=True)
    assert page.index.stats()["articles"] == 2

    taken = json.dumps({"url": "https://news.example.org/n0", "text": "Other words under the same address."})
    hostile = {
        "claim.json": taken,
        "nul.json": json.dumps({"url": "https://x.example/nul", "title": "a\x00b", "text": "Some text."}),
        "surrogate.json": '{"url": "https://x.example/s", "title": "\\ud800", "text": "Some text."}',
    }
    job = enqueue_documents(page, hostile)
    worker.run_one()
    st = queue_of(page).state(job)
    assert st is not None and st.state == "done" and st.result is not None, st
    failed = {f["path"]: f["error"] for f in st.result["failed"]}
    assert "already indexed from documents/uploads/notes.md" in failed["documents/claim.json"], failed
    assert "NUL" in str(failed), failed
    assert "not valid Unicode" in str(failed), failed
    assert page.index.article("https://news.example.org/n0").text.startswith(one.split("---\n")[2][:40])

    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    (tmp_path / "x" / "a.md").write_text(one)
    (tmp_path / "y" / "a.md").write_text(two)
    r = cli(tmp_path / "m", s, "enqueue", str(tmp_path / "x" / "a.md"), str(tmp_path / "y" / "a.md"))
    assert r.returncode == 1 and "also named a.md" in r.stderr and "Traceback" not in r.stderr, r.stderr
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    r = cli(tmp_path / "m", s, "db-server", "--path", str(tmp_path / "busy"), "--port", "5999")
    assert r.returncode == 2 and "holds other files" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert (tmp_path / "busy" / "keep.txt").read_text() == "mine"

    # the database gone: `assistant worker --once` says so in one line and exits
    bad = cluster(postgres.url.replace(str(postgres.port), str(free_port_())), chroma_server, tmp_path)
    r = cli(tmp_path / "m", bad, "worker", "--once", timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "PostgreSQL at" in r.stderr, r.stderr


def free_port_() -> int:
    from tests.serverutil import free_port

    return free_port()


def test_the_chroma_server_killed_during_a_sync_and_questions(tmp_path: Path, postgres) -> None:
    """The vectors' server dies while a worker writes and while a question is asked: one line each, no
    traceback; once it is back the worker finishes the job, and nothing is lost or duplicated."""
    from assistant.enqueue import enqueue_documents, queue_of
    from assistant.service import Assistant
    from tests.test_multiprocess import ChromaServer

    chroma = ChromaServer(tmp_path / "chroma-data")
    try:
        s = cluster(postgres.url, chroma.port, tmp_path)
        page = Assistant.from_settings(s, with_llm=False)
        job = enqueue_documents(page, _articles(30))
        env = machine_env(tmp_path / "m1", s) | {"ASSISTANT_EMBED_BATCH_CHUNKS": "16"}
        log = tmp_path / "m1" / "worker.log"
        with open(log, "w") as errors:
            worker = subprocess.Popen(
                [sys.executable, "-m", "assistant.cli", "worker", "--name", "survivor", "--poll", "0.5"],
                cwd=tmp_path / "m1",
                env=env,
                stderr=errors,
                text=True,
            )
        try:
            deadline = time.time() + 300
            while page.index.stats()["articles"] < 3 and time.time() < deadline:
                assert worker.poll() is None, log.read_text()[-3000:]
                time.sleep(0.05)
            chroma.kill()
            try:
                deadline = time.time() + 120
                while "a job waits" not in log.read_text() and time.time() < deadline:
                    time.sleep(0.2)
                said = [line for line in log.read_text().splitlines() if "a job waits" in line]
                assert said and "Traceback" not in log.read_text(), log.read_text()[-3000:]
                assert "127.0.0.1" in said[0] or "vector" in said[0].lower(), said
                r = cli(tmp_path / "m2", s, "ask", "Who is the engineer of bridge number 3?", timeout=120)
                assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
                assert len([x for x in r.stderr.splitlines() if x.startswith("error:")]) == 1, r.stderr
            finally:
                chroma.start()
            st = None
            deadline = time.time() + 300
            while time.time() < deadline:
                st = queue_of(page).state(job)
                if st is not None and st.state == "done":
                    break
                time.sleep(0.5)
            assert st is not None and st.state == "done" and st.worker == "survivor", st
        finally:
            worker.kill()
            worker.wait(10)
        again = Assistant.from_settings(s, with_llm=False)  # the counts read afresh
        assert again.index.stats()["articles"] == 30
        _consistent(again.index)
        answer = again.ask("Since the floods of which year has bridge number 3 been closed?")
        assert not answer.refused and "floods of 1993" in answer.text, answer.text
        hits = again.index.stores.lexical.search("Mara Quill3 engineer", 3)
        assert hits and hits[0][0].startswith("https://news.example.org/3:"), hits
    finally:
        chroma.stop()
