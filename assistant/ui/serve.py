"""`python app.py` / `assistant serve`: settings, the binding rule, the start-up sync, then the page."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from pathlib import Path

from assistant.service import Assistant
from assistant.settings import Settings
from assistant.ui.page import ChatApp


def main(argv: list[str] | None = None) -> None:
    from assistant.providers import offline_env

    offline_env()
    ap = argparse.ArgumentParser(description="Serve the news-assistant chat page.")
    ap.add_argument("--port", type=int, help="port (default $ASSISTANT_UI__PORT or 7860)")
    ap.add_argument("--host", help="host (default $ASSISTANT_UI__HOST or 127.0.0.1)")
    ap.add_argument("--index-dir", type=Path, help="index folder (default $ASSISTANT_INDEX_DIR or index/)")
    ap.add_argument(
        "--public",
        action="store_true",
        help="allow serving on a non-loopback address without a login ($ASSISTANT_UI__ALLOW_PUBLIC)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "chromadb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from assistant.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    if args.port:
        settings.ui.port = args.port
    if args.host:
        settings.ui.host = args.host
    if args.index_dir:
        settings.index_dir = args.index_dir
    if args.public:
        settings.ui.allow_public = True
    serve(settings)


def startup_sync(app: ChatApp) -> None:
    """The start-up sync (and repair); never raises: a failed one is shown, and the page serves the index."""
    t0 = time.perf_counter()
    line = app.adding.sync_all()
    print(f"{line} ({time.perf_counter() - t0:.1f} s to sync)", file=sys.stderr)


def serve(settings: Settings) -> None:
    from assistant.damage import StoreUnavailable
    from assistant.providers import ConfigError, MissingExtra
    from assistant.store import IndexError_
    from assistant.ui.guard import binding_problem

    ui = settings.ui
    message, fatal = binding_problem(ui.host, bool(ui.username and ui.password), ui.allow_public)
    if message:
        print(message, file=sys.stderr)
    if fatal:
        raise SystemExit(2)
    try:
        assistant = Assistant.from_settings(settings)
    except (ConfigError, MissingExtra, IndexError_, StoreUnavailable) as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    from assistant.background import Background
    from assistant.updates import Updater

    updater = Updater(assistant)
    background = Background(updater)
    app = ChatApp(assistant, updater, background)
    assistant.index.embedder.embed_query("warm up")  # load the embedding model before the first question
    for problem in assistant.index.problems():
        print(f"found: {problem}", file=sys.stderr)
    if updater.cluster:  # the workers sync; this page answers and queues what it is given
        print(f"cluster mode: {assistant.index.where()}; uploads are queued for the workers", file=sys.stderr)
    elif assistant.index.opened.sound:
        startup_sync(app)
    else:  # a repair may take long (re-embedding): the page serves what is sound meanwhile
        threading.Thread(target=startup_sync, args=(app,), name="startup-repair", daemon=True).start()
    print(f"answerer: {assistant.backend_label}", file=sys.stderr)
    if not updater.cluster:
        background.start()  # the folder watcher and the feed poller (which polls at once, then every interval)
    try:
        app.launch()
    finally:
        background.stop()
