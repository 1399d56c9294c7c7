# ruff: noqa: F811 (the delivery fixtures are imported by name, then used as arguments)
"""Discord faults during delivery not covered in tests/delivery: Discord unreachable for a while,
429s (global and per route), and permissions removed between two batches.

The real DiscordSink (discord.py's own HTTP client) posts to the fake Discord on 127.0.0.1; the
outbox lives in a real SQLite file. Each: nothing lost, nothing twice, order kept.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from bot.store import Store
from tests.delivery.conftest import (  # noqa: F401 (fixtures)
    T0,
    Clock,
    client,
    clock,
    discord_server,
    discord_sink,
    dispatcher,
    entry,
    follow,
    guild,
    snap,
)
from tests.fakes.discord import FakeDiscord, Perm


def titles(server: FakeDiscord, channel_id: int) -> list[str]:
    return [e["title"] for m in server.messages_in(channel_id) for e in m["embeds"]]


def updates(first: int, last: int) -> list[str]:
    return [f"Update {n}" for n in range(first, last + 1)]


async def grow(source, clock: Clock, last: int) -> None:
    """The source now shows updates 0..LAST (a minute later)."""
    clock.advance(minutes=1)
    await source.poll(snap(*(entry(n) for n in range(last + 1))))


async def pending(store: Store, clock: Clock) -> int:
    return len(await store.pending_deliveries(clock() + timedelta(days=1), limit=100))


# --- Discord unreachable for a while -------------------------------------------------------------


async def test_deliveries_wait_out_an_unreachable_discord_then_all_arrive_once_in_order(
    discord_server, guild, store, dispatcher, follow, clock
):
    source = await follow()
    down = discord_server.inject("POST", "/channels/*/messages", status=503, times=10_000)
    for last in range(1, 6):  # five polls while Discord answers nothing but 503
        await grow(source, clock, last)
        await dispatcher.drain()
        clock.advance(minutes=2)
    assert discord_server.messages_in(guild.system_channel_id) == []
    assert await pending(store, clock) == 5  # all waiting, none given up
    discord_server.faults.remove(down)
    for _ in range(3):
        clock.advance(minutes=10)
        await dispatcher.drain()
    assert titles(discord_server, guild.system_channel_id) == updates(1, 5)
    assert await pending(store, clock) == 0


async def test_an_unreachable_discord_is_retried_with_growing_waits_not_hammered(
    discord_server, guild, store, dispatcher, follow, clock
):
    source = await follow()
    discord_server.inject("POST", "/channels/*/messages", status=503, times=10_000)
    await grow(source, clock, 1)
    for _ in range(20):  # twenty drains at the same moment: the row is not due again yet
        await dispatcher.drain()
    tries = [r for r in discord_server.requests if r[0] == "POST" and r[2] == 503]
    assert len(tries) == 1


# --- 429s ---------------------------------------------------------------------------------------


async def test_global_429s_lose_nothing_and_post_nothing_twice(
    discord_server, guild, store, dispatcher, follow, clock
):
    channels = [discord_server.add_channel(guild, f"news-{i}").id for i in range(4)]
    sources = [await follow(channel) for channel in channels]  # same source, four channels
    discord_server.limits.global_per_second = 2
    for last in (1, 2):
        await grow(sources[0], clock, last)
        await dispatcher.drain()
    assert discord_server.limits.hits > 0  # the global limit was hit
    assert any(r[2] == 429 for r in discord_server.requests)
    for channel in channels:
        assert titles(discord_server, channel) == updates(1, 2)
    assert await pending(store, clock) == 0


async def test_per_route_429s_lose_nothing_and_post_nothing_twice(
    discord_server, guild, store, dispatcher, follow, clock
):
    source = await follow()
    discord_server.inject("POST", "/channels/*/messages", status=429, times=3, retry_after=0.2)
    for last in (1, 2, 3):
        await grow(source, clock, last)
        await dispatcher.drain()
    for _ in range(3):
        clock.advance(minutes=1)
        await dispatcher.drain()
    assert [r[2] for r in discord_server.requests if r[0] == "POST"].count(429) == 3
    posted = titles(discord_server, guild.system_channel_id)
    assert posted == updates(1, 3)
    assert max(Counter(posted).values()) == 1
    assert await pending(store, clock) == 0


# --- permissions removed mid-stream -------------------------------------------------------------


async def permissions_lost_mid_stream(discord_server, guild, store, dispatcher, follow, clock):
    """Update 1 posted; then the bot loses Send Messages in #news; updates 2-4 come in."""
    news = discord_server.add_channel(guild, "news")
    alerts = discord_server.add_channel(guild, "mod-alerts")
    await store.set_alerts_channel(guild.id, alerts.id)
    source = await follow(news.id)
    await grow(source, clock, 1)
    await dispatcher.drain()
    await discord_server.set_overwrite(
        news, discord_server.bot_role(guild), deny=Perm.SEND_MESSAGES
    )
    for last in (2, 3, 4):
        await grow(source, clock, last)
        await dispatcher.drain()
    return source, news, alerts


async def test_permissions_removed_between_batches_pause_with_one_alert(
    discord_server, guild, store, dispatcher, follow, clock
):
    _, news, alerts = await permissions_lost_mid_stream(
        discord_server, guild, store, dispatcher, follow, clock
    )
    (sub,) = await store.subscriptions(guild_id=guild.id)
    assert sub.paused_at is not None and "403" in (sub.pause_detail or "")
    (alert,) = discord_server.messages_in(alerts.id)
    assert f"<#{news.id}>" in alert["content"]
    assert titles(discord_server, news.id) == ["Update 1"]


async def test_resubscribing_after_permissions_return_posts_the_kept_rows_once_in_order(
    discord_server, guild, store, dispatcher, follow, clock
):
    source, news, alerts = await permissions_lost_mid_stream(
        discord_server, guild, store, dispatcher, follow, clock
    )
    await discord_server.set_overwrite(news, discord_server.bot_role(guild))
    await store.subscribe(source.ids.story_id, guild_id=guild.id, channel_id=news.id, now=T0)
    for _ in range(2):
        await dispatcher.drain()
    assert titles(discord_server, news.id) == updates(1, 4)
    assert len(discord_server.messages_in(alerts.id)) == 1
