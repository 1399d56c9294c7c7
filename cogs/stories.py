"""/stories, /latest and /keypoints: what everyone in a server may read."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.services import stories
from bot.services.common import when
from cogs._embeds import entry_embeds, key_points_embeds
from cogs._replies import guild_id_of, reply_lines, runtime_of, story_autocomplete


class Stories(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="stories")
    @app_commands.guild_only()
    async def stories(self, interaction: discord.Interaction) -> None:
        """The stories this server can follow, with their status and last update."""
        found = await stories.overview(runtime_of(interaction).store, guild_id_of(interaction))
        if not found:
            await interaction.response.send_message(
                "This server follows no stories yet. A moderator can add one with /source add.",
                ephemeral=True,
            )
            return
        lines = ["**Stories**"]
        for item in found:
            status = item.status + (f" ({item.detail})" if item.detail else "")
            origin = " · from the config" if item.story.guild_id is None else ""
            lines.append(
                f"**{item.story.name}** — {status} · last update {when(item.last_update)}{origin}"
            )
        await reply_lines(interaction, lines, ephemeral=False)

    @app_commands.command(name="latest")
    @app_commands.guild_only()
    @app_commands.describe(story="The story to show", count="How many updates (1-10, default 5)")
    async def latest(
        self,
        interaction: discord.Interaction,
        story: str,
        count: app_commands.Range[int, 1, 10] = 5,
    ) -> None:
        """The newest updates of a story."""
        found, records = await stories.latest(
            runtime_of(interaction).store, guild_id_of(interaction), story, count
        )
        await interaction.response.send_message(embeds=entry_embeds(found.name, records))

    @app_commands.command(name="keypoints")
    @app_commands.guild_only()
    @app_commands.describe(story="The story to show")
    async def keypoints(self, interaction: discord.Interaction, story: str) -> None:
        """The current key points of a story, when they changed, and a link to the page."""
        found, views = await stories.key_points(
            runtime_of(interaction).store, guild_id_of(interaction), story
        )
        await interaction.response.send_message(embeds=key_points_embeds(found.name, views))

    @latest.autocomplete("story")
    @keypoints.autocomplete("story")
    async def story_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await story_autocomplete(interaction, current)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Stories(bot))
