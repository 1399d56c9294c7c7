"""PostgreSQL's readiness ping (`Store.ping`, what /readyz asks): it answers when a write could
be made now, and says at once, in one line, when not: a lock that would hold up a poll's write,
a database or a server that takes no writes (a standby in recovery), a server that is gone.

The stop and the standby happen on a private cluster of the test's own (`tests.postgres.Cluster`),
so that no other test is disturbed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from bot.store import Store, StoreError, open_store
from tests import postgres
from tests.builders import T0


@pytest.fixture
async def url() -> AsyncIterator[str]:
    async with postgres.fresh_database() as made:
        yield made


@pytest.fixture
async def store(url: str) -> AsyncIterator[Store]:
    opened = await open_store(url)
    yield opened
    await opened.close()


@pytest.fixture(scope="module")
def cluster() -> Iterator[postgres.Cluster]:
    made = postgres.Cluster()
    try:
        made.init()
        made.start()
        yield made
    finally:
        made.remove()


async def test_a_lock_that_would_hold_up_a_poll_fails_the_ping_within_a_second(store, url):
    other = await asyncpg.connect(url)
    try:
        transaction = other.transaction()
        await transaction.start()
        await other.execute("LOCK TABLE sources IN SHARE MODE")  # as a migration or a copy might
        started = time.monotonic()
        with pytest.raises(StoreError, match="sources has been locked elsewhere for over 1s"):
            await asyncio.wait_for(store.ping(), 10)
        assert 0.9 < time.monotonic() - started < 5
        await transaction.rollback()
        await store.ping()
        await store.ensure_story("written after the lock", now=T0)  # the ping left nothing open
    finally:
        await other.close()


async def test_a_database_that_takes_no_writes_fails_the_ping_as_it_fails_a_write(store, url):
    await store.ping()
    name = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(postgres.ADMIN_URL)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        read_only = await open_store(url)  # sessions made from now on take no writes
        try:
            with pytest.raises(StoreError, match=r"^PostgreSQL at .* takes no writes"):
                await read_only.ping()
            with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
                await read_only.ensure_story("refused", now=T0)  # what the ping foretold
            assert await read_only.all_stories() == []  # reads go on
        finally:
            await read_only.close()
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        await admin.close()


async def test_a_server_gone_or_in_recovery_is_said_at_once_then_ready_again(cluster):
    admin = await asyncpg.connect(cluster.url())
    name = postgres.unique_name("ping")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    store = await open_store(cluster.url(name, password="ping-s3cret"))
    try:
        await store.ping()
        await asyncio.to_thread(cluster.stop, "fast")
        started = time.monotonic()
        gone = r"^PostgreSQL at 127\.0\.0\.1:\d+/\S+ does not answer"
        with pytest.raises(StoreError, match=gone):
            await asyncio.wait_for(store.ping(), 30)  # never waited out, as other calls are
        assert time.monotonic() - started < 5

        # started again as a standby (recovery): it answers, but a write would be refused
        (cluster.data / "standby.signal").touch()
        await asyncio.to_thread(cluster.start)
        with pytest.raises(StoreError, match="takes no writes") as refused:
            await store.ping()
        assert "ping-s3cret" not in str(refused.value)
        assert await store.all_stories() == []  # reads are served

        await asyncio.to_thread(cluster.stop, "fast")
        (cluster.data / "standby.signal").unlink()
        await asyncio.to_thread(cluster.start)
        await store.ping()
        await store.ensure_story("written once the server is back", now=T0)
    finally:
        await store.close()
