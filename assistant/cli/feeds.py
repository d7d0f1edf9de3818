"""`assistant feeds add | list | remove | sync` and `assistant watch`: articles that arrive by themselves."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.common import IndexDir, JsonOut, build, err, fail, make_settings, progress_bar

log = logging.getLogger(__name__)

feeds_app = typer.Typer(
    help="Follow RSS and Atom feeds: their new articles are fetched, written under the upload folder and indexed.",
    no_args_is_help=True,
)


@contextmanager
def _feed_list_problems() -> Iterator[None]:
    """A damaged or busy feed list, an unreachable database or an ambiguous name: one line, not a
    traceback."""
    from assistant.corpus.feeds.registry import AmbiguousName
    from assistant.damage import StoreUnavailable
    from assistant.store.postgres.jobs import JobFailed

    try:
        yield
    except sqlite3.Error as e:
        fail(f"the feed list (feeds.sqlite3 in the index folder) cannot be used: {e}")
    except (AmbiguousName, StoreUnavailable, JobFailed) as e:
        fail(str(e))
    except Exception as e:
        if not type(e).__module__.startswith("psycopg"):
            raise
        fail(f"the feed list in PostgreSQL refused this: {' '.join(str(e).split())[:300]}")


def _cluster(index_dir: Path | None) -> bool:
    from assistant.settings import StoreMode

    return make_settings(index_dir).store.mode == StoreMode.CLUSTER


def _poller(index_dir: Path | None):  # type: ignore[no-untyped-def]
    """The feed list alone (no models loaded, no vectors opened) for add, list and remove: the file
    under the index folder, or in cluster mode the tables in PostgreSQL."""
    from assistant.corpus.feeds.poll import FeedPoller
    from assistant.corpus.feeds.registry import FeedRegistry
    from assistant.settings import StoreMode

    settings = make_settings(index_dir)
    if settings.store.mode == StoreMode.CLUSTER:  # PostgreSQL alone: works while Chroma is down
        from assistant.providers import MissingExtra
        from assistant.store.postgres.database import Database
        from assistant.store.postgres.feeds import cluster_poller

        with _feed_list_problems():
            try:
                return cluster_poller(
                    settings, Database(settings.store.database_url, settings.store.pool_size)
                )
            except MissingExtra as e:
                fail(str(e))
    try:
        return FeedPoller(FeedRegistry(Path(settings.index_dir)), settings)
    except Exception as e:  # noqa: BLE001 - an unreadable feed list is one line, not a traceback
        fail(f"cannot open the feed list under {settings.index_dir}: {type(e).__name__}: {e}")


def _updater(index_dir: Path | None):  # type: ignore[no-untyped-def]
    from assistant.updates import Updater

    return Updater(build(make_settings(index_dir)))


@feeds_app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="The feed's address (RSS 2.0, RSS 1.0 or Atom).")],
    name: Annotated[str, typer.Option("--name", help="A name for it (default: the feed's own title).")] = "",
    index_dir: IndexDir = None,
    as_json: JsonOut = False,
) -> None:
    """Follow a feed (it is fetched once to check that it is one). `feeds sync` or the app reads it."""
    from assistant.corpus.feeds.parse import FeedError
    from assistant.corpus.fetch import FetchError

    poller = _poller(index_dir)
    try:
        with _feed_list_problems():
            feed, parsed, added = poller.add(url, name)
    except (FetchError, FeedError) as e:
        fail(str(e))
    if as_json:
        typer.echo(json.dumps({**feed.to_dict(), "entries": len(parsed.entries), "added": added}))
        return
    what = "Following" if added else "Already following"
    typer.echo(f"{what} “{feed.name}” ({feed.url}): {len(parsed.entries)} entries now.")
    if parsed.warning:
        err(f"warning: {parsed.warning}")


@feeds_app.command("list")
def list_(index_dir: IndexDir = None, as_json: JsonOut = False) -> None:
    """The followed feeds with their last poll and its result."""
    with _feed_list_problems():
        feeds = _poller(index_dir).registry.feeds()
    if as_json:
        typer.echo(json.dumps([f.to_dict() for f in feeds], ensure_ascii=False))
        return
    if not feeds:
        typer.echo("No feeds followed. Add one with `assistant feeds add URL`.")
    for f in feeds:
        polled = f.polled_at or "never polled"
        typer.echo(f"{f.name}\n  {f.url}\n  last poll: {polled}{' · ' + f.result if f.result else ''}")


@feeds_app.command("remove")
def remove(
    feed: Annotated[str, typer.Argument(help="The feed's address or name.")],
    purge: Annotated[
        bool,
        typer.Option("--purge", help="Also remove the articles only this feed gave (and sync the index)."),
    ] = False,
    index_dir: IndexDir = None,
) -> None:
    """Stop following a feed. Its articles stay (news archives keep old items) unless --purge."""
    # a purge in cluster mode: the removal of its articles is queued for the workers, and waited for
    updater = _updater(index_dir) if purge and _cluster(index_dir) else None
    poller = updater.poller if updater is not None else _poller(index_dir)
    with _feed_list_problems():
        found = poller.registry.feed(feed.strip())
        if found is None:
            fail(
                f"no followed feed has the address or name {feed.strip()[:200]!r} (see `assistant feeds list`)"
            )
        if updater is not None:
            n, index, pending = updater.remove_feed(found, purge)
        else:
            n, index, pending = poller.remove(found, purge), None, ""
    typer.echo(f"Stopped following “{found.name}”." + (f" Removed {n} of its articles." if purge else ""))
    if n and updater is None:
        index = _updater(index_dir).sync()
    if pending or index is not None:
        typer.echo(f"index: {pending or index.summary()}")  # type: ignore[union-attr]
    raise typer.Exit(3 if pending else 0)


@feeds_app.command("sync")
def sync(
    feeds: Annotated[
        list[str] | None, typer.Argument(help="Only these feeds (addresses or names; default: all).")
    ] = None,
    index_dir: IndexDir = None,
    as_json: JsonOut = False,
) -> None:
    """Fetch the feeds' new and changed entries and sync them into the index, in one step.

    Exits 1 when a feed or an entry failed (the others are still read), 2 on a configuration error. In
    cluster mode the poll is queued for a worker and waited for (ASSISTANT_UI__JOB_WAIT_S); exits 3 when
    it or its indexing is still queued then."""
    from assistant.store import IndexError_
    from assistant.store.postgres.jobs import JobFailed

    updater = _updater(index_dir)
    only = None
    if feeds:
        only = []
        for name in feeds:
            with _feed_list_problems():
                found = updater.poller.registry.feed(name.strip())
            if found is None:
                fail(f"no followed feed has the address or name {name.strip()[:200]!r}")
            only.append(found)
    try:
        with progress_bar("embedding") as update, _feed_list_problems():
            result = updater.sync_feeds(only, progress=update)
    except (IndexError_, JobFailed) as e:
        fail(str(e))
    problems = [f for f in result.poll.feeds if f.error or f.failed]
    index_failed = bool(result.index and result.index.failed)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        for f in result.poll.feeds:
            typer.echo(f"{f.name}: {f.line()}")
            for line in f.failed:
                err(f"  failed: {line}")
        if result.index is not None:
            for failure in result.index.failed:
                err(f"failed: {failure.path}: {failure.error}")
        typer.echo(result.summary())
    raise typer.Exit(1 if problems or index_failed else 3 if result.pending else 0)


def watch(
    folders: Annotated[
        list[str] | None,
        typer.Argument(help="Folders to watch (default: the corpus folders and the upload folder)."),
    ] = None,
    index_dir: IndexDir = None,
) -> None:
    """Sync once, then watch folders and sync what changes (Ctrl-C stops). One line per sync."""
    from assistant.watch import FolderWatcher

    if folders and any(not f.strip() for f in folders):
        fail("an empty folder name was given")
    updater = _updater(index_dir)
    roots = [Path(f) for f in folders] if folders else updater.folders()
    for root in roots:
        if root.exists() and not root.is_dir():
            fail(f"{root} is not a folder")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            fail(f"{root}: cannot be created ({e.strerror or type(e).__name__})")

    def synced(changed: list[Path]) -> None:
        report = updater.sync(changed)
        stamp = datetime.now().isoformat(timespec="seconds")
        typer.echo(f"{stamp} synced {', '.join(str(r) for r in changed)}: {report.summary()}")
        for f in report.failed:
            err(f"  failed: {f.path}: {f.error}")

    synced(roots)
    watcher = FolderWatcher(roots, synced)
    stop = threading.Event()
    err(f"watching {', '.join(str(r) for r in roots)} (Ctrl-C stops)")
    try:
        watcher.run(stop)
    except KeyboardInterrupt:
        stop.set()
