"""The async main: makes the resources (store, HTTP session and fetcher, scheduler), hands them
around as a `Runtime`, and runs Bulletin until told to stop.

With a Discord token the Discord bot runs (`bot.discord.client.run_discord`); without one,
console mode (`bot.console`): every configured story is followed and its changes are printed.
With `[web] listen` set, the web window (`bot.web`: health, metrics, the status page) serves
from the same process for as long as it runs. SIGINT and SIGTERM stop it cleanly: polls in
flight are cancelled (the store's transactions roll back, so nothing is half-written), then
the session and the database are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC
from typing import TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Config, check_web
from bot.console import run_console
from bot.delivery.sinks import ConsoleSink
from bot.model import PauseReason
from bot.polling import polling
from bot.runtime import Runtime
from bot.sources.fetch import Fetcher, open_session
from bot.store import Store, open_store

log = logging.getLogger(__name__)


async def sync_stories(store: Store, config: Config) -> dict[str, int]:
    """Make the store's config stories (guild None) match `config.stories`: {name: story id}.

    Sources a story no longer lists are detached; a story gone from the file is paused (its
    history kept) and resumes if it comes back.
    """
    ids: dict[str, int] = {}
    for story in config.stories:
        story_id = await store.ensure_story(story.name, interval=story.interval)
        ids[story.name] = story_id
        wanted: set[int] = set()
        for source in story.sources:
            source_id = await store.add_source(
                story_id,
                source.url,
                kind=source.kind,
                selectors=dict(source.selectors) or None,
                interval=story.interval,
                retention_days=source.retention_days,
            )
            wanted.add(source_id)
        for source_record in await store.sources_of_story(story_id):
            if source_record.id not in wanted:
                await store.remove_source(story_id, source_record.id)
        stored = await store.get_story(story_id)
        if stored.paused_at is not None and stored.pause_reason is PauseReason.CONFIG_REMOVED:
            await store.set_story_paused(story_id, False)
    for stored in await store.stories_for_guild(None):
        if stored.guild_id is None and stored.id not in ids.values() and stored.paused_at is None:
            await store.set_story_paused(stored.id, True, reason=PauseReason.CONFIG_REMOVED)
    return ids


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread (tests) or no signals here: the caller sets stop
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def main(
    config: Config,
    *,
    stop: asyncio.Event | None = None,
    out: TextIO | None = None,
    on_ready: Callable[[Runtime], None] | None = None,
    shard_ids: tuple[int, ...] | None = None,
) -> int:
    """Run Bulletin with CONFIG until STOP is set (or SIGINT/SIGTERM); the exit status.

    OUT is where console mode prints (default stdout). ON_READY is called with the runtime
    once everything runs (tests and the demo use it). SHARD_IDS are the gateway shards the
    Discord bot holds (`bot.discord.shards.Shards`): None for every one, () for none.
    """
    stop = stop or asyncio.Event()
    check_web(config)  # a web window beyond loopback without its token: refused, one line
    # a line per tick of the poll job is noise; its warnings and errors still show
    scheduler_log = logging.getLogger("apscheduler")
    if scheduler_log.level == logging.NOTSET:
        scheduler_log.setLevel(logging.WARNING)
    with _stop_on_signals(stop):
        log.info("database: %s", config.database.describe())
        store = await open_store(config.database.target)
        try:
            session = open_session(config.polling.fetch_limits())
            try:
                runtime = Runtime(
                    config=config,
                    store=store,
                    fetcher=Fetcher(session, config.polling.fetch_limits()),
                    scheduler=AsyncIOScheduler(timezone=UTC),
                )
                async with _web_window(runtime):
                    story_ids = await sync_stories(store, config)
                    if config.discord.token is not None:
                        await _discord_mode(runtime, stop, on_ready, shard_ids)
                    else:
                        await run_console(runtime, story_ids, stop, ConsoleSink(out), on_ready)
            finally:
                runtime.extractor.shutdown(wait=False, cancel_futures=True)
                await session.close()
        finally:
            await store.close()
    log.info("stopped")
    return 0


@contextlib.asynccontextmanager
async def _web_window(runtime: Runtime) -> AsyncIterator[None]:
    """Serve health, metrics and the status page while the block runs, when `[web] listen`
    is set: its metrics become the runtime's observer, and its address `runtime.web_url`."""
    if runtime.config.web.listen is None:
        yield
        return
    # imported here: without a web window, neither prometheus_client nor Jinja2 is loaded
    from bot.web import Metrics, serving

    metrics = Metrics()
    runtime.observer = metrics
    async with serving(runtime, metrics) as window:
        runtime.web_url = window.url
        yield


async def _discord_mode(
    runtime: Runtime,
    stop: asyncio.Event,
    on_ready: Callable[[Runtime], None] | None,
    shard_ids: tuple[int, ...] | None,
) -> None:
    # imported here: console mode never loads discord.py (it costs memory and start-up time)
    from bot.discord.client import run_discord

    token = runtime.config.discord.token
    assert token is not None
    async with polling(runtime):
        if on_ready is not None:
            on_ready(runtime)
        await run_discord(runtime, token.reveal(), stop=stop, shard_ids=shard_ids)
