"""Index benchmark: prints figures, asserts nothing.

In one run, on the same chunks:
  1. raw ``model.encode`` throughput (chunks/s) — the baseline;
  2. end-to-end ``sync`` throughput (load, chunk, embed, store in Chroma, lexical index) — target ≥ 0.85× raw;
  3. a no-op re-sync of the whole dev corpus (917 articles) — target < 2 s and 0 chunks embedded.

    .venv/bin/python bench/index_bench.py [--split ../shared/eval/realtimeqa-dev] [--sample 40]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from assistant.corpus import load_paths  # noqa: E402
from assistant.providers import make_chroma_client, make_embedder  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.store import Index, texts_to_embed  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", type=Path, default=REPO.parent / "shared" / "eval" / "realtimeqa-dev")
    ap.add_argument("--sample", type=int, default=40, help="articles for the throughput comparison")
    ap.add_argument(
        "--index-dir",
        type=Path,
        default=REPO / "index" / "bench-dev",
        help="index of the whole corpus (reused)",
    )
    args = ap.parse_args()
    articles_file = args.split / "articles.jsonl"
    settings = Settings()
    embedder = make_embedder(settings)
    embedder.encode(["warm up the model"] * 8)

    lines = articles_file.read_text(encoding="utf-8").splitlines()[: args.sample]
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "sample.jsonl"
        sample.write_text("\n".join(lines) + "\n", encoding="utf-8")
        arts = [a for _, a in load_paths([sample], settings.max_file_bytes).articles]
        texts = texts_to_embed(arts, settings.chunks)

        t = time.perf_counter()
        embedder.encode(texts)
        raw_s = time.perf_counter() - t
        raw = len(texts) / raw_s

        s2 = Settings(index_dir=Path(tmp) / "index")
        index = Index(s2, embedder, make_chroma_client(s2))
        report = index.sync([sample])
        e2e = report.chunks_embedded / report.seconds
    print(f"chunks in sample:          {len(texts)} ({len(arts)} articles)")
    print(f"raw model.encode:          {raw:7.1f} chunks/s ({raw_s:.1f} s)")
    print(
        f"end-to-end sync:           {e2e:7.1f} chunks/s ({report.seconds:.1f} s, {report.chunks_embedded} chunks)"
    )
    print(f"ratio sync/raw:            {e2e / raw:7.2f}   (target >= 0.85)")

    # the whole corpus: build once (reused across runs), then time a no-op re-sync
    s3 = Settings(index_dir=args.index_dir)
    index = Index(s3, embedder, make_chroma_client(s3))
    first = index.sync([articles_file])
    if first.chunks_embedded:
        print(f"built the dev index:       {first.summary()}")
    noop = index.sync([articles_file])
    print(
        f"no-op re-sync (in process): {noop.seconds:6.2f} s, {noop.chunks_embedded} chunks embedded, "
        f"{noop.unchanged} unchanged   (target < 2 s, 0 embedded)"
    )
    t = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "index",
            str(articles_file),
            "--index-dir",
            str(args.index_dir),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    wall = time.perf_counter() - t
    cli = json.loads(out.stdout)
    print(
        f"no-op re-sync (CLI):        {cli['seconds']:6.2f} s inside, {wall:.2f} s wall with start-up, "
        f"{cli['chunks_embedded']} chunks embedded"
    )


if __name__ == "__main__":
    main()
