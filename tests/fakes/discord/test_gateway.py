"""The gateway: a dropped connection ends in RESUME, missed events are replayed, work goes on."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands


class Echo(commands.Cog):
    @app_commands.command(name="echo", description="Says it back")
    async def echo(self, interaction: discord.Interaction, text: str) -> None:
        await interaction.response.send_message(text)


async def test_a_dropped_gateway_resumes_and_commands_still_work(discord_server, guild, start_bot):
    bot = await start_bot(Echo(), sync=guild)
    await discord_server.drop_gateway()
    # Created while the bot is away: it must arrive through the RESUME replay.
    late = discord_server.add_channel(guild, "late")
    await discord_server.flush()
    await discord_server.wait_until(lambda: discord_server.resumes == 1, timeout=10)
    await discord_server.wait_until(lambda: bot.get_channel(late.id) is not None)
    assert discord_server.identifies == 1
    member = discord_server.add_member(guild, "reader")
    await discord_server.invoke(guild, member, "echo", {"text": "still here"})
    assert (await discord_server.next_message(guild.system_channel_id))["content"] == "still here"


async def test_heartbeats_are_acknowledged(discord_server, start_bot):
    bot = await start_bot()
    # The fake's interval is 0.5 s: after a beat or two the latency is measured.
    await discord_server.wait_until(lambda: bot.latency != float("inf"), timeout=3)
    assert bot.latency < 1
