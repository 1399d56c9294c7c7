"""The fake Discord fixtures for the end-to-end tests in this folder."""

from tests.fakes.discord_fixtures import discord_server, guild, start_bot

__all__ = ["discord_server", "guild", "start_bot"]
