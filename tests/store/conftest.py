"""The store's conformance suite: every test here runs against each backend (`store`): SQLite
on a temporary file, and PostgreSQL in a database of the test's own (a copy of one migrated
once per session). Tests of one backend alone live in tests/store/sqlite and
tests/store/postgres."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.store import Store, open_store
from tests import postgres
from tests.builders import T0, entry, poll, snap

__all__ = ["T0", "entry", "poll", "snap"]

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "bulletin.db"


@pytest.fixture(scope="session")
def migrated_template() -> Iterator[str]:
    """A PostgreSQL database with the schema, made once; each test's database is a copy."""

    async def make() -> str:
        await postgres.require_server()
        name = postgres.unique_name("bulletin_template")
        url = await postgres.create_database(name)
        store = await open_store(url)
        await store.close()
        return name

    # in a thread of its own: the first test to ask for it runs in an event loop already
    with ThreadPoolExecutor(1) as thread:
        name = thread.submit(asyncio.run, make()).result()
        yield name
        thread.submit(asyncio.run, postgres.drop_database(name)).result()


@pytest.fixture(params=BACKENDS)
async def store_target(request: pytest.FixtureRequest, db_path: Path) -> AsyncIterator[str]:
    """Where a fresh, empty store of each backend lives: an SQLite path or a PostgreSQL URL
    (a test may open it several times: a restart)."""
    if request.param == "sqlite":
        yield str(db_path)
        return
    template = request.getfixturevalue("migrated_template")
    async with postgres.fresh_database(template=template) as url:
        yield url


@pytest.fixture
async def store(store_target: str) -> AsyncIterator[Store]:
    """A fresh, empty store of each backend."""
    opened = await open_store(store_target)
    yield opened
    await opened.close()


@pytest.fixture
async def source(store: Store) -> int:
    """A source of a story, subscribed to by the console; its baseline not taken yet."""
    story = await store.ensure_story("Story", now=T0)
    source_id = await store.add_source(story, "https://example.org/live", now=T0)
    await store.subscribe(story, guild_id=None, channel_id=None, now=T0)
    return source_id
