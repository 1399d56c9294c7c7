"""A Discord-compatible test server (REST /api/v10, JSON gateway) for the real discord.py."""

from .interactions import CommandRefused, Invocation, InvocationError
from .limits import RateLimits, validate_message
from .model import Channel, ChannelType, Guild, Member, Overwrite, Perm, Role, User
from .server import FakeDiscord, Fault, Record

__all__ = [
    "Channel",
    "ChannelType",
    "CommandRefused",
    "FakeDiscord",
    "Fault",
    "Guild",
    "Invocation",
    "InvocationError",
    "Member",
    "Overwrite",
    "Perm",
    "RateLimits",
    "Record",
    "Role",
    "User",
    "validate_message",
]
