"""Servers are isolated: every command, run by a full administrator of another server and
naming this server's stories, reads and changes nothing of this server's."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.sources.extract import extract
from tests.builders import poll
from tests.fakes.discord import ChannelType, Perm
from tests.services.pages import live_page

NOW = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)
SECRET_URL = "https://news.test/secret-mars-desk"
# Words only guild A's story contains (its updates' headlines)
A_WORDS = ("Lander enters the atmosphere", "Touchdown confirmed", "secret-mars-desk")


def everything(inv) -> str:
    """All the bot answered, text and embeds, as one string."""
    return json.dumps([c.get("data") for c in inv.callbacks])


async def guild_a(h) -> int:
    """Guild A: a polled story “Mars” with a subscription and an alerts channel."""
    story = await h.store.ensure_story("Mars", guild_id=h.guild.id)
    source = await h.store.add_source(story, SECRET_URL)
    snapshot = extract(live_page(), content_type="text/html", url=SECRET_URL)
    await poll(h.store, source, snapshot, now=NOW)
    await h.store.subscribe(story, guild_id=h.guild.id, channel_id=h.guild.system_channel_id)
    alerts = h.server.add_channel(h.guild, "mod-alerts")
    await h.store.set_alerts_channel(h.guild.id, alerts.id)
    return story


async def state_of(h, guild_id: int) -> tuple:
    stories = await h.store.stories_for_guild(guild_id)
    sources = [
        (s.id, s.url, s.interval) for st in stories for s in await h.store.sources_of_story(st.id)
    ]
    subs = await h.store.subscriptions(guild_id=guild_id)
    return (
        [(s.id, s.name, s.paused_at) for s in stories],
        sources,
        [(s.story_id, s.channel_id, s.mode, s.keywords, s.mention_role_id) for s in subs],
        await h.store.alerts_channel(guild_id),
    )


# Every command of the tree, as guild B's administrator would run it aiming at guild A's story.
COMMANDS = [
    ("help", {}),
    ("stories", {}),
    ("latest", {"story": "Mars"}),
    ("keypoints", {"story": "Mars"}),
    ("subscribe", {"story": "Mars"}),
    ("subscribe", {"story": "Mars", "mode": "digest", "backfill": 3}),
    ("unsubscribe", {"story": "Mars"}),
    ("subscriptions", {}),
    ("subscribe", {"story": "Mars", "exclude": "rumour", "pattern": "touchdown|lander"}),
    ("subscribe", {"story": "Mars", "channel": "B-NEWS", "publish": True}),
    ("deliveries", {"story": "Mars"}),
    ("deliveries", {"story": "Mars", "channel": "B-ALERTS"}),
    ("why", {"story": "Mars", "update": "Touchdown confirmed"}),
    ("source add", {"url": SECRET_URL, "story": "Mars"}),
    ("source remove", {"story": "Mars"}),
    ("source remove", {"story": "Mars", "url": SECRET_URL}),
    ("source list", {}),
    ("source status", {}),
    ("source status", {"story": "Mars"}),
    ("source pause", {"story": "Mars"}),
    ("source resume", {"story": "Mars"}),
    ("settings alerts", {"channel": "B-ALERTS"}),
]


@pytest.mark.parametrize(
    ("command", "options"), COMMANDS, ids=[f"{c} {sorted(o)}" for c, o in COMMANDS]
)
async def test_another_servers_admin_can_neither_read_nor_change_this_server(
    harness, command, options
):
    await guild_a(harness)
    other = await harness.second_guild()
    admin = harness.member("b-admin", Perm.ADMINISTRATOR, other)
    if options.get("channel") == "B-ALERTS":
        options = {**options, "channel": harness.server.add_channel(other, "b-alerts")}
    if options.get("channel") == "B-NEWS":
        news = harness.server.add_channel(other, "b-news", type=ChannelType.NEWS)
        options = {**options, "channel": news}
    before = await state_of(harness, harness.guild.id)
    inv = await harness.server.invoke(other, admin, command, options, timeout=8)
    said = everything(inv)
    for word in A_WORDS:
        assert word not in said
    assert str(harness.guild.system_channel_id) not in said
    assert await state_of(harness, harness.guild.id) == before
    # and nothing was posted into guild A's channels on B's behalf
    assert harness.server.messages_in(harness.guild.system_channel_id) == []


@pytest.mark.parametrize(
    ("command", "option"),
    [
        ("latest", "story"),
        ("keypoints", "story"),
        ("subscribe", "story"),
        ("unsubscribe", "story"),
        ("source remove", "story"),
        ("source status", "story"),
        ("source pause", "story"),
        ("source resume", "story"),
        ("deliveries", "story"),
        ("why", "story"),
    ],
)
async def test_autocomplete_offers_no_story_of_another_server(harness, command, option):
    await guild_a(harness)
    other = await harness.second_guild()
    admin = harness.member("b-admin", Perm.ADMINISTRATOR, other)
    choices = await harness.server.autocomplete(other, admin, command, {option: "M"}, option)
    assert choices == []


@pytest.mark.parametrize("typed", ["", "Touchdown", "T"])
async def test_update_autocomplete_offers_no_update_of_another_server(harness, typed):
    await guild_a(harness)
    other = await harness.second_guild()
    admin = harness.member("b-admin", Perm.ADMINISTRATOR, other)
    choices = await harness.server.autocomplete(
        other, admin, "why", {"story": "Mars", "update": typed}, "update"
    )
    assert choices == []
    # while this server's moderators are offered them
    mine = await harness.server.autocomplete(
        harness.guild, harness.moderator(), "why", {"story": "Mars", "update": typed}, "update"
    )
    assert "Touchdown confirmed" in mine[0]["name"]


async def test_source_url_autocomplete_offers_no_url_of_another_server(harness):
    await guild_a(harness)
    other = await harness.second_guild()
    admin = harness.member("b-admin", Perm.ADMINISTRATOR, other)
    choices = await harness.server.autocomplete(
        other, admin, "source remove", {"story": "Mars", "url": "https"}, "url"
    )
    assert choices == []


async def test_a_story_of_the_same_name_elsewhere_is_changed_only_there(harness):
    mine = await guild_a(harness)
    other = await harness.second_guild()
    theirs = await harness.store.ensure_story("Mars", guild_id=other.id)
    await harness.store.add_source(theirs, "https://news.test/their-mars")
    admin = harness.member("b-admin", Perm.ADMINISTRATOR, other)
    await harness.server.invoke(other, admin, "source pause", {"story": "Mars"})
    assert (await harness.store.get_story(theirs)).paused_at is not None
    assert (await harness.store.get_story(mine)).paused_at is None
    await harness.server.invoke(other, admin, "source remove", {"story": "Mars"})
    assert [s.id for s in await harness.store.stories_for_guild(harness.guild.id)] == [mine]
    assert await harness.store.subscriptions(guild_id=harness.guild.id) != []


async def test_setting_alerts_in_one_server_leaves_the_others_alone(harness):
    await guild_a(harness)
    before = await harness.store.alerts_channel(harness.guild.id)
    other = await harness.second_guild()
    admin = harness.member("b-admin", Perm.ADMINISTRATOR, other)
    theirs = harness.server.add_channel(other, "b-alerts")
    await harness.server.invoke(other, admin, "settings alerts", {"channel": theirs})
    assert await harness.store.alerts_channel(other.id) == theirs.id
    assert await harness.store.alerts_channel(harness.guild.id) == before
