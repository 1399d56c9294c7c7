"""Stopping the scheduler while a poll tick is mid-await is a clean stop, not a logged failure.

Found by the subprocess tests (tests/discord/e2e/test_run_subprocess.py): a wrong Discord token
stops the bot a few milliseconds after the first tick started, and APScheduler logged the
cancelled tick as a job error, with a traceback, before the one-line message.
"""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import app
from bot.config import Config, DatabaseConfig, PollingConfig, SourceConfig, StoryConfig
from bot.polling import Poller
from bot.runtime import Runtime
from bot.sources.fetch import Fetcher, open_session
from bot.store import SourceRecord, open_store


async def test_a_tick_cut_short_by_the_scheduler_shutdown_logs_no_error(
    tmp_path, caplog, monkeypatch
):
    polling = PollingConfig()
    store = await open_store(tmp_path / "bulletin.db")
    session = open_session(polling.fetch_limits())
    scheduler = AsyncIOScheduler(timezone=UTC)
    runtime = Runtime(
        Config(polling=polling), store, Fetcher(session, polling.fetch_limits()), scheduler
    )
    picking = asyncio.Event()

    async def due_sources_that_hang(
        now: datetime, limit: int, *, after: tuple[datetime, int] | None = None
    ) -> list[SourceRecord]:
        picking.set()
        await asyncio.sleep(30)  # the tick is waiting on the store when the scheduler stops
        return []

    monkeypatch.setattr(store, "due_sources", due_sources_that_hang)
    poller = Poller(runtime)
    try:
        with caplog.at_level(logging.WARNING):
            poller.start()
            scheduler.start()
            await asyncio.wait_for(picking.wait(), 5)
            scheduler.shutdown(wait=False)
            await poller.stop()
            for _ in range(5):  # let the cancellation reach the tick and its executor
                await asyncio.sleep(0)
    finally:
        await session.close()
        await store.close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_stop_right_after_start_logs_no_error(tmp_path, caplog):
    # on_ready runs just after the scheduler starts, when its first tick is handed to the loop
    # but has not begun: a stop then once made APScheduler log the cancelled tick as an error
    config = Config(
        database=DatabaseConfig(tmp_path / "bulletin.db"),
        stories=(StoryConfig("Harbour", (SourceConfig("http://127.0.0.1:9/live"),), 60),),
    )
    stop = asyncio.Event()
    with caplog.at_level(logging.WARNING):
        status = await app.main(config, stop=stop, out=io.StringIO(), on_ready=lambda _: stop.set())
        for _ in range(5):  # anything the shutdown left for the loop gets its turn
            await asyncio.sleep(0)
    assert status == 0
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
