"""A throwaway PostgreSQL server for one test run: initdb, pg_ctl start on a free port, stop.

PostgreSQL refuses to run as root, so under root the cluster belongs to the ``postgres``
user (its folder too) and the binaries run through ``runuser``; otherwise they run as the
current user. Durability is off (fsync, synchronous commit, full-page writes): the cluster
dies with the run. Each test gets a database of its own, copied from a template that already
holds leadgate's tables (a copy is much faster than creating the tables again).
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

BINARIES = ("initdb", "pg_ctl", "postgres")
SUPERUSER = "postgres"


class PostgresUnavailable(RuntimeError):
    """The machine cannot run a PostgreSQL server for the tests (a failure, never a skip)."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder, reachable at 127.0.0.1:port."""

    def __init__(self) -> None:
        missing = [name for name in BINARIES if shutil.which(name) is None]
        if missing:
            raise PostgresUnavailable(
                f"PostgreSQL 15 is needed for the PostgreSQL half of the tests: {', '.join(missing)} not on PATH "
                "(install the Debian package postgresql-15 and put its bin folder on PATH)"
            )
        self.as_root = os.geteuid() == 0
        self.folder = Path(tempfile.mkdtemp(prefix="leadgate-pg-"))
        self.data = self.folder / "data"
        self.sockets = self.folder / "sockets"
        self.port = _free_port()
        self._names = itertools.count(1)
        self.template = "leadgate_template"

    def _command(self, *arguments: str) -> list[str]:
        return ["runuser", "-u", SUPERUSER, "--", *arguments] if self.as_root else list(arguments)

    def _call(self, *arguments: str) -> None:
        done = subprocess.run(self._command(*arguments), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PostgresUnavailable(f"{' '.join(arguments[:2])} failed: {done.stderr.strip() or done.stdout.strip()}")

    def start(self) -> None:
        self.sockets.mkdir()
        if self.as_root:
            owner = pwd.getpwnam(SUPERUSER)
            for path in (self.folder, self.sockets):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        user = SUPERUSER if self.as_root else pwd.getpwuid(os.geteuid()).pw_name
        self.user = user
        self._call("initdb", "-D", str(self.data), "-A", "trust", "-U", user, "-E", "UTF8", "--no-sync")
        options = " ".join(
            (
                f"-p {self.port}",
                f"-k {self.sockets}",
                "-c listen_addresses=127.0.0.1",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            )
        )
        self._call("pg_ctl", "start", "-D", str(self.data), "-w", "-l", str(self.folder / "server.log"), "-o", options)
        with self.admin() as con:
            con.execute(f"CREATE DATABASE {self.template}")

    def stop(self) -> None:
        if self.data.exists():
            command = self._command("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate")
            subprocess.run(command, check=False, capture_output=True)  # its chatter would mix with a caller's output
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.url("postgres"), autocommit=True)

    def new_database(self, empty: bool = False) -> str:
        """A fresh database with leadgate's tables (none: ``empty``); returns its URL."""
        name = f"test_{next(self._names)}"
        template = "template0" if empty else self.template
        with self.admin() as con:
            con.execute(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY FILE_COPY")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self.admin() as con:
            con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
