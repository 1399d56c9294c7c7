"""/settings alerts: where Bulletin reports paused sources and failing deliveries."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.permissions import BOT_FOR_ALERTS, missing, missing_text
from bot.services.common import Refusal
from cogs._replies import guild_id_of, runtime_of


class Settings(commands.Cog):
    settings = app_commands.Group(
        name="settings",
        description="Bulletin's settings for this server",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @settings.command(name="alerts")
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.describe(
        channel="The channel for alerts (until one is set, the server's system channel is used)"
    )
    async def alerts(self, interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        """Where Bulletin reports paused sources and failing deliveries."""
        guild_id = guild_id_of(interaction)
        assert interaction.guild is not None
        lacking = missing(channel.permissions_for(interaction.guild.me), BOT_FOR_ALERTS)
        if lacking:
            raise Refusal(
                f"Bulletin cannot post in {channel.mention}: it needs {missing_text(lacking)} "
                "there. Grant them, or pick another channel."
            )
        await runtime_of(interaction).store.set_alerts_channel(guild_id, channel.id)
        await interaction.response.send_message(
            f"Bulletin will report failing sources and deliveries in {channel.mention}.",
            ephemeral=True,
        )


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Settings(bot))
