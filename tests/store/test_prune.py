"""Retention: seen ids kept for a window past last seen; pruned entries never come back new."""

from __future__ import annotations

from datetime import timedelta

from bot.model import NewEntry
from bot.store import DEFAULT_RETENTION
from tests.builders import T0, entry, poll, snap

DAY = timedelta(days=1)


async def test_entries_unseen_past_the_window_are_pruned(store, source):
    await poll(store, source, snap(entry(1), entry(2)))
    await poll(store, source, snap(entry(2)), T0 + 20 * DAY)
    assert await store.prune(T0 + 35 * DAY) == 1
    assert await store.get_entry(source, "e1") is None
    assert await store.get_entry(source, "e2") is not None


async def test_entries_seen_within_the_window_are_kept(store, source):
    await poll(store, source, snap(entry(1)))
    assert await store.prune(T0 + 29 * DAY) == 0


async def test_window_is_a_parameter(store, source):
    await poll(store, source, snap(entry(1)))
    assert await store.prune(T0 + 3 * DAY, retention=2 * DAY) == 1


async def test_source_retention_overrides_the_default(store, source):
    story = await store.ensure_story("Story", now=T0)
    await store.add_source(story, "https://example.org/live", retention_days=90, now=T0)
    await poll(store, source, snap(entry(1)))
    assert await store.prune(T0 + 60 * DAY) == 0
    assert await store.prune(T0 + 91 * DAY) == 1


async def test_pruned_dated_entry_that_returns_is_not_new(store, source):
    await poll(store, source, snap(entry(1), entry(2)))
    await poll(store, source, snap(entry(2)), T0 + 20 * DAY)
    await store.prune(T0 + 35 * DAY)
    assert await poll(store, source, snap(entry(1), entry(2)), T0 + 36 * DAY) == ()


async def test_pruned_undated_entry_that_returns_is_not_new(store, source):
    await poll(store, source, snap(entry(1, dated=False), entry(2)))
    await poll(store, source, snap(entry(2)), T0 + 20 * DAY)
    await store.prune(T0 + 35 * DAY)
    assert await poll(store, source, snap(entry(1, dated=False), entry(2)), T0 + 36 * DAY) == ()


async def test_unseen_entry_older_than_pruned_ones_is_still_new(store, source):
    await poll(store, source, snap(entry(5)))
    await poll(store, source, snap(entry(6)), T0 + 40 * DAY)
    await store.prune(T0 + 40 * DAY)
    # e1 is dated before the pruned e5 but was never seen: it is new
    assert await poll(store, source, snap(entry(1), entry(6)), T0 + 41 * DAY) == (
        NewEntry(entry(1)),
    )


async def test_new_entry_after_pruning_is_still_new(store, source):
    await poll(store, source, snap(entry(1)))
    await store.prune(T0 + 35 * DAY)
    late = entry(1).__class__(id="late", title="t", text="x", published=T0 + 36 * DAY)
    assert await poll(store, source, snap(late), T0 + 36 * DAY) == (NewEntry(late),)


async def test_seen_entries_are_touched_at_most_hourly(store, source):
    await poll(store, source, snap(entry(1)))
    await poll(store, source, snap(entry(1)), T0 + timedelta(minutes=30))
    assert (await store.get_entry(source, "e1")).last_seen == T0
    await poll(store, source, snap(entry(1)), T0 + timedelta(hours=2))
    assert (await store.get_entry(source, "e1")).last_seen == T0 + timedelta(hours=2)


async def test_entry_seen_recently_survives_although_first_seen_long_ago(store, source):
    await poll(store, source, snap(entry(1)))
    for day in range(10, 60, 10):
        await poll(store, source, snap(entry(1)), T0 + day * DAY)
    assert await store.prune(T0 + 60 * DAY, DEFAULT_RETENTION) == 0


async def test_server_gone_for_a_week_is_deleted(store):
    await store.ensure_story("Gone", guild_id=5, now=T0)
    await store.ensure_story("Back", guild_id=6, now=T0)
    await store.guild_left(5, now=T0)
    await store.guild_left(6, now=T0)
    await store.guild_joined(6, now=T0 + DAY)
    await store.prune(T0 + 8 * DAY)
    assert await store.stories_for_guild(5) == []
    assert [s.name for s in await store.stories_for_guild(6)] == ["Back"]
