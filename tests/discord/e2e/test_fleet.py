"""Bulletin split over gateway shards, end to end: real `bulletin run` processes against the
fake Discord, which shards its gateway as Discord does (see tests/fakes/discord/shards.py).

Two servers sit on different shards of 2. Split: `--shard-ids 0` and `--shard-ids 1`, each
process with a database of its own (see fleet.py: one shared PostgreSQL URL later). Whole: one
process holding both shards. REST only: `--shard-ids none`, which must post without ever
opening the gateway. Every database is seeded with the servers the bot was in on an earlier run:
the two live ones and, on each shard, one that removed the bot while it was away.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from tests.cli.process import Bulletin
from tests.discord.e2e.fleet import (
    STORY_PAGE,
    Fleet,
    guild_on_shard,
    present_guilds,
    seed_present,
    shard_ready,
    stories_of,
    subscribe_story,
    until,
)
from tests.discord.e2e.test_run_subprocess import new_token
from tests.fakes.discord import FakeDiscord, Guild
from tests.fakes.discord.shards import snowflake_on_shard
from tests.fakes.source_server import SourceServer
from tests.livepage import live_page, update
from tests.services import pages

pytestmark = pytest.mark.asyncio(loop_scope="module")

ADDED_PAGE = "/mars"
KEY_POINT = "The ferry runs again"


@dataclass
class Servers:
    """A server on each shard of 2, and on each a server the bot was in and is no longer."""

    zero: Guild
    one: Guild
    gone_zero: int
    gone_one: int

    @property
    def all(self) -> set[int]:
        return {self.zero.id, self.one.id, self.gone_zero, self.gone_one}


@contextlib.asynccontextmanager
async def fleet_in(
    directory: Path, *, shard_count: int | None, recommended: int = 1, interval: int = 15
) -> AsyncIterator[tuple[Fleet, Servers]]:
    token = new_token()
    discord = FakeDiscord(
        token=token, heartbeat_interval_ms=500, interaction_deadline=3.0, shards=recommended
    )
    await discord.start()
    try:
        servers = Servers(
            zero=guild_on_shard(discord, "Harbour town", 0, 2),
            one=guild_on_shard(discord, "Hill village", 1, 2),
            gone_zero=snowflake_on_shard(0, 2),
            gone_one=snowflake_on_shard(1, 2),
        )
        async with SourceServer() as sources:
            # Dated minutes ago: a story whose updates are days old would count as ended.
            recent = datetime.now(UTC) - timedelta(minutes=30)
            sources.page(STORY_PAGE, live_page(update(1, at=recent), key_points=(KEY_POINT,)))
            sources.page(ADDED_PAGE, pages.live_page(key_points=["The lander is down"]))
            fleet = Fleet(
                discord,
                sources,
                directory,
                token,
                shard_count=shard_count,
                dev_guild=servers.zero.id,
                interval=interval,
            )
            yield fleet, servers
    finally:
        await discord.close()


# ---- split: a process per shard ---------------------------------------------------------------


@dataclass
class Split:
    fleet: Fleet
    servers: Servers
    zero: Bulletin  # --shard-ids 0
    one: Bulletin  # --shard-ids 1
    databases: dict[Bulletin, str]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def split(tmp_path_factory) -> AsyncIterator[Split]:
    directory = tmp_path_factory.mktemp("split")
    databases = [str(directory / "zero.db"), str(directory / "one.db")]
    async with fleet_in(directory, shard_count=2) as (fleet, servers):
        for database in databases:
            await seed_present(database, servers.all)
        async with (
            fleet.launch("zero", database=databases[0], shard_ids="0") as zero,
            fleet.launch("one", database=databases[1], shard_ids="1") as one,
        ):
            await until(zero, lambda: shard_ready(zero, 0, 2))
            await until(one, lambda: shard_ready(one, 1, 2))
            await fleet.register_globally(servers.zero)  # in shard 0's server: its process
            yield Split(fleet, servers, zero, one, dict(zip((zero, one), databases, strict=True)))


async def test_each_process_identifies_for_its_own_shard_only(split):
    assert sorted(split.fleet.discord.identified_shards) == [(0, 2), (1, 2)]
    assert "holding shard 0 of 2" in split.zero.err
    assert "holding shard 1 of 2" in split.one.err


async def test_only_the_process_holding_shard_0_registers_the_commands_at_start(split):
    discord = split.fleet.discord
    assert discord.count("PUT", "/applications/*/guilds/*/commands") == 1
    assert "sync" in discord.registered(split.servers.zero)
    assert "registered by the process holding shard 0" in split.one.err
    assert "registered by the process holding shard 0" not in split.zero.err


@pytest.mark.parametrize("server", ["zero", "one"])
async def test_each_process_answers_the_commands_of_its_own_shards_server(split, server):
    guild = getattr(split.servers, server)
    process = getattr(split, server)
    other = split.one if process is split.zero else split.zero
    story = f"Mars for {server}"
    inv = await split.fleet.add_source(guild, ADDED_PAGE, story)
    assert f"Saved as the new story “{story}”" in inv.followups[0]["content"]
    # Saved by the process holding the server's shard, in its database; the other never saw it.
    assert story in await stories_of(split.databases[process], guild)
    assert story not in await stories_of(split.databases[other], guild)


@pytest.mark.parametrize("server", ["zero", "one"])
async def test_help_is_answered_in_both_servers(split, server):
    guild = getattr(split.servers, server)
    inv = await split.fleet.discord.invoke(guild, split.fleet.member(guild, "reader"), "help")
    assert inv.answered_after < 3.0
    assert "`/latest story [count]`" in inv.callbacks[0]["data"]["content"]


async def test_a_shard_marks_left_only_its_own_servers_missing_from_its_ready(split):
    servers = split.servers
    # Shard 0's process: its server that removed the bot is left; shard 1's servers, which it
    # cannot see, are kept, the one that is gone too (shard 1's READY decides about it).
    assert await present_guilds(split.databases[split.zero]) == servers.all - {servers.gone_zero}
    assert await present_guilds(split.databases[split.one]) == servers.all - {servers.gone_one}
    assert "(1 left while away)" in split.zero.err
    assert "(1 left while away)" in split.one.err


async def test_a_server_joining_and_leaving_is_heard_only_by_its_shards_process(split):
    discord = split.fleet.discord
    zero_db, one_db = split.databases[split.zero], split.databases[split.one]
    late = guild_on_shard(discord, "Late hamlet", 1, 2)
    await discord.announce_guild(late)  # GUILD_CREATE, sent to shard 1's session only
    await until(split.one, lambda: contains(present_guilds(one_db), late.id))
    await discord.dispatch("GUILD_DELETE", {"id": str(late.id)})
    await until(split.one, lambda: lacks(present_guilds(one_db), late.id))
    assert late.id not in await present_guilds(zero_db)
    assert f"joined guild {late.id}" not in split.zero.err
    assert f"left guild {late.id}" in split.one.err


async def contains(guilds: Awaitable[set[int]], guild_id: int) -> bool:
    return guild_id in await guilds


async def lacks(guilds: Awaitable[set[int]], guild_id: int) -> bool:
    return guild_id not in await guilds


# ---- whole: one process holding both shards ---------------------------------------------------


@dataclass
class Whole:
    fleet: Fleet
    servers: Servers
    bulletin: Bulletin
    database: str


@pytest_asyncio.fixture(
    scope="module",
    loop_scope="module",
    params=["shard-ids-0,1-of-shard_count-2", "Discord-recommends-2"],
)
async def whole(request, tmp_path_factory) -> AsyncIterator[Whole]:
    """`--shard-ids 0,1` with shard_count = 2 while Discord recommends 1; or neither given
    while Discord recommends 2. discord.py waits 5 s between a process's two IDENTIFYs."""
    directory = tmp_path_factory.mktemp("whole")
    database = str(directory / "bulletin.db")
    explicit = request.param.startswith("shard-ids")
    async with fleet_in(
        directory, shard_count=2 if explicit else None, recommended=1 if explicit else 2
    ) as (fleet, servers):
        await seed_present(database, servers.all)
        shard_ids = "0,1" if explicit else None
        async with fleet.launch("whole", database=database, shard_ids=shard_ids) as bulletin:
            await until(bulletin, lambda: shard_ready(bulletin, 0, 2))
            await until(bulletin, lambda: shard_ready(bulletin, 1, 2), within=30)
            await fleet.register_globally(servers.zero)
            yield Whole(fleet, servers, bulletin, database)


async def test_one_process_holds_both_shards(whole):
    assert sorted(whole.fleet.discord.identified_shards) == [(0, 2), (1, 2)]
    assert whole.fleet.discord.identifies == 2


@pytest.mark.parametrize("server", ["zero", "one"])
async def test_one_process_answers_the_commands_of_both_shards(whole, server):
    guild = getattr(whole.servers, server)
    inv = await whole.fleet.add_source(guild, ADDED_PAGE, f"Mars for {server}")
    assert "Saved as the new story" in inv.followups[0]["content"]
    assert f"Mars for {server}" in await stories_of(whole.database, guild)


async def test_one_process_holding_both_shards_marks_left_both_servers_gone(whole):
    servers = whole.servers
    assert await present_guilds(whole.database) == {servers.zero.id, servers.one.id}


# ---- REST only: --shard-ids none ---------------------------------------------------------------


async def test_a_process_without_shards_posts_over_rest_and_never_opens_the_gateway(tmp_path):
    async with fleet_in(tmp_path, shard_count=None, interval=1) as (fleet, servers):
        database = str(tmp_path / "rest.db")
        await seed_present(database, servers.all)
        channel = servers.zero.system_channel_id
        assert channel is not None
        await subscribe_story(database, servers.zero, channel)
        async with fleet.launch("rest", database=database, shard_ids="none") as bulletin:
            # The first poll is a baseline: only the key points are posted.
            await until(bulletin, lambda: fleet.discord.messages_in(channel))
            assert KEY_POINT in str(fleet.discord.messages_in(channel)[0])
            recent = datetime.now(UTC) - timedelta(minutes=30)
            fleet.sources.page(
                STORY_PAGE,
                live_page(update(1, at=recent), update(2, at=recent), key_points=(KEY_POINT,)),
            )
            await until(bulletin, lambda: "Harbour festival update 2" in titles(fleet, channel))
            present = await present_guilds(database)
            status = await bulletin.stop(signal.SIGTERM, within=10)
    discord = fleet.discord
    assert (discord.gateway_connections, discord.identifies) == (0, 0)
    assert "without a gateway connection" in bulletin.err
    assert status == 0, bulletin.err[-3000:]
    # It held no shard: it registered nothing and took no server it cannot see for left.
    assert discord.count("PUT", "*/commands") == 0
    assert present == servers.all
    assert "Traceback" not in bulletin.err


def titles(fleet: Fleet, channel_id: int) -> list[str]:
    return [
        embed.get("title") or ""
        for message in fleet.discord.messages_in(channel_id)
        for embed in message.get("embeds") or []
    ]
