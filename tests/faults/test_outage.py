"""A source down for hours, then back: backoff respected, moderators told once each way, and no
flood of old updates when it returns with its window moved on.

The real Poller drives a SourceServer on 127.0.0.1 on an injectable clock (no real waiting); the
dispatcher hands what the polls wrote to the console (a story from the config) and to the fake
Discord (a server's own story on the same URL, whose alerts channel moderators read).
"""

from __future__ import annotations

import io
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import discord
import pytest

from bot.delivery.discord_sink import DiscordSink
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.limiter import RateLimiter
from bot.delivery.sinks import ConsoleSink
from bot.schedule import BACKOFF_CAP, PROBE_INTERVAL
from bot.store import Store
from tests.delivery.conftest import client, discord_server, guild  # noqa: F401 (fixtures)
from tests.fakes.discord import FakeDiscord, Guild
from tests.fakes.source_server import SourceServer
from tests.livepage import live_page, update
from tests.polling.test_poller import Harness, make_harness

INTERVAL = 60
PAUSE_AFTER = 8  # room for the backoff to reach its cap before the pause
OUTAGE = timedelta(hours=5)
WINDOW = 10  # the page shows its newest 10 updates


def page(last: int) -> bytes:
    """The page when update LAST is the newest: a moving window, as live pages have."""
    return live_page(*(update(n) for n in range(max(1, last - WINDOW + 1), last + 1)))


@dataclass
class World:
    harness: Harness
    server: SourceServer
    discord: FakeDiscord
    news: int  # the Discord channel subscribed to the story
    alerts: int  # the server's alerts channel
    console: io.StringIO
    dispatcher: Dispatcher
    source: int

    @property
    def store(self) -> Store:
        return self.harness.store

    async def poll_when_due(self) -> None:
        await self.harness.poll_when_due(self.source)
        await self.dispatcher.drain()

    async def wait(self) -> float:
        """Seconds until the source's next check."""
        record = await self.store.get_source(self.source)
        return (record.next_check - self.harness.clock.now).total_seconds()

    def discord_titles(self) -> list[str]:
        return [e["title"] for m in self.discord.messages_in(self.news) for e in m["embeds"]]

    def alerts_said(self) -> list[str]:
        return [m["content"].split(":")[0] for m in self.discord.messages_in(self.alerts)]


@pytest.fixture
async def world(
    tmp_path: Path,
    discord_server: FakeDiscord,  # noqa: F811
    guild: Guild,  # noqa: F811
    client: discord.Client,  # noqa: F811
) -> AsyncIterator[World]:
    async with SourceServer() as server:
        async for harness in make_harness(tmp_path, server, pause_after_failures=PAUSE_AFTER):
            store, now = harness.store, harness.clock.now
            news = discord_server.add_channel(guild, "news").id
            alerts = discord_server.add_channel(guild, "mod-alerts").id
            await store.set_alerts_channel(guild.id, alerts)
            server.page("/live", page(4))
            url = server.url("/live")
            config_story = await store.ensure_story("Harbour", now=now)
            source = await store.add_source(config_story, url, interval=INTERVAL, now=now)
            await store.subscribe(config_story, guild_id=None, channel_id=None, now=now)
            own_story = await store.ensure_story("Harbour", guild_id=guild.id, now=now)
            assert await store.add_source(own_story, url, interval=INTERVAL, now=now) == source
            await store.subscribe(own_story, guild_id=guild.id, channel_id=news, now=now)
            console = io.StringIO()
            sink = DiscordSink(client, store, limiter=RateLimiter(500.0), clock=harness.clock)
            dispatcher = Dispatcher(
                store,
                {"console": ConsoleSink(console), "discord": sink},
                clock=harness.clock,
                rng=random.Random(7),
            )
            made = World(harness, server, discord_server, news, alerts, console, dispatcher, source)
            await harness.poll()  # the baseline: updates 1-4, nothing posted
            await made.dispatcher.drain()
            yield made


async def go_down(world: World) -> list[float]:
    """The source answers 503 for OUTAGE; the waits the poller chose after each failed fetch."""
    world.server.status("/live", 503)
    end = world.harness.clock.now + OUTAGE
    waits: list[float] = []
    while True:
        record = await world.store.get_source(world.source)
        if record.next_check > end:
            return waits
        await world.poll_when_due()
        waits.append(await world.wait())


async def test_backoff_doubles_to_the_cap_then_pauses_and_probes_every_30_minutes(world):
    waits = await go_down(world)
    ceilings = [min(BACKOFF_CAP, INTERVAL * 2**k) for k in range(PAUSE_AFTER - 1)]
    for wait, ceiling in zip(waits, ceilings, strict=False):  # equal jitter: [ceiling/2, ceiling]
        assert ceiling / 2 <= wait <= ceiling
    for wait in waits[PAUSE_AFTER - 1 :]:
        assert PROBE_INTERVAL * 0.9 <= wait <= PROBE_INTERVAL * 1.1
    assert ceilings[-1] == BACKOFF_CAP  # the schedule did reach the cap before pausing


async def test_the_outage_costs_only_the_scheduled_fetches(world):
    before = world.server.hits["/live"]
    waits = await go_down(world)
    assert world.server.hits["/live"] - before == len(waits)
    # five hours: 7 backoff tries (at most 60+120+...+1800+1800 s) then probes every ~30 min
    assert PAUSE_AFTER <= len(waits) <= PAUSE_AFTER + 8


async def test_nothing_is_fetched_before_the_next_check(world):
    await go_down(world)
    record = await world.store.get_source(world.source)
    world.harness.clock.now = record.next_check - timedelta(seconds=1)
    before = world.server.hits["/live"]
    assert await world.harness.poll() == 0
    assert world.server.hits["/live"] == before


async def test_the_pause_is_told_once_on_the_console_and_once_on_discord(world):
    await go_down(world)
    assert (await world.store.get_source(world.source)).auto_paused
    assert world.console.getvalue().count("source paused:") == 1
    assert world.alerts_said() == ["source paused"]


async def recover(world: World) -> None:
    """Updates 5 and 6 are posted, the source goes down for hours, and comes back with its
    window (10 updates) moved on to 5-14: 5 and 6 seen before, 7-14 new; then two more polls."""
    world.server.page("/live", page(6))
    await world.poll_when_due()
    await go_down(world)
    world.server.page("/live", page(14))
    for _ in range(3):
        await world.poll_when_due()


async def test_the_recovery_is_told_once_on_the_console_and_once_on_discord(world):
    await recover(world)
    assert not (await world.store.get_source(world.source)).auto_paused
    assert world.console.getvalue().count("source paused:") == 1
    assert world.console.getvalue().count("source resumed:") == 1
    assert world.alerts_said() == ["source paused", "source resumed"]


EXPECTED = [f"Harbour festival update {n}" for n in range(5, 15)]


async def test_after_the_outage_discord_gets_only_unseen_updates_once_oldest_first(world):
    await recover(world)
    assert world.discord_titles() == EXPECTED  # 5, 6 before the outage; 7-14 after


async def test_after_the_outage_the_console_prints_only_unseen_updates_once_oldest_first(world):
    await recover(world)
    printed = world.console.getvalue()
    assert [printed.count(title + "\n") for title in EXPECTED] == [1] * len(EXPECTED)
    positions = [printed.index(title + "\n") for title in EXPECTED]
    assert positions == sorted(positions)


@pytest.mark.parametrize("n", [1, 4])
async def test_updates_from_the_baseline_are_never_printed(world, n):
    await recover(world)
    assert f"Harbour festival update {n}\n" not in world.console.getvalue()
