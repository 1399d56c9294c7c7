"""kill -9 of the real Discord bot (`python -m bot run`) while Discord makes a story's forum post.

A moderator subscribes a forum through the real /subscribe; the page grows; the fake Discord
makes the story's post but holds its answer, and the bot is killed before it hears it (its intent
recorded, the post never). Started again, the bot finds the post among the server's active
threads: one post, every update in it once, oldest first.
"""

from __future__ import annotations

import re

from tests.fakes.discord import Perm
from tests.faults.test_bot_kill import LAST, STORY, newsroom, until

TITLE = re.compile(r"^Harbour festival update (\d+)$")


async def test_a_bot_killed_while_its_forum_post_is_made_finds_it_after_the_restart(tmp_path):
    async with newsroom(tmp_path) as room:
        forums = room.discord.forums
        forum = forums.add(room.guild, "harbour-live", tags=("Live", "Ended"))

        def posted() -> list[int]:
            return [
                int(match[1])
                for post in forums.posts(forum)
                for message in room.discord.messages_in(post)
                for embed in message.get("embeds") or []
                if (match := TITLE.match(embed.get("title") or ""))
            ]

        async with room.launch() as bulletin:
            await until(bulletin, lambda: "subscribe" in room.discord.registered(room.guild))
            await until(bulletin, lambda: room.discord.identifies >= 1)
            role = room.discord.add_role(room.guild, "moderators", Perm.MANAGE_CHANNELS)
            moderator = room.discord.add_member(room.guild, "moderator", roles=[role])
            forums.reply_delay = 3.0  # the post is made; its answer comes too late
            inv = await room.discord.invoke(
                room.guild, moderator, "subscribe", {"story": STORY, "channel": forum}
            )
            assert "a post per story" in (inv.callbacks[0]["data"].get("content") or "")
            room.growing[0] = True
            await until(bulletin, lambda: len(forums.posts(forum)) == 1)
        # leaving the block killed it (SIGKILL) with the post made and its answer unheard
        (post,) = forums.posts(forum)
        assert posted() == []
        forums.reply_delay = 0.0
        identified = room.discord.identifies
        async with room.launch() as bulletin:
            await until(bulletin, lambda: room.discord.identifies > identified)
            await until(bulletin, lambda: LAST in posted(), within=60)
            await until(bulletin, lambda: room.unsent() == 0)
            assert await bulletin.stop(within=20) == 0, bulletin.err[-3000:]
        assert forums.posts(forum) == [post] and post.name == STORY
        assert forums.tag_names(post) == ["Live"]
        numbers = posted()
        assert numbers == list(range(2, LAST + 1))  # each once, oldest first
        assert room.discord.count("GET", f"/guilds/{room.guild.id}/threads/active") == 1
