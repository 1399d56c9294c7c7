"""The command tree with Bulletin's one error handler for every slash command.

It knows whether the interaction was already answered (deferred or replied) and sends an
ephemeral message that says what to do; BulletinError messages are shown as they are, anything
else is logged with its guild and the member gets an apology, never a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot.discord.ratelimit import CommandRate, try_again_text
from bot.errors import BulletinError

log = logging.getLogger(__name__)

_PERMISSION_NAMES = {
    "manage_guild": "Manage Server",
    "manage_channels": "Manage Channels",
}


def _names(permissions: list[str]) -> str:
    return " and ".join(_PERMISSION_NAMES.get(p, p.replace("_", " ").title()) for p in permissions)


def explain(error: app_commands.AppCommandError, command: str) -> str | None:
    """The member-facing message for an error, or None for an unexpected one."""
    original = getattr(error, "original", None)
    if isinstance(error, app_commands.CommandInvokeError) and isinstance(original, BulletinError):
        return str(original)
    if isinstance(error, app_commands.MissingPermissions):
        return (
            f"You need the {_names(error.missing_permissions)} permission to use {command}; "
            "ask a moderator."
        )
    if isinstance(error, app_commands.BotMissingPermissions):
        return (
            f"Bulletin needs the {_names(error.missing_permissions)} permission here; "
            "ask a moderator to grant it."
        )
    if isinstance(error, app_commands.NoPrivateMessage):
        return f"{command} works in a server, not in direct messages."
    if isinstance(error, app_commands.TransformerError):
        return f"“{error.value}” is not something {command} can use; pick one from the list."
    if isinstance(error, app_commands.CheckFailure):
        return f"You cannot use {command} here."
    return None


class BulletinTree(app_commands.CommandTree):
    """The tree with the error handler above and a per-member command rate (checked before any
    command runs; autocomplete is free)."""

    def __init__(self, client: discord.Client, **options: Any) -> None:  # CommandTree's options
        super().__init__(client, **options)
        runtime = getattr(client, "runtime", None)
        per_minute = runtime.config.discord.commands_per_minute if runtime is not None else 0
        self.rate = CommandRate(per_minute)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.type is not discord.InteractionType.application_command:
            return True
        runtime = getattr(self.client, "runtime", None)
        if runtime is not None:
            command = interaction.command
            name = command.qualified_name if command is not None else _data_name(interaction)
            runtime.observer.command_invoked(name)
        wait = self.rate.take(interaction.guild_id, interaction.user.id)
        if wait <= 0:
            return True
        log.info(
            "member %s in guild %s is over the command rate (%.0f s to wait)",
            interaction.user.id,
            interaction.guild_id,
            wait,
        )
        await send_ephemeral(interaction, try_again_text(wait))
        return False

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        command = f"/{interaction.command.qualified_name}" if interaction.command else "this"
        message = explain(error, command)
        if message is None:
            log.error(
                "%s failed in guild %s",
                command,
                interaction.guild_id,
                exc_info=getattr(error, "original", error),
            )
            message = (
                "Something went wrong on Bulletin's side. Try again in a minute; if it keeps "
                "happening, tell whoever runs the bot."
            )
        await send_ephemeral(interaction, message)


def _data_name(interaction: discord.Interaction) -> str:
    """The command's name as the interaction gives it (a command this tree does not know)."""
    data = interaction.data
    name = data.get("name") if data is not None else None
    return str(name) if name else "unknown"


async def send_ephemeral(interaction: discord.Interaction, message: str) -> None:
    """Answer (or follow up, when already answered) with an ephemeral message."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(message, ephemeral=True)
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException:
        log.warning(
            "could not tell guild %s about an error (interaction %s)",
            interaction.guild_id,
            interaction.id,
            exc_info=True,
        )
