"""Console mode: `bulletin run` without a Discord token follows the config's stories and prints
every change of them on a terminal (the console sink), through the same outbox as Discord.

At start each story's key points are shown once (the source's own, else an extracted summary,
labelled as such), then what changes as it comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from bot.delivery.dispatcher import Dispatcher
from bot.delivery.sinks import ConsoleSink
from bot.model import KeyPoints, StoryStatus
from bot.polling import polling
from bot.runtime import Runtime
from bot.sources.summary import extracted_key_points
from bot.store import Store

log = logging.getLogger(__name__)

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
    first_polls = {
        story_id: name for name, story_id in story_ids.items() if not polled_before[story_id]
    }
    if first_polls:
        grace = runtime.config.polling.timeout + FIRST_POLL_GRACE
        tasks.append(
            asyncio.create_task(
                _key_points_after_first_polls(store, sink, dispatcher, first_polls, grace),
                name="key points after first polls",
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


async def _key_points_after_first_polls(
    store: Store,
    sink: ConsoleSink,
    dispatcher: Dispatcher,
    stories: dict[int, str],
    grace: float,
) -> None:
    """Stories never polled ({id: name}): a story's first poll is a baseline whose key points
    (the source's own) arrive through the outbox; once all its sources have been polled (or
    GRACE has passed), show the extracted summary if it has none.

    One task looks at every story with one query a look, less and less often: a thousand
    stories waiting cost one task, not a thousand (each holding its sources between looks).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    pause = FIRST_LOOK
    waiting = dict(stories)
    while waiting:
        if loop.time() < deadline:
            ready = await _first_polls_done(store, waiting)
        else:
            ready = list(waiting)
        if ready:
            await dispatcher.drain()  # the baselines' key points first, if any
        for story_id in ready:
            name = waiting.pop(story_id)
            try:
                await _show_key_points(store, sink, story_id, name, announced=True)
                await _say_if_ended(store, sink, story_id, name)
            except Exception:
                log.exception("could not show the key points of story %s (%s)", story_id, name)
        if waiting:
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, LAST_LOOK)


async def _first_polls_done(store: Store, waiting: dict[int, str]) -> list[int]:
    """The stories of WAITING (in its order) whose every source has been polled."""
    unpolled = await store.stories_with_unpolled_sources()
    return [story_id for story_id in waiting if story_id not in unpolled]


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
