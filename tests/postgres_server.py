"""A throw-away PostgreSQL 15 server for the warehouse tests: its own data folder in a temporary
directory, listening on 127.0.0.1 at a free port, password authentication for TCP.

`initdb` refuses to run as root, so under root every server command runs as the `postgres` user
(`runuser -u postgres --`) in a folder that user owns; as any other user they run as that user.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")
DATABASE = "usercom"
ROLE = "usercom"


class PostgresServer:
    """`start()` a fresh cluster with database and role `usercom`; `url` is the dlt credentials URL; `stop()`."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="usercom-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.port = _free_port()
        self.password = secrets.token_urlsafe(16)
        self._as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        """``postgresql://usercom:<password>@127.0.0.1:<port>/usercom``: what DESTINATION__POSTGRES__CREDENTIALS takes."""
        return f"postgresql://{ROLE}:{self.password}@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> PostgresServer:
        """initdb, start and create the role and database; raises with the server's log when it does not come up."""
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"PostgreSQL 15 is not installed ({PG_BIN}/initdb is missing): apt-get install postgresql-15")
        self.socket_dir.mkdir(parents=True)
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            for path in (self.root, self.socket_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
        self._run(PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth-local=trust",
                  "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C")
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.socket_dir} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-o", options, "-l", self.root / "server.log", "-w", "start")
        self.sql(f"create role {ROLE} login password '{self.password}'")
        self.sql(f"create database {DATABASE} owner {ROLE}")
        return self

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement as the superuser over the socket; returns psql's unaligned output."""
        return self._run(PG_BIN / "psql", "-h", self.socket_dir, "-p", str(self.port), "-U", "postgres", "-d", database,
                         "-v", "ON_ERROR_STOP=1", "-At", "-c", statement)

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        try:
            self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, *command: object) -> str:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        result = subprocess.run([*prefix, *map(str, command)], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = self.root / "server.log"
            raise RuntimeError(f"{Path(str(command[0])).name} failed: {result.stderr.strip()}"
                               + (f"\n{log.read_text()[-2000:]}" if log.exists() else ""))
        return result.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
