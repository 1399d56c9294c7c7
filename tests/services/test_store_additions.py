"""The store methods the commands added: backfill, source count, delivery health, delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.model import FailureReason
from bot.outcome import GivenUp, Retry
from bot.services.subscriptions import queue_backfill
from bot.sources.extract import extract
from tests.builders import poll
from tests.services.pages import live_page

NOW = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)


async def polled(store, guild_id=1, name="Mars", url="https://news.test/mars"):
    story = await store.ensure_story(name, guild_id=guild_id, now=NOW)
    source = await store.add_source(story, url, now=NOW)
    snapshot = extract(live_page(), content_type="text/html", url=url)
    await poll(store, source, snapshot, now=NOW)
    return story, source


async def test_backfill_queues_the_newest_entries_oldest_first(store):
    story, _ = await polled(store)
    sub = await store.subscribe(story, guild_id=1, channel_id=10, now=NOW)
    assert await queue_backfill(store, sub, 2, now=NOW) == 2
    pending = await store.pending_deliveries(NOW)
    assert [d.entry_id.rsplit("#", 1)[1] for d in pending] == ["u2", "u3"]
    assert all(d.backfill for d in pending)


async def test_backfill_of_more_than_stored_queues_what_there_is(store):
    story, _ = await polled(store)
    sub = await store.subscribe(story, guild_id=1, channel_id=10, now=NOW)
    assert await queue_backfill(store, sub, 10, now=NOW) == 3


async def test_backfill_with_keywords_queues_the_newest_matching_updates(store):
    story, _ = await polled(store)
    # "crater" is in u2 and u3; "Parachute" only in u2; "land" is no whole word anywhere
    sub = await store.subscribe(story, guild_id=1, channel_id=10, keywords="crater", now=NOW)
    assert await queue_backfill(store, sub, 1, now=NOW) == 1
    other = await store.subscribe(
        story, guild_id=1, channel_id=11, keywords="parachute, land", now=NOW
    )
    assert await queue_backfill(store, other, 5, now=NOW) == 1
    pending = await store.pending_deliveries(NOW)
    assert [(d.channel_id, d.entry_id.rsplit("#", 1)[1]) for d in pending] == [
        (10, "u3"),
        (11, "u2"),
    ]


async def test_backfill_posts_each_update_once_per_subscription(store):
    story, _ = await polled(store)
    sub = await store.subscribe(story, guild_id=1, channel_id=10, now=NOW)
    assert await queue_backfill(store, sub, 2, now=NOW) == 2  # u2, u3
    again = await queue_backfill(store, sub, 3, now=NOW + timedelta(minutes=1))
    assert (again, again.already) == (1, 2)  # only u1 is new to this channel
    assert [d.entry_id.rsplit("#", 1)[1] for d in await store.pending_deliveries(NOW)] == [
        "u2",
        "u3",
    ]
    other = await store.subscribe(story, guild_id=1, channel_id=11, now=NOW)
    assert await queue_backfill(store, other, 3, now=NOW) == 3  # another channel: its own


async def test_backfill_of_zero_queues_nothing(store):
    story, _ = await polled(store)
    sub = await store.subscribe(story, guild_id=1, channel_id=10, now=NOW)
    assert await queue_backfill(store, sub, 0, now=NOW) == 0
    assert await store.pending_deliveries(NOW) == []


async def test_poll_deliveries_are_not_backfill(store):
    story = await store.ensure_story("Mars", guild_id=1, now=NOW)
    source = await store.add_source(story, "https://news.test/mars", now=NOW)
    await store.subscribe(story, guild_id=1, channel_id=10, now=NOW)
    url = "https://news.test/mars"
    first = extract(live_page(updates=[("u1", "A", "One sentence here.")]), url=url)
    await poll(store, source, first, now=NOW)
    second = extract(live_page(), content_type="text/html", url=url)
    later = NOW + timedelta(minutes=1)
    await poll(store, source, second, now=later)
    pending = await store.pending_deliveries(later)
    assert pending and not any(d.backfill for d in pending)


async def test_guild_source_count_counts_only_its_own_stories(store):
    await polled(store, guild_id=1)
    await polled(store, guild_id=2)
    config_story = await store.ensure_story("World Cup", now=NOW)
    await store.add_source(config_story, "https://news.test/cup", now=NOW)
    assert await store.count_guild_sources(1) == 1


async def test_delete_story_keeps_a_source_another_story_uses(store):
    mine, source = await polled(store, guild_id=1)
    theirs, _ = await polled(store, guild_id=2)
    await store.subscribe(mine, guild_id=1, channel_id=10, now=NOW)
    await store.delete_story(mine)
    assert [s.name for s in await store.stories_for_guild(1)] == []
    assert await store.subscriptions(guild_id=1) == []
    assert [s.id for s in await store.sources_of_story(theirs)] == [source]


async def test_delivery_health_counts_retries_and_failures(store):
    story, _ = await polled(store)
    sub = await store.subscribe(story, guild_id=1, channel_id=10, now=NOW)
    await queue_backfill(store, sub, 2, now=NOW)
    first, second = await store.pending_deliveries(NOW)
    retry = Retry(FailureReason.DISCORD_ERROR, "HTTP 503", at=NOW + timedelta(minutes=1))
    await store.record_delivery([first], retry, now=NOW)
    await store.record_delivery([second], GivenUp(FailureReason.REFUSED, "Missing Access"), now=NOW)
    health = (await store.delivery_health(1))[sub]
    assert (health.retrying, health.undeliverable, health.last_error) == (1, 1, "Missing Access")
    assert await store.delivery_health(2) == {}


async def test_a_server_that_left_gets_nothing_queued_not_even_for_config_stories(store):
    story = await store.ensure_story("World Cup", now=NOW)  # from the config: no server
    source = await store.add_source(story, "https://news.test/mars", now=NOW)
    await store.subscribe(story, guild_id=1, channel_id=10, now=NOW)
    await store.subscribe(story, guild_id=2, channel_id=20, now=NOW)
    await store.guild_left(2, now=NOW)
    url = "https://news.test/mars"
    first = extract(live_page(updates=[("u1", "A", "One sentence here.")]), url=url)
    await poll(store, source, first, now=NOW)
    later = NOW + timedelta(minutes=1)
    second = extract(live_page(), content_type="text/html", url=url)
    await poll(store, source, second, now=later)
    assert {d.channel_id for d in await store.pending_deliveries(later)} == {10}
