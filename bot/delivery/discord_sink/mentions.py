"""`allowed_mentions` whose ids go to Discord as strings of digits, as its API specification types
snowflakes (`SnowflakeType`). discord.py's own `AllowedMentions` sends them as JSON numbers.

The client's default must be one too (`BulletinBot` makes it so): discord.py merges each
message's mentions into the client's, and the merge keeps the client's class.
"""

from __future__ import annotations

from typing import Any

import discord


class SnowflakeMentions(discord.AllowedMentions):
    """discord.py's `AllowedMentions`, sent with the users' and roles' ids as strings."""

    def to_dict(self) -> Any:  # discord.py's AllowedMentionsPayload
        data: dict[str, Any] = dict(super().to_dict())
        for key in ("users", "roles"):
            if key in data:
                data[key] = [str(ident) for ident in data[key]]
        return data

    def merge(self, other: discord.AllowedMentions) -> discord.AllowedMentions:
        merged = super().merge(other)
        return SnowflakeMentions(
            everyone=merged.everyone,
            users=merged.users,
            roles=merged.roles,
            replied_user=merged.replied_user,
        )


def role_mentions(role_ids: list[int]) -> SnowflakeMentions:
    """Mentions off except these roles (none at all for an empty list)."""
    roles = [discord.Object(id=role) for role in role_ids]
    return SnowflakeMentions(everyone=False, users=False, roles=roles or False, replied_user=False)
