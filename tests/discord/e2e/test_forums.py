"""/subscribe to a forum channel through the real bot and the fake Discord: who may, what is
refused (and why), the story's one post, and channel names kept for alerts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.services.subscriptions import queue_backfill
from tests.discord.e2e.harness import (
    Harness,
    close_runtime,
    eventually,
    make_runtime,
    start,
    stop,
)
from tests.discord.e2e.test_abuse import open_to_everyone, polled_story
from tests.fakes.discord import InvocationError, Perm
from tests.fakes.source_server import SourceServer


def content(inv) -> str:
    return "\n".join(c["data"].get("content") or "" for c in inv.callbacks)


async def subscribe(h, member=None, guild=None, **options):
    options.setdefault("story", "Mars")
    return await h.server.invoke(
        guild or h.guild, member or h.moderator(guild), "subscribe", options
    )


def live_forum(h, guild=None, **kwargs):
    kwargs.setdefault("tags", ("Live", "Ended"))
    return h.server.forums.add(guild or h.guild, "live-news", **kwargs)


async def test_a_moderator_subscribes_a_forum_and_the_story_gets_one_tagged_post(harness):
    await polled_story(harness)
    forum = live_forum(harness)
    inv = await subscribe(harness, channel=forum, backfill=2)
    assert inv.ephemeral
    assert content(inv).startswith(f"<#{forum.id}> now follows “Mars” (updates, a post per story).")
    (sub,) = await harness.store.subscriptions(guild_id=harness.guild.id)
    assert (sub.channel_id, sub.forum, sub.channel_name) == (forum.id, True, "live-news")
    posts = harness.server.forums.posts

    def titles() -> list[str]:
        return [
            e["title"]
            for p in posts(forum)
            for m in harness.server.messages_in(p)
            for e in m["embeds"]
        ]

    await harness.server.wait_until(lambda: len(titles()) >= 3, 5)
    (post,) = posts(forum)
    assert post.name == "Mars" and harness.server.forums.tag_names(post) == ["Live"]
    assert titles()[1:] == ["Parachute opens", "Touchdown confirmed"]
    listed = await harness.server.invoke(harness.guild, harness.moderator(), "subscriptions")
    assert f"<#{forum.id}> (updates, a post per story)" in content(listed)


async def test_a_member_without_manage_channels_cannot_subscribe_a_forum(harness):
    await polled_story(harness)
    forum = live_forum(harness)
    open_to_everyone(harness)
    inv = await subscribe(harness, member=harness.member("reader"), channel=forum)
    assert "Manage Channels" in content(inv)
    assert await harness.store.subscriptions(guild_id=harness.guild.id) == []
    assert harness.server.forums.posts(forum) == []


async def test_another_server_can_neither_pick_this_forum_nor_follow_this_story(harness):
    await polled_story(harness)
    forum = live_forum(harness)
    other = await harness.second_guild()
    theirs = live_forum(harness, other)
    admin = harness.member("b-admin", Perm.ADMINISTRATOR, other)
    with pytest.raises(InvocationError):  # Discord's client offers only that server's channels
        await subscribe(harness, member=admin, guild=other, channel=forum)
    inv = await subscribe(harness, member=admin, guild=other, channel=theirs)
    assert "Mars" in content(inv) and "follows" not in content(inv)
    assert await harness.store.subscriptions(guild_id=other.id) == []
    assert await harness.store.subscriptions(guild_id=harness.guild.id) == []


async def test_a_forum_requiring_tags_bulletin_does_not_apply_is_refused_saying_what_to_do(harness):
    await polled_story(harness)
    forum = live_forum(harness, tags=("Sport", "Politics"), require_tag=True)
    inv = await subscribe(harness, channel=forum)
    assert content(inv) == (
        f"<#{forum.id}> requires a tag on every post, and Bulletin only applies tags named "
        "“Live” and “Ended”. Add one of them to the forum (Edit Channel → Tags), or turn off "
        "“Require people to select tags”, then subscribe again."
    )
    assert await harness.store.subscriptions(guild_id=harness.guild.id) == []


async def test_a_forum_requiring_tags_with_an_ended_tag_is_accepted(harness):
    await polled_story(harness)
    forum = live_forum(harness, tags=("Sport", "ENDED"), require_tag=True)
    inv = await subscribe(harness, channel=forum)
    assert "now follows" in content(inv)


async def test_the_permissions_bulletin_lacks_in_the_forum_are_named(harness):
    await polled_story(harness)
    forum = live_forum(harness)
    deny = Perm.SEND_MESSAGES_IN_THREADS | Perm.EMBED_LINKS
    await harness.server.set_overwrite(forum, harness.server.bot_role(harness.guild), deny=deny)
    inv = await subscribe(harness, channel=forum)
    assert content(inv) == (
        f"Bulletin cannot post in <#{forum.id}>: it needs Send Messages in Posts and Embed "
        "Links there. Grant them (channel settings → Permissions) and try again."
    )
    assert await harness.store.subscriptions(guild_id=harness.guild.id) == []


async def test_a_renamed_channel_is_named_in_the_alert_once_it_is_deleted(harness):
    await polled_story(harness)
    news = harness.server.add_channel(harness.guild, "news")
    await subscribe(harness, channel=news)
    (sub,) = await harness.store.subscriptions(guild_id=harness.guild.id)
    assert sub.channel_name == "news"
    await harness.server.rename_channel(news, "election-results")

    async def renamed() -> bool:
        (now,) = await harness.store.subscriptions(guild_id=harness.guild.id)
        return now.channel_name == "election-results"

    # CHANNEL_UPDATE reaches the bot, which keeps the new name
    async with asyncio.timeout(5):
        while not await renamed():  # noqa: ASYNC110 - the store has no event to wait on
            await asyncio.sleep(0.02)
    await harness.server.delete_channel(news)
    await queue_backfill(harness.store, sub.id, 1, now=datetime.now(UTC))
    harness.runtime.delivery_wakeup.set()
    general = harness.guild.system_channel_id

    def said() -> str:
        return "\n".join(
            (m["content"] or "") + "".join(e.get("description", "") for e in m["embeds"])
            for m in harness.server.messages_in(general)
        )

    await eventually(lambda: "election-results" in said(), 5)
    assert f"#election-results (<#{news.id}>)" in said()


async def test_a_channel_renamed_while_bulletin_was_away_is_caught_up_at_start(
    discord_server, guild, tmp_path
):
    runtime = await make_runtime(tmp_path, dev_guild=guild.id, server=discord_server)
    bot, task = await start(runtime, discord_server)
    async with SourceServer() as sources:
        h = Harness(discord_server, guild, runtime, sources, str(tmp_path / "bulletin.db"), bot)
        try:
            await polled_story(h)
            news = discord_server.add_channel(guild, "news")
            await subscribe(h, channel=news)
        finally:
            await stop(bot, task)
            await close_runtime(runtime)
        news.name = "results"  # no CHANNEL_UPDATE reaches a bot that is not running
        runtime = await make_runtime(tmp_path, dev_guild=guild.id, server=discord_server)
        bot, task = await start(runtime, discord_server)
        try:

            async def caught_up() -> bool:
                (sub,) = await runtime.store.subscriptions(guild_id=guild.id)
                return sub.channel_name == "results"

            async with asyncio.timeout(5):
                while not await caught_up():  # noqa: ASYNC110 - the store has no event
                    await asyncio.sleep(0.02)
        finally:
            await stop(bot, task)
            await close_runtime(runtime)


async def test_a_forum_whose_status_tags_only_moderators_apply_needs_manage_threads(harness):
    await polled_story(harness)
    forum = live_forum(harness, moderated=("Live",))
    inv = await subscribe(harness, channel=forum)
    assert content(inv) == (
        f"Only moderators may apply “Live” in <#{forum.id}>: give Bulletin Manage Threads there "
        "(channel settings → Permissions), or let everyone apply the tag, then try again."
    )
    assert await harness.store.subscriptions(guild_id=harness.guild.id) == []
    bot_role = harness.server.bot_role(harness.guild)
    await harness.server.set_overwrite(forum, bot_role, allow=Perm.MANAGE_THREADS)
    inv = await subscribe(harness, channel=forum, backfill=1)
    assert "now follows" in content(inv)
    await harness.server.wait_until(lambda: harness.server.forums.posts(forum), 5)
    (post,) = harness.server.forums.posts(forum)
    assert harness.server.forums.tag_names(post) == ["Live"]


async def test_without_read_message_history_the_forum_is_followed_and_the_risk_is_said(harness):
    await polled_story(harness)
    forum = live_forum(harness)
    await harness.server.set_overwrite(
        forum, harness.server.bot_role(harness.guild), deny=Perm.READ_MESSAGE_HISTORY
    )
    inv = await subscribe(harness, channel=forum)
    assert content(inv).startswith(f"<#{forum.id}> now follows “Mars” (updates, a post per story).")
    assert "Without Read Message History here, a post made just before a restart" in content(inv)
    assert len(await harness.store.subscriptions(guild_id=harness.guild.id)) == 1
    granted = live_forum(harness)  # with the permission: not a word of it
    inv = await subscribe(harness, channel=granted)
    assert "Read Message History" not in content(inv)
