"""The async main: makes the resources (store, HTTP session and fetcher, scheduler), hands them
around as a `Runtime`, and runs Bulletin until told to stop.

With a Discord token the Discord bot runs (`bot.discord.client.run_discord`); without one,
console mode: every configured story is followed and its changes are printed on stdout.
SIGINT and SIGTERM stop it cleanly: polls in flight are cancelled (the store's transactions
roll back, so nothing is half-written), then the session and the database are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Config
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.sinks import ConsoleSink
from bot.errors import BulletinError
from bot.model import KeyPoints, StoryStatus
from bot.poller import Poller
from bot.runtime import Runtime
from bot.sources.fetch import Fetcher, open_session
from bot.sources.summary import extracted_key_points
from bot.store import Store

log = logging.getLogger(__name__)

CONFIG_REMOVED = "not in the config file any more"
FIRST_POLL_GRACE = 5.0  # seconds past the fetch timeout to wait for a story's first poll


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
            )
            wanted.add(source_id)
        for record in await store.sources_of_story(story_id):
            if record.id not in wanted:
                await store.remove_source(story_id, record.id)
        record = await store.get_story(story_id)
        if record.paused_at is not None and record.pause_reason == CONFIG_REMOVED:
            await store.set_story_paused(story_id, False)
    for record in await store.stories_for_guild(None):
        if record.guild_id is None and record.id not in ids.values() and record.paused_at is None:
            await store.set_story_paused(record.id, True, reason=CONFIG_REMOVED)
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
) -> int:
    """Run Bulletin with CONFIG until STOP is set (or SIGINT/SIGTERM); the exit status.

    OUT is where console mode prints (default stdout). ON_READY is called with the runtime
    once everything runs (tests and the demo use it).
    """
    stop = stop or asyncio.Event()
    # a line per tick of the poll job is noise; its warnings and errors still show
    scheduler_log = logging.getLogger("apscheduler")
    if scheduler_log.level == logging.NOTSET:
        scheduler_log.setLevel(logging.WARNING)
    with _stop_on_signals(stop):
        store = await Store.open(config.database.path)
        try:
            session = open_session(config.polling.fetch_limits())
            try:
                scheduler = AsyncIOScheduler(timezone=UTC)
                runtime = Runtime(
                    config=config,
                    store=store,
                    fetcher=Fetcher(session, config.polling.fetch_limits()),
                    scheduler=scheduler,
                )
                story_ids = await sync_stories(store, config)
                if config.discord.token is not None:
                    await _discord_mode(runtime, stop, on_ready)
                else:
                    await _console_mode(runtime, story_ids, stop, ConsoleSink(out), on_ready)
            finally:
                await session.close()
        finally:
            await store.close()
    log.info("stopped")
    return 0


async def _discord_mode(
    runtime: Runtime, stop: asyncio.Event, on_ready: Callable[[Runtime], None] | None
) -> None:
    try:
        from bot.discord.client import run_discord
    except ModuleNotFoundError as error:
        if error.name not in ("bot.discord.client", "bot.discord"):
            raise
        raise BulletinError(
            "this build has no Discord bot yet (bot.discord.client is missing); "
            f"unset {runtime.config.discord.token_env} to run in console mode"
        ) from None
    token = runtime.config.discord.token
    assert token is not None
    poller = Poller(runtime)
    poller.start()
    runtime.scheduler.start()
    try:
        if on_ready is not None:
            on_ready(runtime)
        await run_discord(runtime, token.reveal(), stop=stop)
    finally:
        await _shut_down(runtime, poller, [])


async def _console_mode(
    runtime: Runtime,
    story_ids: dict[str, int],
    stop: asyncio.Event,
    sink: ConsoleSink,
    on_ready: Callable[[Runtime], None] | None,
) -> None:
    store = runtime.store
    if not story_ids:
        where = runtime.config.path or "config.toml"
        sink.say(
            f"Bulletin (console mode): no stories to follow. Add [[stories]] with their "
            f"sources to {where} (see config.example.toml) and restart; `bulletin demo` shows "
            "it at work. Ctrl-C stops."
        )
    else:
        names = ", ".join(story_ids)
        sink.say(f"Bulletin (console mode) is following: {names}. Ctrl-C stops.")
    polled_before: dict[int, bool] = {}
    for story_id in story_ids.values():
        await store.subscribe(story_id, guild_id=None, channel_id=None)
        sources = await store.sources_of_story(story_id)
        polled_before[story_id] = any(s.last_polled is not None for s in sources)

    # Key points known from an earlier run are shown at once, before anything new.
    for name, story_id in story_ids.items():
        if polled_before[story_id]:
            await _show_key_points(store, sink, story_id, name, announced=False)
            await _say_if_ended(store, sink, story_id, name)

    poller = Poller(runtime)
    dispatcher = Dispatcher(store, {"console": sink}, wakeup=runtime.delivery_wakeup)
    tasks = [asyncio.create_task(dispatcher.run(stop), name="dispatcher")]
    grace = runtime.config.polling.timeout + FIRST_POLL_GRACE
    for name, story_id in story_ids.items():
        if not polled_before[story_id]:
            tasks.append(
                asyncio.create_task(
                    _key_points_after_first_poll(store, sink, dispatcher, story_id, name, grace),
                    name=f"key points of {name}",
                )
            )
    poller.start()
    runtime.scheduler.start()
    try:
        if on_ready is not None:
            on_ready(runtime)
        await stop.wait()
    finally:
        await _shut_down(runtime, poller, tasks)


async def _shut_down(runtime: Runtime, poller: Poller, tasks: list[asyncio.Task[None]]) -> None:
    if runtime.scheduler.running:
        # Paused first, so no tick is handed to the loop any more; then one turn of the loop,
        # so a tick already handed over has begun: the shutdown cancels it inside the poller,
        # which takes that as a stop. A tick cancelled before it begins is logged by
        # APScheduler as a failed job, traceback and all.
        runtime.scheduler.pause()
        await asyncio.sleep(0)
        runtime.scheduler.shutdown(wait=False)
    await poller.stop()
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _key_points_after_first_poll(
    store: Store,
    sink: ConsoleSink,
    dispatcher: Dispatcher,
    story_id: int,
    name: str,
    grace: float,
) -> None:
    """A story never polled: its first poll is a baseline whose key points (the source's own)
    arrive through the outbox; if it has none, show the extracted summary once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while loop.time() < deadline:
        sources = await store.sources_of_story(story_id)
        if all(s.last_polled is not None for s in sources):
            break
        await asyncio.sleep(0.2)
    await dispatcher.drain()  # the baseline's key points first, if any
    await _show_key_points(store, sink, story_id, name, announced=True)
    await _say_if_ended(store, sink, story_id, name)


async def _say_if_ended(store: Store, sink: ConsoleSink, story_id: int, name: str) -> None:
    """A story already over when the console starts is said to be, once: its end came before
    (or at) the first poll, which announces nothing, and nothing may follow for hours."""
    sources = [s for s in await store.sources_of_story(story_id) if s.last_polled is not None]
    active = [s for s in sources if not s.auto_paused] or sources
    if active and all(s.status is StoryStatus.ENDED for s in active):
        sink.say(f"[{name}] coverage ended; its sources are checked hourly in case it resumes.")


async def _show_key_points(
    store: Store, sink: ConsoleSink, story_id: int, name: str, *, announced: bool
) -> None:
    """Print a story's current key points: the sources' own, else an extracted summary
    (labelled as such). ANNOUNCED: the sources' own were just delivered; show only the rest."""
    stored = await store.current_key_points(story_id)
    if stored:
        if not announced:
            for record in stored:
                sink.show_key_points(
                    name, KeyPoints(record.kind, record.items), now=record.changed_at
                )
        return
    entries = await store.latest_entries(story_id, limit=20)
    summary = extracted_key_points([record.entry for record in reversed(entries)])
    if summary is not None:
        sink.show_key_points(name, summary, now=datetime.now(UTC))
    elif entries:
        sink.say(
            f"[{name}] no key points: its sources have no key-points box, and their updates "
            "are too short to summarise."
        )
    else:
        errors = [s.last_error for s in await store.sources_of_story(story_id) if s.last_error]
        why = f" (last error: {errors[0]})" if errors else ""
        sink.say(f"[{name}] no key points yet: nothing has been read from its sources so far{why}.")
