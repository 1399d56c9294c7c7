"""Fixtures for the fake's own tests: the fake running, a guild in it, real discord.py bots."""

from tests.fakes.discord_fixtures import discord_server, guild, start_bot

__all__ = ["discord_server", "guild", "start_bot"]
