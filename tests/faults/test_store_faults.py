"""Store faults under the poller: a failed COMMIT, a lock held past busy_timeout.

A COMMIT that fails (disk full at commit, a deferred constraint) rolls the transaction back.

SQLite can leave a transaction open when COMMIT itself fails; on the store's one shared
connection every later BEGIN would then fail ("cannot start a transaction within a
transaction"), so one bad commit would stop all writing until a restart. A deferred foreign key
is the reliable way to make COMMIT, and only COMMIT, fail.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Store, open_store
from tests.builders import poll
from tests.delivery.conftest import T0, entry, snap
from tests.fakes.source_server import SourceServer
from tests.faults.test_database import hold_write_lock
from tests.livepage import live_page, update
from tests.polling.test_poller import Harness, make_harness


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(tmp_path / "bulletin.db")
    # a table whose check waits for COMMIT (test-only; the product's schema is untouched)
    await opened._db.executescript(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
        "CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);"
    )
    yield opened
    await opened.close()


async def fail_at_commit(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        async with store._transaction() as db:
            await db.execute("INSERT INTO child (parent) VALUES (42)")  # no such parent


async def test_a_failed_commit_leaves_no_transaction_open(store):
    await fail_at_commit(store)
    assert not store._db.in_transaction


async def test_a_failed_commit_keeps_none_of_its_writes(store):
    await fail_at_commit(store)
    assert await store._query_all("SELECT * FROM child") == []


async def test_the_store_writes_again_after_a_failed_commit(store):
    await fail_at_commit(store)
    story = await store.ensure_story("Harbour", now=T0)
    source = await store.add_source(story, "https://news.example/live", now=T0)
    await poll(store, source, snap(entry(0)), now=T0)
    assert len(await store.latest_entries(source, limit=5)) == 1


# --- a lock held past busy_timeout during a poll ------------------------------------------------


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    async with SourceServer() as server:
        async for made in make_harness(tmp_path, server):
            yield made


async def locked_poll(harness: Harness, caplog: pytest.LogCaptureFixture) -> int:
    """A source's first poll while another process holds the write lock; its id."""
    harness.server.page("/live", live_page(update(1), update(2)))
    source = await harness.add("/live")
    await harness.store._db.execute("PRAGMA busy_timeout = 100")  # 5 s in production
    path = harness.runtime.config.database.path
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(path, held, release))
    holder.start()
    try:
        assert await asyncio.to_thread(held.wait, 5)
        with caplog.at_level(logging.INFO, logger="bot.polling"):
            await harness.poll()
    finally:
        release.set()
        await asyncio.to_thread(holder.join, 5)
    return source


async def test_a_locked_database_during_a_poll_is_one_clear_logged_line(harness, caplog):
    await locked_poll(harness, caplog)
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "database failed" in record.getMessage()
    assert "locked" in record.getMessage()
    assert record.exc_info is None  # a line, not a traceback


async def test_a_locked_database_is_not_counted_as_a_failure_of_the_source(harness, caplog):
    source = await locked_poll(harness, caplog)
    record = await harness.store.get_source(source)
    assert record.failures == 0
    assert record.last_polled is None


async def test_the_poll_lost_to_a_lock_is_retried_at_the_next_tick(harness, caplog):
    source = await locked_poll(harness, caplog)
    await harness.poll()  # same clock: still due, since nothing of the first try was written
    record = await harness.store.get_source(source)
    assert record.baseline_at is not None
    assert len(await harness.store.latest_entries(source, limit=5)) == 2
