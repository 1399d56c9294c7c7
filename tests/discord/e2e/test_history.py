"""/why and /deliveries, and /subscribe's exclude and pattern, through the real bot and cogs
against the fake Discord: what happened to an update in each channel, and why, as recorded when
it happened; from a moderator, a member without the permission, and across a restart."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import pytest

from bot.sources.extract import extract
from tests.builders import poll
from tests.discord.e2e.harness import Harness, close_runtime, make_runtime, start, stop
from tests.fakes.discord import CommandRefused, Perm
from tests.fakes.source_server import SourceServer
from tests.services.pages import UPDATES, live_page

BASELINE = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)
URL = "https://news.test/mars"
ROVER = ("u4", "Rover wakes up", "The rover woke and sent its first picture home.")
LINK = re.compile(r"https://discord\.com/channels/(\d+)/(\d+)/(\d+)")


def messages(inv) -> list[str]:
    """What the bot answered, message by message: the response and its followups."""
    parts = [c["data"].get("content") or "" for c in inv.callbacks]
    return parts + [f.get("content") or "" for f in inv.followups]


def reply(inv) -> str:
    return "\n".join(messages(inv))


def line_of(text: str, channel) -> str:
    (line,) = [ln for ln in text.splitlines() if ln.startswith(f"<#{channel.id}>")]
    return line


async def subscribe(h, channel, **options):
    inv = await h.server.invoke(
        h.guild, h.moderator(), "subscribe", {"story": "Mars", "channel": channel, **options}
    )
    assert "follows" in reply(inv), reply(inv)
    return inv


async def delivered(store, guild_id: int, count: int) -> None:
    """Wait until the story's delivery history holds COUNT attempts."""
    async with asyncio.timeout(8):
        while len(await store.delivery_history(guild_id, limit=100)) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


class Newsroom:
    """A story read once (the baseline), channels following it in every way, then a new update:
    posted in one, left out by each filter and by a mode in others, waiting for a digest, and
    refused by Discord in three ways."""

    def __init__(self, h) -> None:
        self.h = h
        add = h.server.add_channel
        self.news = add(h.guild, "news")
        self.volcano = add(h.guild, "volcano")
        self.calm = add(h.guild, "calm")
        self.landing = add(h.guild, "landing")
        self.points = add(h.guild, "points")
        self.daily = add(h.guild, "daily")
        self.locked = add(h.guild, "locked")
        self.refused = add(h.guild, "refused")
        self.flaky = add(h.guild, "flaky")

    async def set_up(self) -> None:
        h = self.h
        story = await h.store.ensure_story("Mars", guild_id=h.guild.id)
        self.source = await h.store.add_source(story, URL)
        await poll(h.store, self.source, self.page(), now=BASELINE)
        await subscribe(h, self.news)
        await subscribe(h, self.volcano, keywords="volcano, geyser")
        await subscribe(h, self.calm, exclude="rover")
        await subscribe(h, self.landing, pattern=r"^(parachute|lander)\b")
        await subscribe(h, self.points, mode="key-points")
        await subscribe(h, self.daily, mode="digest", every="24h")
        for channel in (self.locked, self.refused, self.flaky):
            await subscribe(h, channel)
        bot_role = h.server.bot_role(h.guild)
        await h.server.set_overwrite(self.locked, bot_role, deny=Perm.SEND_MESSAGES)
        h.server.inject("POST", f"/channels/{self.refused.id}/messages", status=400)
        h.server.inject("POST", f"/channels/{self.flaky.id}/messages", status=503, times=10_000)
        await poll(h.store, self.source, self.page(ROVER), now=datetime.now(UTC))
        h.runtime.delivery_wakeup.set()
        await delivered(h.store, h.guild.id, 4)  # news, locked, refused, flaky
        (self.posted,) = h.server.messages_in(self.news)

    @staticmethod
    def page(*more):
        return extract(live_page(updates=[*UPDATES, *more]), content_type="text/html", url=URL)


@pytest.fixture
async def newsroom(harness) -> Newsroom:
    room = Newsroom(harness)
    await room.set_up()
    return room


async def why(h, member=None, update="Rover wakes up", guild=None):
    return await h.server.invoke(
        guild or h.guild, member or h.moderator(), "why", {"story": "Mars", "update": update}
    )


async def test_why_says_for_each_channel_what_happened_to_an_update_and_why(harness, newsroom):
    room = newsroom
    inv = await why(harness)
    assert inv.ephemeral and all(len(m) <= 2000 for m in messages(inv))
    text = reply(inv)
    assert text.startswith("**Why: “Rover wakes up”** — “Mars”, <t:")
    link = f"https://discord.com/channels/{harness.guild.id}/{room.news.id}/{room.posted['id']}"
    assert line_of(text, room.news) == f"<#{room.news.id}> (updates): posted {link}"
    assert "left out by its keywords (“volcano, geyser”: none of them is in it)" in line_of(
        text, room.volcano
    )
    assert "left out by its exclusions (“rover”: one of them is in it)" in line_of(text, room.calm)
    assert r"left out by its pattern `^(parachute|lander)\b` (no match)" in line_of(
        text, room.landing
    )
    assert "not in this mode (key-points posts no updates)" in line_of(text, room.points)
    assert re.search(r"\(digest\): to be in the digest of <t:\d+:t>$", line_of(text, room.daily))
    assert "paused: Bulletin may no longer post there (Discord said 403" in line_of(
        text, room.locked
    )
    assert "/subscribe there again to resume" in line_of(text, room.locked)
    assert "given up: Discord refused the message (400" in line_of(text, room.refused)
    assert re.search(
        r"waiting: next attempt <t:\d+:R>; last error: Discord answered 503",
        line_of(text, room.flaky),
    )


async def test_a_reason_is_the_filter_as_it_was_when_the_update_came(harness, newsroom):
    await subscribe(harness, newsroom.volcano, keywords="rover")  # too late for this update
    text = reply(await why(harness))
    assert "left out by its keywords (“volcano, geyser”" in line_of(text, newsroom.volcano)


async def test_why_an_update_from_before_the_subscriptions_was_not_posted(harness, newsroom):
    text = reply(await why(harness, update="Touchdown confirmed"))
    for channel in (newsroom.news, newsroom.points, newsroom.daily):
        assert line_of(text, channel).endswith(
            "seen before this subscription existed (the baseline): it posts what comes after"
        )


async def test_the_update_autocomplete_offers_the_storys_recent_titles(harness, newsroom):
    mod = harness.moderator()
    choices = await harness.server.autocomplete(
        harness.guild, mod, "why", {"story": "Mars", "update": "r"}, "update"
    )
    names = [c["name"] for c in choices]
    assert [n.split(" · ")[0] for n in names] == [
        "Rover wakes up",
        "Touchdown confirmed",
        "Parachute opens",
        "Lander enters the atmosphere",
    ]
    assert all(len(n) <= 100 and n.endswith(" UTC") for n in names)
    picked = await why(harness, update=choices[1]["value"])
    assert reply(picked).startswith("**Why: “Touchdown confirmed”**")
    typed = await why(harness, update="touchdown")
    assert reply(typed).startswith("**Why: “Touchdown confirmed”**")


async def test_an_update_that_is_not_the_storys_is_refused_saying_what_to_do(harness, newsroom):
    inv = await why(harness, update="Volcano erupts")
    assert inv.ephemeral
    assert reply(inv) == (
        "None of the 100 newest updates of “Mars” is called “Volcano erupts”; pick one from "
        "the list as you type."
    )


async def test_deliveries_lists_what_was_done_newest_first_with_links_and_reasons(
    harness, newsroom
):
    room = newsroom
    inv = await harness.server.invoke(
        harness.guild, harness.moderator(), "deliveries", {"story": "Mars"}
    )
    assert inv.ephemeral
    text = reply(inv)
    header, *lines = text.splitlines()
    assert header.startswith("**Deliveries of “Mars”** — the last ") and "newest first" in header
    posted = [ln for ln in lines if f"→ <#{room.news.id}>:" in ln]
    assert len(posted) == 1 and "“Rover wakes up”" in posted[0]
    (found,) = LINK.findall(posted[0])
    assert found == (str(harness.guild.id), str(room.news.id), room.posted["id"])
    assert any(f"→ <#{room.locked.id}>: paused:" in ln for ln in lines)
    assert any(f"→ <#{room.refused.id}>: given up: Discord refused" in ln for ln in lines)
    assert any(f"→ <#{room.flaky.id}>: waiting: next attempt <t:" in ln for ln in lines)
    stamps = [int(re.match(r"<t:(\d+):f>", ln)[1]) for ln in lines]
    assert stamps == sorted(stamps, reverse=True)
    # nothing of the channels whose filters or mode left the update out
    assert not any(f"<#{room.volcano.id}>" in ln or f"<#{room.points.id}>" in ln for ln in lines)


async def test_deliveries_narrow_to_one_channel_and_say_when_it_follows_nothing(harness, newsroom):
    room = newsroom
    mod = harness.moderator()
    inv = await harness.server.invoke(
        harness.guild, mod, "deliveries", {"story": "Mars", "channel": room.news}
    )
    header, line = reply(inv).splitlines()
    assert header == f"**Deliveries of “Mars” in <#{room.news.id}>** — the last 1, newest first"
    assert "posted https://discord.com/channels/" in line
    quiet = await harness.server.invoke(
        harness.guild, mod, "deliveries", {"story": "Mars", "channel": room.volcano}
    )
    assert reply(quiet) == (
        f"Bulletin delivered nothing of “Mars” in <#{room.volcano.id}> in the last 30 days."
    )
    elsewhere = harness.server.add_channel(harness.guild, "elsewhere")
    inv = await harness.server.invoke(
        harness.guild, mod, "deliveries", {"story": "Mars", "channel": elsewhere}
    )
    assert inv.ephemeral and reply(inv).startswith(f"<#{elsewhere.id}> does not follow “Mars”")


@pytest.mark.parametrize("command", ["deliveries", "why"])
async def test_members_without_manage_channels_are_refused_by_discord(harness, command):
    with pytest.raises(CommandRefused):
        await harness.server.invoke(
            harness.guild, harness.member("reader"), command, {"story": "Mars", "update": "x"}
        )


@pytest.mark.parametrize("command", ["deliveries", "why"])
async def test_manage_channels_lets_a_member_read_the_history(harness, newsroom, command):
    helper = harness.member("helper", Perm.MANAGE_CHANNELS)
    options = {"story": "Mars", "update": "Rover wakes up"}
    if command == "deliveries":
        options.pop("update")
    inv = await harness.server.invoke(harness.guild, helper, command, options)
    assert inv.ephemeral and "Mars" in reply(inv) and "permission" not in reply(inv)


@pytest.mark.parametrize("command", ["deliveries", "why"])
async def test_another_servers_moderator_learns_nothing_of_this_servers_story(
    harness, newsroom, command
):
    other = await harness.second_guild()
    admin = harness.member("b-admin", Perm.ADMINISTRATOR, other)
    options = {"story": "Mars", "update": "Rover wakes up"}
    if command == "deliveries":
        options.pop("update")
    inv = await harness.server.invoke(other, admin, command, options)
    assert inv.ephemeral and "no story called “Mars”" in reply(inv)
    assert "Rover" not in reply(inv) and str(newsroom.news.id) not in reply(inv)


# ---- /subscribe's exclude and pattern ---------------------------------------------------------


async def test_subscribe_keeps_exclusions_and_a_pattern_and_shows_them(harness):
    story = await harness.store.ensure_story("Mars", guild_id=harness.guild.id)
    await harness.store.add_source(story, URL)
    news = harness.server.add_channel(harness.guild, "news")
    inv = await subscribe(
        harness, news, keywords="lander", exclude="rumour,  Unconfirmed", pattern=r"touch\s*down"
    )
    assert reply(inv) == (
        f"<#{news.id}> now follows “Mars” (updates, keywords: lander, exclude: rumour, "
        r"Unconfirmed, pattern: `touch\s*down`)."
    )
    (sub,) = await harness.store.subscriptions(guild_id=harness.guild.id)
    assert (sub.keywords, sub.exclusions, sub.pattern) == (
        "lander",
        "rumour, Unconfirmed",
        r"touch\s*down",
    )
    listed = reply(await harness.server.invoke(harness.guild, harness.moderator(), "subscriptions"))
    assert r"keywords: lander, exclude: rumour, Unconfirmed, pattern: `touch\s*down`" in listed


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(rover)\1", r"invalid escape sequence: \1"),
        (r"(?<!no )landing", "invalid perl operator: (?<!"),
        (r"\pL{1000}", "pattern too large - compile failed"),
        ("[a-", "missing ]: [a-"),
    ],
)
async def test_a_pattern_re2_refuses_is_refused_with_re2s_reason_and_nothing_changes(
    harness, pattern, reason
):
    story = await harness.store.ensure_story("Mars", guild_id=harness.guild.id)
    await harness.store.add_source(story, URL)
    news = harness.server.add_channel(harness.guild, "news")
    await subscribe(harness, news, pattern="lander")
    inv = await harness.server.invoke(
        harness.guild,
        harness.moderator(),
        "subscribe",
        {"story": "Mars", "channel": news, "pattern": pattern},
    )
    assert inv.ephemeral
    assert reply(inv).startswith("RE2 cannot use the pattern `")
    assert f": {reason}. Patterns are RE2 regular expressions" in reply(inv)
    (sub,) = await harness.store.subscriptions(guild_id=harness.guild.id)
    assert sub.pattern == "lander"  # as it was


# ---- across a restart -------------------------------------------------------------------------


async def test_why_and_deliveries_say_the_same_after_a_restart(discord_server, guild, tmp_path):
    runtime = await make_runtime(tmp_path, dev_guild=guild.id, server=discord_server)
    bot, task = await start(runtime, discord_server)
    async with SourceServer() as sources:
        h = Harness(discord_server, guild, runtime, sources, str(tmp_path / "bulletin.db"), bot)
        try:
            room = Newsroom(h)
            await room.set_up()
            before_why = reply(await why(h))
            before_deliveries = reply(
                await discord_server.invoke(
                    guild, h.moderator(), "deliveries", {"story": "Mars", "channel": room.news}
                )
            )
        finally:
            await stop(bot, task)
            await close_runtime(runtime)
        discord_server.faults.clear()
        runtime = await make_runtime(tmp_path, dev_guild=guild.id, server=discord_server)
        bot, task = await start(runtime, discord_server)
        h.runtime, h.bot = runtime, bot
        try:
            after_why = reply(await why(h))
            after_deliveries = reply(
                await discord_server.invoke(
                    guild, h.moderator(), "deliveries", {"story": "Mars", "channel": room.news}
                )
            )
        finally:
            await stop(bot, task)
            await close_runtime(runtime)
    assert "posted https://discord.com/channels/" in line_of(after_why, room.news)
    same = (
        room.news,
        room.volcano,
        room.calm,
        room.landing,
        room.points,
        room.locked,
        room.refused,
    )
    for channel in same:
        assert line_of(after_why, channel) == line_of(before_why, channel)
    assert after_deliveries == before_deliveries
