"""A PostgreSQL of one's own on this machine, for trying cluster mode (`assistant db-server`, `make
run-cluster`) and for the tests (a throwaway one): Debian's `postgresql` package (`make postgres`;
binaries in /usr/lib/postgresql/<version>/bin), `initdb` in a folder, the server on 127.0.0.1. initdb
and pg_ctl refuse to run as root: as root they run as the `postgres` system user, on a folder it owns."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

USER = "news"  # the database role initdb creates (trust authentication, 127.0.0.1 only)


class LocalPostgresError(RuntimeError):
    pass


def pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise LocalPostgresError(
            "PostgreSQL is not installed: run `make postgres` (apt-get install postgresql)"
        )
    return Path(found[-1]).parent


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class LocalPostgres:
    def __init__(self, folder: Path, port: int) -> None:
        self.root = folder
        self.data = folder / "data"
        self.port = port
        self.as_root = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def url_of(self, database: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(pg_bin() / tool), *args]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise LocalPostgresError(f"{tool} failed: {' '.join((r.stdout + r.stderr).split())[-600:]}")

    def init(self) -> None:
        """Creates the database cluster in the folder, unless it holds one."""
        if (self.data / "PG_VERSION").exists():
            return
        if self.root.exists() and any(p.name not in ("data", "server.log") for p in self.root.iterdir()):
            raise LocalPostgresError(
                f"{self.root} holds other files: give an empty or new folder for PostgreSQL's data"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
            probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-w", str(self.root)])
            if probe.returncode != 0:
                raise LocalPostgresError(
                    f"the postgres system user cannot write {self.root} (a folder above it is closed to "
                    "it); give a folder it can reach, e.g. under /var/tmp"
                )
        os.chmod(self.root, 0o700)
        self._run(
            "initdb", "-D", str(self.data), "-U", USER, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"
        )

    def start(self) -> None:
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} -c max_connections=200"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", opts, "-w", "start"
        )

    def running(self) -> bool:
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return False
        return _alive(pid)

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def kill(self) -> None:
        """SIGKILL of the server and its backends: a crash, not a shutdown (the fault tests)."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids = [pid, *map(int, children)]
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.time() + 30
        for p in pids:
            while _alive(p) and time.time() < deadline:
                time.sleep(0.05)
        # as after a power cut, the dead server's lock files are no one's; but its processes may stay
        # zombies (a container whose first process reaps no orphans), which a start takes for a live
        # server: they are removed
        for lock in [self.data / "postmaster.pid", *self.data.glob(".s.PGSQL.*")]:
            lock.unlink(missing_ok=True)
