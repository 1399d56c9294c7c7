"""Fixtures for the fault tests: the fake Discord (for the kill -9 and token tests)."""

from tests.fakes.discord_fixtures import discord_server, guild

__all__ = ["discord_server", "guild"]
