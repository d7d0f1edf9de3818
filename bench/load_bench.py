"""Load benchmark: 20 concurrent chats through gradio_client while a re-index runs. Prints figures.

Starts a real server (extractive answerer) on 127.0.0.1 over a corpus of dev articles, measures answer
latency with no re-index (baseline), then again while new articles are being embedded; reports errors
(target 0) and p50/p95 for both, and their ratio. Traffic goes to loopback only and stops by itself.

    .venv/bin/python bench/load_bench.py [--split ../shared/eval/realtimeqa-dev] [--chats 20]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.serverutil import free_port, start_app, stop_app  # noqa: E402


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p * (len(s) - 1))))] if s else 0.0


def run_chats(url: str, questions: list[str], n: int) -> tuple[list[float], list[str]]:
    from gradio_client import Client

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        q = questions[i % len(questions)]
        try:
            client = Client(url, verbose=False)
            t = time.perf_counter()
            _, _, answer, _, _ = client.predict(q, [], api_name="/chat")
            dt = time.perf_counter() - t
            if not isinstance(answer, dict) or "answer" not in answer:
                raise RuntimeError(f"no answer for {q!r}")
            with lock:
                latencies.append(dt * 1000)
        except Exception as e:  # noqa: BLE001 - every failure is counted
            with lock:
                errors.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    return latencies, errors


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", type=Path, default=REPO.parent / "shared" / "eval" / "realtimeqa-dev")
    ap.add_argument("--chats", type=int, default=20)
    ap.add_argument("--articles", type=int, default=150, help="articles indexed before the load")
    ap.add_argument("--new", type=int, default=60, help="articles added and embedded during the load")
    args = ap.parse_args()
    lines = (args.split / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [
        json.loads(line)["question"] for line in (args.split / "questions.jsonl").read_text().splitlines()
    ]

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        corpus = root / "corpus"
        corpus.mkdir()
        (corpus / "base.jsonl").write_text("\n".join(lines[: args.articles]) + "\n")
        env = {
            "ASSISTANT_INDEX_DIR": str(root / "index"),
            "ASSISTANT_CORPUS_DIRS": json.dumps([str(corpus)]),
            "ASSISTANT_UPLOAD_DIR": str(root / "uploads"),
            "ASSISTANT_LLM__BACKEND": "extractive",
        }
        proc, url = start_app(env, free_port(), root / "server.log", timeout=900)
        try:
            run_chats(url, questions, 4)  # warm up
            base_lat, base_err = run_chats(url, questions, args.chats)

            # new articles arrive; a re-index runs while the chats go on
            (corpus / "new.jsonl").write_text(
                "\n".join(lines[args.articles : args.articles + args.new]) + "\n"
            )
            from gradio_client import Client

            reindex_result: list[str] = []
            t_reindex = time.perf_counter()
            rt = threading.Thread(
                target=lambda: reindex_result.append(
                    Client(url, verbose=False).predict(api_name="/reindex")[0]
                )
            )
            rt.start()
            time.sleep(2)  # let the embedding get going
            load_lat, load_err = run_chats(url, questions[50:], args.chats)
            still_running = rt.is_alive()
            rt.join(timeout=900)
            reindex_s = time.perf_counter() - t_reindex
        finally:
            stop_app(proc)
            shutil.rmtree(root / "index", ignore_errors=True)

    print(f"{args.chats} concurrent chats, extractive answerer, {args.articles} articles indexed")
    print(
        f"baseline (no re-index):  errors {len(base_err)}, p50 {statistics.median(base_lat):.0f} ms, p95 {pct(base_lat, 0.95):.0f} ms"
    )
    print(
        f"during a re-index:       errors {len(load_err)}, p50 {statistics.median(load_lat):.0f} ms, p95 {pct(load_lat, 0.95):.0f} ms"
        f"   (re-index still running when the chats ended: {still_running})"
    )
    print(f"ratio p50 during/baseline: {statistics.median(load_lat) / statistics.median(base_lat):.2f}")
    print(
        f"re-index of {args.new} new articles took {reindex_s:.1f} s: {reindex_result[0] if reindex_result else 'no result'}"
    )
    for e in (base_err + load_err)[:5]:
        print("error:", e)


if __name__ == "__main__":
    main()
