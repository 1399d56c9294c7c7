"""The publisher: one crosspost request of its own (outside discord.py's rate limiter), taken
from the channel's budget first, and Discord's answer kept, whatever it is."""

from __future__ import annotations

import time
from datetime import timedelta

import discord
import pytest

from bot.delivery.discord_sink.publish import Publisher
from bot.delivery.limiter import RateLimiter
from bot.model import PublishOutcome
from bot.store.publishing import PublishBudget, PublishRequest
from tests.builders import T0
from tests.fakes.discord import ChannelType, FakeDiscord, Guild

WRONG_TYPE = "Cannot execute action on this channel type"


@pytest.fixture
def news(discord_server: FakeDiscord, guild: Guild):
    return discord_server.add_channel(guild, "news", type=ChannelType.NEWS)


@pytest.fixture
def publisher(client: discord.Client, store, clock) -> Publisher:
    return Publisher(client, store, limiter=RateLimiter(500.0), clock=clock)


async def posted(client: discord.Client, channel_id: int, text: str = "hello") -> int:
    message = await client.get_partial_messageable(channel_id).send(text)
    return message.id


async def ask(store, guild: Guild, channel_id: int, message_id: int, *, key: bool = False):
    await store.guild_joined(guild.id, now=T0)  # the server its alerts refer to
    return PublishRequest(channel_id, guild.id, None, None, message_id, key, "Mars")


async def test_a_message_is_published_and_recorded(
    discord_server, guild, news, client, store, publisher
):
    message_id = await posted(client, news.id)
    note = await publisher.publish(await ask(store, guild, news.id, message_id))
    assert note == "published"
    [record] = await store.publications(channel_id=news.id)
    assert (record.message_id, record.outcome) == (message_id, PublishOutcome.PUBLISHED)
    assert discord_server.messages[message_id]["flags"] & 1


async def test_a_429_is_kept_as_the_channels_wait_and_never_slept_on(
    discord_server, guild, news, client, store, publisher, clock
):
    discord_server.inject("POST", "/channels/*/messages/*/crosspost", status=429, retry_after=3000)
    message_id = await posted(client, news.id)
    started = time.monotonic()
    note = await publisher.publish(await ask(store, guild, news.id, message_id))
    assert time.monotonic() - started < 2.0
    assert note == "not published: Discord said to wait 3000 s"
    [record] = await store.publications(channel_id=news.id)
    assert record.outcome is PublishOutcome.FAILED
    assert record.wait_until == clock() + timedelta(seconds=3000)
    # a key-point change may use the reserve, but not Discord's wait
    later = await posted(client, news.id, "later")
    note = await publisher.publish(await ask(store, guild, news.id, later, key=True))
    assert note.startswith("not published: Discord asked to wait")
    assert discord_server.count("POST", "/channels/*/messages/*/crosspost") == 1


async def test_an_empty_bucket_holds_the_channel_until_it_resets(
    discord_server, guild, news, client, store, publisher, clock
):
    discord_server.limits.crosspost = (1, 3600.0)  # Discord's bucket: this one is the last
    publisher.budget = PublishBudget(per_hour=10, reserve=0)
    first = await posted(client, news.id)
    assert await publisher.publish(await ask(store, guild, news.id, first)) == "published"
    [record] = await store.publications(channel_id=news.id)
    assert record.wait_until is not None and record.wait_until > clock() + timedelta(minutes=59)
    second = await posted(client, news.id, "second")
    note = await publisher.publish(await ask(store, guild, news.id, second))
    assert note.startswith("not published: Discord asked to wait")
    assert discord_server.count("POST", "/channels/*/messages/*/crosspost") == 1


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "text",
            "not published: Discord said 400 50024: Cannot execute action on this channel type",
        ),
        ("twice", "published (already)"),
        ("gone", "not published: Discord said 404 10008: Unknown Message"),
    ],
)
async def test_discords_refusals_are_recorded_never_raised(
    discord_server, guild, news, client, store, publisher, kind, expected
):
    channel = guild.system_channel_id if kind == "text" else news.id
    message_id = await posted(client, channel)
    if kind == "twice":
        await publisher.publish(await ask(store, guild, channel, message_id))
    if kind == "gone":
        del discord_server.messages[message_id]
    note = await publisher.publish(await ask(store, guild, channel, message_id))
    assert note == expected


async def test_an_unreachable_discord_is_a_failed_publish(guild, news, client, store, clock):
    publisher = Publisher(client, store, limiter=RateLimiter(500.0), clock=clock, timeout=0.5)
    message_id = await posted(client, news.id)
    discord.http.Route.BASE = "http://127.0.0.1:9/api/v10"  # the fixture points it back
    note = await publisher.publish(await ask(store, guild, news.id, message_id))
    assert note.startswith("not published: ClientConnectorError")
    [record] = await store.publications(channel_id=news.id)
    assert record.outcome is PublishOutcome.FAILED
