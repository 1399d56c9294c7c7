"""Delivery to Discord: one update to many subscribed channels against the fake Discord with
Discord's limits (50 requests/s global, 5 messages per 5 s per channel).

Reports the time taken, the floor our limiter's rate sets (channels ÷ rate) and the 429s the
server had to serve; then the same without our limiter in front (discord.py alone).
"""

from __future__ import annotations

import asyncio
import logging
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import discord

from bench.common import table
from bot.delivery.discord_sink import DiscordSink
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.limiter import ChannelPacer, RateLimiter
from bot.discord.endpoints import point_discord_at
from bot.model import Entry, Snapshot, SourceKind
from bot.polling.pipeline import record_snapshot
from bot.store import open_store
from tests.fakes.discord import FakeDiscord
from tests.fakes.discord_fixtures import BOT_PERMISSIONS

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _entry(n: int) -> Entry:
    return Entry(
        id=f"u{n}",
        title=f"Update {n}",
        text="The river crested overnight, just below the defences at Mill Lane.",
        url=f"https://g.example/live#u{n}",
        published=T0 + timedelta(minutes=n),
    )


async def _one_round(channels: int, rate: float) -> tuple[float, int, int]:
    """(seconds, messages posted, 429s served) for one update to `channels` channels."""
    server = FakeDiscord(heartbeat_interval_ms=5000)
    await server.start()
    point_discord_at(server.api_base, server.gateway_url)
    guild = server.add_guild("Newsroom", bot_permissions=BOT_PERMISSIONS)
    with tempfile.TemporaryDirectory() as tmp:
        store = await open_store(Path(tmp) / "bench.db")
        story = await store.ensure_story("Harbour flood", guild_id=guild.id, now=T0)
        source = await store.add_source(story, "https://g.example/live", now=T0)
        for _ in range(channels):
            channel = server.add_channel(guild, "news")
            await store.subscribe(story, guild_id=guild.id, channel_id=channel.id, now=T0)
        rng = random.Random(1)
        await record_snapshot(
            store, source, Snapshot(SourceKind.LIVEBLOG, entries=(_entry(0),)), now=T0, rng=rng
        )
        await record_snapshot(
            store,
            source,
            Snapshot(SourceKind.LIVEBLOG, entries=(_entry(0), _entry(1))),
            now=T0,
            rng=rng,
        )
        pacer = ChannelPacer()
        client = discord.Client(intents=discord.Intents.none(), http_trace=pacer.trace_config())
        await client.login(server.token)
        sink = DiscordSink(
            client,
            store,
            limiter=RateLimiter(rate),
            pacer=pacer,
            clock=lambda: T0 + timedelta(seconds=1),
        )
        dispatcher = Dispatcher(
            store,
            {"discord": sink},
            clock=lambda: T0 + timedelta(seconds=1),
            rng=random.Random(1),
            concurrency=256,
        )
        started = time.perf_counter()
        while await dispatcher.drain():
            pass
        elapsed = time.perf_counter() - started
        await client.close()
        await store.close()
    hits = server.limits.hits
    await server.close()
    point_discord_at(None, None)
    return elapsed, sink.sent, hits


def run() -> None:
    logging.getLogger("discord").setLevel(logging.ERROR)
    rows = []
    for channels, rate, label in ((2000, 45.0, "our limiter, 45/s"), (300, 10_000.0, "none")):
        elapsed, sent, hits = asyncio.run(_one_round(channels, rate))
        floor = channels / rate
        rows.append(
            [
                label,
                channels,
                sent,
                f"{elapsed:.1f}",
                f"{floor:.1f}" if rate < 1000 else "—",
                f"{(elapsed / floor - 1) * 100:+.1f}%" if rate < 1000 else "—",
                hits,
            ]
        )
    print(
        "## Delivery: one update to many channels (fake Discord, 50/s global, 5/5 s per channel)\n"
    )
    print(
        table(
            ["limiter", "channels", "messages", "seconds", "floor (s)", "over floor", "429s"],
            rows,
        )
    )


if __name__ == "__main__":
    run()
