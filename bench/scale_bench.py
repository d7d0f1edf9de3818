"""Scale benchmark: the store at 10k, 100k and 1M chunks. Prints a table and writes a PNG plot.

The chunks are the dev split's real chunks (texts, offsets, metadata) with their real embeddings, taken
from an index of the split (built once, or --source-index), copied as many times as a size needs: copy k of
an article is a new article (its own id and records) with the same text, and each copy's vectors are the
real ones perturbed (Gaussian noise, sigma 0.05 per dimension, renormalised), so that the vector index
holds distinct points spread like real ones. Only the store is measured; nothing is embedded for the
fill. Figures at each size:

- build: seconds to fill the three stores (not a target; real syncs add embedding time);
- retrieval p50/p95 (the hybrid search for the reranker's candidates: query embedding, dense and lexical
  search, fusion, chunk fetch) and a whole extractive answer p50/p95 (retrieval, sentence reranking,
  support gate, quotes), over the first --questions dev questions, each asked with its own date;
- sync of 10 new articles (real files, real embedding): total seconds and the embedding part, measured
  on the same texts in the same run; the store part is the difference;
- no-op sync of the same folder;
- resident memory (VmRSS) of this process after serving, and the index size on disk;
- with --server, the retrieval again with the vectors served by `chroma run` on the same data (server
  mode), and the server's resident memory.

--keep keeps the filled indexes; --reuse measures kept ones again without filling them (each run syncs
10 more new articles into them).

Targets at 1M chunks: retrieval p50 <= 300 ms, sync of 10 articles <= 10 s + their embedding time, no-op
sync <= 5 s, memory <= 6 GB.

    .venv/bin/python bench/scale_bench.py [--sizes 10000 100000 1000000] [--out bench/results/scale]
        [--keep] [--reuse] [--server]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

TARGETS = {"retrieval_p50_ms": 300, "sync10_store_s": 10, "noop_sync_s": 5, "rss_gb": 6}


SERVER_COLS = ["server_retrieval_p50_ms", "server_retrieval_p95_ms", "server_rss_gb"]


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p * (len(s) - 1))))] if s else 0.0


def rss_gb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def du_gb(path: Path) -> float:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True).stdout.split()
    return int(out[0]) / 1e9 if out else 0.0


def source_chunks(split: Path, index_dir: Path) -> dict[str, Any]:
    """The dev split's chunks with their embeddings and article records (indexing the split once)."""
    from assistant.service import Assistant
    from assistant.settings import Settings

    settings = Settings(index_dir=index_dir)
    settings.llm.backend = "extractive"
    a = Assistant.from_settings(settings, with_llm=False)
    if a.index.stats()["articles"] == 0:
        print(f"indexing {split} into {index_dir} (once)", file=sys.stderr, flush=True)
        a.sync([split / "articles.jsonl"])
    got = a.index.stores.vectors.get_all(["documents", "metadatas", "embeddings"])
    manifest = a.index.manifest()
    texts = {aid: a.index.article(aid).text for aid in manifest}  # type: ignore[union-attr]
    return {"got": got, "manifest": manifest, "texts": texts}


def lexical_docs_of(ids: list[str], docs: list[str], metas: list[dict[str, Any]]) -> list[Any]:
    """The lexical entries of stored chunks (ids, texts and metadata as the vectors hold them)."""
    from assistant.store.lexical import LexicalDoc
    from assistant.store.types import embed_text

    return [
        LexicalDoc(
            cid,
            m["article_id"],
            embed_text(m.get("title", ""), d),
            int(m.get("published", 0)),
            m.get("source", ""),
        )
        for cid, d, m in zip(ids, docs, metas)
    ]


def fill(index: Any, src: dict[str, Any], n_chunks: int, batch: int = 5000) -> float:
    """Copies the source chunks into the index until it holds n_chunks; returns seconds."""
    import numpy as np

    got = src["got"]
    # article by article, so that a last, partial copy holds whole articles (their records' chunk
    # counts are then true)
    order = sorted(
        range(len(got["ids"])), key=lambda i: (got["metadatas"][i]["article_id"], got["metadatas"][i]["n"])
    )
    ids = [got["ids"][i] for i in order]
    docs = [got["documents"][i] for i in order]
    metas = [got["metadatas"][i] for i in order]
    base = np.asarray(got["embeddings"], dtype=np.float32)[order]
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    done, copy = 0, 0
    while done < n_chunks:
        take = min(len(ids), n_chunks - done)
        while 0 < take < len(ids) and metas[take]["article_id"] == metas[take - 1]["article_id"]:
            take += 1
        vecs = (
            base[:take]
            if copy == 0
            else base[:take] + rng.normal(0, 0.05, base[:take].shape).astype(np.float32)
        )
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        suffix = "" if copy == 0 else f"#copy{copy}"
        c_ids = [
            f"{m['article_id']}{suffix}:{cid.rsplit(':', 1)[1]}" for cid, m in zip(ids[:take], metas[:take])
        ]
        c_metas = [{**m, "article_id": f"{m['article_id']}{suffix}"} for m in metas[:take]]
        c_docs = docs[:take]
        for i in range(0, take, batch):
            sl = slice(i, i + batch)
            index.stores.vectors.upsert(c_ids[sl], vecs[sl].tolist(), c_docs[sl], c_metas[sl])
            index.stores.lexical.add(lexical_docs_of(c_ids[sl], c_docs[sl], c_metas[sl]))
        arts = {m["article_id"] for m in c_metas}
        records = {}
        for aid in arts:
            orig = aid.split("#copy")[0]
            records[aid] = {**src["manifest"][orig], "fingerprint": f"bench:{aid}"}
        index.stores.records.put(records, {aid: src["texts"][aid.split("#copy")[0]] for aid in arts})
        done += take
        copy += 1
        print(
            f"  filled {done:,}/{n_chunks:,} chunks ({time.perf_counter() - t0:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
    index.stores.lexical.close_writer()
    index.stores.records.set_state(sync_state="clean")
    return time.perf_counter() - t0


def new_articles(folder: Path, n: int) -> Path:
    """n new articles in a new folder (new names at each run, so that a kept index takes them as new)."""
    run = time.strftime("%Y%m%d%H%M%S")
    folder = folder / run
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"new{run}_{i}.md").write_text(
            f"---\ntitle: Harbour plan {i} approved\npublished: 2025-03-{1 + i:02d}\n---\n"
            + " ".join(
                f"The harbour board of Portwen{i} approved plan {i}-{j} on Tuesday after a long debate about costs."
                for j in range(12)
            )
            + "\n",
            encoding="utf-8",
        )
    return folder


def measure(
    size: int, src: dict[str, Any], questions: list[Any], work: Path, reuse: bool, server: bool
) -> dict[str, Any]:
    from assistant.corpus import load_paths
    from assistant.service import Assistant
    from assistant.settings import Settings
    from assistant.store.types import texts_to_embed

    index_dir = work / f"idx-{size}"
    settings = Settings(index_dir=index_dir, corpus_dirs=[])
    settings.llm.backend = "extractive"
    filled = index_dir / "bench-fill.json"  # the fill's time, for --reuse
    if not (reuse and index_dir.exists()):
        shutil.rmtree(index_dir, ignore_errors=True)
        a = Assistant.from_settings(settings, with_llm=False)
        filled.write_text(json.dumps({"build_s": fill(a.index, src, size)}))
    build_s = json.loads(filled.read_text())["build_s"] if filled.exists() else None
    a = Assistant.from_settings(settings, with_llm=False)  # a fresh process's view of the store
    a.index.embedder.embed_query("warm up")
    t = time.perf_counter()  # the first query loads the vector index into memory
    a.search.search(questions[0].question, today=questions[0].date)
    first_s = time.perf_counter() - t
    retrieval: list[float] = []
    answer: list[float] = []
    for q in questions:
        t = time.perf_counter()
        a.search.search(q.question, k=settings.retrieval.rerank_candidates, today=q.date)
        retrieval.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        a.ask(q.question, today=q.date)
        answer.append((time.perf_counter() - t) * 1000)
    folder = new_articles(work / f"new-{size}", 10)
    arts = [x for _, x in load_paths([folder], settings.max_file_bytes).articles]
    texts = texts_to_embed(arts, settings.chunks)
    t = time.perf_counter()
    a.index.embedder.encode(texts)
    embed_s = time.perf_counter() - t
    t = time.perf_counter()
    report = a.index.sync([folder])
    sync_s = time.perf_counter() - t
    t = time.perf_counter()
    a.index.embedder.encode(texts)
    embed_s = (embed_s + time.perf_counter() - t) / 2  # before and after the sync, averaged
    assert report.added == 10, report.summary()
    t = time.perf_counter()
    noop = a.index.sync([folder])
    noop_s = time.perf_counter() - t
    assert noop.chunks_embedded == 0
    row = {
        "chunks": a.index.stores.vectors.count(),
        "articles": a.index.stores.records.count(),
        "build_s": round(build_s, 1) if build_s is not None else None,
        "first_query_s": round(first_s, 2),
        "retrieval_p50_ms": round(pct(retrieval, 0.5), 1),
        "retrieval_p95_ms": round(pct(retrieval, 0.95), 1),
        "answer_p50_ms": round(pct(answer, 0.5), 1),
        "answer_p95_ms": round(pct(answer, 0.95), 1),
        "sync10_s": round(sync_s, 2),
        "sync10_embed_s": round(embed_s, 2),
        "sync10_store_s": round(sync_s - embed_s, 2),
        "sync10_chunks": report.chunks_embedded,
        "noop_sync_s": round(noop_s, 3),
        "rss_gb": round(rss_gb(), 2),
        "disk_gb": round(du_gb(index_dir), 2),
    }
    if server:
        del a
        row.update(measure_server(index_dir, questions))
    print(json.dumps(row), flush=True)
    return row


def measure_server(index_dir: Path, questions: list[Any]) -> dict[str, Any]:
    """The same retrieval with the vectors served by `chroma run` on the same data (server mode): its
    latencies and the server's own resident memory (the serving process's is measured above)."""
    import gc

    import httpx
    from chromadb.api.client import SharedSystemClient

    from assistant.service import Assistant
    from assistant.settings import Settings

    gc.collect()
    SharedSystemClient.clear_system_cache()  # this process lets go of the embedded store
    port = free_port()
    exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
    proc = subprocess.Popen(
        [exe, "run", "--path", str(index_dir / "chroma"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        settings = Settings(index_dir=index_dir, corpus_dirs=[])
        settings.llm.backend = "extractive"
        settings.store.mode = "server"
        settings.store.port = port
        a = Assistant.from_settings(settings, with_llm=False)
        a.index.embedder.embed_query("warm up")
        t = time.perf_counter()
        a.search.search(questions[0].question, today=questions[0].date)
        first_s = time.perf_counter() - t
        retrieval = []
        for q in questions:
            t = time.perf_counter()
            a.search.search(q.question, k=settings.retrieval.rerank_candidates, today=q.date)
            retrieval.append((time.perf_counter() - t) * 1000)
        return {
            "server_first_query_s": round(first_s, 2),
            "server_retrieval_p50_ms": round(pct(retrieval, 0.5), 1),
            "server_retrieval_p95_ms": round(pct(retrieval, 0.95), 1),
            "server_rss_gb": round(rss_gb(proc.pid), 2),
        }
    finally:
        proc.terminate()
        proc.wait(60)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def plot(rows: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [r["chunks"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    ax = axes[0]
    for key, label in (
        ("retrieval_p50_ms", "retrieval p50"),
        ("retrieval_p95_ms", "retrieval p95"),
        ("answer_p50_ms", "+ extractive answer p50"),
    ):
        ax.plot(xs, [r[key] for r in rows], marker="o", label=label)
    if all("server_retrieval_p50_ms" in r for r in rows):
        ax.plot(
            xs, [r["server_retrieval_p50_ms"] for r in rows], marker="o", label="retrieval p50, server mode"
        )
    ax.axhline(TARGETS["retrieval_p50_ms"], color="grey", ls="--", lw=1, label="target p50 at 1M")
    ax.set(xscale="log", xlabel="chunks", ylabel="ms", title="question latency")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.plot(xs, [r["sync10_store_s"] for r in rows], marker="o", label="sync 10 articles (store part)")
    ax.plot(xs, [r["noop_sync_s"] for r in rows], marker="o", label="no-op sync")
    ax.set(xscale="log", xlabel="chunks", ylabel="s", title="sync")
    ax.legend(fontsize=8)
    ax = axes[2]
    ax.plot(xs, [r["rss_gb"] for r in rows], marker="o", label="serving memory (RSS)")
    ax.plot(xs, [r["disk_gb"] for r in rows], marker="o", label="index on disk")
    ax.set(xscale="log", xlabel="chunks", ylabel="GB", title="memory and disk")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def table(rows: list[dict[str, Any]]) -> str:
    cols = [
        "chunks",
        "articles",
        "build_s",
        "retrieval_p50_ms",
        "retrieval_p95_ms",
        "answer_p50_ms",
        "answer_p95_ms",
        "sync10_s",
        "sync10_embed_s",
        "sync10_store_s",
        "noop_sync_s",
        "rss_gb",
        "disk_gb",
    ]
    cols += [c for c in SERVER_COLS if any(c in r for r in rows)]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append(
            "| "
            + " | ".join(
                "-" if r.get(c) is None else f"{r[c]:,}" if isinstance(r[c], int) else str(r[c]) for c in cols
            )
            + " |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", type=Path, default=REPO.parent / "shared" / "eval" / "realtimeqa-dev")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--source-index", type=Path, default=REPO / "index" / "bench-dev")
    ap.add_argument("--work", type=Path, default=Path("/tmp/scale-bench"))
    ap.add_argument("--questions", type=int, default=60)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "scale")
    ap.add_argument("--keep", action="store_true", help="keep the filled indexes")
    ap.add_argument("--reuse", action="store_true", help="measure indexes kept by an earlier --keep run")
    ap.add_argument("--server", action="store_true", help="also measure retrieval in server mode")
    ap.add_argument(
        "--also", type=Path, nargs="*", default=[], help="rows of earlier runs (their JSON) to show too"
    )
    args = ap.parse_args()
    from assistant.evaluate.split import load_split

    questions = load_split(args.split)[1][: args.questions]
    src = source_chunks(args.split, args.source_index)
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for size in args.sizes:
        rows.append(measure(size, src, questions, args.work, args.reuse, args.server))
        if not args.keep:
            shutil.rmtree(args.work / f"idx-{size}", ignore_errors=True)
    for earlier in args.also:
        rows += json.loads(earlier.read_text())
    rows.sort(key=lambda r: r["chunks"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    plot(rows, args.out.with_suffix(".png"))
    print(table(rows))
    print(f"targets at 1M: {TARGETS}; plot: {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
