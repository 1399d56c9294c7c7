"""Announcement channels: /subscribe publish:true through the real bot and cogs, and the
messages Bulletin posts there published (crossposted) on the fake Discord within each
channel's hourly budget, its reserve kept for key points and "coverage ended", one alert when
messages are left unpublished, the budget held across a restart, and a crosspost's 429 never
holding up the next delivery."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from bot.model import PublishOutcome, StoryStatus
from bot.sources.extract import extract
from bot.store.publishing import PublishBudget
from tests.builders import finish, poll
from tests.discord.e2e.harness import Harness, close_runtime, make_runtime, start, stop
from tests.fakes.discord import ChannelType, Perm
from tests.fakes.source_server import SourceServer
from tests.services.pages import live_page

URL = "https://news.test/mars"
BASELINE = [("u0", "Parachute deployed", "The parachute opened.")]


def reply(inv) -> str:
    return inv.callbacks[0]["data"].get("content") or ""


class Newsroom:
    """A story read once, and an announcement channel of the server."""

    def __init__(self, h) -> None:
        self.h = h
        self.news = h.server.add_channel(h.guild, "news", type=ChannelType.NEWS)
        self.updates = list(BASELINE)
        h.server.limits.message_create = (50, 1.0)  # the bursts below post fast

    async def set_up(self) -> None:
        h = self.h
        story = await h.store.ensure_story("Mars", guild_id=h.guild.id)
        self.source = await h.store.add_source(story, URL)
        await self.poll()

    async def poll(self, *, key_points: list[str] | None = None) -> None:
        page = live_page(updates=self.updates, key_points=key_points)
        snapshot = extract(page, content_type="text/html", url=URL)
        await poll(self.h.store, self.source, snapshot, now=datetime.now(UTC))
        self.h.runtime.delivery_wakeup.set()

    async def new_update(self, n: int) -> None:
        self.updates.append((f"u{n}", f"Update {n}", f"Rover news number {n}."))
        await self.poll()

    async def subscribe(self, **options):
        options = {"story": "Mars", "channel": self.news, "publish": True, **options}
        return await self.h.server.invoke(self.h.guild, self.h.moderator(), "subscribe", options)

    def posted(self) -> list[dict]:
        return self.h.server.messages_in(self.news)

    def crossposted(self) -> list[int]:
        return [int(r.message["id"]) for r in self.h.server.records_in(self.news, "crosspost")]

    async def decided(self, count: int) -> list:
        """Wait until COUNT messages of the channel were published or left unpublished."""
        async with asyncio.timeout(10):
            while True:
                done = [
                    p
                    for p in await self.h.store.publications(channel_id=self.news.id)
                    if p.outcome is not PublishOutcome.SENDING
                ]
                if len(done) >= count:
                    return done
                await asyncio.sleep(0.02)


async def an_alert_about_publishing(h) -> None:
    async with asyncio.timeout(5):
        while not await alerts_about_publishing(h):  # noqa: ASYNC110 - the fake's own state
            await asyncio.sleep(0.02)


async def alerts_about_publishing(h) -> list[str]:
    return [
        m["content"]
        for m in h.server.messages_in(h.guild.system_channel_id)
        if "unpublished" in m["content"]
    ]


# ---- /subscribe publish:true --------------------------------------------------------------------


async def test_publish_in_an_announcement_channel_publishes_each_message(harness):
    room = Newsroom(harness)
    await room.set_up()
    inv = await room.subscribe()
    assert f"<#{room.news.id}> now follows “Mars”" in reply(inv)
    assert "published to following servers" in reply(inv)
    (sub,) = await harness.store.subscriptions(guild_id=harness.guild.id)
    assert sub.publish
    listed = await harness.server.invoke(harness.guild, harness.moderator(), "subscriptions")
    assert f"<#{room.news.id}> (updates, published)" in reply(listed)
    await room.new_update(1)
    [record] = await room.decided(1)
    [message] = room.posted()
    assert record.outcome is PublishOutcome.PUBLISHED
    assert record.message_id == int(message["id"]) and record.subscription_id == sub.id
    assert room.crossposted() == [int(message["id"])]
    assert message["flags"] & 1  # Discord's CROSSPOSTED flag
    inv = await harness.server.invoke(
        harness.guild, harness.moderator(), "deliveries", {"story": "Mars", "channel": room.news}
    )
    line = next(x for x in reply(inv).splitlines() if "Update 1" in x)
    assert f"/{room.news.id}/{message['id']}" in line and line.endswith("(published)")


async def test_without_publish_nothing_is_published_even_in_an_announcement_channel(harness):
    room = Newsroom(harness)
    await room.set_up()
    await room.subscribe(publish=True)
    inv = await room.subscribe(publish=False)  # subscribing again changes every option
    assert "published" not in reply(inv)
    await room.new_update(1)
    await harness.server.wait_until(lambda: len(room.posted()) == 1, timeout=5)
    await asyncio.sleep(0.2)
    assert room.crossposted() == []
    assert await harness.store.publications(channel_id=room.news.id) == []


async def test_publish_in_a_text_channel_is_refused_saying_why(harness):
    room = Newsroom(harness)
    await room.set_up()
    text = harness.server.add_channel(harness.guild, "plain")
    inv = await room.subscribe(channel=text)
    assert inv.ephemeral
    assert "`publish` works only in an announcement channel" in reply(inv)
    assert f"<#{text.id}> is not one" in reply(inv)
    assert await harness.store.subscriptions(guild_id=harness.guild.id) == []


async def test_publish_in_a_thread_is_refused_saying_why(harness):
    room = Newsroom(harness)
    await room.set_up()
    inv = await room.subscribe(thread=True)
    assert "Messages in a thread cannot be published" in reply(inv)
    assert await harness.store.subscriptions(guild_id=harness.guild.id) == []


async def test_a_member_without_manage_channels_there_cannot_publish(harness):
    room = Newsroom(harness)
    await room.set_up()
    mod = harness.moderator()
    await harness.server.set_overwrite(room.news, mod, deny=Perm.MANAGE_CHANNELS)
    inv = await harness.server.invoke(
        harness.guild, mod, "subscribe", {"story": "Mars", "channel": room.news, "publish": True}
    )
    assert "You need the Manage Channels permission in" in reply(inv)
    assert await harness.store.subscriptions(guild_id=harness.guild.id) == []


# ---- the hourly budget -------------------------------------------------------------------------


async def test_a_burst_of_updates_leaves_the_reserve_for_key_points_and_coverage_ended(harness):
    room = Newsroom(harness)
    await room.set_up()
    await room.subscribe()
    for n in range(1, 12):  # 11 updates, each a message of its own
        await room.new_update(n)
    await room.decided(11)
    await room.poll(key_points=["The rover is on the ground"])
    await room.decided(12)
    await finish(
        harness.store,
        room.source,
        now=datetime.now(UTC),
        next_check=datetime.now(UTC),
        status=StoryStatus.ENDED,
    )
    harness.runtime.delivery_wakeup.set()
    records = await room.decided(13)
    outcomes = [(r.key, r.outcome) for r in records]
    published, left = PublishOutcome.PUBLISHED, PublishOutcome.NO_BUDGET
    assert outcomes == [(False, published)] * 8 + [(False, left)] * 3 + [(True, published)] * 2
    posted = room.posted()
    assert len(posted) == 13 and len(room.crossposted()) == 10
    assert set(room.crossposted()) >= {int(posted[-2]["id"]), int(posted[-1]["id"])}
    assert posted[-1]["embeds"][0]["title"].startswith("Coverage ended")
    # moderators were told once, in the alerts channel (the server's system channel here)
    await an_alert_about_publishing(harness)
    await asyncio.sleep(0.3)  # time enough for a second one, were there any
    [alert] = await alerts_about_publishing(harness)
    assert f"<#{room.news.id}>" in alert and "**Mars**" in alert and "10 publishes an hour" in alert


async def test_the_budget_holds_across_a_restart(discord_server, guild, tmp_path):
    runtime = await make_runtime(tmp_path, dev_guild=guild.id, server=discord_server)
    bot, task = await start(runtime, discord_server)
    async with SourceServer() as sources:
        h = Harness(discord_server, guild, runtime, sources, str(tmp_path / "bulletin.db"), bot)
        room = Newsroom(h)
        try:
            await room.set_up()
            await room.subscribe()
            for n in range(1, 9):
                await room.new_update(n)
            await room.decided(8)
        finally:
            await stop(bot, task)
            await close_runtime(runtime)
        runtime = await make_runtime(tmp_path, dev_guild=guild.id, server=discord_server)
        bot, task = await start(runtime, discord_server)
        h.runtime, h.bot = runtime, bot
        try:
            await room.new_update(9)
            records = await room.decided(9)
        finally:
            await stop(bot, task)
            await close_runtime(runtime)
    assert [r.outcome for r in records] == [PublishOutcome.PUBLISHED] * 8 + [
        PublishOutcome.NO_BUDGET
    ]
    assert len(room.crossposted()) == 8 and len(room.posted()) == 9


async def test_a_crosspost_429_never_delays_the_next_delivery(harness):
    room = Newsroom(harness)
    await room.set_up()
    await room.subscribe()
    harness.server.inject(
        "POST", f"/channels/{room.news.id}/messages/*/crosspost", status=429, retry_after=3000.0
    )
    await room.new_update(1)
    [first] = await room.decided(1)
    assert first.outcome is PublishOutcome.FAILED
    assert first.detail == "not published: Discord said to wait 3000 s"
    started = time.monotonic()
    await room.new_update(2)
    await harness.server.wait_until(lambda: len(room.posted()) == 2, timeout=5)
    assert time.monotonic() - started < 3.0
    records = await room.decided(2)
    assert [r.outcome for r in records] == [PublishOutcome.FAILED, PublishOutcome.WAITING]
    assert records[0].wait_until is not None
    assert (records[0].wait_until - records[0].at).total_seconds() >= 2990
    # the publish Discord asked to wait for was never asked again
    assert harness.server.count("POST", f"/channels/{room.news.id}/messages/*/crosspost") == 1
    assert room.crossposted() == []


async def test_an_unpublished_alert_is_an_alert_row_through_the_outbox(harness):
    room = Newsroom(harness)
    await room.set_up()
    await room.subscribe()
    harness.bot.delivery.publisher.budget = PublishBudget(per_hour=3, reserve=2)
    await room.new_update(1)
    await room.new_update(2)
    await room.decided(2)
    await an_alert_about_publishing(harness)
    history = await harness.store.delivery_history(harness.guild.id, limit=20)
    alerts = [a for a in history if a.kind == "alert"]
    assert [a.outcome for a in alerts] == ["sent"]
