"""A subscription's filters on Discord: keywords, exclusions and a pattern decide what is posted,
in updates, digests and backfills alike, and a role is pinged for the same matches."""

from __future__ import annotations

import pytest

from bot.delivery.digest import Digests
from bot.services.subscriptions import queue_backfill
from tests.delivery.conftest import entry, snap

UPDATES = (
    entry(0),
    entry(1, "The ferry resumes at noon."),
    entry(2, "Unconfirmed: the ferry may stop again."),
    entry(3, "Buses replace the trains."),
)


def titles(server, channel_id: int) -> list[str]:
    return [e["title"] for m in server.messages_in(channel_id) for e in m["embeds"]]


@pytest.mark.parametrize(
    ("filters", "posted", "pinged"),
    [
        ({}, ["Update 1", "Update 2", "Update 3"], False),
        ({"keywords": "ferry"}, ["Update 1", "Update 2"], True),
        ({"exclusions": "unconfirmed"}, ["Update 1", "Update 3"], False),
        ({"keywords": "ferry", "exclusions": "unconfirmed"}, ["Update 1"], True),
        ({"pattern": r"ferry\s+resumes|^buses"}, ["Update 1", "Update 3"], True),
        ({"pattern": "FERRY", "exclusions": "noon"}, ["Update 2"], True),
    ],
)
async def test_updates_pass_every_filter_and_ping_only_when_the_filters_pick_them(
    discord_server, guild, dispatcher, follow, filters, posted, pinged
):
    role = discord_server.add_role(guild, "news")
    source = await follow(mention_role_id=role.id, **filters)
    await source.poll(snap(*UPDATES))
    await dispatcher.drain()
    assert titles(discord_server, guild.system_channel_id) == posted
    (record,) = discord_server.records_in(guild.system_channel_id, "create")
    if pinged:
        assert record.request["content"].startswith(f"<@&{role.id}>")
        assert record.request["allowed_mentions"] == {"parse": [], "roles": [str(role.id)]}
    else:
        assert not record.request.get("content")
        assert not record.request["allowed_mentions"].get("roles")


async def test_a_digest_shows_only_updates_that_pass_its_filters_and_pings_for_a_pattern(
    discord_server, guild, store, dispatcher, follow, clock
):
    role = discord_server.add_role(guild, "news")
    source = await follow(
        mode="digest", every=3600, mention_role_id=role.id, pattern="ferry", exclusions="noon"
    )
    clock.advance(minutes=10)
    await source.poll(snap(*UPDATES))
    clock.advance(minutes=50)
    assert await Digests(store, clock=clock).close_due() == 1
    await dispatcher.drain()
    (message,) = discord_server.messages_in(guild.system_channel_id)
    listed = message["embeds"][0]["description"]
    assert "Update 2" in listed and "Update 1" not in listed and "Update 3" not in listed
    assert message["content"].startswith(f"<@&{role.id}>")


async def test_a_backfill_takes_the_newest_updates_that_pass_every_filter(
    discord_server, guild, store, dispatcher, follow, clock
):
    source = await follow(
        keywords="ferry, trains", exclusions="unconfirmed", baseline=snap(*UPDATES)
    )
    assert await queue_backfill(store, source.ids.subscription_id, 5, now=clock()) == 2
    await dispatcher.drain()
    assert titles(discord_server, guild.system_channel_id) == ["Update 1", "Update 3"]
