"""A fleet on PostgreSQL, end to end: three real `bulletin run` processes (`--shard-ids 0`,
`--shard-ids 1`, `--shard-ids none`) on one database, against the fake Discord (two shards) and
two changing live pages, one followed in three channels of a server on each shard.

Processes are killed with SIGKILL at seeded random moments (the first kill is the one that
delivers, with a backlog waiting) and restarted. Every update still reaches each channel once,
in order; commands are answered in both servers; each page is fetched about once per interval
(leases: never by two processes at once); the fake never sees more than `[delivery] rate`
messages in any second (one deliverer, elected); no process exits on its own or prints a
traceback. One seed runs in `make test`; BULLETIN_SOAK=N runs N seeds, BULLETIN_SEED=S replays
one.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests import postgres
from tests.cli.process import Bulletin
from tests.discord.e2e.fleet import (
    STORY,
    STORY_PAGE,
    Fleet,
    guild_on_shard,
    seed_present,
    shard_ready,
    subscribe_story,
    until,
)
from tests.discord.e2e.test_fleet import titles
from tests.discord.e2e.test_run_subprocess import new_token
from tests.fakes.discord import FakeDiscord, Guild
from tests.fakes.source_server import SourceServer
from tests.livepage import live_page, update

SOAK = os.environ.get("BULLETIN_SOAK", "")


def seeds() -> list[int]:
    if "BULLETIN_SEED" in os.environ:
        return [int(os.environ["BULLETIN_SEED"])]
    count = (10 if SOAK in ("1", "yes", "true") else int(SOAK)) if SOAK else 1
    return [20261206 + n for n in range(count)]


HILL = "Hill watch"
HILL_PAGE = "/hill"
INTERVAL = 2  # seconds between polls of each page
LEASE = 3  # seconds: a killed process's page is taken over this late at most
RATE = 3.0  # messages a second, the whole fleet together
UPDATES = 10  # per page; update 1 is there from the start (the baseline)
EVERY = 2.5  # seconds between two updates of a page
CHANNELS = 3  # per server
KILLS = 3
KEY_POINT = "The ferry runs again"


def hill_update(n: int, at: datetime) -> dict[str, object]:
    return {
        **update(n, at=at),
        "@id": f"https://news.example/live/hill#post-{n}",
        "headline": f"Hill village update {n}",
    }


@dataclass
class Member:
    """One process of the fleet, started again after each kill (each life kept for its log)."""

    fleet: Fleet
    name: str
    database: str
    shard_ids: str
    lives: list[Bulletin] = field(default_factory=list)

    @property
    def current(self) -> Bulletin:
        return self.lives[-1]

    @property
    def err(self) -> str:
        return "\n".join(life.err for life in self.lives)

    async def start(self) -> None:
        life = self.fleet.launch(self.name, database=self.database, shard_ids=self.shard_ids)
        await life.__aenter__()
        self.lives.append(life)

    async def kill(self) -> None:
        await self.current.stop(signal.SIGKILL, within=10)

    def delivers(self) -> bool:
        """The current life holds the delivery election, by its own log."""
        log = self.current.err
        taken = log.rfind("delivers the outbox now")
        return taken >= 0 and log.rfind("no longer delivers") < taken

    async def close(self) -> None:
        for life in self.lives:
            await life.__aexit__(None, None, None)


@dataclass
class Run:
    fleet: Fleet
    members: list[Member]
    channels: dict[str, list[int]]  # story: its channels
    zero: Guild
    one: Guild


@pytest.fixture
async def run(tmp_path: Path) -> AsyncIterator[Run]:
    token = new_token()
    discord = FakeDiscord(token=token, heartbeat_interval_ms=500, shards=2)
    await discord.start()
    try:
        async with SourceServer() as sources, postgres.fresh_database() as url:
            zero = guild_on_shard(discord, "Harbour town", 0, 2)
            one = guild_on_shard(discord, "Hill village", 1, 2)
            fleet = Fleet(
                discord,
                sources,
                tmp_path,
                token,
                shard_count=2,
                dev_guild=zero.id,
                interval=INTERVAL,
                lease=LEASE,
                rate=RATE,
                more_stories={HILL: HILL_PAGE},
            )
            set_pages(sources, 1)
            await seed_present(url, [zero.id, one.id])
            channels: dict[str, list[int]] = {STORY: [], HILL: []}
            for guild, story in ((zero, STORY), (one, HILL)):
                for n in range(CHANNELS):
                    channel = discord.add_channel(guild, f"news-{n}").id
                    await subscribe_story(url, guild, channel, story)
                    channels[story].append(channel)
            members = [
                Member(fleet, "zero", url, "0"),
                Member(fleet, "one", url, "1"),
                Member(fleet, "rest", url, "none"),
            ]
            try:
                await asyncio.gather(*(member.start() for member in members))
                yield Run(fleet, members, channels, zero, one)
            finally:
                for member in members:
                    await member.close()
    finally:
        await discord.close()


RECENT = datetime.now(UTC) - timedelta(minutes=30)  # older updates would make a story "ended"


def set_pages(sources: SourceServer, count: int) -> None:
    at = [RECENT + timedelta(seconds=n) for n in range(count + 1)]
    harbour = [update(n, at=at[n]) for n in range(1, count + 1)]
    hill = [hill_update(n, at[n]) for n in range(1, count + 1)]
    sources.page(STORY_PAGE, live_page(*harbour, key_points=(KEY_POINT,)))
    sources.page(HILL_PAGE, live_page(*hill, key_points=(KEY_POINT,)))


def expected(story: str) -> list[str]:
    name = "Harbour festival" if story == STORY else "Hill village"
    return [f"{name} update {n}" for n in range(2, UPDATES + 1)]


@pytest.mark.parametrize("seed", seeds())
async def test_a_fleet_with_processes_killed_at_random_posts_every_update_once_in_order(run, seed):
    fleet, members = run.fleet, run.members
    rng = random.Random(seed)
    every_channel = [c for channels in run.channels.values() for c in channels]
    # the baseline's key points reach every channel: the fleet runs
    await settled(members, lambda: all(fleet.discord.messages_in(c) for c in every_channel), 60)
    started = asyncio.get_running_loop().time()

    async def pages() -> None:
        for count in range(2, UPDATES + 1):
            await asyncio.sleep(EVERY)
            set_pages(fleet.sources, count)

    async def kills() -> None:
        moments = sorted(rng.uniform(2, (UPDATES - 1) * EVERY - 2) for _ in range(KILLS))
        for index, moment in enumerate(moments):
            await asyncio.sleep(max(0, started + moment - asyncio.get_running_loop().time()))
            delivering = [m for m in members if m.delivers()]
            victim = delivering[0] if index == 0 and delivering else rng.choice(members)
            await victim.kill()
            await asyncio.sleep(rng.uniform(0.5, 2.0))
            await victim.start()

    await asyncio.gather(pages(), kills())
    changed_until = asyncio.get_running_loop().time()
    for story, channels in run.channels.items():
        for channel in channels:
            await settled(members, lambda c=channel, s=story: updates_in(fleet, c) == expected(s))
    for story, channels in run.channels.items():
        for channel in channels:
            assert updates_in(fleet, channel) == expected(story)  # once each, in order
            assert sum(KEY_POINT in str(m) for m in fleet.discord.messages_in(channel)) == 1

    # commands answered in both servers, once the restarted shards are back
    zero, one, _ = members
    await until(zero.current, lambda: shard_ready(zero.current, 0, 2), 30)
    await until(one.current, lambda: shard_ready(one.current, 1, 2), 30)
    await fleet.register_globally(run.zero)  # answered by the process holding shard 0
    for guild in (run.zero, run.one):
        inv = await fleet.discord.invoke(guild, fleet.member(guild, "reader"), "help")
        await inv.wait_for(lambda i: i.callbacks, timeout=5)
        assert "`/latest story [count]`" in inv.callbacks[0]["data"]["content"]

    # The fleet's rate in any second. Sends spaced at exactly 1/RATE put RATE + 1 of them one
    # second apart, so the window is a second less 50 ms of timing noise (two deliverers at
    # once would show up as twice the rate).
    times = sorted(record.at for record in fleet.discord.records)
    busiest = max(sum(1 for t in times if start <= t < start + 0.95) for start in times)
    assert busiest <= RATE, f"{busiest} messages within one second"
    # each page fetched about once per interval, never by two processes at once
    for page in (STORY_PAGE, HILL_PAGE):
        fetched = [t for t in fleet.sources.times[page] if started <= t <= changed_until]
        gaps = [later - earlier for earlier, later in itertools.pairwise(fetched)]
        assert min(gaps) >= INTERVAL * 0.5, gaps
        span = changed_until - started
        assert span / (INTERVAL + LEASE) <= len(fetched) <= span / (INTERVAL * 0.9) + 1
    # the deliverer was killed first, and another took over
    lives = [life for member in members for life in member.lives]
    assert sum("delivers the outbox now" in life.err for life in lives) >= 2
    for member in members:
        assert "Traceback" not in member.err, member.err[-3000:]
        assert member.current.returncode is None, member.err[-3000:]  # none exited on its own


async def settled(members: list[Member], done: Callable[[], bool], within: float = 90) -> None:
    """Until DONE holds (however many lives each process has had); their logs otherwise."""
    try:
        async with asyncio.timeout(within):
            while not done():  # noqa: ASYNC110 - the fake has no event for this
                await asyncio.sleep(0.05)
    except TimeoutError:
        logs = "\n".join(f"--- {m.name}:\n{m.err[-2500:]}" for m in members)
        raise AssertionError(f"never happened; the fleet said:\n{logs}") from None


def updates_in(fleet: Fleet, channel: int) -> list[str]:
    return [title for title in titles(fleet, channel) if " update " in title]
