"""Console mode: `bulletin run` without a Discord token follows the config's stories and prints
every change of them on a terminal (the console sink), through the same outbox as Discord.

At start each story's key points are shown once (the source's own, else an extracted summary,
labelled as such), then what changes as it comes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime

from bot.delivery.dispatcher import Dispatcher
from bot.delivery.sinks import ConsoleSink
from bot.model import KeyPoints, StoryStatus
from bot.polling import polling
from bot.runtime import Runtime
from bot.sources.summary import extracted_key_points
from bot.store import Store

FIRST_LOOK, LAST_LOOK = 0.2, 2.0  # seconds between looks for a story's first poll
FIRST_POLL_GRACE = 5.0  # seconds past the fetch timeout to wait for a story's first poll


async def run_console(
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

    dispatcher = Dispatcher(
        store, {"console": sink}, wakeup=runtime.delivery_wakeup, observer=runtime.observer
    )
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
    try:
        async with polling(runtime):
            if on_ready is not None:
                on_ready(runtime)
            await stop.wait()
    finally:
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
    pause = FIRST_LOOK
    while loop.time() < deadline:
        sources = await store.sources_of_story(story_id)
        if all(s.last_polled is not None for s in sources):
            break
        # looked at less and less often: a thousand stories waiting cost little
        await asyncio.sleep(pause)
        pause = min(pause * 1.5, LAST_LOOK)
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
