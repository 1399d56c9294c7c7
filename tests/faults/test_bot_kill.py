"""kill -9 of the real Discord bot (`python -m bot run`, token set) while it polls and delivers.

The bot follows a config story whose page on a local SourceServer grows by one update per poll
once a channel has subscribed to it (through the real /subscribe). Posting is slowed on the fake
Discord so that kills land with messages in flight. The bot is killed with SIGKILL at seeded
random moments and started again, KILLS times; the last run goes on until the outbox is empty.
Every kill and restart falls inside the fake Discord's nonce window (as in Discord, five minutes),
so the channel must hold each update after the baseline exactly once, oldest first.

One seed runs in `make test`; BULLETIN_SOAK=N runs N seeds, BULLETIN_SEED=S replays one.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from tests.cli.process import Bulletin
from tests.discord.e2e.test_run_subprocess import new_token
from tests.fakes.discord import FakeDiscord, Guild, Perm
from tests.fakes.discord_fixtures import BOT_PERMISSIONS
from tests.fakes.source_server import SourceServer
from tests.faults.test_poll_kill import SOAK, seeds
from tests.livepage import live_page, update

LAST = 20
KILLS = 5 if SOAK else 3
STORY = "Harbour"
TITLE = re.compile(r"^Harbour festival update (\d+)$")


@dataclass
class Newsroom:
    """The fake Discord with one server, a growing page and the bot's config file."""

    discord: FakeDiscord
    guild: Guild
    sources: SourceServer
    directory: Path
    token: str
    growing: list[bool] = field(default_factory=lambda: [False])

    @property
    def database(self) -> Path:
        return self.directory / "bulletin.db"

    def launch(self) -> Bulletin:
        return Bulletin(
            "run", "--config", str(self.directory / "bulletin.toml"),
            cwd=self.directory, env={"DISCORD_TOKEN": self.token},
        )  # fmt: skip

    def posted(self) -> list[int]:
        """The update numbers in the channel's embeds, in the order the channel shows them."""
        numbers = []
        for message in self.discord.messages_in(self.guild.system_channel_id):
            for embed in message.get("embeds") or []:
                if match := TITLE.match(embed.get("title") or ""):
                    numbers.append(int(match[1]))
        return numbers

    def unsent(self) -> int:
        with contextlib.closing(sqlite3.connect(self.database, timeout=5)) as db:
            return db.execute("SELECT count(*) FROM deliveries WHERE state != 'sent'").fetchone()[0]


@contextlib.asynccontextmanager
async def newsroom(directory: Path) -> AsyncIterator[Newsroom]:
    token = new_token()
    discord = FakeDiscord(token=token, heartbeat_interval_ms=500, interaction_deadline=3.0)
    await discord.start()
    try:
        guild = discord.add_guild("Harbour town", bot_permissions=BOT_PERMISSIONS)
        # Dated minutes ago: a story whose updates are days old would count as ended.
        start = datetime.now(UTC) - timedelta(minutes=30)
        async with SourceServer() as sources:
            room = Newsroom(discord, guild, sources, directory, token)
            shown = [1]

            async def grow(request: web.Request) -> web.Response:
                if room.growing[0]:
                    shown[0] = min(shown[0] + 1, LAST)
                updates = (
                    update(n, at=start + timedelta(minutes=n)) for n in range(1, shown[0] + 1)
                )
                return web.Response(body=live_page(*updates), content_type="text/html")

            sources.route("/live", grow)
            (directory / "bulletin.toml").write_text(
                f"""
[discord]
api_base = "{discord.api_base}"
gateway_url = "{discord.gateway_url}"
dev_guild = {guild.id}

[database]
path = "{room.database}"

[polling]
interval = 1
min_interval = 1
timeout = 3
allow_private_addresses = ["{sources.host_port}"]

[[stories]]
name = "{STORY}"
sources = ["{sources.url("/live")}"]
""",
                encoding="utf-8",
            )
            yield room
    finally:
        await discord.close()


async def until(bulletin: Bulletin, holds: Callable[[], object], within: float = 30.0) -> None:
    try:
        async with asyncio.timeout(within):
            while not holds():
                if bulletin.returncode is not None:
                    raise AssertionError(f"bulletin exited {bulletin.returncode}:\n{bulletin.err}")
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"never happened; bulletin said:\n{bulletin.err[-4000:]}") from None


def baseline_stored(room: Newsroom) -> bool:
    try:
        with contextlib.closing(sqlite3.connect(room.database, timeout=5)) as db:
            return db.execute("SELECT count(*) FROM entries").fetchone()[0] > 0
    except sqlite3.Error:  # not created or not migrated yet
        return False


async def subscribe_the_channel(room: Newsroom) -> None:
    """First run: the bot is up and has its baseline; a moderator subscribes #general."""
    async with room.launch() as bulletin:
        await until(bulletin, lambda: "subscribe" in room.discord.registered(room.guild))
        await until(bulletin, lambda: room.discord.identifies >= 1)
        await until(bulletin, lambda: baseline_stored(room))
        role = room.discord.add_role(room.guild, "moderators", Perm.MANAGE_CHANNELS)
        moderator = room.discord.add_member(room.guild, "moderator", roles=[role])
        inv = await room.discord.invoke(room.guild, moderator, "subscribe", {"story": STORY})
        await inv.wait_for(lambda i: i.callbacks or i.followups, timeout=5)
        assert await bulletin.stop(within=20) == 0


@pytest.mark.parametrize("seed", seeds())
async def test_kills_of_the_discord_bot_post_every_update_once_in_order(tmp_path, seed):
    pace = random.Random(seed)
    async with newsroom(tmp_path) as room:
        await subscribe_the_channel(room)
        room.growing[0] = True
        # Slow posts: a kill now and then lands between sending a message and recording it.
        room.discord.inject("POST", "*/channels/*/messages", status=None, times=10_000, delay=0.2)
        for _ in range(KILLS):
            async with room.launch():  # leaving the block kills it with SIGKILL
                await asyncio.sleep(pace.uniform(1.5, 5.0))
        identified = room.discord.identifies
        async with room.launch() as bulletin:
            await until(bulletin, lambda: room.discord.identifies > identified)  # up and running
            await until(bulletin, lambda: LAST in room.posted(), within=60)
            await until(bulletin, lambda: room.unsent() == 0)
            assert await bulletin.stop(within=20) == 0, bulletin.err[-3000:]
        assert room.posted() == list(range(2, LAST + 1))
