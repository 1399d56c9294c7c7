"""PostgreSQL for tests: a server on 127.0.0.1:5432 (user postgres, trust authentication;
BULLETIN_TEST_POSTGRES names another), and databases of a test's own, made and dropped by it;
and `Cluster`, a private PostgreSQL of one test's own, to stop and restart.

Without a server the tests that need one skip with the reason, except under CI=true, where
its absence is a failure (`.ci/run` starts or installs one).

    async with fresh_database() as url:   # an empty database, dropped afterwards
        store = await open_store(url)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

ADMIN_URL = os.environ.get(
    "BULLETIN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def url_of(database: str, admin_url: str = ADMIN_URL) -> str:
    """The URL of DATABASE on the admin URL's server, as its user."""
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def unique_name(prefix: str = "bulletin_test") -> str:
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:10]}"


async def _admin(admin_url: str = ADMIN_URL) -> asyncpg.Connection:
    return await asyncpg.connect(admin_url, timeout=5)


_reachable: str | None = None  # None: not asked yet; "": yes; else why not


async def require_server(admin_url: str = ADMIN_URL) -> None:
    """Skip (fail under CI=true) when the test server cannot be reached."""
    global _reachable
    if _reachable is None:
        try:
            connection = await _admin(admin_url)
        except (TimeoutError, OSError, asyncpg.PostgresError) as error:
            _reachable = f"PostgreSQL not reachable at {urlsplit(admin_url).netloc}: {error}"
        else:
            await connection.close()
            _reachable = ""
    if _reachable:
        if os.environ.get("CI") == "true":
            pytest.fail(_reachable)
        pytest.skip(_reachable)


async def create_database(name: str, *, template: str | None = None) -> str:
    connection = await _admin()
    try:
        clause = f' TEMPLATE "{template}"' if template else ""
        await connection.execute(f'CREATE DATABASE "{name}"{clause}')
    finally:
        await connection.close()
    return url_of(name)


async def drop_database(name: str) -> None:
    connection = await _admin()
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@asynccontextmanager
async def fresh_database(*, template: str | None = None) -> AsyncIterator[str]:
    """The URL of a new database (a copy of TEMPLATE, else empty), dropped afterwards."""
    await require_server()
    name = unique_name()
    url = await create_database(name, template=template)
    try:
        yield url
    finally:
        await drop_database(name)


# --- a private cluster of a test's own --------------------------------------------------------


def _binaries() -> Path | None:
    """The folder of initdb and pg_ctl: Debian keeps them out of PATH, per version."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return None if initdb is None else Path(initdb).resolve().parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """A PostgreSQL cluster of one test's own, on a free port of 127.0.0.1, made by initdb as
    the postgres user when run as root (initdb refuses root), so that stopping or restarting
    it disturbs no other test. Trust authentication; user postgres."""

    def __init__(self) -> None:
        binaries = _binaries()
        if binaries is None:
            message = "initdb not found (PostgreSQL's server package is not installed)"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        self.bin = binaries
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="bulletin-pg-"))
        self.data = self.folder / "data"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        kwargs: dict[str, object] = {}
        if self._as_postgres:
            kwargs = {"user": "postgres", "group": "postgres", "extra_groups": []}
        result = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=self.folder,
            check=False,
            **kwargs,  # type: ignore[arg-type]
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}")

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self, *, fast: bool = True) -> None:
        """Start it; FAST: without fsync and with small buffers (tests), else PostgreSQL's
        defaults (benchmarks)."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        if fast:
            options += " -c fsync=off -c shared_buffers=16MB -c max_connections=40"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"),
            "-w", "-t", "30", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        secret = f":{password}" if password else ""
        return f"postgresql://postgres{secret}@127.0.0.1:{self.port}/{database}"

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)
