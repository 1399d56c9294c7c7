"""/stories, /latest, /keypoints, /help; per-server isolation; the error handler."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.model import Snapshot
from bot.sources.extract import extract
from tests.builders import poll
from tests.discord.e2e.harness import close_runtime, eventually, make_runtime, start, stop
from tests.fakes.discord import CommandRefused, Perm
from tests.services.pages import live_page

NOW = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)


async def story_with_page(h, name="Mars", *, key_points=None, guild=None):
    """A story of the guild whose one source has been polled once with our page."""
    guild = guild or h.guild
    story = await h.store.ensure_story(name, guild_id=guild.id)
    url = f"https://news.test/{name.lower()}"
    source = await h.store.add_source(story, url)
    snapshot: Snapshot = extract(
        live_page(key_points=key_points), content_type="text/html", url=url
    )
    await poll(h.store, source, snapshot, now=NOW)
    return story, source


def content(inv) -> str:
    return inv.callbacks[0]["data"].get("content") or ""


def embeds(inv) -> list[dict]:
    return inv.callbacks[0]["data"].get("embeds") or []


async def test_stories_lists_own_and_config_stories_with_status(harness):
    await story_with_page(harness)
    await harness.store.ensure_story("World Cup")  # from the config, no sources yet
    inv = await harness.server.invoke(harness.guild, harness.member("reader"), "stories")
    text = content(inv)
    assert "**Mars** — live · last update <t:" in text
    assert "**World Cup** — no sources" in text and "from the config" in text
    assert inv.answered_after < 3.0


async def test_latest_shows_the_newest_updates_as_embeds_newest_first(harness):
    await story_with_page(harness)
    inv = await harness.server.invoke(
        harness.guild, harness.member("reader"), "latest", {"story": "Mars", "count": 2}
    )
    assert [e["title"] for e in embeds(inv)] == ["Touchdown confirmed", "Parachute opens"]
    assert not inv.ephemeral


async def test_latest_shows_five_updates_unless_asked_for_another_count(harness):
    story = await harness.store.ensure_story("Mars", guild_id=harness.guild.id)
    url = "https://news.test/mars"
    source = await harness.store.add_source(story, url)
    updates = [(f"u{n}", f"Update {n}", f"Text of update {n}.") for n in range(12)]
    snapshot = extract(live_page(updates=updates), content_type="text/html", url=url)
    await poll(harness.store, source, snapshot, now=NOW)
    reader = harness.member("reader")
    inv = await harness.server.invoke(harness.guild, reader, "latest", {"story": "Mars"})
    assert [e["title"] for e in embeds(inv)] == [f"Update {n}" for n in (11, 10, 9, 8, 7)]
    inv = await harness.server.invoke(
        harness.guild, reader, "latest", {"story": "Mars", "count": 10}
    )
    assert len(embeds(inv)) == 10


async def test_latest_without_updates_says_to_wait(harness):
    story = await harness.store.ensure_story("Mars", guild_id=harness.guild.id)
    await harness.store.add_source(story, "https://news.test/mars")
    inv = await harness.server.invoke(
        harness.guild, harness.member("reader"), "latest", {"story": "Mars"}
    )
    assert inv.ephemeral and "try again in a minute" in content(inv)


async def test_keypoints_shows_the_sources_own_list_and_a_link(harness):
    await story_with_page(harness, key_points=["The lander is down", "Pictures soon"])
    inv = await harness.server.invoke(
        harness.guild, harness.member("reader"), "keypoints", {"story": "Mars"}
    )
    (embed,) = embeds(inv)
    assert embed["title"] == "Key points: Mars"
    assert "• The lander is down\n• Pictures soon" in embed["description"]
    assert "last changed <t:" in embed["description"]
    assert embed["url"] == "https://news.test/mars"


async def test_keypoints_without_a_list_are_extracted_and_labelled(harness):
    await story_with_page(harness)
    inv = await harness.server.invoke(
        harness.guild, harness.member("reader"), "keypoints", {"story": "Mars"}
    )
    (embed,) = embeds(inv)
    assert "extracted" in embed["title"] and "extracted" in embed["footer"]["text"]
    assert embed["description"].startswith("• ")


async def test_help_lists_only_the_commands_the_member_may_use(harness):
    reader = await harness.server.invoke(harness.guild, harness.member("reader"), "help")
    mod = await harness.server.invoke(harness.guild, harness.moderator(), "help")
    assert "/source add" not in content(reader) and "/subscribe" not in content(reader)
    assert "/source add" in content(mod) and "/subscribe" in content(mod)


async def test_another_server_cannot_see_or_use_this_servers_stories(harness):
    await story_with_page(harness)
    other = await harness.second_guild()
    reader = harness.member("outsider", guild=other)
    listed = await harness.server.invoke(other, reader, "stories")
    assert "Mars" not in content(listed)
    latest = await harness.server.invoke(other, reader, "latest", {"story": "Mars"})
    assert latest.ephemeral and "no story called “Mars”" in content(latest)
    choices = await harness.server.autocomplete(
        other, reader, "latest", {"story": "ma"}, focused="story"
    )
    assert choices == []


async def test_another_server_cannot_remove_or_pause_this_servers_story(harness):
    await story_with_page(harness)
    other = await harness.second_guild()
    mod = harness.moderator(other)
    for command in ("source pause", "source remove"):
        inv = await harness.server.invoke(other, mod, command, {"story": "Mars"})
        assert "no story called" in content(inv)
    (story,) = await harness.store.stories_for_guild(harness.guild.id)
    assert story.paused_at is None


async def test_story_autocomplete_matches_what_was_typed(harness):
    for name in ("Mars landing", "Election night", "Storm Ciaran"):
        await harness.store.ensure_story(name, guild_id=harness.guild.id)
    choices = await harness.server.autocomplete(
        harness.guild, harness.member("reader"), "keypoints", {"story": "ar"}, focused="story"
    )
    assert [c["value"] for c in choices] == ["Mars landing", "Storm Ciaran"]


async def test_unexpected_failure_gets_an_ephemeral_apology_not_a_traceback(harness, caplog):
    await harness.store.close()  # the database goes away under the bot
    inv = await harness.server.invoke(harness.guild, harness.member("reader"), "stories")
    assert inv.ephemeral
    assert "Something went wrong on Bulletin's side" in content(inv)
    assert "Traceback" not in content(inv)
    assert any(str(harness.guild.id) in r.getMessage() for r in caplog.records)


async def test_sync_is_only_registered_in_the_dev_guild(harness):
    other = await harness.second_guild()
    assert "sync" in harness.server.registered(harness.guild)
    assert "sync" not in harness.server.registered(other)
    with pytest.raises(Exception, match="no /sync"):
        await harness.server.invoke(other, harness.moderator(other), "sync")


async def test_sync_refuses_anyone_but_the_owner(harness):
    admin = harness.member("admin", Perm.ADMINISTRATOR)
    inv = await harness.server.invoke(harness.guild, admin, "sync")
    assert inv.ephemeral and content(inv) == "Only the bot's owner can use /sync."


async def test_sync_by_the_owner_registers_commands_globally(harness):
    harness.server.commands.pop(None, None)
    owner = harness.guild.members[harness.server.owner.id]
    inv = await harness.server.invoke(harness.guild, owner, "sync", {"global": True})
    await inv.wait_for(lambda i: i.followups)
    assert "for every server" in inv.followups[0]["content"]
    assert {"latest", "source", "subscribe"} <= set(harness.server.registered())


async def test_guild_remove_and_join_are_recorded_for_the_seven_day_deletion(harness):
    story, _ = await story_with_page(harness)
    await harness.store.ensure_story("World Cup")  # from the config: it stays
    world_cup = next(s for s in await harness.store.stories_for_guild(None))
    for followed, channel in ((story, 10), (world_cup.id, 11)):
        await harness.store.subscribe(followed, guild_id=harness.guild.id, channel_id=channel)
    await harness.store.set_alerts_channel(harness.guild.id, 12)
    await harness.server.dispatch("GUILD_DELETE", {"id": str(harness.guild.id)})
    await eventually(lambda: harness.left_at(harness.guild) is not None)
    later = datetime.now(UTC)

    async def kept() -> tuple:
        return (
            [s.name for s in await harness.store.stories_for_guild(harness.guild.id)],
            len(await harness.store.subscriptions(guild_id=harness.guild.id)),
            await harness.store.alerts_channel(harness.guild.id),
        )

    # Still there while the bot might come back; gone once prune runs 7 days on.
    await harness.store.prune(later + timedelta(days=6, hours=23))
    assert await kept() == (["Mars", "World Cup"], 2, 12)
    await harness.store.prune(later + timedelta(days=7, minutes=1))
    assert await kept() == (["World Cup"], 0, None)


async def test_guild_that_comes_back_is_kept(harness):
    await story_with_page(harness)
    await harness.server.dispatch("GUILD_DELETE", {"id": str(harness.guild.id)})
    await eventually(lambda: harness.left_at(harness.guild) is not None)
    await harness.server.announce_guild(harness.guild)
    await eventually(lambda: harness.left_at(harness.guild) is None)
    await harness.store.prune(datetime.now(UTC) + timedelta(days=8))
    assert [s.name for s in await harness.store.stories_for_guild(harness.guild.id)] == ["Mars"]


async def test_a_server_that_removed_the_bot_while_it_was_away_is_deleted_7_days_on(
    discord_server, guild, tmp_path
):
    runtime = await make_runtime(tmp_path, dev_guild=None, server=discord_server)
    gone = 424242  # a server the bot was in on an earlier run, no longer in READY
    for server in (guild.id, gone):
        story = await runtime.store.ensure_story("Mars", guild_id=server)
        await runtime.store.subscribe(story, guild_id=server, channel_id=server + 1)
    bot, task = await start(runtime, discord_server)
    try:
        async with asyncio.timeout(5):  # on_ready runs in a task of its own
            while await runtime.store.present_guilds() != [guild.id]:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        await runtime.store.prune(datetime.now(UTC) + timedelta(days=7, minutes=1))
        assert await runtime.store.stories_for_guild(gone) == []
        assert [s.name for s in await runtime.store.stories_for_guild(guild.id)] == ["Mars"]
    finally:
        await stop(bot, task)
        await close_runtime(runtime)


@pytest.mark.parametrize("command", ["subscribe", "unsubscribe", "subscriptions", "settings"])
async def test_members_without_the_permission_are_refused_by_discord(harness, command):
    with pytest.raises(CommandRefused):
        await harness.server.invoke(harness.guild, harness.member("reader"), command, {})
