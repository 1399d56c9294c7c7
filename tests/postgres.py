"""PostgreSQL for tests: a server on 127.0.0.1:5432 (user postgres, trust authentication;
BULLETIN_TEST_POSTGRES names another), and databases of a test's own, made and dropped by it.

Without a server the tests that need one skip with the reason, except under CI=true, where
its absence is a failure (`.ci/run` starts or installs one).

    async with fresh_database() as url:   # an empty database, dropped afterwards
        store = await open_store(url)
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
        except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as error:
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
