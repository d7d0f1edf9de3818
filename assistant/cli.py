"""Command line: `assistant index | stats | ask | chat | eval | serve`.

Answers and JSON go to stdout; progress and diagnostics to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from assistant.settings import Settings

app = typer.Typer(
    help="Grounded question answering over news articles, offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

IndexDir = Annotated[
    Path | None,
    typer.Option("--index-dir", help="Index folder (default: $ASSISTANT_INDEX_DIR or index/)."),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def err(msg: str) -> None:
    typer.echo(msg, err=True)


def fail(msg: str, code: int = 2) -> NoReturn:
    err(f"error: {msg}")
    raise typer.Exit(code)


def make_settings(index_dir: Path | None = None, **overrides: Any) -> Settings:
    settings = Settings()
    if index_dir is not None:
        settings.index_dir = index_dir
    for key, value in overrides.items():
        if value is not None:
            setattr(settings, key, value)
    return settings


def build(settings: Settings):  # type: ignore[no-untyped-def]
    """The composition root, with configuration problems turned into one-line errors."""
    from assistant.index import IndexError_
    from assistant.providers import ConfigError, MissingExtra
    from assistant.service import Assistant

    try:
        return Assistant.from_settings(settings)
    except (ConfigError, MissingExtra, IndexError_) as e:
        fail(str(e))


@contextmanager
def progress_bar(label: str) -> Iterator[Any]:
    """A rich progress bar on stderr; yields a callback(done, total)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details to stderr.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from assistant.providers import offline_env

    offline_env()


@app.command()
def index(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders of articles (default: seeds/).")
    ] = None,
    index_dir: IndexDir = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Drop the index and embed everything again.")
    ] = False,
    as_json: JsonOut = False,
) -> None:
    """Bring the index in step with article files: embed new or changed ones, drop vanished ones.

    Exits 1 when any file failed (the others are still indexed), 2 on a configuration error.
    """
    settings = make_settings(index_dir)
    assistant = build(settings)
    if rebuild:
        assistant.index.rebuild()
    with progress_bar("embedding") as update:
        report = assistant.sync(paths or None, progress=update)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        for f in report.failed:
            err(f"failed: {f.path}: {f.error}")
        typer.echo(report.summary())
    raise typer.Exit(1 if report.failed else 0)


@app.command()
def stats(index_dir: IndexDir = None, as_json: JsonOut = False) -> None:
    """Articles, chunks, embedding model and last sync of the index."""
    assistant = build(make_settings(index_dir))
    info = assistant.index.stats()
    if as_json:
        typer.echo(json.dumps(info))
    else:
        for k, v in info.items():
            typer.echo(f"{k:16} {v}")


def run() -> None:
    app()


if __name__ == "__main__":
    run()
