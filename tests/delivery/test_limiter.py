"""Our own pacing of requests to Discord: the global limiter and the per-channel pacer."""

from __future__ import annotations

import asyncio

import discord
import pytest

from bot.delivery.discord_sink import DiscordSink
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.limiter import ChannelPacer, RateLimiter
from tests.delivery.conftest import entry, snap


class FrozenClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_acquisitions_are_spaced_at_the_rate_first_come_first_served(monkeypatch):
    clock = FrozenClock()
    limiter = RateLimiter(10, clock=clock)
    waits: list[float] = []

    async def sleep(delay: float) -> None:  # the limiter's only wait: record it
        waits.append(delay)

    monkeypatch.setattr("bot.delivery.limiter.asyncio.sleep", sleep)
    for _ in range(25):  # all asked for at the same moment
        await limiter.acquire()
    # the first goes at once, then one every 0.1 s: never more than 10 in any second
    assert waits == pytest.approx([n / 10 for n in range(1, 25)])
    clock.now += 60  # idle for a minute: the next goes at once, and no burst is saved up
    waits.clear()
    await limiter.acquire()
    await limiter.acquire()
    assert waits == pytest.approx([0.1])


@pytest.mark.parametrize("rate", [0, -5])
def test_a_rate_that_is_not_positive_is_refused(rate):
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(rate)


def test_the_pacer_holds_a_channel_until_its_bucket_resets():
    clock = FrozenClock()
    pacer = ChannelPacer(clock=clock)
    pacer.note(7, remaining=3, reset_after=4.0)
    assert pacer.delay(7) == 0.0
    pacer.note(7, remaining=0, reset_after=4.0)
    assert pacer.delay(7) == pytest.approx(4.0) and pacer.delay(8) == 0.0
    clock.now += 4.0
    assert pacer.delay(7) == 0.0


class CountingLimiter(RateLimiter):
    def __init__(self) -> None:
        super().__init__(1000.0)
        self.acquired = 0

    async def acquire(self) -> None:
        self.acquired += 1
        await super().acquire()


async def test_every_request_the_sink_makes_passes_the_limiter(
    discord_server, guild, client, store, follow, clock
):
    discord_server.limits.message_create = (2, 60.0)  # two messages a minute per channel
    limiter = CountingLimiter()
    pacer = ChannelPacer()
    sink = DiscordSink(client, store, limiter=limiter, pacer=pacer, clock=clock)
    dispatcher = Dispatcher(store, {"discord": sink}, clock=clock)
    before = len(discord_server.requests)
    source = await follow(thread=True, baseline=snap(entry(0), key_points=("A",)))
    await source.poll(snap(entry(0), entry(1), key_points=("A",)))
    await dispatcher.drain()  # starter message, thread, the update
    clock.advance(minutes=5)
    await source.poll(snap(entry(0), entry(1, "Fixed."), key_points=("A", "B")))
    await dispatcher.drain()  # the edit, the starter's edit, the key-point change
    assert limiter.acquired == len(discord_server.requests) - before >= 6
    assert not any(status == 429 for _, _, status in discord_server.requests)


class RecordingPacer(ChannelPacer):
    def __init__(self) -> None:
        super().__init__()
        self.noted: list[tuple[int, int, float]] = []

    def note(self, channel_id: int, remaining: int, reset_after: float) -> None:
        self.noted.append((channel_id, remaining, reset_after))
        super().note(channel_id, remaining, reset_after)


async def test_the_pacer_learns_each_channels_bucket_from_discords_headers(
    discord_server, guild, store, follow, clock
):
    discord_server.limits.message_create = (2, 1.0)  # two messages a second per channel
    pacer = RecordingPacer()
    bot = discord.Client(intents=discord.Intents.none(), http_trace=pacer.trace_config())
    await bot.login(discord_server.token)
    try:
        sink = DiscordSink(bot, store, limiter=RateLimiter(1000.0), pacer=pacer, clock=clock)
        dispatcher = Dispatcher(store, {"discord": sink}, clock=clock)
        source = await follow()
        for last in (1, 2, 3):
            clock.advance(minutes=1)
            await source.poll(snap(*(entry(n) for n in range(last + 1))))
            await dispatcher.drain()
        channel = guild.system_channel_id
        assert [(c, left) for c, left, _ in pacer.noted[:2]] == [(channel, 1), (channel, 0)]
        assert all(0 < reset <= 1.0 for _, _, reset in pacer.noted)
        assert len(pacer.noted) == 3  # one per message, none for anything else
        assert not any(status == 429 for _, _, status in discord_server.requests)
    finally:
        await asyncio.wait_for(bot.close(), 5)
