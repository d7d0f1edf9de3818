"""What the app does with a store file it finds damaged: it moves it aside under a name that says so
(never deletes it), and says in one line which file, what was wrong and what it does about it."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any


class StoreUnavailable(RuntimeError):
    """A store file that is sound but cannot be used (a read-only folder, missing permission, a disk
    error): said in one line, never moved aside."""


@dataclass(frozen=True)
class Finding:
    """One damaged or missing store, and what was done about it."""

    store: str  # "article records", "vectors", "lexical index", "feed registry"
    path: str  # the file or folder
    problem: str  # "could not be opened (database disk image is malformed)"
    action: str  # "moved aside to …; rebuilt from the articles' records"

    def line(self) -> str:
        return f"{self.store} ({Path(self.path).name}): {self.problem}; {self.action}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def aside_name(path: Path, when: datetime | None = None) -> Path:
    """A free name beside ``path`` that says it is damaged and when it was found."""
    stamp = (when or datetime.now()).strftime("%Y%m%dT%H%M%S")
    dest = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 2
    while os.path.lexists(dest):
        dest = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
        n += 1
    return dest


def move_aside(path: Path, companions: tuple[str, ...] = ()) -> Path:
    """Moves ``path`` (and ``path + suffix`` for each companion suffix, e.g. SQLite's "-wal") to a
    ``.damaged-<time>`` name beside it; returns the new name of ``path``."""
    dest = aside_name(path)
    for suffix in companions:
        side = Path(f"{path}{suffix}")
        if os.path.lexists(side):
            os.replace(side, Path(f"{dest}{suffix}"))
    os.replace(path, dest)
    return dest


def fatal(e: BaseException) -> bool:
    """Whether an exception must end the process, not be taken for a damaged store (the stores' native
    bindings raise their panics as BaseException, which the healing code catches)."""
    return isinstance(e, (KeyboardInterrupt, SystemExit, MemoryError))


def reason(e: BaseException, limit: int = 160) -> str:
    """An exception as a short reason for a status line."""
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
