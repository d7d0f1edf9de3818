"""The cluster mode's commands: `assistant worker` (an ingest worker: jobs from PostgreSQL) and
`assistant enqueue` (article files kept in PostgreSQL and queued for the workers)."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.common import JsonOut, build, err, fail, make_settings


def worker(
    once: Annotated[bool, typer.Option("--once", help="Do the queued jobs, then exit.")] = False,
    poll: Annotated[
        float, typer.Option("--poll", help="Seconds between looks at an empty queue.", min=0.1)
    ] = 1.0,
    name: Annotated[
        str, typer.Option("--name", help="This worker's name in the jobs (default host:pid).")
    ] = "",
) -> None:
    """An ingest worker (cluster mode): takes sync jobs from PostgreSQL until stopped (Ctrl-C, SIGTERM).

    Run any number, on any machines with the same settings."""
    from assistant.damage import StoreUnavailable
    from assistant.providers import ConfigError
    from assistant.worker import Worker

    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    for noisy in ("httpx", "chromadb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("psycopg").setLevel(logging.ERROR)  # a lost connection is said once, by the worker
    assistant = build(make_settings())
    try:
        w = Worker(assistant, name, say=err)
    except ConfigError as e:
        fail(str(e))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    err(f"worker {w.name}: taking jobs from {assistant.index.where()}")
    try:
        done = w.run(stop, once=once, poll_s=poll)
    except StoreUnavailable as e:
        fail(str(e))
    err(f"worker {w.name}: {done} jobs done")


def enqueue(
    paths: Annotated[list[Path], typer.Argument(help="Article files or folders to keep and queue.")],
    wait: Annotated[
        float, typer.Option("--wait", help="Seconds to wait for a worker to index them (0: do not wait).")
    ] = 0.0,
    as_json: JsonOut = False,
) -> None:
    """Keep article files in PostgreSQL and queue them for the ingest workers (cluster mode)."""
    from assistant.corpus.files import ArticleError, iter_files, read_text
    from assistant.enqueue import enqueue_documents, job_line, queue_of
    from assistant.providers import ConfigError

    settings = make_settings()
    docs: dict[str, str] = {}
    problems: list[str] = []
    for given in paths:
        if not given.exists():
            problems.append(f"{given}: no such file or folder")
            continue
        files = [given] if given.is_file() else sorted(iter_files(given))
        for f in files:
            name = f.name if f == given else f"{given.name}/{f.relative_to(given)}"
            if name in docs:
                problems.append(f"{f}: another file given is also named {name}; queue one of the two")
                continue
            try:
                docs[name] = read_text(f, settings.max_file_bytes)
            except ArticleError as e:
                problems.append(f"{name}: {e}")
    for p in problems:
        err(f"failed: {p}")
    if not docs:
        fail("nothing to queue")
    assistant = build(settings)
    try:
        queue = queue_of(assistant)
    except ConfigError as e:
        fail(str(e))
    job = enqueue_documents(assistant, docs)
    state = queue.wait(job, wait) if wait > 0 else queue.state(job)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "job": job,
                    "documents": len(docs),
                    "state": state.state if state else "gone",
                    "result": state.result if state else None,
                    "failed": problems,
                }
            )
        )
    else:
        typer.echo(f"{len(docs)} documents kept; {job_line(state)}")
    raise typer.Exit(1 if problems or (state and state.state == "failed") else 0)


def db_server(
    path: Annotated[
        str | None,
        typer.Option("--path", help="Where PostgreSQL keeps its data (default: <index dir>/postgres)."),
    ] = None,
    port: Annotated[int, typer.Option("--port", help="Its port on 127.0.0.1.", min=1, max=65535)] = 5433,
) -> None:
    """Start a PostgreSQL of one's own on 127.0.0.1 for trying cluster mode (Debian's package; nothing to
    do if it runs). Prints the ASSISTANT_STORE__DATABASE_URL to use."""
    from assistant.store.postgres.local import LocalPostgres, LocalPostgresError

    if path is not None and not path.strip():
        fail("--path is empty: give the folder where PostgreSQL keeps its data")
    settings = make_settings()
    folder = Path(path) if path is not None else Path(settings.index_dir) / "postgres"
    if folder.exists() and not folder.is_dir():
        fail(f"{folder} is a file, not a folder")
    pg = LocalPostgres(folder.resolve(), port)
    try:
        pg.init()
        if pg.running():
            err(f"PostgreSQL already runs on 127.0.0.1:{port} (data in {pg.data})")
        else:
            pg.start()
            err(f"PostgreSQL on 127.0.0.1:{port} (data in {pg.data}, log {pg.root / 'server.log'})")
    except (LocalPostgresError, OSError) as e:
        fail(str(e))
    typer.echo(pg.url)
