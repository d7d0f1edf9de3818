"""`python tests/crash_runner.py POINT N assistant-args...`: runs the `assistant` command with a sync
that SIGKILLs its own process the N-th time it reaches POINT (one of assistant.store.FAULT_POINTS). The
hook comes from the test, not from a product setting."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import assistant.service  # noqa: E402
from assistant.cli import run  # noqa: E402
from assistant.store import FAULT_POINTS, Index  # noqa: E402


def main() -> None:
    point, count, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    if point not in FAULT_POINTS:
        raise SystemExit(f"unknown point {point!r} (one of {FAULT_POINTS})")
    left = [count]

    def reached(p: str) -> None:
        if p == point:
            left[0] -= 1
            if left[0] <= 0:
                os.kill(os.getpid(), signal.SIGKILL)

    def index_with_hook(*args, **kwargs):  # type: ignore[no-untyped-def]
        return Index(*args, **kwargs, fault=reached)

    # the composition root builds the index: it gets the hook passed in, no class attribute is set
    assistant.service.Index = index_with_hook  # type: ignore[misc]
    sys.argv = ["assistant", *args]
    run()


if __name__ == "__main__":
    main()
