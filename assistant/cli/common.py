"""What every command shares: settings with one-line errors, the composition root, progress bars."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from assistant.settings import Settings

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


Backend = Annotated[
    str | None,
    typer.Option(
        "--backend",
        help="extractive | llamacpp | ollama | openai (default: $ASSISTANT_LLM__BACKEND or auto).",
    ),
]
Today = Annotated[
    str | None,
    typer.Option("--date", help="Today's date for the question, YYYY-MM-DD (default: the real date)."),
]


def make_settings(index_dir: Path | None = None, backend: str | None = None) -> Settings:
    from assistant.settings import Backend as BackendName
    from assistant.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as e:
        fail(str(e))
    if index_dir is not None:
        settings.index_dir = index_dir
    if backend is not None:
        if backend not in tuple(BackendName):
            fail(f"unknown backend {backend!r} ({', '.join(b.value for b in BackendName)})")
        settings.llm.backend = BackendName(backend)
    return settings


def parse_days_list(value: str) -> tuple[int, ...]:
    """ "60,365" → (60, 365): whole numbers of days, 0 to 36,500, one line naming a bad one."""
    out = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        if not part.isdecimal() or not 0 <= int(part) <= 36_500:
            fail(f"--asked-later: {part[:40]!r} is not a number of days (0 to 36500), e.g. 60,365")
        out.append(int(part))
    return tuple(dict.fromkeys(out))


def parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{value!r} is not a date in the form YYYY-MM-DD")


def build(settings: Settings, with_llm: bool = False):  # type: ignore[no-untyped-def]
    """The composition root, with configuration problems turned into one-line errors."""
    from assistant.damage import StoreUnavailable
    from assistant.providers import ConfigError, MissingExtra
    from assistant.service import Assistant
    from assistant.store import IndexError_

    try:
        return Assistant.from_settings(settings, with_llm=with_llm)
    except (ConfigError, MissingExtra, IndexError_, StoreUnavailable) as e:
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
        last = [0.0]

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)
            # Without a terminal (logs, CI) a line now and then instead of a bar.
            if not console.is_terminal and total and (done == total or time.monotonic() - last[0] > 30):
                last[0] = time.monotonic()
                err(f"{label}: {done}/{total}")

        yield update
