"""Small helpers the cogs share: the runtime of an interaction, story autocomplete, long replies."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot import limits
from bot.services import stories
from bot.services.common import Refusal

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

MESSAGE_LIMIT = limits.MESSAGE_CONTENT
MAX_MESSAGES = 5  # a long list is cut after this many messages


def runtime_of(interaction: discord.Interaction) -> Runtime:
    # attr-defined: the client is bot.discord.client's BulletinBot, which cogs cannot name (it
    # imports them: tests/test_layers.py allows no loop), so its type here is discord.Client.
    runtime: Runtime = interaction.client.runtime  # type: ignore[attr-defined]
    return runtime


def guild_id_of(interaction: discord.Interaction) -> int:
    if interaction.guild_id is None:
        raise Refusal("Bulletin's commands work in a server, not in direct messages.")
    return interaction.guild_id


async def story_autocomplete(
    interaction: discord.Interaction, current: str, *, own_only: bool = False
) -> list[app_commands.Choice[str]]:
    """The stories of this server (and the config's, unless `own_only`) matching `current`."""
    if interaction.guild_id is None:
        return []
    try:
        names = await stories.story_choices(
            runtime_of(interaction).store, interaction.guild_id, current, own_only=own_only
        )
    except Exception:  # autocomplete must answer; an empty list is the honest fallback
        log.warning("story autocomplete failed in guild %s", interaction.guild_id, exc_info=True)
        return []
    return [
        app_commands.Choice(name=name[: limits.CHOICE_NAME], value=name[: limits.CHOICE_NAME])
        for name in names
    ]


def chunks(lines: Sequence[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Lines packed into messages of at most `limit` characters (long lines are cut)."""
    messages: list[str] = []
    current = ""
    for line in lines:
        line = line if len(line) < limit else line[: limit - 2] + "…"
        if current and len(current) + 1 + len(line) > limit:
            messages.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current.strip():
        messages.append(current)
    return messages or ["(nothing)"]


async def reply_lines(
    interaction: discord.Interaction, lines: Sequence[str], *, ephemeral: bool
) -> None:
    """Send lines as one or more messages: the answer, then followups."""
    messages = chunks(lines)
    if len(messages) > MAX_MESSAGES:
        messages = [*messages[: MAX_MESSAGES - 1], "… and more; narrow it down to one story."]
    for index, text in enumerate(messages):
        if index == 0 and not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=ephemeral)
        else:
            await interaction.followup.send(text, ephemeral=ephemeral)
