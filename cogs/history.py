"""/deliveries and /why: what Bulletin did for a story here, and why an update was (not) posted."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import discord
from discord import app_commands
from discord.ext import commands

from bot import limits
from bot.services import history
from bot.services.common import Refusal
from cogs._replies import guild_id_of, reply_lines, runtime_of, story_autocomplete

log = logging.getLogger(__name__)


class History(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="deliveries")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    @app_commands.checks.has_permissions(manage_channels=True)
    @app_commands.describe(
        story="The story whose deliveries to show",
        channel="Only this channel's (default: every channel here)",
    )
    async def deliveries(
        self,
        interaction: discord.Interaction,
        story: str,
        channel: discord.TextChannel | None = None,
    ) -> None:
        """The last 20 things Bulletin did for a story in this server, and how each went."""
        lines = await history.deliveries(
            runtime_of(interaction).store,
            guild_id_of(interaction),
            story,
            channel_id=channel.id if channel is not None else None,
        )
        await reply_lines(interaction, lines, ephemeral=True)

    @app_commands.command(name="why")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    @app_commands.checks.has_permissions(manage_channels=True)
    @app_commands.describe(
        story="The story the update belongs to",
        update="The update (pick one of the story's recent updates as you type)",
    )
    async def why(
        self,
        interaction: discord.Interaction,
        story: str,
        update: app_commands.Range[str, 1, 100],
    ) -> None:
        """Why an update was (or was not) posted in each channel here that follows its story."""
        lines = await history.why(
            runtime_of(interaction).store,
            guild_id_of(interaction),
            story,
            update,
            now=datetime.now(UTC),
        )
        await reply_lines(interaction, lines, ephemeral=True)

    @deliveries.autocomplete("story")
    @why.autocomplete("story")
    async def story_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await story_autocomplete(interaction, current)

    @why.autocomplete("update")
    async def update_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """The story's recent updates whose title holds what was typed (this server's only)."""
        story = getattr(interaction.namespace, "story", None)
        if interaction.guild_id is None or not isinstance(story, str) or not story.strip():
            return []
        try:
            found = await history.update_choices(
                runtime_of(interaction).store,
                interaction.guild_id,
                story,
                current,
                limit=limits.AUTOCOMPLETE_CHOICES,
                name_limit=limits.CHOICE_NAME,
            )
        except Refusal:
            return []  # not a story of this server (yet): nothing to offer
        except Exception:  # autocomplete must answer; an empty list is the honest fallback
            log.warning(
                "update autocomplete failed in guild %s", interaction.guild_id, exc_info=True
            )
            return []
        return [app_commands.Choice(name=name, value=value) for name, value in found]


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(History(bot))
