"""Cluster mode against the one-machine store, in one run on this machine (a throwaway PostgreSQL and a
`chroma run` started here). Prints a JSON line per figure.

- ``--part eval``: the dev eval (extractive answers, the shipped weights: in-sample, as the comparison is
  between two stores, not a quality claim) with the lexical index in PostgreSQL (cluster mode) against
  tantivy (local mode), over the same chunks and vectors (the cluster's copied from the local index of
  the split, built once in --source-index): ans@1, answer_contains and retrieval hit rates.
- ``--part ingest``: ingest throughput of 1, 2 and 4 workers (``assistant worker --once`` processes) on
  the split's first --articles articles queued as documents in 12 jobs: chunks per second from the
  workers' start to the last job done (model loading included), and the ratio to 1 worker.
- ``--part retrieval``: the hybrid search's p50/p95 at --chunks chunks (the split's chunks copied with
  perturbed vectors, as bench/scale_bench.py fills), cluster mode against local mode, same questions.

    .venv/bin/python bench/cluster_bench.py [--part eval ingest retrieval] [--articles 300]
        [--chunks 100000] [--workers 1 2 4]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bench.scale_bench import fill, lexical_docs_of, pct, source_chunks  # noqa: E402


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Servers:
    """A throwaway PostgreSQL and Chroma server for the run."""

    def __init__(self, work: Path) -> None:
        from assistant.store.postgres.local import LocalPostgres

        self.pg = LocalPostgres(Path(tempfile.mkdtemp(prefix="news-pg-bench-")), free_port())
        self.pg.init()
        self.pg.start()
        self.chroma_port = free_port()
        exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
        (work / "chroma").mkdir(parents=True, exist_ok=True)
        self.chroma = subprocess.Popen(
            [
                exe,
                "run",
                "--path",
                str(work / "chroma"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.chroma_port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import chromadb

        deadline = time.time() + 60
        while True:
            try:
                chromadb.HttpClient(host="127.0.0.1", port=self.chroma_port).heartbeat()
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)

    def settings(self, collection: str, index_dir: Path) -> Any:
        from assistant.settings import Settings, StoreSettings

        store = StoreSettings(
            mode="cluster",  # type: ignore[arg-type]
            database_url=self.pg.url,
            port=self.chroma_port,
            collection=collection,
        )
        s = Settings(index_dir=index_dir, corpus_dirs=[], store=store)
        s.llm.backend = "extractive"  # type: ignore[assignment]
        return s

    def env(self, s: Any) -> dict[str, str]:
        return {
            **os.environ,
            "ASSISTANT_STORE__MODE": "cluster",
            "ASSISTANT_STORE__DATABASE_URL": s.store.database_url,
            "ASSISTANT_STORE__PORT": str(s.store.port),
            "ASSISTANT_STORE__COLLECTION": s.store.collection,
        }

    def stop(self) -> None:
        self.chroma.terminate()
        try:
            self.pg.stop()
        finally:
            shutil.rmtree(self.pg.root, ignore_errors=True)


def copy_index(src: dict[str, Any], index: Any, batch: int = 2000) -> None:
    """The split's chunks, vectors and records as they are (same ids, same fingerprints and paths: a sync
    of the split finds every article unchanged)."""
    got = src["got"]
    n = len(got["ids"])
    for i in range(0, n, batch):
        sl = slice(i, i + batch)
        index.stores.vectors.upsert(
            got["ids"][sl], got["embeddings"][sl], got["documents"][sl], got["metadatas"][sl]
        )
        index.stores.lexical.add(lexical_docs_of(got["ids"][sl], got["documents"][sl], got["metadatas"][sl]))
    index.stores.records.put(src["manifest"], src["texts"])
    index.stores.records.set_state(sync_state="clean")


def part_eval(servers: Servers, split: Path, source_index: Path, work: Path) -> None:
    from assistant.evaluate.report import run_eval
    from assistant.service import Assistant
    from assistant.settings import Settings

    src = source_chunks(split, source_index)
    local = Settings(index_dir=source_index)
    local.llm.backend = "extractive"  # type: ignore[assignment]
    cluster = servers.settings("evaldev", work / "cluster-eval")
    ca = Assistant.from_settings(cluster, with_llm=False)
    t = time.perf_counter()
    copy_index(src, ca.index)
    print(f"copied {len(src['got']['ids']):,} chunks in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    for name, s in (("tantivy (local)", local), ("postgres (cluster)", cluster)):
        a = Assistant.from_settings(s, with_llm=False)
        t = time.perf_counter()
        out = run_eval(a, split, folds=False, shipped=True)
        r = out["result"]
        keys = (
            "art@1",
            "art@5",
            "ans@1",
            "ans@5",
            "mrr@10",
            "answer_contains",
            "refusal_rate",
            "p50_ms",
            "p95_ms",
        )
        row = {"store": name, "seconds": round(time.perf_counter() - t, 1), "in_sample": r.get("in_sample")}
        row |= {k: r.get(k) for k in keys}
        print(json.dumps(row), flush=True)


def part_ingest(servers: Servers, split: Path, n_articles: int, workers: list[int], work: Path) -> None:
    from assistant.enqueue import enqueue_documents, queue_of
    from assistant.service import Assistant

    lines = (split / "articles.jsonl").read_text(encoding="utf-8").splitlines()[:n_articles]
    n_jobs = 12
    base = None
    for n in workers:
        s = servers.settings(f"ingest{n}w{int(time.time())}", work / f"ingest-{n}")
        page = Assistant.from_settings(s, with_llm=False)
        per = (len(lines) + n_jobs - 1) // n_jobs
        jobs = [
            enqueue_documents(page, {f"part{j:02d}.jsonl": "\n".join(lines[j * per : (j + 1) * per])})
            for j in range(n_jobs)
            if lines[j * per : (j + 1) * per]
        ]
        t0 = time.perf_counter()
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "assistant.cli", "worker", "--once", "--name", f"w{i}"],
                env=servers.env(s),
                cwd=work,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for i in range(n)
        ]
        for p in procs:
            p.wait()
        seconds = time.perf_counter() - t0
        queue = queue_of(page)
        states = [queue.state(j) for j in jobs]
        done = [st for st in states if st and st.state == "done"]
        chunks = sum(int((st.result or {}).get("chunks_embedded", 0)) for st in done)
        rate = chunks / seconds
        base = base or rate
        st = page.index.stores
        row = {
            "workers": n,
            "articles": st.records.count(),
            "chunks": chunks,
            "seconds": round(seconds, 1),
            "chunks_per_s": round(rate, 1),
            "ratio_to_1": round(rate / base, 2),
            "jobs_done": len(done),
            "workers_used": sorted({st.worker for st in done}),
            "consistent": st.vectors.count() == st.records.expected_chunks() == st.lexical.n_docs,
        }
        print(json.dumps(row), flush=True)


def part_retrieval(
    servers: Servers, split: Path, source_index: Path, n_chunks: int, n_questions: int, work: Path
) -> None:
    from assistant.evaluate.split import load_split
    from assistant.service import Assistant
    from assistant.settings import Settings

    src = source_chunks(split, source_index)
    _, questions = load_split(split)
    questions = questions[:n_questions]
    local = Settings(index_dir=work / f"local-{n_chunks}", corpus_dirs=[])
    local.llm.backend = "extractive"  # type: ignore[assignment]
    cluster = servers.settings(f"scale{n_chunks}", work / f"cluster-{n_chunks}")
    for name, s in (("local", local), ("cluster", cluster)):
        a = Assistant.from_settings(s, with_llm=False)
        build_s = fill(a.index, src, n_chunks)
        a = Assistant.from_settings(s, with_llm=False)
        a.index.embedder.embed_query("warm up")
        a.search.search(questions[0].question, today=questions[0].date)
        times = []
        for q in questions:
            t = time.perf_counter()
            a.search.search(q.question, k=s.retrieval.rerank_candidates, today=q.date)
            times.append((time.perf_counter() - t) * 1000)
        row = {
            "mode": name,
            "chunks": a.index.stores.vectors.count(),
            "build_s": round(build_s, 1),
            "retrieval_p50_ms": round(pct(times, 0.5), 1),
            "retrieval_p95_ms": round(pct(times, 0.95), 1),
            "questions": len(questions),
        }
        print(json.dumps(row), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", type=Path, default=REPO.parent / "shared" / "eval" / "realtimeqa-dev")
    ap.add_argument("--source-index", type=Path, default=REPO / "index" / "bench-dev")
    ap.add_argument("--part", nargs="+", default=["eval", "ingest", "retrieval"])
    ap.add_argument("--articles", type=int, default=300)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--questions", type=int, default=60)
    ap.add_argument("--work", type=Path, default=Path("/tmp/cluster-bench"))
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    servers = Servers(args.work)
    try:
        if "eval" in args.part:
            part_eval(servers, args.split, args.source_index, args.work)
        if "ingest" in args.part:
            part_ingest(servers, args.split, args.articles, args.workers, args.work)
        if "retrieval" in args.part:
            part_retrieval(servers, args.split, args.source_index, args.chunks, args.questions, args.work)
    finally:
        servers.stop()


if __name__ == "__main__":
    main()
