"""Several real `bulletin run` processes against one fake Discord: what the sharding tests share.

Every process is given a database target, and everything the tests read or seed goes through
the bot's own `open_store` on that target, never through one backend's SQL. Today each process
has an SQLite file of its own (several processes on one SQLite database are not supported),
or every process of a fleet the same PostgreSQL URL (`database_table` writes `[database] url`
for a URL, `path` for a file).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.store import open_store
from tests.cli.process import Bulletin
from tests.fakes.discord import FakeDiscord, Guild, Invocation, Member, Perm
from tests.fakes.discord.shards import snowflake_on_shard
from tests.fakes.discord_fixtures import BOT_PERMISSIONS
from tests.fakes.source_server import SourceServer

STORY = "Harbour watch"  # the config file's story
STORY_PAGE = "/harbour"


def database_table(target: str) -> str:
    """The config's [database] table for a target: a PostgreSQL URL or an SQLite file."""
    key = "url" if "://" in target else "path"
    return f'[database]\n{key} = "{target}"\n'


def guild_on_shard(discord: FakeDiscord, name: str, shard_id: int, shard_count: int) -> Guild:
    """A server the bot is in, whose id falls on that shard."""
    return discord.add_guild(
        name,
        bot_permissions=BOT_PERMISSIONS,
        guild_id=snowflake_on_shard(shard_id, shard_count),
    )


@dataclass
class Fleet:
    """The fake Discord, a source server and the settings every process of the bot shares."""

    discord: FakeDiscord
    sources: SourceServer
    directory: Path
    token: str
    shard_count: int | None = None
    dev_guild: int | None = None
    interval: int = 15  # the story's polling interval, seconds
    lease: int | None = None  # [polling] lease, seconds (None: the default)
    rate: float | None = None  # [delivery] rate (None: the default)
    # more stories of the config besides STORY: {name: page path}
    more_stories: dict[str, str] = field(default_factory=dict)

    def write_config(self, name: str, database: str) -> Path:
        discord = [
            f'api_base = "{self.discord.api_base}"',
            f'gateway_url = "{self.discord.gateway_url}"',
        ]
        if self.dev_guild is not None:
            discord.append(f"dev_guild = {self.dev_guild}")
        if self.shard_count is not None:
            discord.append(f"shard_count = {self.shard_count}")
        polling = f"lease = {self.lease}\n" if self.lease is not None else ""
        delivery = f"\n[delivery]\nrate = {self.rate}\n" if self.rate is not None else ""
        stories = "".join(
            f'\n[[stories]]\nname = "{story}"\nsources = ["{self.sources.url(page)}"]\n'
            for story, page in self.more_stories.items()
        )
        path = self.directory / f"{name}.toml"
        path.write_text(
            "[discord]\n"
            + "\n".join(discord)
            + "\n\n"
            + database_table(database)
            + f"""
[polling]
interval = {self.interval}
min_interval = 1
timeout = 3
allow_private_addresses = ["{self.sources.host_port}"]
{polling}{delivery}
[[stories]]
name = "{STORY}"
sources = ["{self.sources.url(STORY_PAGE)}"]
{stories}""",
            encoding="utf-8",
        )
        return path

    def launch(self, name: str, *, database: str, shard_ids: str | None = None) -> Bulletin:
        """`python -m bot run --config NAME.toml [--shard-ids IDS]` (not started yet)."""
        config = self.write_config(name, database)
        shards = ("--shard-ids", shard_ids) if shard_ids is not None else ()
        return Bulletin(
            "run",
            "--config",
            str(config),
            *shards,
            cwd=self.directory,
            env={"DISCORD_TOKEN": self.token},
        )

    def member(self, guild: Guild, name: str, permissions: int = 0) -> Member:
        roles = [self.discord.add_role(guild, f"{name}-role", permissions)] if permissions else []
        return self.discord.add_member(guild, name, roles=roles)

    async def register_globally(self, dev_guild: Guild) -> None:
        """The owner's `/sync global:true` in the dev server, so that every server has the
        commands (answered by whichever process holds the dev server's shard)."""
        owner = dev_guild.members[self.discord.owner.id]
        inv = await self.discord.invoke(dev_guild, owner, "sync", {"global": True})
        await inv.wait_for(lambda i: i.followups, timeout=5)
        assert "for every server" in inv.followups[0]["content"]

    async def add_source(self, guild: Guild, path: str, story: str) -> Invocation:
        """A moderator's `/source add` in GUILD, answered to the end (deferred, then saved)."""
        moderator = self.member(guild, f"mod-{story}", Perm.MANAGE_GUILD)
        inv = await self.discord.invoke(
            guild, moderator, "source add", {"url": self.sources.url(path), "story": story}
        )
        await inv.wait_for(lambda i: i.followups, timeout=5)
        return inv


async def seed_present(database: str, guild_ids: Iterable[int]) -> None:
    """Servers the bot was in on an earlier run, as the store keeps them."""
    store = await open_store(database)
    try:
        for guild_id in guild_ids:
            await store.guild_joined(guild_id, now=datetime.now(UTC))
    finally:
        await store.close()


async def present_guilds(database: str) -> set[int]:
    """The servers the store holds as present (not left), read beside the running bot."""
    store = await open_store(database)
    try:
        return set(await store.present_guilds())
    finally:
        await store.close()


async def stories_of(database: str, guild: Guild) -> list[str]:
    store = await open_store(database)
    try:
        return [story.name for story in await store.stories_for_guild(guild.id)]
    finally:
        await store.close()


async def subscribe_story(
    database: str, guild: Guild, channel_id: int, story_name: str = STORY
) -> None:
    """A subscription of the config's story in GUILD, as /subscribe leaves it."""
    store = await open_store(database)
    try:
        story = await store.ensure_story(story_name)
        await store.subscribe(story, guild_id=guild.id, channel_id=channel_id)
    finally:
        await store.close()


async def until(bulletin: Bulletin, predicate: Callable[[], object], within: float = 20.0) -> None:
    """Wait until PREDICATE (plain or async) holds while the process runs; its log otherwise."""
    try:
        async with asyncio.timeout(within):
            while True:
                value = predicate()
                if inspect.isawaitable(value):
                    value = await value
                if value:
                    return
                if bulletin.returncode is not None:
                    raise AssertionError(f"bulletin exited {bulletin.returncode}:\n{bulletin.err}")
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"never happened; bulletin said:\n{bulletin.err[-4000:]}") from None


def shard_ready(bulletin: Bulletin, shard_id: int, shard_count: int) -> bool:
    """The process logged that the shard's READY was handled (servers kept and left weighed)."""
    return f"shard {shard_id} of {shard_count} ready" in bulletin.err
