"""Rendered payloads (plain dicts in the shape of Discord's JSON) → discord.py's arguments."""

from __future__ import annotations

from typing import Any

import discord

from bot.delivery.discord_sink.mentions import role_mentions
from bot.delivery.render import Payload


def to_send_kwargs(payload: Payload) -> dict[str, Any]:
    """Keyword arguments for discord.py's `Messageable.send` (and `Message.edit`)."""
    allowed = payload["allowed_mentions"]
    kwargs: dict[str, Any] = {
        "content": payload["content"] or None,
        "embeds": [discord.Embed.from_dict(embed) for embed in payload["embeds"]],
        "allowed_mentions": role_mentions([int(role) for role in allowed.get("roles", [])]),
    }
    if payload["content"] is None:  # an edit that leaves the message's text as it is
        del kwargs["content"]
    return kwargs
