"""Pytest fixtures: the fake Discord, a guild in it, and real discord.py bots connected to it.

Import them into a conftest (`from tests.fakes.discord_fixtures import *`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import discord
import pytest
from discord.ext import commands

from bot.discord.endpoints import point_discord_at
from tests.fakes.discord import FakeDiscord, Guild, Perm

BOT_PERMISSIONS = (
    Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.EMBED_LINKS
    | Perm.READ_MESSAGE_HISTORY
    | Perm.CREATE_PUBLIC_THREADS
    | Perm.SEND_MESSAGES_IN_THREADS
)

StartBot = Callable[..., Awaitable[commands.Bot]]


@pytest.fixture
async def discord_server() -> AsyncIterator[FakeDiscord]:
    """A running fake Discord with discord.py pointed at it (and pointed back afterwards)."""
    server = FakeDiscord(heartbeat_interval_ms=500, interaction_deadline=3.0)
    await server.start()
    point_discord_at(server.api_base, server.gateway_url)
    try:
        yield server
    finally:
        await server.close()
        point_discord_at(None, None)
    # every request Discord's specification refuses fails the test that made it be sent
    unexpected = [v for v in server.violations if not server.violations_expected]
    assert not unexpected, f"requests Discord's API specification refuses: {unexpected}"


@pytest.fixture
def guild(discord_server: FakeDiscord) -> Guild:
    """A server the bot is in, with a #general channel; the bot's role can post and embed."""
    return discord_server.add_guild("Newsroom", bot_permissions=BOT_PERMISSIONS)


@pytest.fixture
async def start_bot(discord_server: FakeDiscord) -> AsyncIterator[StartBot]:
    """`await start_bot(cog, ..., sync=guild)`: a real commands.Bot, logged in, READY, with the cogs
    added and (when sync is given) its app commands copied to that guild and synced there."""
    bots: list[tuple[commands.Bot, asyncio.Task[None]]] = []

    async def start(*cogs: commands.Cog, sync: Guild | None = None) -> commands.Bot:
        bot = commands.Bot(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            guild_ready_timeout=0.05,
            help_command=None,
        )
        for cog in cogs:
            await bot.add_cog(cog)
        task = asyncio.create_task(bot.start(discord_server.token))
        bots.append((bot, task))
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait({ready, task}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()  # raises what went wrong
            raise TimeoutError("the bot did not become ready within 5 s")
        if sync is not None:
            target = discord.Object(sync.id)
            bot.tree.copy_global_to(guild=target)  # a dev-guild sync, as the product does
            await bot.tree.sync(guild=target)
        return bot

    try:
        yield start
    finally:
        for bot, task in bots:
            await bot.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
