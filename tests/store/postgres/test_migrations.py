"""PostgreSQL's schema: created and migrated at start, its version kept in the database, once
however many processes start together."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import asyncpg
import pytest

from bot.store import PostgresStore, StoreError, open_store
from bot.store.postgres.migrate import LATEST, MIGRATION_LOCK, migrations
from tests import postgres
from tests.builders import T0, entry, poll, snap

TABLES = {
    "guilds",
    "stories",
    "sources",
    "story_sources",
    "entries",
    "tombstones",
    "key_points",
    "guild_settings",
    "subscriptions",
    "deliveries",
    "posted_messages",
    "delivery_attempts",
    "routing_decisions",
    "publications",
    "schema_migrations",
}


@pytest.fixture
async def empty() -> str:
    async with postgres.fresh_database() as url:
        yield url


async def query(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url)
    try:
        return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()


def test_migrations_are_numbered_from_one_without_gaps():
    assert [version for version, _, _ in migrations()] == list(range(1, LATEST + 1))


async def test_an_empty_database_gets_every_table_and_the_latest_version(empty):
    store = await open_store(empty)
    try:
        assert await store.schema_version() == LATEST
    finally:
        await store.close()
    names = await query(empty, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert {row[0] for row in names} == TABLES
    applied = await query(empty, "SELECT version, name FROM schema_migrations ORDER BY version")
    assert [tuple(row) for row in applied] == [(v, name) for v, name, _ in migrations()]


async def test_reopening_keeps_the_data_and_applies_nothing_again(empty):
    first = await open_store(empty)
    story = await first.ensure_story("Once", now=T0)
    source = await first.add_source(story, "https://example.org/once", now=T0)
    await poll(first, source, snap(entry(1)))
    await first.close()
    second = await open_store(empty)
    try:
        assert [s.id for s in await second.stories_for_guild(None)] == [story]
        assert await poll(second, source, snap(entry(1), entry(2))) != ()
    finally:
        await second.close()
    assert len(await query(empty, "SELECT * FROM schema_migrations")) == LATEST


@pytest.mark.parametrize("start", range(LATEST))
async def test_upgrade_from_every_earlier_version(empty, start):
    old = await PostgresStore.open(empty, migrate_to=start)
    await old.close()
    store = await open_store(empty)
    try:
        assert await store.schema_version() == LATEST
    finally:
        await store.close()


async def test_a_database_newer_than_the_code_is_refused(empty):
    await (await open_store(empty)).close()
    await query(empty, "INSERT INTO schema_migrations (version, name) VALUES ($1, 'x')", LATEST + 1)
    with pytest.raises(StoreError, match="newer than this Bulletin"):
        await open_store(empty)


async def test_processes_started_together_migrate_once_and_none_waits_long(empty):
    # Each store has its own pool: as many sessions as processes would have. One of them
    # holds the schema lock a moment; the others wait for it, then find the schema made.
    started = time.monotonic()
    stores = await asyncio.gather(*(open_store(empty) for _ in range(6)))
    took = time.monotonic() - started
    try:
        assert [await store.schema_version() for store in stores] == [LATEST] * 6
        ids = await asyncio.gather(*(s.ensure_story("Same", now=T0) for s in stores))
        assert len(set(ids)) == 1  # made once, found by the others
    finally:
        for store in stores:
            await store.close()
    assert len(await query(empty, "SELECT * FROM schema_migrations")) == LATEST
    assert took < 10


async def test_the_schema_waits_for_the_migration_lock(empty):
    holder = await asyncpg.connect(empty)
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        opening = asyncio.ensure_future(open_store(empty))
        await asyncio.sleep(0.5)
        assert not opening.done()  # waiting for the lock, not migrating beside it
        await transaction.rollback()
        store = await asyncio.wait_for(opening, 10)
        await store.close()
    finally:
        await holder.close()


async def test_version_2_leaves_earlier_subscriptions_without_exclusions_or_pattern(empty):
    old = await PostgresStore.open(empty, migrate_to=1)
    story = await old.ensure_story("Kept", guild_id=1, now=T0)
    source = await old.add_source(story, "https://example.org/kept", now=T0)
    await old.close()
    await query(  # as version 1 wrote a subscription
        empty,
        "INSERT INTO subscriptions (story_id, guild_id, channel_id, keywords, created_at)"
        " VALUES ($1, 1, 10, 'ferry', 0)",
        story,
    )
    store = await open_store(empty)
    try:
        (sub,) = await store.subscriptions(guild_id=1)
        assert (sub.keywords, sub.exclusions, sub.pattern) == ("ferry", None, None)
        (subscriber,) = await store.subscribers(source)
        assert (subscriber.exclusions, subscriber.pattern) == (None, None)
    finally:
        await store.close()


async def test_the_schema_has_every_table_column_and_index_of_sqlites(empty, tmp_path):
    """The two backends keep the same things: a column or table added to SQLite's schema
    needs its PostgreSQL migration too (and `bulletin db copy` copies it)."""
    sqlite_store = await open_store(tmp_path / "bulletin.db")
    await sqlite_store.close()
    with sqlite3.connect(tmp_path / "bulletin.db") as db:
        tables = [
            row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        in_sqlite = {t: {row[1] for row in db.execute(f"PRAGMA table_info({t})")} for t in tables}
        sqlite_indexes = {
            row[0]
            for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
            if not row[0].startswith("sqlite_autoindex_")
        }
    await (await open_store(empty)).close()
    in_postgres: dict[str, set[str]] = {}
    for table, column in await query(
        empty,
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'public'",
    ):
        in_postgres.setdefault(table, set()).add(column)
    assert in_postgres.pop("schema_migrations")  # SQLite keeps its version in user_version
    assert in_postgres == in_sqlite
    indexes = await query(empty, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
    assert sqlite_indexes <= {row[0] for row in indexes}


async def test_version_3_leaves_earlier_subscriptions_in_text_channels_without_names(empty):
    old = await PostgresStore.open(empty, migrate_to=2)
    story = await old.ensure_story("Kept", guild_id=1, now=T0)
    await old.close()
    await query(  # as version 2 wrote a thread-mode subscription
        empty,
        "INSERT INTO subscriptions (story_id, guild_id, channel_id, thread, created_at)"
        " VALUES ($1, 1, 10, true, 0)",
        story,
    )
    store = await open_store(empty)
    try:
        (sub,) = await store.subscriptions(guild_id=1)
        assert (sub.thread, sub.forum, sub.channel_name) == (True, False, None)
        assert await store.rename_channel(10, "news") == 1
    finally:
        await store.close()
