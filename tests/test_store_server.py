"""`assistant store-server --path`: a folder that cannot hold the Chroma server's data is one line naming
it and the reason, a non-zero exit, and nothing written anywhere else."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port held (bound, not listening) for the test: nothing answers there, so the command does not
    stop at "a server already answers", and should a bad --path get past the checks, `chroma run` could
    not start a server on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


def store_server(cwd: Path, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("assistant")
    env = {**os.environ, "ASSISTANT_STORE__PORT": str(port), "ASSISTANT_INDEX_DIR": str(cwd / "index")}
    return subprocess.run(
        [str(exe), "store-server", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def one_error_line(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr and p.stdout == "", p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    return lines[0]


@pytest.mark.parametrize("path", ["", "   "])
def test_an_empty_path_is_refused_and_nothing_is_written_here(
    tmp_path: Path, taken_port: int, path: str
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    line = one_error_line(store_server(here, taken_port, "--path", path))
    assert "--path is empty" in line
    assert list(here.iterdir()) == []  # no chroma.sqlite3 in the current folder


def test_a_file_as_path_is_named(tmp_path: Path, taken_port: int) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("keep me")
    line = one_error_line(store_server(tmp_path, taken_port, "--path", str(file)))
    assert f"{file} is a file, not a folder" in line
    assert file.read_text() == "keep me"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda tmp: tmp / "notes.txt" / "data", "Not a directory"),  # under a file
        (lambda tmp: Path("/sys/news-assistant-test"), ""),  # a folder nobody may create, not even root
    ],
)
def test_a_folder_that_cannot_be_made_is_named_with_the_reason(
    tmp_path: Path, taken_port: int, make: object, reason: str
) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    folder = make(tmp_path)  # type: ignore[operator]
    line = one_error_line(store_server(tmp_path, taken_port, "--path", str(folder)))
    assert f"cannot create the folder {folder}" in line and line.count(": ") >= 2 and reason in line
    assert not folder.exists()


def test_a_folder_that_cannot_be_written_is_named(tmp_path: Path, taken_port: int) -> None:
    # root may write anywhere on a disk; /sys takes no new files from anyone
    line = one_error_line(store_server(tmp_path, taken_port, "--path", "/sys"))
    assert "cannot write in the folder /sys" in line and line.count(": ") >= 2
