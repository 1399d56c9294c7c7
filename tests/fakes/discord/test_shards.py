"""Gateway sharding: each session gets the guilds of the shard it IDENTIFYed for, and their
events and interactions; /gateway/bot recommends the count the fake was given."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord import FakeDiscord, Guild
from tests.fakes.discord.shards import shard_of, snowflake_on_shard
from tests.fakes.discord_fixtures import BOT_PERMISSIONS


class Quick(commands.AutoShardedBot):
    """discord.py's sharded bot, minus the 5 s it waits between two IDENTIFYs (Discord's rate
    for one bot; the fake has none)."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


class Where(commands.Cog):
    """/where answers with the shards of the bot that answered."""

    def __init__(self, bot: commands.AutoShardedBot) -> None:
        self.bot = bot

    @app_commands.command(name="where", description="Which shard answers")
    async def where(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"shards {self.bot.shard_ids}")


StartSharded = Callable[..., Awaitable[commands.AutoShardedBot]]


@pytest.fixture
async def start_sharded(discord_server: FakeDiscord) -> AsyncIterator[StartSharded]:
    """`await start_sharded(shard_ids=[1], shard_count=2)`: a real AutoShardedBot, READY."""
    running: list[tuple[commands.AutoShardedBot, asyncio.Task[None]]] = []

    async def start(**options: object) -> commands.AutoShardedBot:
        bot = Quick(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            guild_ready_timeout=0.05,
            help_command=None,
            **options,
        )
        await bot.add_cog(Where(bot))
        task = asyncio.create_task(bot.start(discord_server.token))
        running.append((bot, task))
        ready = asyncio.create_task(bot.wait_until_ready())  # after start() set it up
        done, _ = await asyncio.wait({ready, task}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()  # raises what went wrong
            raise TimeoutError("the sharded bot did not become ready within 5 s")
        return bot

    try:
        yield start
    finally:
        for bot, task in running:
            await bot.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, 5)


@pytest.fixture
def two_guilds(discord_server: FakeDiscord) -> tuple[Guild, Guild]:
    """A guild on shard 0 of 2 and one on shard 1 of 2."""
    first, second = (
        discord_server.add_guild(
            f"Shard {n}", bot_permissions=BOT_PERMISSIONS, guild_id=snowflake_on_shard(n, 2)
        )
        for n in (0, 1)
    )
    return first, second


@pytest.mark.parametrize(("shard", "count"), [(0, 1), (0, 2), (1, 2), (4, 5), (999, 1000)])
def test_ids_made_for_a_shard_fall_on_it(shard, count):
    assert {shard_of(snowflake_on_shard(shard, count), count) for _ in range(50)} == {shard}


def test_ids_made_for_a_shard_stay_unique():
    assert len({snowflake_on_shard(1, 3) for _ in range(500)}) == 500


async def test_each_shard_is_sent_only_its_own_guilds(discord_server, two_guilds, start_sharded):
    first, second = two_guilds
    zero = await start_sharded(shard_count=2, shard_ids=[0])
    one = await start_sharded(shard_count=2, shard_ids=[1])
    assert [g.id for g in zero.guilds] == [first.id]
    assert [g.id for g in one.guilds] == [second.id]
    assert discord_server.identified_shards == [(0, 2), (1, 2)]


async def test_a_session_without_a_shard_is_sent_every_guild(discord_server, two_guilds, start_bot):
    bot = await start_bot()
    assert {g.id for g in bot.guilds} == {g.id for g in two_guilds}
    assert discord_server.identified_shards == [(0, 1)]


async def test_gateway_bot_recommends_the_count_the_fake_was_given(discord_server, start_sharded):
    discord_server.recommended_shards = 3
    bot = await start_sharded()  # no shard_count: discord.py asks GET /gateway/bot
    assert bot.shard_count == 3
    assert sorted(discord_server.identified_shards) == [(0, 3), (1, 3), (2, 3)]


async def test_interactions_go_to_the_session_holding_the_guild(
    discord_server, two_guilds, start_sharded
):
    zero = await start_sharded(shard_count=2, shard_ids=[0])
    await start_sharded(shard_count=2, shard_ids=[1])
    await zero.tree.sync()  # global: both guilds have /where
    for guild, expected in zip(two_guilds, ("shards [0]", "shards [1]"), strict=True):
        member = discord_server.add_member(guild, "reader")
        inv = await discord_server.invoke(guild, member, "where")
        assert inv.callbacks[0]["data"]["content"] == expected


async def test_an_interaction_in_a_guild_no_session_holds_is_never_answered(
    discord_server, two_guilds, start_sharded
):
    zero = await start_sharded(shard_count=2, shard_ids=[0])
    await zero.tree.sync()
    member = discord_server.add_member(two_guilds[1], "reader")
    with pytest.raises(TimeoutError):
        await discord_server.invoke(two_guilds[1], member, "where", timeout=1)


async def test_guild_events_reach_only_the_session_of_the_guilds_shard(
    discord_server, two_guilds, start_sharded
):
    first, second = two_guilds
    zero = await start_sharded(shard_count=2, shard_ids=[0])
    one = await start_sharded(shard_count=2, shard_ids=[1])
    removed: list[tuple[str, int]] = []
    for name, bot in (("zero", zero), ("one", one)):

        async def on_guild_remove(guild: discord.Guild, name: str = name) -> None:
            removed.append((name, guild.id))

        bot.add_listener(on_guild_remove)
    late = discord_server.add_channel(second, "late")
    await discord_server.dispatch("GUILD_DELETE", {"id": str(first.id)})
    await discord_server.wait_until(lambda: one.get_channel(late.id) is not None)
    await discord_server.wait_until(lambda: removed)
    assert removed == [("zero", first.id)]
    sent = {
        s.shard.id: [f["t"] for f in s.backlog if f["t"] in ("CHANNEL_CREATE", "GUILD_DELETE")]
        for s in discord_server.sessions.values()
    }
    assert sent == {0: ["GUILD_DELETE"], 1: ["CHANNEL_CREATE"]}


@pytest.mark.parametrize("shard", [[2, 2], [0, 0], [-1, 2], [0], "0,1", [True, 2]])
async def test_an_identify_for_an_impossible_shard_is_closed_with_4010(discord_server, shard):
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(discord_server.gateway_url + "?v=10&encoding=json") as ws,
    ):
        hello = await ws.receive_json()
        assert hello["op"] == 10
        identify = {"token": discord_server.token, "intents": 1, "properties": {}, "shard": shard}
        await ws.send_str(json.dumps({"op": 2, "d": identify}))
        closed = await ws.receive()
    assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == 4010
    assert discord_server.sessions == {}
