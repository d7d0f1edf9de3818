"""`assistant store-server`: the Chroma server that several processes (pages, `assistant watch`, feeds,
CLI syncs) share in server mode (`ASSISTANT_STORE__MODE=server`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.common import err, fail, make_settings


def _answers(host: str, port: int) -> bool:
    import httpx

    try:
        return httpx.get(f"http://{host}:{port}/api/v2/heartbeat", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def data_folder_problem(folder: Path) -> str:
    """Why ``folder`` cannot hold the Chroma server's data ("" when it can), after creating it if needed:
    checked before the server starts, which would otherwise fail with a traceback or, given "", write
    its files into the current folder."""
    if folder.exists() and not folder.is_dir():
        return f"{folder} is a file, not a folder"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return f"cannot create the folder {folder} for the Chroma server: {e.strerror or e}"
    try:
        with tempfile.TemporaryFile(dir=folder):  # a real write: root passes every permission check
            pass
    except OSError as e:
        return f"cannot write in the folder {folder} for the Chroma server: {e.strerror or e}"
    return ""


def store_server(
    path: Annotated[
        str | None,
        typer.Option("--path", help="Where the server keeps its data (default: <index dir>/chroma-server)."),
    ] = None,
    background: Annotated[
        bool, typer.Option("--background", help="Start it detached and return once it answers.")
    ] = False,
) -> None:
    """Run the Chroma server at ASSISTANT_STORE__HOST:ASSISTANT_STORE__PORT (nothing to do if one answers)."""
    if path is not None and not path.strip():
        fail("--path is empty: give the folder where the Chroma server keeps its data")
    settings = make_settings()
    data = Path(path) if path is not None else Path(settings.index_dir) / "chroma-server"
    problem = data_folder_problem(data)
    if problem:
        fail(problem)
    host, port = settings.store.host, settings.store.port
    if _answers(host, port):
        err(f"a Chroma server already answers at {host}:{port}")
        return
    exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if not exe:
        fail("the `chroma` command (from the chromadb package) is not installed")
    cmd = [exe, "run", "--path", str(data), "--host", host, "--port", str(port)]
    if not background:
        raise typer.Exit(subprocess.call(cmd))
    log_path = data.parent / "chroma-server.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while not _answers(host, port):
        if proc.poll() is not None or time.monotonic() > deadline:
            fail(f"the Chroma server did not start (see {log_path})")
        time.sleep(0.3)
    err(f"Chroma server at {host}:{port} (data in {data}, log {log_path}, pid {proc.pid})")
