"""/sync [global]: the owner registers the commands; it exists only in the dev server."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.services.common import Refusal

log = logging.getLogger(__name__)


class Admin(commands.Cog):
    """Adds /sync to the dev guild's tree in cog_load and takes it away in cog_unload (it is
    not a cog-level command, which would be global)."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        # attr-defined: the bot is a BulletinBot, which cogs cannot import (see runtime_of)
        self.dev_guild: int | None = bot.runtime.config.discord.dev_guild  # type: ignore[attr-defined]

        @app_commands.command(
            name="sync", description="Register Bulletin's slash commands (owner only)"
        )
        @app_commands.rename(everywhere="global")
        @app_commands.describe(everywhere="Register them for every server, not just this one")
        async def sync(interaction: discord.Interaction, everywhere: bool = False) -> None:
            await self.sync(interaction, everywhere)

        self.sync_command: app_commands.Command[Any, ..., None] = sync

    async def cog_load(self) -> None:
        if self.dev_guild is not None:
            self.bot.tree.add_command(self.sync_command, guild=discord.Object(self.dev_guild))

    async def cog_unload(self) -> None:
        if self.dev_guild is not None:
            self.bot.tree.remove_command("sync", guild=discord.Object(self.dev_guild))

    async def sync(self, interaction: discord.Interaction, everywhere: bool) -> None:
        if not await self.bot.is_owner(interaction.user):
            raise Refusal("Only the bot's owner can use /sync.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        if everywhere:
            synced = await self.bot.tree.sync()
            where = "every server (Discord may take a while to show them)"
        else:
            assert self.dev_guild is not None
            target = discord.Object(self.dev_guild)
            self.bot.tree.copy_global_to(guild=target)
            synced = await self.bot.tree.sync(guild=target)
            where = "this server"
        log.info("owner synced %d commands to %s", len(synced), where)
        await interaction.followup.send(
            f"Registered {len(synced)} commands for {where}.", ephemeral=True
        )


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Admin(bot))
