"""Freshness benchmark: how soon a story published in a followed feed can be asked about, and what a
poll of unchanged feeds costs. Prints figures; traffic goes to loopback only.

1. Freshness. A feed is served on 127.0.0.1 (tests/feedsite.py) and followed by the real app
   (subprocess, extractive answerer, feeds.interval_minutes = --interval). Once the app has read the
   feed, a new entry is published; a question about it is asked through /chat every --every seconds
   until an answer cites the new article. Figure: seconds from publication to that answer, beside the
   target interval + 60 s (the ratio is latency / target).
2. No-op poll. 20 feeds (--feeds), each with --entries entries, are polled and synced once in-process
   (the baseline: everything fetched and embedded), then polled again unchanged. Figures: seconds,
   pages fetched, chunks embedded, for the feeds on 20 different hosts (127.0.0.1 … 127.0.0.20) and on
   one host (where the per-host delay spaces the requests).

    .venv/bin/python bench/freshness_bench.py [--interval 1] [--feeds 20] [--entries 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.feedsite import Entry, FeedSite  # noqa: E402
from tests.serverutil import free_port, start_app, stop_app  # noqa: E402

WORDS = [
    "council",
    "harbour",
    "railway",
    "budget",
    "festival",
    "museum",
    "election",
    "hospital",
    "bridge",
    "school",
    "river",
    "market",
    "airport",
    "factory",
    "library",
    "stadium",
    "orchestra",
    "vineyard",
    "lighthouse",
    "observatory",
]


def story(i: int, topic: str) -> tuple[str, list[str]]:
    """An invented article about one topic: a title and three distinct paragraphs."""
    place = f"Northam{i}"
    return f"{topic.title()} plan for {place}", [
        f"The {topic} project in {place} was approved on Tuesday after a vote of {12 + i} to {3 + i % 5} by the board.",
        f"Work on the {topic} starts in {['May', 'June', 'July'][i % 3]} and should take {14 + i % 9} months, officials said.",
        f"Residents of {place} had asked for the {topic} for years; a petition gathered {900 + 37 * i} signatures last autumn.",
    ]


def freshness(interval: float, every: float) -> dict[str, float | int | str]:
    from gradio_client import Client

    from assistant.corpus.feeds.registry import FeedRegistry

    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as tmp, FeedSite() as site:
        root = Path(tmp)
        (root / "corpus").mkdir()
        title, paras = story(1, "harbour")
        site.set_page("/old", title, paras)
        site.set_feed("/feed.xml", [Entry(title, "/old", now - timedelta(hours=3))])
        FeedRegistry(root / "index").add(site.url("/feed.xml"), "Bench Gazette", True)
        env = {
            "ASSISTANT_INDEX_DIR": str(root / "index"),
            "ASSISTANT_CORPUS_DIRS": json.dumps([str(root / "corpus")]),
            "ASSISTANT_UPLOAD_DIR": str(root / "uploads"),
            "ASSISTANT_LLM__BACKEND": "extractive",
            "ASSISTANT_FETCH__ALLOW": json.dumps(["127.0.0.0/8"]),
            "ASSISTANT_FEEDS__INTERVAL_MINUTES": str(interval),
            "ASSISTANT_UI__CHAT_PER_MINUTE": "1000",
        }
        port = free_port()
        proc, url = start_app(env, port, root / "app.log")
        try:
            deadline = time.time() + 120
            while site.hits("/old") == 0 and time.time() < deadline:  # the app's first poll
                time.sleep(0.5)
            time.sleep(2)
            client = Client(url, verbose=False)
            new_title, new_paras = story(2, "observatory")
            published = time.time()
            site.set_page("/new", new_title, new_paras)
            site.set_feed(
                "/feed.xml", [Entry(new_title, "/new", now), Entry(title, "/old", now - timedelta(hours=3))]
            )
            question = "How many signatures did the petition for the observatory in Northam2 gather?"
            asked = 0
            latency = None
            while time.time() - published < interval * 60 + 180:
                asked += 1
                _, _, answer, _, _ = client.predict(question, [], api_name="/chat")
                cited = [c.get("url") for c in (answer or {}).get("citations", [])]
                if not answer.get("refused") and site.url("/new") in cited:
                    latency = time.time() - published
                    break
                time.sleep(every)
        finally:
            stop_app(proc)
        target = interval * 60 + 60
        return {
            "interval_s": interval * 60,
            "target_s": target,
            "latency_s": round(latency, 1) if latency is not None else "never",
            "ratio_to_target": round(latency / target, 3) if latency is not None else "n/a",
            "questions_asked": asked,
        }


def noop(n_feeds: int, entries: int, one_host: bool) -> dict[str, float | int | bool]:
    from assistant.service import Assistant
    from assistant.settings import FetchSettings, Settings
    from assistant.updates import Updater

    now = datetime.now(UTC).replace(microsecond=0)
    hosts = ["127.0.0.1"] * n_feeds if one_host else [f"127.0.0.{i + 1}" for i in range(n_feeds)]
    sites = [FeedSite(h) for h in hosts]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "corpus").mkdir()
            settings = Settings(
                index_dir=root / "index",
                corpus_dirs=[root / "corpus"],
                upload_dir=root / "uploads",
                fetch=FetchSettings(allow=["127.0.0.0/8"]),
                watch=False,
            )
            settings.llm.backend = "extractive"
            updater = Updater(Assistant.from_settings(settings, with_llm=False))
            for f, site in enumerate(sites):
                items = []
                for e in range(entries):
                    i = f * entries + e
                    title, paras = story(i, WORDS[i % len(WORDS)])
                    site.set_page(f"/a{i}", title, paras)
                    items.append(Entry(title, f"/a{i}", now - timedelta(hours=i)))
                site.set_feed(f"/feed{f}.xml", items)
                updater.poller.registry.add(site.url(f"/feed{f}.xml"), f"Feed {f}", True)
            t = time.perf_counter()
            full = updater.sync_feeds()
            full_s = time.perf_counter() - t
            pages_before = sum(s.hits(p) for s in sites for p in {r.path for r in s.requests})
            t = time.perf_counter()
            again = updater.sync_feeds()
            noop_s = time.perf_counter() - t
            requests = sum(len(s.requests) for s in sites) - pages_before
            return {
                "feeds": n_feeds,
                "one_host": one_host,
                "first_poll_s": round(full_s, 2),
                "first_poll_pages": full.poll.pages_fetched,
                "first_poll_chunks": full.index.chunks_embedded if full.index else 0,
                "noop_poll_s": round(noop_s, 3),
                "noop_requests": requests,
                "noop_not_modified": sum(f.not_modified for f in again.poll.feeds),
                "noop_pages_fetched": again.poll.pages_fetched,
                "noop_chunks_embedded": again.index.chunks_embedded if again.index else 0,
                "noop_ratio_to_first": round(noop_s / full_s, 4),
            }
    finally:
        for s in sites:
            s.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--interval", type=float, default=1.0, help="the app's poll interval, minutes")
    ap.add_argument("--every", type=float, default=3.0, help="seconds between two questions")
    ap.add_argument("--feeds", type=int, default=20)
    ap.add_argument("--entries", type=int, default=5)
    ap.add_argument("--skip-freshness", action="store_true")
    args = ap.parse_args()
    import os

    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
    out: dict[str, object] = {}
    out["noop_many_hosts"] = noop(args.feeds, args.entries, one_host=False)
    print(json.dumps(out["noop_many_hosts"]), flush=True)
    out["noop_one_host"] = noop(args.feeds, args.entries, one_host=True)
    print(json.dumps(out["noop_one_host"]), flush=True)
    if not args.skip_freshness:
        out["freshness"] = freshness(args.interval, args.every)
        print(json.dumps(out["freshness"]), flush=True)


if __name__ == "__main__":
    main()
