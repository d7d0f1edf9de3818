"""One holder at a time across processes (the index writer, the feed poller): an exclusive `flock` on
a file in the index folder. The kernel releases it when the holder exits, however it exits (a SIGKILLed
sync does not leave the index locked)."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WriterBusy(RuntimeError):
    pass


@contextmanager
def writer_lock(path: Path, timeout_s: float | None = None, poll_s: float = 0.2) -> Iterator[None]:
    """Holds the lock for the block; waits for another writer (for ever, or `timeout_s`, then WriterBusy)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and not path.is_symlink():  # a folder where the lock file belongs: kept aside
        from assistant.damage import move_aside

        move_aside(path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise WriterBusy(f"another process is writing the index ({path})") from None
                time.sleep(poll_s)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
