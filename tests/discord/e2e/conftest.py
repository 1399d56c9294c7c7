"""The real BulletinBot against the fake Discord (see harness.py)."""

from tests.discord.e2e.harness import harness

__all__ = ["harness"]
