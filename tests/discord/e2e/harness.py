"""Fixtures that run the real BulletinBot with every cog against the fake Discord.

A Runtime is built as the app builds it: a SQLite file in tmp_path, a fetcher allowed to reach
loopback (for the local source server), an AsyncIOScheduler (not started: nothing polls here).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Config, DiscordConfig, PollingConfig
from bot.discord.client import BulletinBot
from bot.runtime import Runtime
from bot.sources.fetch import Fetcher, open_session
from bot.store import Store, open_store
from tests.fakes.discord import FakeDiscord, Guild, Member, Perm
from tests.fakes.discord_fixtures import BOT_PERMISSIONS
from tests.fakes.source_server import SourceServer


async def eventually(predicate: Callable[[], object], timeout: float = 2.0) -> None:  # noqa: ASYNC109
    """Wait until predicate() holds: for effects of gateway events the bot handles in tasks."""
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - the store has no event to wait on
            await asyncio.sleep(0.01)


@dataclass
class Harness:
    server: FakeDiscord
    guild: Guild
    runtime: Runtime
    sources: SourceServer
    db_path: str = ""
    bot: BulletinBot | None = None
    task: asyncio.Task[None] | None = None  # the bot's run (a test may restart the bot)
    members: dict[str, Member] = field(default_factory=dict)

    @property
    def store(self) -> Store:
        return self.runtime.store

    def member(self, name: str, permissions: int = 0, guild: Guild | None = None) -> Member:
        """A member of the guild with a role holding `permissions`."""
        guild = guild or self.guild
        roles = [self.server.add_role(guild, f"{name}-role", permissions)] if permissions else []
        return self.server.add_member(guild, name, roles=roles)

    def moderator(self, guild: Guild | None = None) -> Member:
        return self.member("mod", Perm.MANAGE_GUILD | Perm.MANAGE_CHANNELS, guild)

    def left_at(self, guild: Guild) -> int | None:
        """The guild's `left_at` as the store has it (read beside the bot's connection)."""
        with contextlib.closing(sqlite3.connect(self.db_path)) as db:
            row = db.execute("SELECT left_at FROM guilds WHERE id = ?", (guild.id,)).fetchone()
        return None if row is None else row[0]

    async def second_guild(self, name: str = "Other") -> Guild:
        """Another server the bot joins while running (global commands reach it)."""
        other = self.server.add_guild(name, bot_permissions=BOT_PERMISSIONS)
        await self.server.announce_guild(other)
        assert self.bot is not None
        await self.server.wait_until(lambda: self.bot.get_guild(other.id) is not None)
        return other


async def make_runtime(tmp_path, *, dev_guild: int | None, server: FakeDiscord) -> Runtime:
    polling = PollingConfig(allow_private_addresses=True, min_interval=15, timeout=5.0)
    config = Config(
        discord=DiscordConfig(
            api_base=server.api_base, gateway_url=server.gateway_url, dev_guild=dev_guild
        ),
        polling=polling,
    )
    store = await open_store(tmp_path / "bulletin.db")
    session = open_session(polling.fetch_limits())
    _sessions[id(store)] = session
    fetcher = Fetcher(session, polling.fetch_limits())
    return Runtime(config=config, store=store, fetcher=fetcher, scheduler=AsyncIOScheduler())


_sessions: dict[int, object] = {}


async def close_runtime(runtime: Runtime) -> None:
    session = _sessions.pop(id(runtime.store))
    await session.close()  # type: ignore[attr-defined]
    await runtime.store.close()


async def start(runtime: Runtime, server: FakeDiscord) -> tuple[BulletinBot, asyncio.Task[None]]:
    bot = BulletinBot(runtime, guild_ready_timeout=0.05)
    task = asyncio.create_task(bot.start(server.token))
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait({ready, task}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        if task in done:
            task.result()
        raise TimeoutError("BulletinBot did not become ready within 5 s")
    return bot, task


async def stop(bot: BulletinBot, task: asyncio.Task[None]) -> None:
    await bot.close()
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await asyncio.wait_for(task, 5)


@pytest.fixture
async def harness(discord_server, guild, tmp_path) -> AsyncIterator[Harness]:
    """BulletinBot running with every cog, dev_guild = `guild` (synced there at start) and the
    global commands registered too (so that other servers have them)."""
    runtime = await make_runtime(tmp_path, dev_guild=guild.id, server=discord_server)
    async with SourceServer() as sources:
        h = Harness(discord_server, guild, runtime, sources, str(tmp_path / "bulletin.db"))
        h.bot, h.task = await start(runtime, discord_server)
        await h.bot.tree.sync()  # global: what /sync global does, for the other servers
        try:
            yield h
        finally:
            await stop(h.bot, h.task)
            await close_runtime(runtime)
