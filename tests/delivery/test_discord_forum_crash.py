"""kill -9 of a delivering process while Discord makes the story's forum post, then a restart:
the post made before is found (the intent was recorded before the request), also when Discord
archived it while the bot was down, and never made twice."""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta

from bot.store import open_store
from tests.builders import poll
from tests.delivery.conftest import T0, entry, snap
from tests.delivery.test_discord_crash import start_worker


async def forum_outbox(discord_server, guild, forum, db) -> None:
    """A forum subscription with an update waiting (its post not made yet)."""
    store = await open_store(db)
    story = await store.ensure_story("Election night", guild_id=guild.id, now=T0)
    source = await store.add_source(story, "https://news.example/live", now=T0)
    await store.subscribe(
        story, guild_id=guild.id, channel_id=forum.id, forum=True, channel_name="live", now=T0
    )
    await poll(store, source, snap(entry(0), key_points=("Polls close",)), now=T0)
    later = T0 + timedelta(minutes=1)
    await poll(store, source, snap(entry(0), entry(1), key_points=("Polls close",)), now=later)
    await store.close()


def titles(server, post) -> list[str]:
    return [e.get("title", "") for m in server.messages_in(post) for e in m["embeds"]]


async def killed_mid_post(discord_server, guild, tmp_path):
    """The delivering process killed once Discord made the story's post, before it heard of
    it; its database, the forum and the post."""
    discord_server.limits.message_create = (50, 1.0)
    forums = discord_server.forums
    forum = forums.add(guild, "live", tags=("Live", "Ended"))
    db = tmp_path / "bulletin.db"
    await forum_outbox(discord_server, guild, forum, db)
    forums.reply_delay = 2.0  # Discord makes the post; its answer is slow to come back

    worker = await start_worker(db, discord_server)
    await discord_server.wait_until(lambda: len(forums.posts(forum)) == 1, 20)
    worker.send_signal(signal.SIGKILL)  # the post exists; the bot never heard of it
    await worker.wait()
    (post,) = forums.posts(forum)
    forums.reply_delay = 0.0
    return db, forum, post


async def restarted_until_update_1(db, discord_server, post) -> None:
    """The process started again, until update 1 is in the post (and a moment more)."""
    worker = await start_worker(db, discord_server)
    try:
        await discord_server.wait_until(lambda: "Update 1" in titles(discord_server, post), 20)
        await asyncio.sleep(0.5)  # a second post would be made now
    finally:
        worker.send_signal(signal.SIGKILL)
        await worker.wait()


async def subscription_thread(db, guild) -> tuple[int | None, int | None]:
    """The forum subscription's post and starter message, as the store keeps them."""
    store = await open_store(db)
    try:
        (sub,) = await store.subscriptions(guild_id=guild.id)
        return sub.thread_id, sub.starter_message_id
    finally:
        await store.close()


async def test_a_kill_while_the_post_is_made_finds_it_after_the_restart(
    discord_server, guild, tmp_path
):
    db, forum, post = await killed_mid_post(discord_server, guild, tmp_path)
    assert len(discord_server.messages_in(post)) == 1  # only its first message, the key points

    await restarted_until_update_1(db, discord_server, post)
    assert discord_server.forums.posts(forum) == [post]
    assert titles(discord_server, post).count("Update 1") == 1
    assert discord_server.count("GET", f"/guilds/{guild.id}/threads/active") == 1
    assert await subscription_thread(db, guild) == (post.id, post.id)


async def test_a_post_archived_while_the_bot_was_down_is_found_and_reopened(
    discord_server, guild, tmp_path
):
    db, forum, post = await killed_mid_post(discord_server, guild, tmp_path)
    await discord_server.archive_thread(post)  # quiet for its archive duration meanwhile

    await restarted_until_update_1(db, discord_server, post)
    assert discord_server.forums.posts(forum) == [post] and not post.archived  # reopened
    assert titles(discord_server, post).count("Update 1") == 1
    assert discord_server.count("GET", f"/guilds/{guild.id}/threads/active") == 1
    assert discord_server.count("GET", f"/channels/{forum.id}/threads/archived/public") == 1
    assert await subscription_thread(db, guild) == (post.id, post.id)
