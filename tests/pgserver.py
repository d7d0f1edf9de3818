"""A real, throwaway PostgreSQL for the cluster tests (assistant/store/postgres/local.py) in a temporary
folder, on a free port of 127.0.0.1, removed at the end."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from assistant.store.postgres.local import LocalPostgres, LocalPostgresError
from tests.serverutil import free_port


class Postgres(LocalPostgres):
    def __init__(self) -> None:
        # under /tmp itself: pytest's own folders are closed to the postgres system user
        super().__init__(Path(tempfile.mkdtemp(prefix="news-pg-")), free_port())
        self.init()
        self.start()

    def new_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url_of(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except LocalPostgresError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)
