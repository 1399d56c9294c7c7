"""The real discord.py client logs in to the fake and sees the world it was given."""

from __future__ import annotations

import discord


async def test_bot_is_ready_with_the_guild_from_guild_create(discord_server, guild, start_bot):
    bot = await start_bot()
    seen = bot.get_guild(guild.id)
    assert seen is not None
    assert seen.name == "Newsroom"
    assert [c.name for c in seen.text_channels] == ["general"]
    assert bot.user.id == discord_server.bot_user.id
    assert bot.application_id == discord_server.application_id
    assert isinstance(seen.me, discord.Member)
