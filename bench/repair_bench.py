"""Repair benchmark: prints figures, asserts nothing.

On a 1,000-article index (the dev split's 917 articles and 83 of them again under other ids, with a
changed first line), in one run:
  1. a clean build (the baseline);
  2. the vectors folder deleted, then the page's start-up sync: the vectors re-embedded from the
     records (against the clean build: the same embedding work, so about 1.0×);
  3. the records file deleted: the records taken back from the vectors (nothing embedded);
  4. the lexical index deleted: rebuilt from the records (nothing embedded);
  5. `assistant check`'s deep check of the sound index.
Each ends with the counts compared to the clean build's.

    .venv/bin/python bench/repair_bench.py [--split ../shared/eval/realtimeqa-dev] [--articles 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from assistant.service import Assistant  # noqa: E402
from assistant.settings import LLMSettings, Settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def write_corpus(split: Path, n: int, folder: Path) -> None:
    rows = [json.loads(line) for line in (split / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    extra = [
        {**r, "id": f"{r['id']}-again", "url": f"{r['url']}#again", "text": f"Updated later.\n\n{r['text']}"}
        for r in rows[: max(0, n - len(rows))]
    ]
    folder.mkdir(parents=True)
    (folder / "articles.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in (rows + extra)[:n]), encoding="utf-8"
    )


def counts(a: Assistant) -> dict[str, int]:
    s = a.index.stores
    return {
        "articles": s.records.count(),
        "chunks": s.vectors.count(),
        "lexical": s.lexical.n_docs,
    }


def start_and_sync(settings: Settings) -> tuple[float, float, Assistant, str]:
    """(seconds to open, seconds for the start-up sync, the assistant, its sync summary)."""
    t = time.perf_counter()
    a = Assistant.from_settings(settings, with_llm=False)
    opened = time.perf_counter() - t
    t = time.perf_counter()
    report = a.sync()
    return opened, time.perf_counter() - t, a, report.summary()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", type=Path, default=REPO.parent / "shared" / "eval" / "realtimeqa-dev")
    ap.add_argument("--articles", type=int, default=1000)
    ap.add_argument("--only", default="", help="run only the damages whose name holds this word")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_corpus(args.split, args.articles, root / "corpus")
        settings = Settings(
            index_dir=root / "index",
            corpus_dirs=[root / "corpus"],
            upload_dir=root / "uploads",
            llm=LLMSettings(backend="extractive"),
        )
        _, build_s, a, summary = start_and_sync(settings)
        clean = counts(a)
        print(f"clean build: {build_s:.1f} s ({summary}); {clean}")
        t = time.perf_counter()
        health = a.index.check("deep")
        print(f"deep check of the sound index: {time.perf_counter() - t:.2f} s, sound={health.sound}")
        a.index.stores.records.close()
        shutil.copytree(root / "index", root / "clean")

        damages = {
            "vectors folder deleted": lambda i: shutil.rmtree(i / "chroma"),
            "records file deleted": lambda i: (i / "records-news.sqlite3").unlink(),
            "lexical index deleted": lambda i: shutil.rmtree(next(i.glob("lexical-*"))),
        }
        for n, (name, damage) in enumerate(damages.items()):
            if args.only not in name:
                continue
            # a fresh path for each: Chroma keeps one system per path in a process
            case = settings.model_copy(update={"index_dir": root / f"case{n}"})
            shutil.copytree(root / "clean", case.index_dir)
            damage(case.index_dir)
            opened_s, repair_s, a, summary = start_and_sync(case)
            got = counts(a)
            a.index.stores.records.close()
            print(
                f"{name}: open {opened_s:.2f} s, repair {repair_s:.1f} s = {repair_s / build_s:.2f}× the clean "
                f"build ({summary}); counts {'equal' if got == clean else 'DIFFER: ' + str(got)}"
            )


if __name__ == "__main__":
    main()
