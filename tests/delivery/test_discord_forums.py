"""Forum subscriptions end to end: store → dispatcher → DiscordSink → the fake Discord's forum.

One post per story, titled with its name, its first message the key points (edited in place),
updates and the rest as replies; the "Live"/"Ended" tags follow the story; an archived post is
posted to again; a deleted or locked one is replaced, moderators told once; a post whose answer
was lost is found again (also once archived), never made twice."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.model import StoryStatus
from tests.builders import finish
from tests.delivery.conftest import entry, snap
from tests.fakes.discord import Perm

STORY = "Election night"


def titles(server, channel_id: int) -> list[str]:
    return [e.get("title", "") for m in server.messages_in(channel_id) for e in m["embeds"]]


@pytest.fixture
def forum(discord_server, guild):
    return discord_server.forums.add(guild, "live-news", tags=("Breaking", "LIVE", "ended"))


@pytest.fixture
def follow_forum(follow, forum):
    async def make(**options):
        options.setdefault("baseline", snap(entry(0), key_points=("Polls close at 10pm",)))
        return await follow(forum.id, forum=True, channel_name=forum.name, **options)

    return make


async def test_a_story_is_one_post_titled_with_its_name_tagged_live(
    discord_server, forum, dispatcher, follow_forum, store
):
    source = await follow_forum()
    await source.poll(snap(entry(0), entry(1), key_points=("Polls close at 10pm",)))
    await dispatcher.drain()
    (post,) = discord_server.forums.posts(forum)
    assert post.name == STORY and discord_server.forums.tag_names(post) == ["LIVE"]
    first, *replies = discord_server.messages_in(post)
    assert int(first["id"]) == post.id
    assert "Polls close at 10pm" in first["embeds"][0]["description"]
    assert [t for t in titles(discord_server, post.id) if t.startswith("Update")] == ["Update 1"]
    assert replies  # the update went in as a reply
    sub = (await store.subscriptions())[-1]
    assert (sub.thread_id, sub.starter_message_id) == (post.id, post.id)
    # no message was ever sent to the forum itself
    assert discord_server.count("POST", f"/channels/{forum.id}/messages") == 0


async def test_key_points_are_edited_in_the_first_message_and_updates_are_replies(
    discord_server, forum, dispatcher, follow_forum, clock
):
    source = await follow_forum()
    await dispatcher.drain()
    clock.advance(minutes=5)
    await source.poll(snap(entry(0), entry(1), entry(2), key_points=("Polls close", "Turnout")))
    await dispatcher.drain()
    (post,) = discord_server.forums.posts(forum)
    first = discord_server.messages[post.id]
    assert "Turnout" in first["embeds"][0]["description"] and first["edited_timestamp"]
    assert [r.kind for r in discord_server.records_in(post.id)][:1] == ["create"]
    # as in a thread: the baseline's key points, then this poll's updates and key points
    changed = f"Key points updated: {STORY}"
    assert titles(discord_server, post.id)[1:] == [changed, "Update 1", "Update 2", changed]
    assert len(discord_server.forums.posts(forum)) == 1


async def test_coverage_ended_is_a_reply_and_moves_the_tag_to_ended(
    discord_server, forum, dispatcher, follow_forum, store, clock
):
    source = await follow_forum()
    await dispatcher.drain()
    clock.advance(days=2)
    await finish(
        store, source.ids.source_id, now=clock(), next_check=clock(), status=StoryStatus.ENDED
    )
    await dispatcher.drain()
    (post,) = discord_server.forums.posts(forum)
    assert discord_server.forums.tag_names(post) == ["ended"]
    assert "Coverage ended" in titles(discord_server, post.id)[-1]


async def test_a_story_already_over_gets_a_post_tagged_ended_and_other_tags_are_kept(
    discord_server, forum, dispatcher, follow_forum, store, clock
):
    source = await follow_forum()
    await finish(
        store, source.ids.source_id, now=clock(), next_check=clock(), status=StoryStatus.ENDED
    )
    await dispatcher.drain()
    (post,) = discord_server.forums.posts(forum)
    assert discord_server.forums.tag_names(post) == ["ended"]
    breaking = int(forum.available_tags[0]["id"])
    post.applied_tags = [breaking, *post.applied_tags]  # a moderator added one
    await finish(
        store, source.ids.source_id, now=clock(), next_check=clock(), status=StoryStatus.LIVE
    )
    await dispatcher.drain()
    assert discord_server.forums.tag_names(post) == ["Breaking", "LIVE"]


async def test_a_forum_without_status_tags_gets_posts_without_tags(
    discord_server, guild, dispatcher, follow
):
    plain = discord_server.forums.add(guild, "plain")
    await follow(plain.id, forum=True, baseline=snap(entry(0), key_points=("A",)))
    await dispatcher.drain()
    (post,) = discord_server.forums.posts(plain)
    assert post.applied_tags == []


async def test_an_archived_post_is_posted_to_and_its_key_points_edited_again(
    discord_server, forum, dispatcher, follow_forum, clock, store
):
    source = await follow_forum()
    await dispatcher.drain()
    (post,) = discord_server.forums.posts(forum)
    await discord_server.archive_thread(post)  # a quiet week
    clock.advance(days=8)
    await source.poll(snap(entry(0), key_points=("Polls close at 10pm", "Recount")))
    await dispatcher.drain()
    assert discord_server.forums.posts(forum) == [post] and not post.archived
    assert "Recount" in discord_server.messages[post.id]["embeds"][0]["description"]
    await discord_server.archive_thread(post)
    clock.advance(days=8)
    await source.poll(snap(entry(0), entry(1), key_points=("Polls close at 10pm", "Recount")))
    await dispatcher.drain()
    assert "Update 1" in titles(discord_server, post.id) and not post.archived
    assert await store.pending_deliveries(clock() + timedelta(hours=1)) == []


@pytest.mark.parametrize("lose", ["deleted", "locked"])
async def test_a_deleted_or_locked_post_is_replaced_and_moderators_are_told_once(
    discord_server, guild, forum, dispatcher, follow_forum, clock, store, lose
):
    source = await follow_forum()
    await dispatcher.drain()
    (old,) = discord_server.forums.posts(forum)
    if lose == "deleted":
        await discord_server.delete_channel(old)
    else:
        await discord_server.archive_thread(old, locked=True)
    clock.advance(minutes=5)
    await source.poll(snap(entry(0), entry(1), key_points=("Polls close at 10pm", "Recount")))
    await dispatcher.drain()
    clock.advance(minutes=5)
    await source.poll(
        snap(entry(0), entry(1), entry(2), key_points=("Polls close at 10pm", "Recount"))
    )
    await dispatcher.drain()
    new = discord_server.forums.posts(forum)[-1]
    assert new.id != old.id and new.name == STORY
    assert "Recount" in discord_server.messages[new.id]["embeds"][0]["description"]
    assert [t for t in titles(discord_server, new.id) if t.startswith("Update")] == [
        "Update 1",
        "Update 2",
    ]
    told = [
        m["content"] or m["embeds"][0].get("description", "")
        for m in discord_server.messages_in(guild.system_channel_id)
    ]
    replaced = [text for text in told if "was deleted or locked" in text]
    assert len(replaced) == 1 and f"#live-news (<#{forum.id}>)" in replaced[0]
    (sub,) = await store.subscriptions(guild_id=guild.id)
    assert sub.paused_at is None and sub.thread_id == new.id


async def test_a_post_whose_answer_was_lost_is_found_not_made_twice(
    discord_server, forum, dispatcher, follow_forum, clock, store
):
    source = await follow_forum()
    discord_server.forums.lost_replies = 1  # the post is made; its answer never arrives
    await dispatcher.drain()
    assert len(discord_server.forums.posts(forum)) == 1
    clock.advance(minutes=10)
    await source.poll(snap(entry(0), entry(1), key_points=("Polls close at 10pm",)))
    await dispatcher.drain()
    (post,) = discord_server.forums.posts(forum)
    assert titles(discord_server, post.id)[-1] == "Update 1"
    assert discord_server.count("GET", f"/guilds/{forum.guild_id}/threads/active") == 1
    sub = (await store.subscriptions())[-1]
    assert sub.thread_id == post.id


def archived_lookups(server, forum) -> int:
    return server.count("GET", f"/channels/{forum.id}/threads/archived/public")


async def made_lost_and_archived(server, forum, dispatcher, *, at: datetime | None = None):
    """The story's post is made, its answer is lost (a 502), and Discord archives the post
    before Bulletin tries again: the post Bulletin then finds is an archived one."""
    server.forums.lost_replies, server.forums.reply_delay = 1, 0.3
    before = {post.id for post in server.forums.posts(forum)}

    async def archive():
        def made():
            return [post for post in server.forums.posts(forum) if post.id not in before]

        (post,) = await server.wait_until(made, 5)
        await server.archive_thread(post, at=at)
        return post

    archiving = asyncio.create_task(archive())
    await dispatcher.drain()
    post = await archiving
    server.forums.reply_delay = 0.0
    return post


async def test_a_post_whose_answer_was_lost_and_archived_since_is_found_and_reopened(
    discord_server, forum, dispatcher, follow_forum, clock, store
):
    source = await follow_forum()
    post = await made_lost_and_archived(discord_server, forum, dispatcher)
    clock.advance(minutes=10)
    await source.poll(snap(entry(0), entry(1), key_points=("Polls close at 10pm", "Recount")))
    await dispatcher.drain()
    assert discord_server.forums.posts(forum) == [post] and not post.archived
    assert titles(discord_server, post.id).count("Update 1") == 1
    assert "Recount" in discord_server.messages[post.id]["embeds"][0]["description"]
    assert archived_lookups(discord_server, forum) == 1
    (sub,) = await store.subscriptions(guild_id=forum.guild_id)
    assert sub.thread_id == post.id


@pytest.mark.parametrize(
    ("archived_since", "found", "pages"),
    [(60, True, 2), (110, False, 2)],
    ids=["on-the-second-page", "beyond-two-pages"],
)
async def test_archived_posts_are_looked_through_two_pages_deep(
    discord_server, forum, dispatcher, follow_forum, clock, archived_since, found, pages
):
    now = datetime.now(UTC)
    for n in range(archived_since):  # other stories' posts, archived after this one
        discord_server.forums.add_post(forum, f"Story {n}", archived_at=now - timedelta(minutes=n))
    source = await follow_forum()
    post = await made_lost_and_archived(
        discord_server, forum, dispatcher, at=now - timedelta(hours=2)
    )
    clock.advance(minutes=10)
    await source.poll(snap(entry(0), entry(1), key_points=("Polls close at 10pm",)))
    await dispatcher.drain()
    mine = [p for p in discord_server.forums.posts(forum) if p.name == STORY]
    assert (mine == [post]) is found and len(mine) == (1 if found else 2)
    assert "Update 1" in titles(discord_server, mine[-1].id)
    assert archived_lookups(discord_server, forum) == pages


async def test_without_read_message_history_a_new_post_is_made_and_that_is_logged_once(
    discord_server, guild, forum, dispatcher, discord_sink, follow_forum, clock, caplog
):
    await discord_server.set_overwrite(
        forum, discord_server.bot_role(guild), deny=Perm.READ_MESSAGE_HISTORY
    )
    source = await follow_forum()
    caplog.set_level(logging.WARNING, logger="bot.delivery.discord_sink.forums")
    lost = await made_lost_and_archived(discord_server, forum, dispatcher)
    clock.advance(minutes=10)
    await source.poll(snap(entry(0), entry(1), key_points=("Polls close at 10pm",)))
    await dispatcher.drain()
    old, new = discord_server.forums.posts(forum)
    assert old is lost and new.name == STORY
    assert titles(discord_server, new.id)[-1] == "Update 1"  # still delivered
    # another lookup in that forum says nothing more
    assert await discord_sink.forums.existing(guild.id, forum.id, "Another story") is None
    (said,) = [r.getMessage() for r in caplog.records if "Read Message History" in r.getMessage()]
    assert f"guild {guild.id}: forum {forum.id}" in said and "a new one is made" in said


async def test_a_first_post_looks_for_nothing(discord_server, forum, dispatcher, follow_forum):
    await follow_forum()
    await dispatcher.drain()
    assert discord_server.count("GET", f"/guilds/{forum.guild_id}/threads/active") == 0
    assert archived_lookups(discord_server, forum) == 0


async def test_a_forum_refusing_posts_pauses_the_subscription_naming_what_is_missing(
    discord_server, guild, forum, dispatcher, follow_forum, store
):
    await discord_server.set_overwrite(
        forum, discord_server.bot_role(guild), deny=Perm.SEND_MESSAGES
    )
    await follow_forum()
    await dispatcher.drain()
    (sub,) = await store.subscriptions(guild_id=guild.id)
    assert sub.paused_at is not None
    (alert,) = [
        m["content"] or m["embeds"][0]["description"]
        for m in discord_server.messages_in(guild.system_channel_id)
    ]
    assert "#live-news" in alert and "Create Posts" in alert


async def test_a_forum_requiring_tags_with_only_ended_tags_a_live_storys_post_ended(
    discord_server, guild, dispatcher, follow
):
    strict = discord_server.forums.add(guild, "strict", tags=("Ended",), require_tag=True)
    await follow(strict.id, forum=True, baseline=snap(entry(0), key_points=("A",)))
    await dispatcher.drain()
    (post,) = discord_server.forums.posts(strict)
    assert discord_server.forums.tag_names(post) == ["Ended"]  # the only post Discord takes


async def test_a_forum_whose_status_tags_went_away_pauses_saying_what_to_do(
    discord_server, guild, dispatcher, follow, store
):
    strict = discord_server.forums.add(guild, "strict", tags=("Sport",), require_tag=True)
    baseline = snap(entry(0), key_points=("A",))
    await follow(strict.id, forum=True, channel_name="strict", baseline=baseline)
    await dispatcher.drain()
    (sub,) = await store.subscriptions(guild_id=guild.id)
    assert sub.pause_reason == "tag_required" and discord_server.forums.posts(strict) == []
    (alert,) = [
        m["content"] or m["embeds"][0]["description"]
        for m in discord_server.messages_in(guild.system_channel_id)
    ]
    assert (
        alert.startswith("Bulletin paused posting **Election night** to #strict (<#")
        and "Add a tag named “Live” or “Ended” to the forum" in alert
    )
