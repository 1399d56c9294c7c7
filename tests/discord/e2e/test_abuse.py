"""Abuse: members without the permission a command needs, members who hammer commands.

Server admins can open any command to everyone in Discord's Integrations settings (its
default_member_permissions are then ignored); the bot's own run-time checks must still hold.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config import load_config
from bot.discord.ratelimit import CommandRate
from bot.errors import ConfigError
from bot.sources.extract import extract
from tests.builders import poll
from tests.fakes.discord import Perm
from tests.services.pages import live_page

NOW = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)


def reply(inv) -> str:
    return "\n".join(c["data"].get("content") or "" for c in inv.callbacks)


def open_to_everyone(h, guild=None) -> None:
    """What a server admin does in Server Settings → Integrations: every command for everyone."""
    for schema in h.server.commands[(guild or h.guild).id].values():
        schema["default_member_permissions"] = None


async def polled_story(h, name="Mars", guild=None) -> int:
    guild = guild or h.guild
    story = await h.store.ensure_story(name, guild_id=guild.id)
    url = f"https://news.test/{name.lower()}"
    source = await h.store.add_source(story, url)
    snapshot = extract(live_page(), content_type="text/html", url=url)
    await poll(h.store, source, snapshot, now=NOW)
    return story


async def state(h) -> tuple:
    """Everything a command could change, as plain values."""
    stories = await h.store.stories_for_guild(h.guild.id)
    sources = [
        (s.id, s.url, s.interval) for st in stories for s in await h.store.sources_of_story(st.id)
    ]
    subs = await h.store.subscriptions(guild_id=h.guild.id)
    alerts = await h.store.alerts_channel(h.guild.id)
    return (
        [(s.id, s.name, s.paused_at) for s in stories],
        sources,
        [(s.story_id, s.channel_id, s.mode, s.keywords) for s in subs],
        alerts,
    )


# Every command that changes something or shows moderators' data, with options that would work
# for a moderator.
GUARDED = [
    ("source add", lambda h: {"url": h.sources.url("/new")}),
    ("source remove", lambda h: {"story": "Mars"}),
    ("source pause", lambda h: {"story": "Mars"}),
    ("source resume", lambda h: {"story": "Mars"}),
    ("source list", lambda h: {}),
    ("source status", lambda h: {}),
    ("subscribe", lambda h: {"story": "Mars"}),
    ("unsubscribe", lambda h: {"story": "Mars"}),
    ("subscriptions", lambda h: {}),
    ("deliveries", lambda h: {"story": "Mars"}),
    ("why", lambda h: {"story": "Mars", "update": "Touchdown confirmed"}),
    ("settings alerts", lambda h: {"channel": h.server.add_channel(h.guild, "alerts")}),
]


@pytest.mark.parametrize(("command", "options"), GUARDED, ids=[c for c, _ in GUARDED])
async def test_a_member_without_permission_changes_and_reads_nothing(harness, command, options):
    story = await polled_story(harness)
    await harness.store.subscribe(
        story, guild_id=harness.guild.id, channel_id=harness.guild.system_channel_id
    )
    harness.sources.page("/new", live_page(title="New"))
    open_to_everyone(harness)
    before = await state(harness)
    inv = await harness.server.invoke(
        harness.guild, harness.member("reader"), command, options(harness)
    )
    assert inv.ephemeral
    assert "permission" in reply(inv)
    assert "Mars" not in reply(inv) and "news.test" not in reply(inv)
    assert await state(harness) == before
    assert harness.sources.hits["/new"] == 0  # not even fetched


async def test_manage_channels_elsewhere_does_not_let_a_member_subscribe_this_channel(harness):
    await polled_story(harness)
    news = harness.server.add_channel(harness.guild, "news")
    member = harness.member("helper")
    await harness.server.set_overwrite(news, member, allow=Perm.MANAGE_CHANNELS)
    open_to_everyone(harness)
    inv = await harness.server.invoke(harness.guild, member, "subscribe", {"story": "Mars"})
    assert "permission" in reply(inv)
    assert await harness.store.subscriptions(guild_id=harness.guild.id) == []


async def test_sync_is_refused_to_everyone_but_the_owner(harness):
    admin = harness.member("admin", Perm.ADMINISTRATOR)
    inv = await harness.server.invoke(harness.guild, admin, "sync", {"global": True})
    assert "Only the bot's owner" in reply(inv)


# ---- the per-member command rate ---------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(harness) -> Clock:
    clock = Clock()
    harness.bot.tree.rate = CommandRate(3, clock=clock)
    return clock


async def test_a_member_over_the_command_rate_is_told_when_to_try_again(harness, clock):
    member = harness.member("eager")
    for _ in range(3):
        inv = await harness.server.invoke(harness.guild, member, "stories")
        assert "faster than" not in reply(inv)
    inv = await harness.server.invoke(harness.guild, member, "stories")
    assert inv.ephemeral
    assert reply(inv) == (
        "You're sending commands faster than Bulletin takes them; try again in 20 seconds."
    )


async def test_the_command_rate_refills_with_time(harness, clock):
    member = harness.member("eager")
    for _ in range(4):
        await harness.server.invoke(harness.guild, member, "stories")
    clock.now += 20
    inv = await harness.server.invoke(harness.guild, member, "stories")
    assert "faster than" not in reply(inv)


async def test_the_command_rate_is_per_member_and_per_server(harness, clock):
    eager = harness.member("eager")
    for _ in range(4):
        await harness.server.invoke(harness.guild, eager, "stories")
    calm = harness.member("calm")
    assert "faster than" not in reply(await harness.server.invoke(harness.guild, calm, "stories"))
    other = await harness.second_guild()
    same_user_there = harness.server.add_member(other, eager.user)
    inv = await harness.server.invoke(other, same_user_there, "stories")
    assert "faster than" not in reply(inv)


async def test_autocomplete_does_not_count_against_the_command_rate(harness, clock):
    await polled_story(harness)
    member = harness.member("typist")
    for typed in ["M", "Ma", "Mar", "Mars", "Mars "]:
        await harness.server.autocomplete(
            harness.guild, member, "latest", {"story": typed}, "story"
        )
    inv = await harness.server.invoke(harness.guild, member, "latest", {"story": "Mars"})
    assert "faster than" not in reply(inv)


def test_command_rate_zero_means_no_limit():
    rate = CommandRate(0, clock=Clock())
    assert all(rate.take(1, 2) == 0.0 for _ in range(1000))


def test_command_rate_forgets_idle_members():
    clock = Clock()
    rate = CommandRate(5, clock=clock)
    for member in range(100):
        rate.take(1, member)
    clock.now += 3601
    rate.take(1, 0)
    assert len(rate) == 1


@pytest.mark.parametrize(("text", "expected"), [("", 10), ("commands_per_minute = 0", 0)])
def test_commands_per_minute_is_configurable(tmp_path, text, expected):
    path = tmp_path / "config.toml"
    path.write_text(f"[discord]\n{text}\n")
    assert load_config(path).discord.commands_per_minute == expected


def test_a_negative_command_rate_is_a_config_error(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[discord]\ncommands_per_minute = -1\n")
    with pytest.raises(ConfigError, match=r"discord\.commands_per_minute"):
        load_config(path)
