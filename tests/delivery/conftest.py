"""Fixtures for delivery to Discord: a real store file, a logged-in discord.py client on the
fake Discord, and the sink between them on a clock the test moves."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import discord
import pytest

from bot.delivery.discord_sink import DiscordSink
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.limiter import RateLimiter
from bot.model import Entry, Snapshot
from bot.store import Store
from tests import builders
from tests.builders import Clock, poll, snap
from tests.fakes.discord import FakeDiscord, Guild
from tests.fakes.discord_fixtures import discord_server, guild, start_bot

__all__ = ["Clock", "discord_server", "guild", "snap", "start_bot"]

T0 = builders.T0


def entry(n: int, text: str | None = None, *, title: str | None = None) -> Entry:
    return builders.entry(n, text, title=title, site="https://news.example/live")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(discord_server: FakeDiscord) -> AsyncIterator[discord.Client]:
    """A logged-in client (REST only: the sink needs no gateway)."""
    discord_server.limits.message_create = (50, 1.0)  # tests post more than 5 per 5 s
    bot = discord.Client(intents=discord.Intents.none())
    await bot.login(discord_server.token)
    yield bot
    await bot.close()


@pytest.fixture
def discord_sink(client: discord.Client, store: Store, clock: Clock) -> DiscordSink:
    return DiscordSink(client, store, limiter=RateLimiter(500.0), clock=clock)


@pytest.fixture
def dispatcher(discord_sink: DiscordSink, store: Store, clock: Clock) -> Dispatcher:
    """The outbox drained to the fake Discord, on the test's clock."""
    return Dispatcher(store, {"discord": discord_sink}, clock=clock, rng=random.Random(7))


@dataclass
class Followed:
    story_id: int
    source_id: int
    subscription_id: int
    channel_id: int


class Source:
    """A source that grows: each `poll` applies the snapshot at the clock's time."""

    def __init__(self, store: Store, clock: Clock, followed: Followed) -> None:
        self.store = store
        self.clock = clock
        self.ids = followed

    async def poll(self, snapshot: Snapshot) -> tuple:
        return await poll(self.store, self.ids.source_id, snapshot, now=self.clock())


@pytest.fixture
def follow(store: Store, clock: Clock, guild: Guild):
    """`await follow(channel_id, baseline=snap(...), **subscribe_options) -> Source`."""

    async def make(
        channel_id: int | None = None,
        *,
        baseline: Snapshot | None = None,
        name: str = "Election night",
        **options: object,
    ) -> Source:
        channel_id = channel_id or guild.system_channel_id
        story_id = await store.ensure_story(name, guild_id=guild.id, now=T0)
        source_id = await store.add_source(story_id, "https://news.example/live", now=T0)
        sub_id = await store.subscribe(
            story_id, guild_id=guild.id, channel_id=channel_id, now=T0, **options
        )
        source = Source(store, clock, Followed(story_id, source_id, sub_id, channel_id))
        await source.poll(baseline or snap(entry(0)))
        return source

    return make
