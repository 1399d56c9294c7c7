"""/help: what Bulletin does and which commands the member can use."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.services.help import help_text


class Help(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="help")
    async def help(self, interaction: discord.Interaction) -> None:
        """What Bulletin does and which of its commands you can use."""
        perms = interaction.permissions
        text = help_text(
            manage_channels=perms.manage_channels,
            manage_guild=perms.manage_guild,
            owner=await self.bot.is_owner(interaction.user),
        )
        await interaction.response.send_message(text, ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Help(bot))
