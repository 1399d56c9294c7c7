"""The limits a fetch works within: what `Fetcher` and `open_session` read.

The `[polling]` settings build them (`bot.config.PollingConfig.fetch_limits()`), so nothing in
bot/sources imports the config: the config sits above the sources, and the imports run one way.
The defaults here are the config's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FetchLimits:
    timeout: float = 20.0  # seconds for a whole fetch, redirects and body included
    max_bytes: int = 5 * 1024 * 1024  # body size cap, after decompression
    max_redirects: int = 5
    concurrency: int = 32  # fetches in flight at once, all hosts together
    per_host: int = 4  # fetches in flight at once to one host
    # False, True, or "host:port" strings allowed although their address is not public.
    allow_private_addresses: bool | tuple[str, ...] = False
