"""Point discord.py at a Discord-compatible server: the `[discord] api_base` and `gateway_url` keys.

discord.py 2.x builds every REST URL, webhooks and interaction callbacks included, from
`discord.http.Route.BASE`, and a non-sharded client opens its first gateway connection at
`DiscordWebSocket.DEFAULT_GATEWAY` (afterwards it follows READY's `resume_gateway_url`, and falls
back to the default again when a session is invalidated). Both are class attributes, so this is
process-wide: call it once, before the client logs in.
"""

from __future__ import annotations

import logging

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.errors import ConfigError

log = logging.getLogger(__name__)

DISCORD_API_BASE = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"


def point_discord_at(api_base: str | None, gateway_url: str | None) -> None:
    """Use `api_base` (e.g. "http://127.0.0.1:8080/api/v10") for REST and `gateway_url` for the
    gateway; None restores Discord's own. Raises ConfigError for a URL of the wrong scheme."""
    base = (api_base or DISCORD_API_BASE).rstrip("/")
    gateway = gateway_url or DISCORD_GATEWAY_URL
    if yarl.URL(base).scheme not in ("http", "https") or not yarl.URL(base).host:
        raise ConfigError(f"[discord] api_base must be an http(s) URL, not {api_base!r}")
    if yarl.URL(gateway).scheme not in ("ws", "wss") or not yarl.URL(gateway).host:
        raise ConfigError(f"[discord] gateway_url must be a ws(s) URL, not {gateway_url!r}")
    Route.BASE = base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
    if api_base or gateway_url:
        log.info("discord.py pointed at %s (gateway %s)", base, gateway)
