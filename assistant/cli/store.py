"""`assistant store-server`: the Chroma server that several processes (pages, `assistant watch`, feeds,
CLI syncs) share in server mode (`ASSISTANT_STORE__MODE=server`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
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


def store_server(
    path: Annotated[
        Path | None,
        typer.Option("--path", help="Where the server keeps its data (default: <index dir>/chroma-server)."),
    ] = None,
    background: Annotated[
        bool, typer.Option("--background", help="Start it detached and return once it answers.")
    ] = False,
) -> None:
    """Run the Chroma server at ASSISTANT_STORE__HOST:ASSISTANT_STORE__PORT (nothing to do if one answers)."""
    settings = make_settings()
    host, port = settings.store.host, settings.store.port
    if _answers(host, port):
        err(f"a Chroma server already answers at {host}:{port}")
        return
    exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if not exe:
        fail("the `chroma` command (from the chromadb package) is not installed")
    data = path or Path(settings.index_dir) / "chroma-server"
    data.mkdir(parents=True, exist_ok=True)
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
