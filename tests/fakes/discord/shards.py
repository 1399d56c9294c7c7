"""Gateway sharding in the fake, as Discord does it: a session IDENTIFYs with `shard: [id,
count]` and is sent only the guilds, and the events of the guilds, whose shard that is.

Written from Discord's documentation, apart from the bot's own `bot.discord.shards`, so that
each checks the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import snowflake

# Events about a guild itself carry its id as `id`; every other guild event as `guild_id`.
GUILD_EVENTS = frozenset({"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"})


def shard_of(guild_id: int, shard_count: int) -> int:
    """Discord's formula: the shard that carries the guild's events."""
    return (guild_id >> 22) % shard_count


def snowflake_on_shard(shard_id: int, shard_count: int) -> int:
    """A fresh id (as `snowflake()` makes them) that falls on that shard of that count."""
    fresh = snowflake()
    millis = fresh >> 22
    millis -= (millis - shard_id) % shard_count  # a few ms earlier at most: still unique here
    return (millis << 22) | (fresh & 0x3FFFFF)


def guild_of_event(event: str, data: dict[str, Any]) -> int | None:
    """The guild an event is about, or None (then every session gets it)."""
    raw = data.get("id") if event in GUILD_EVENTS else data.get("guild_id")
    return None if raw is None else int(raw)


@dataclass(frozen=True)
class ShardSpec:
    """What one session holds: shard `id` of `count` (an IDENTIFY without `shard` is [0, 1])."""

    id: int = 0
    count: int = 1

    @classmethod
    def from_identify(cls, raw: object) -> ShardSpec | None:
        """The spec an IDENTIFY asked for, or None where Discord closes with 4010 (Invalid
        shard): not a pair of whole numbers, a count under 1, or an id outside it."""
        if raw is None:
            return cls()
        if not (isinstance(raw, list) and len(raw) == 2):
            return None
        shard_id, count = raw
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in raw):
            return None
        if count < 1 or not 0 <= shard_id < count:
            return None
        return cls(shard_id, count)

    def carries(self, guild_id: int | None) -> bool:
        return guild_id is None or shard_of(guild_id, self.count) == self.id

    def payload(self) -> list[int]:
        return [self.id, self.count]
