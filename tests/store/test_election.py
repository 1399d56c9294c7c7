"""The delivery election (`Store.delivery_election`): on PostgreSQL one candidate at a time
holds it, and it passes when the holder resigns or its session dies; an SQLite file serves one
process, whose candidates always hold it."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import pytest

from bot.store import open_store
from bot.store.postgres.election import AdvisoryLock
from bot.store.postgres.migrate import DELIVERY_LOCK
from tests import postgres


async def test_on_sqlite_every_candidate_holds_the_election(tmp_path):
    store = await open_store(tmp_path / "bulletin.db")
    try:
        first, second = store.delivery_election(), store.delivery_election()
        assert await first.campaign() and await second.campaign()
        assert first.held and second.held
    finally:
        await store.close()


@pytest.fixture
async def url() -> str:
    async with postgres.fresh_database() as made:
        store = await open_store(made)
        await store.close()
        yield made


async def lock_holders(url: str) -> list[int]:
    """The server's processes holding the delivery lock in URL's database."""
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND ((classid::bigint << 32) | objid::bigint) = $1",
            DELIVERY_LOCK,
        )
        return [row[0] for row in rows]
    finally:
        await connection.close()


async def terminate(url: str, pid: int) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await connection.close()


async def test_one_candidate_holds_it_and_it_passes_when_the_holder_resigns(url):
    one, two = await open_store(url), await open_store(url)
    a, b = one.delivery_election(), two.delivery_election()
    try:
        assert await a.campaign()
        assert not await b.campaign()
        assert await a.campaign()  # confirmed, still held
        assert (a.held, b.held) == (True, False)
        assert len(await lock_holders(url)) == 1
        await a.resign()
        assert not a.held
        assert await b.campaign()
        assert not await a.campaign()
    finally:
        await a.resign()
        await b.resign()
        await one.close()
        await two.close()


async def test_a_holder_whose_session_dies_stops_holding_before_asking_and_another_takes_it(url):
    one, two = await open_store(url), await open_store(url)
    a, b = one.delivery_election(), two.delivery_election()
    try:
        assert await a.campaign()
        [pid] = await lock_holders(url)
        await terminate(url, pid)  # as when its process dies or the connection is cut
        async with asyncio.timeout(5):
            while a.held:  # noqa: ASYNC110 - known from the socket closing, no round trip
                await asyncio.sleep(0.01)
        assert await b.campaign()
        assert not await a.campaign()  # a new session of its own, and the lock is b's
        assert await lock_holders(url) != [pid]
    finally:
        await a.resign()
        await b.resign()
        await one.close()
        await two.close()


async def test_an_unreachable_server_is_not_holding_it_and_never_shows_the_password(caplog):
    caplog.set_level(logging.WARNING)
    nobody = f"postgresql://postgres:s3cret-pw@127.0.0.1:{postgres.free_port()}/bulletin"
    election = AdvisoryLock(nobody, DELIVERY_LOCK, role="the delivery lock")
    assert not await election.campaign()
    assert not election.held
    assert not await election.campaign()
    await election.resign()
    assert caplog.text.count("the delivery lock: PostgreSQL at 127.0.0.1") == 1  # once an outage
    assert "s3cret-pw" not in caplog.text
